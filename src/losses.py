"""Losses by name. They take the model's output dict and the clip targets."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

EPS = 1e-7


class PANNsLoss(nn.Module):
    """BCE on the attention-pooled clipwise probabilities (PANNs' training objective).

    Computed in fp32 with non-finite outputs zeroed and probabilities kept off 0 and 1, so
    one silent or broken clip cannot turn the whole run NaN.
    """

    def forward(self, output: dict[str, torch.Tensor], target: torch.Tensor) -> torch.Tensor:
        prob = torch.nan_to_num(output["clipwise_output"].float(), nan=0.0, posinf=0.0, neginf=0.0)
        return F.binary_cross_entropy(prob.clamp(EPS, 1 - EPS), target.float())


LOSSES: dict[str, type[nn.Module]] = {"panns": PANNsLoss}


def build_loss(name: str) -> nn.Module:
    try:
        return LOSSES[name]()
    except KeyError:
        raise SystemExit(f"unknown loss {name!r}; known: {sorted(LOSSES)}") from None
