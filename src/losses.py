"""Losses by name. Each takes the model's output dict and the batch (`target`, `weight`,
`frame_target`) and is computed in fp32 with non-finite outputs zeroed and probabilities kept
off 0 and 1, so one silent or broken clip cannot turn a run NaN.

`weight` is per (clip, class): 0 masks a class out of the loss (e.g. a secondary label that
may or may not be audible in the crop).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

EPS = 1e-7


def _prob(x: torch.Tensor) -> torch.Tensor:
    return torch.nan_to_num(x.float(), nan=0.0, posinf=0.0, neginf=0.0).clamp(EPS, 1 - EPS)


def _logit(prob: torch.Tensor) -> torch.Tensor:
    prob = _prob(prob)
    return torch.log(prob) - torch.log1p(-prob)


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per row: cross-entropy of the softmax over `logits` against `target` normalised to sum 1
    (a row of zeros scores 0)."""
    share = target / target.sum(dim=1, keepdim=True).clamp_min(EPS)
    return -(share * F.log_softmax(logits, dim=1)).sum(dim=1)


def weighted_bce(prob: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    loss = F.binary_cross_entropy(_prob(prob), target.float(), reduction="none")
    return (loss * weight).sum() / weight.sum().clamp_min(1.0)


class PANNsLoss(nn.Module):
    """BCE on the pooled clipwise probabilities (PANNs' training objective)."""

    def forward(self, output: dict, batch: dict) -> torch.Tensor:
        return weighted_bce(output["clipwise_output"], batch["target"], batch["weight"])


def frame_max_bce(output: dict, batch: dict) -> torch.Tensor:
    """BCE on each class's highest frame: the loudest frame itself carries the label, and no
    frame may score a class the crop lacks. Clip labels alone leave the frames that attention
    ignores free to score anything, and inference reads rows off those frames."""
    frame_max = output["framewise_output"].max(dim=1).values
    return weighted_bce(frame_max, batch["target"], batch["weight"])


class ClipFrameLoss(nn.Module):
    """Clipwise BCE plus `frame_weight` x `frame_max_bce`."""

    def __init__(self, frame_weight: float = 0.5) -> None:
        super().__init__()
        self.frame_weight = frame_weight

    def forward(self, output: dict, batch: dict) -> torch.Tensor:
        clip = weighted_bce(output["clipwise_output"], batch["target"], batch["weight"])
        return clip + self.frame_weight * frame_max_bce(output, batch)


class FocalLoss(nn.Module):
    """Focal BCE on clipwise output: down-weights the many easy negatives of a long class list."""

    def __init__(self, gamma: float = 2.0) -> None:
        super().__init__()
        self.gamma = gamma

    def forward(self, output: dict, batch: dict) -> torch.Tensor:
        prob, target = _prob(output["clipwise_output"]), batch["target"].float()
        bce = F.binary_cross_entropy(prob, target, reduction="none")
        p_true = target * prob + (1 - target) * (1 - prob)
        loss = (1 - p_true) ** self.gamma * bce * batch["weight"]
        return loss.sum() / batch["weight"].sum().clamp_min(1.0)


class FrameLoss(nn.Module):
    """Frame-level BCE against targets built from t_min/t_max (strong labels only), plus the
    clipwise BCE so the pooling is trained too."""

    def forward(self, output: dict, batch: dict) -> torch.Tensor:
        frame_target = batch["frame_target"].float()
        frames = output["framewise_output"]
        n = min(frames.shape[1], frame_target.shape[1])
        weight = batch["weight"].unsqueeze(1).expand(-1, n, -1)
        return (weighted_bce(frames[:, :n], frame_target[:, :n], weight)
                + weighted_bce(output["clipwise_output"], batch["target"], batch["weight"]))


class SoftmaxLoss(nn.Module):
    """Cross-entropy over the classes on the clip logits (the logit of each clipwise probability)
    against the crop's labels normalised to sum 1, plus `bce_weight` x clipwise BCE.

    For weak labels with one species per recording (BirdCLEF's primary label) the classes then
    compete for each crop: with 86 classes and a positive per crop, 86 independent BCEs mostly
    teach "not this class", while the softmax says which one. Crops without a label (no-call)
    only get the BCE term. `smoothing` moves that share of each softmax target evenly onto all
    classes (label smoothing as in Szegedy et al. 2016; the config's `label_smoothing`
    smooths every BCE target towards 0.5 instead, far too much for a softmax over 86).
    `frame_weight` adds that weight x `frame_max_bce`."""

    def __init__(self, bce_weight: float = 1.0, smoothing: float = 0.0,
                 frame_weight: float = 0.0) -> None:
        super().__init__()
        self.bce_weight, self.smoothing = bce_weight, smoothing
        self.frame_weight = frame_weight

    def forward(self, output: dict, batch: dict) -> torch.Tensor:
        prob = _prob(output["clipwise_output"])
        target = batch["target"].float() * (batch["weight"] > 0)
        labelled = target.sum(dim=1) > 0
        share = target / target.sum(dim=1, keepdim=True).clamp_min(EPS)
        share = (1 - self.smoothing) * share + self.smoothing / share.shape[1]
        ce = soft_cross_entropy(_logit(prob)[labelled], share[labelled]).sum() / max(1, len(prob))
        loss = ce + self.bce_weight * weighted_bce(prob, batch["target"], batch["weight"])
        if self.frame_weight:
            loss = loss + self.frame_weight * frame_max_bce(output, batch)
        return loss


class Distill(nn.Module):
    """A loss plus knowledge distillation from a pretrained teacher into the fast SED student,
    on every crop (`batch["teacher"]`, its soft labels; `batch["teacher_embedding"]`):

    - `kind="bce"`: `weight` x clipwise BCE against the teacher's probabilities;
    - `kind="kl"`: `weight` x T^2 x KL divergence between the teacher's and the student's
      softmax over the classes at temperature T (Hinton et al. 2015): the teacher's ranking
      of the other species (which ones sound alike) reaches the student, where a BCE against
      near-zero probabilities barely does;
    - `kind="ce"`: `weight` x cross-entropy of the student's softmax against the teacher's
      probabilities normalised to sum 1, each crop weighted by the teacher's top probability
      (a crop where it hears nothing teaches nothing): the teacher as SoftmaxLoss's labels,
      the loss that fits here where BCE underfits;
    - `embedding` > 0: that weight x (1 - cosine) between the student's projected features
      (output `embedding`) and the teacher's embedding of the crop: a 1024-d description of
      every crop, far richer than one weak label.
    """

    def __init__(self, base: nn.Module, weight: float, kind: str = "bce",
                 temperature: float = 2.0, embedding: float = 0.0) -> None:
        super().__init__()
        if kind not in ("bce", "kl", "ce"):
            raise SystemExit(f"unknown distill_loss {kind!r}; known: bce, kl, ce")
        self.base, self.weight, self.kind = base, weight, kind
        self.temperature, self.embedding = temperature, embedding

    def forward(self, output: dict, batch: dict) -> torch.Tensor:
        loss = self.base(output, batch)
        soft, clip = batch["teacher"], output["clipwise_output"]
        # 1 for a crop with soft labels, 0 for one without (a labelled recording's crop under
        # pseudo-labels, which label only the unlabeled audio): the term averages the former
        known = batch.get("teacher_weight", torch.ones(len(soft), device=soft.device)).float()
        count = known.sum().clamp_min(1.0)
        if self.weight and self.kind == "bce":
            loss = loss + self.weight * weighted_bce(clip, soft, known[:, None].expand_as(soft))
        elif self.weight and self.kind == "ce":
            soft = soft.float()
            ce = soft_cross_entropy(_logit(clip), soft)
            loss = loss + self.weight * (known * soft.max(dim=1).values * ce).sum() / count
        elif self.weight and self.kind == "kl":
            t = self.temperature
            student, teacher = _logit(clip) / t, _logit(soft) / t
            kl = F.kl_div(F.log_softmax(student, dim=1), F.log_softmax(teacher, dim=1),
                          log_target=True, reduction="none").sum(dim=1)
            loss = loss + self.weight * t * t * (known * kl).sum() / count
        if self.embedding:
            cosine = F.cosine_similarity(output["embedding"].float(),
                                         batch["teacher_embedding"].float(), dim=1)
            loss = loss + self.embedding * (1 - cosine).mean()
        return loss


LOSSES: dict[str, type[nn.Module]] = {"panns": PANNsLoss, "clip_frame": ClipFrameLoss,
                                      "focal": FocalLoss, "frame": FrameLoss,
                                      "softmax": SoftmaxLoss}


def build_loss(name: str, **kwargs) -> nn.Module:
    """`kwargs` are the loss's own settings (config field `loss_args`)."""
    try:
        return LOSSES[name](**kwargs)
    except KeyError:
        raise SystemExit(f"unknown loss {name!r}; known: {sorted(LOSSES)}") from None
