"""The SED head every backbone shares: per-frame class probabilities pooled over time into a
clip probability (PANNs' decision-level pooling), so clip labels train it while inference can
still read when a call happens."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

POOLINGS = ("attention", "max", "mean", "linear_softmax")


class SedHead(nn.Module):
    """Per-frame class probabilities pooled over time into a clip probability.

    `attention` weighs frames with a learnt softmax whose logits are clamped to +-10 (so no
    single frame takes all the weight through an overflow); `max` trusts the loudest frame,
    `mean` all frames alike, and `linear_softmax` weighs each frame by its own probability.
    """

    def __init__(self, in_features: int, n_classes: int, hidden: int, dropout: float,
                 pooling: str = "attention") -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise SystemExit(f"unknown pooling {pooling!r}; known: {POOLINGS}")
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(in_features, hidden)
        self.att = nn.Conv1d(hidden, n_classes, kernel_size=1)
        self.cla = nn.Conv1d(hidden, n_classes, kernel_size=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(batch, channels, steps) -> clipwise (batch, classes), framewise (batch, steps,
        classes)."""
        # smooth over neighbouring steps: max keeps short calls, mean keeps long ones
        x = F.max_pool1d(x, 3, 1, 1) + F.avg_pool1d(x, 3, 1, 1)
        x = self.dropout(x)
        x = F.relu(self.fc(x.transpose(1, 2))).transpose(1, 2)
        x = self.dropout(x)
        frame = torch.sigmoid(self.cla(x))
        if self.pooling == "attention":
            clip = (torch.softmax(torch.clamp(self.att(x), -10, 10), dim=-1) * frame).sum(-1)
        elif self.pooling == "max":
            clip = frame.max(dim=-1).values
        elif self.pooling == "mean":
            clip = frame.mean(dim=-1)
        else:
            clip = (frame * frame).sum(-1) / frame.sum(-1).clamp_min(1e-7)
        return clip, frame.transpose(1, 2)
