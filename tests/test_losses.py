import pytest
import torch

from losses import LOSSES, build_loss


def batch(target, weight=None, frames=4):
    target = torch.tensor(target, dtype=torch.float32)
    return {"target": target,
            "weight": torch.ones_like(target) if weight is None else torch.tensor(weight),
            "frame_target": target[:, None, :].expand(-1, frames, -1).clone()}


def output(clip, frame=None, frames=4):
    clip = torch.tensor(clip, dtype=torch.float32)
    frame = clip[:, None, :].expand(-1, frames, -1) if frame is None else torch.tensor(frame)
    return {"clipwise_output": clip, "framewise_output": frame}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_loss_prefers_right_answers_and_survives_nan(name):
    loss = build_loss(name)
    b = batch([[1.0, 0.0]])
    good, bad = loss(output([[0.9, 0.1]]), b), loss(output([[0.1, 0.9]]), b)
    assert good < bad
    broken = loss(output([[float("nan"), float("inf")]]), b)
    assert torch.isfinite(broken)


def test_weight_masks_a_class_out_of_the_loss():
    loss = build_loss("panns")
    masked = batch([[1.0, 0.0]], weight=[[1.0, 0.0]])
    assert loss(output([[0.9, 0.99]]), masked) == pytest.approx(
        loss(output([[0.9, 0.01]]), masked).item())


def test_clip_frame_loss_adds_the_frame_max_term():
    b = batch([[1.0]])
    frames = [[[0.1], [0.1], [0.1], [0.1]]]  # no frame believes it, though the clip does
    plain = build_loss("panns")(output([[0.9]], frames), b)
    both = build_loss("clip_frame", frame_weight=1.0)(output([[0.9]], frames), b)
    assert both > plain + 1.0  # -log(0.1) ~ 2.3 added


def test_frame_loss_uses_frame_targets():
    b = batch([[1.0]])
    b["frame_target"] = torch.tensor([[[1.0], [1.0], [0.0], [0.0]]])
    aligned = output([[0.9]], [[[0.9], [0.9], [0.1], [0.1]]])
    shifted = output([[0.9]], [[[0.1], [0.1], [0.9], [0.9]]])
    assert build_loss("frame")(aligned, b) < build_loss("frame")(shifted, b)


def test_focal_loss_down_weights_easy_examples():
    b = batch([[1.0, 0.0]])
    easy, hard = output([[0.95, 0.05]]), output([[0.4, 0.6]])
    bce, focal = build_loss("panns"), build_loss("focal", gamma=2.0)
    assert focal(easy, b) / bce(easy, b) < focal(hard, b) / bce(hard, b)


def test_softmax_loss_makes_classes_compete_and_skips_unlabelled_crops():
    from losses import SoftmaxLoss

    target = torch.tensor([[1.0, 0, 0], [0, 0, 0]])
    batch = {"target": target, "weight": torch.ones(2, 3)}
    ce_only = SoftmaxLoss(bce_weight=0.0)
    right = {"clipwise_output": torch.tensor([[0.9, 0.1, 0.1], [0.5, 0.5, 0.5]])}
    wrong = {"clipwise_output": torch.tensor([[0.1, 0.9, 0.1], [0.5, 0.5, 0.5]])}
    assert ce_only(right, batch) < ce_only(wrong, batch)
    # the unlabelled second crop adds nothing to the cross-entropy, whatever it scores
    other = {"clipwise_output": torch.tensor([[0.9, 0.1, 0.1], [0.9, 0.9, 0.1]])}
    assert torch.isclose(ce_only(right, batch), ce_only(other, batch))
    # raising a wrong class raises the loss even when each score alone is a fine BCE
    prob = torch.tensor([[0.6, 0.4, 0.1], [0.5, 0.5, 0.5]], requires_grad=True)
    ce_only({"clipwise_output": prob}, batch).backward()
    assert prob.grad[0, 0] < 0 < prob.grad[0, 1]


def test_softmax_smoothing_moves_a_share_of_the_target_onto_every_class():
    b, out = batch([[1.0, 0.0, 0.0, 0.0]]), output([[0.9, 0.2, 0.1, 0.05]])
    logits = torch.logit(out["clipwise_output"])
    bce = build_loss("panns")(out, b)
    smooth = torch.tensor([[0.925, 0.025, 0.025, 0.025]])  # 0.1 spread over 4 classes
    expected = -(smooth * torch.log_softmax(logits, dim=1)).sum() + bce
    got = build_loss("softmax", smoothing=0.1)(out, b)
    assert got.item() == pytest.approx(expected.item(), rel=1e-5)
    assert build_loss("softmax")(out, b) < got  # the unsmoothed target is the confident one
