"""Parameter groups for fine-tuning a pretrained trunk (the backbone or encoder under the SED
head): layer-wise learning-rate decay, each layer below the top a factor `layer_decay` slower
(as BEiT and AST fine-tuning do), and the trunk frozen for the first epochs while the new head
learns. Models name their trunk in a `trunk` attribute."""
from __future__ import annotations

import re

import torch.nn as nn
from timm.models import group_parameters

LAYER = re.compile(r"(?:^|\.)(?:layers?|blocks)\.(\d+)\.")  # transformers' and timm's stacks


def trunk_of(model: nn.Module) -> nn.Module:
    trunk = getattr(model, "trunk", None)
    if not isinstance(trunk, nn.Module):
        raise SystemExit(f"{type(model).__name__} names no trunk to freeze or decay by layer: "
                         "set layer_decay = None and freeze_epochs = 0")
    return trunk


def trunk_layers(trunk: nn.Module) -> list[list[nn.Parameter]]:
    """The trunk's parameters by depth, input first. A timm model groups them itself
    (`group_matcher`: stem, then each block); otherwise a parameter belongs to its numbered
    layer or block (`layer.3.`, `layers.3.`), what precedes the first one to the bottom group
    (embeddings, the conv feature encoder) and what follows the last one to the top (a final
    norm)."""
    named = list(trunk.named_parameters())
    if hasattr(trunk, "group_matcher"):
        by_name = dict(named)
        groups = group_parameters(trunk, trunk.group_matcher(coarse=False))
        return [[by_name[n] for n in names] for _, names in sorted(groups.items())]
    depth, seen = [], None
    for name, _ in named:
        found = LAYER.search(name)
        seen = int(found.group(1)) + 1 if found else (None if seen is None else -1)
        depth.append(seen)
    top = max([d for d in depth if d is not None and d > 0], default=0) + 1
    depth = [0 if d is None else top if d == -1 else d for d in depth]
    layers = [[p for (_, p), d in zip(named, depth) if d == k] for k in range(top + 1)]
    return [layer for layer in layers if layer]


def optimizer_groups(model: nn.Module, lr: float,
                     layer_decay: float | None) -> list[dict] | list[nn.Parameter]:
    """All parameters at `lr`, or with `layer_decay`: the trunk's layer k of L at
    lr * layer_decay ** (L - k), the head and everything outside the trunk at `lr`."""
    if not layer_decay:
        return list(model.parameters())
    layers = trunk_layers(trunk_of(model))
    inside = {id(p) for layer in layers for p in layer}
    groups = [{"params": layer, "lr": lr * layer_decay ** (len(layers) - k)}
              for k, layer in enumerate(layers)]
    rest = [p for p in model.parameters() if id(p) not in inside]
    return groups + [{"params": rest, "lr": lr}]


def freeze_trunk(model: nn.Module, frozen: bool) -> None:
    """No gradient for the trunk (so the optimizer leaves it, its moments and its weight decay
    untouched) and its BatchNorm statistics and dropout in eval mode while `frozen`."""
    trunk = trunk_of(model)
    trunk.requires_grad_(not frozen)
    if frozen:
        trunk.eval()
