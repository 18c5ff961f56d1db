import numpy as np
import pytest
import timm
import torch

from engine import rows_max, stitch
from models import SedModel, create_backbone

TINY = dict(sample_rate=16000, n_fft=512, hop_length=160, mel_bins=32, fmin=50,
            backbone="resnet10t", head_hidden=32)


def test_output_shapes_and_framewise_clipwise_consistency():
    torch.manual_seed(0)
    model = SedModel(n_classes=5, **TINY).eval()
    with torch.no_grad():
        out = model(torch.randn(3, 16000) * 0.1)
    clip, frame = out["clipwise_output"], out["framewise_output"]
    assert clip.shape == (3, 5)
    assert frame.shape == (3, 16000 // 160 + 1, 5)  # one frame per STFT hop
    # the clip score is an attention-weighted mean of frame scores: inside their range
    assert torch.all(clip <= frame.max(dim=1).values + 1e-6)
    assert torch.all(clip >= frame.min(dim=1).values - 1e-6)
    assert torch.all((frame >= 0) & (frame <= 1))


def test_three_channel_input_and_silence_are_finite():
    model = SedModel(n_classes=2, channels=("logmel", "pcen", "power"), **TINY).eval()
    with torch.no_grad():
        out = model(torch.zeros(2, 8000))  # exact digital silence
    assert torch.isfinite(out["clipwise_output"]).all()


def test_local_pretrained_file_is_loaded_and_missing_weights_raise(tmp_path):
    source = timm.create_model("resnet10t", pretrained=False, num_classes=0, in_chans=1)
    torch.save(source.state_dict(), tmp_path / "weights.pth")
    loaded = create_backbone("resnet10t", 1, pretrained_path=str(tmp_path / "weights.pth"))
    for (name, a), b in zip(source.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), name
    with pytest.raises(FileNotFoundError):
        create_backbone("resnet10t", 1, pretrained_path=str(tmp_path / "missing.pth"))


def test_pretrained_that_cannot_be_had_raises(monkeypatch):
    real = timm.create_model

    def offline(*args, pretrained=False, **kwargs):
        if pretrained:
            raise OSError("no internet")
        return real(*args, **kwargs)
    monkeypatch.setattr(timm, "create_model", offline)
    with pytest.raises(RuntimeError, match="pretrained_path"):
        create_backbone("resnet10t", 1, pretrained=True)


def test_event_at_known_time_lands_in_its_rows():
    fps = 10.0  # frames per second
    window_frames, hop_frames = 30, 20
    frames = np.zeros((3, window_frames, 2), dtype=np.float32)
    frames[1, 15:20, 0] = 0.9  # window 1 starts at 2 s: event at 3.5-4.0 s
    frames[2, 5:10, 1] = 0.7  # window 2 starts at 4 s: event at 4.5-5.0 s
    frames[0, 20:25, 1] = 0.2  # 2.0-2.5 s, also covered by window 1 (zeros): max wins
    timeline = stitch(frames, np.arange(3) * hop_frames, n_frames=65)
    assert timeline.shape == (65, 2)
    starts = np.array([0.0, 2.5, 5.0])
    rows = rows_max(timeline, fps, starts, starts + 2.5)
    assert rows[:, 0].tolist() == pytest.approx([0.0, 0.9, 0.0])
    assert rows[:, 1].tolist() == pytest.approx([0.2, 0.7, 0.0])
    beyond = rows_max(timeline, fps, np.array([7.0, 10.0]), np.array([9.0, 12.0]))  # 6.5 s long
    assert beyond.tolist() == [[0.0, 0.0], [0.0, 0.0]]  # rows past the audio's end score 0
    whole = rows_max(timeline, fps, np.array([0.0]), np.array([np.nan]))
    assert whole[0].tolist() == pytest.approx([0.9, 0.7])


def test_bn0_gradients_with_one_channel():
    """bn0's bias gradient is the sum of its output's gradient (torch's CPU BatchNorm2d on the
    channels-last-like `transpose(1, 3)` of a one-channel log-mel got it wrong)."""
    torch.manual_seed(0)
    model = SedModel(n_classes=3, sample_rate=8000, n_fft=256, hop_length=80, mel_bins=16,
                     backbone="resnet10t", head_hidden=16, dropout=0.0)
    seen = {}

    def keep_output_grad(module, inputs, out):
        out.register_hook(lambda g: seen.setdefault("grad", g))

    model.bn0.register_forward_hook(keep_output_grad)
    model(torch.randn(4, 8000) * 0.1)["clipwise_output"].sum().backward()
    assert torch.allclose(model.bn0.bias.grad, seen["grad"].sum((0, 2)), atol=1e-5)
