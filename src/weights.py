"""Weight files for every `pretrained_path` (timm backbones, PANNs, this project's own
checkpoints): a file's names unwrapped and un-prefixed, and what it fills counted, so weights
asked for are either all there or the run stops saying what is not."""
from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn as nn
from timm.models import adapt_input_conv

# containers a state dict is saved in, the preferred first: timm's EMA weights, timm/Lightning
# `state_dict`, this project's and PANNs' `model`
WRAPPERS = ("state_dict_ema", "model_ema", "state_dict", "model", "module", "net")


def _why(error: BaseException) -> str:
    """The exception's type and first sentence: torch's own messages run to paragraphs."""
    text = str(error).strip().split("\n")[0].split(". ")[0][:160]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _torch_load(path: Path):
    """torch.load, tensors-only first; a file that also pickles other objects (this project's
    checkpoints keep numpy scores and their config beside the weights) is read in full, as the
    project reads its own checkpoints: attach only weight files you trust."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # other objects, or damage: the full read tells them apart
        return torch.load(path, map_location="cpu", weights_only=False)


def read_weights(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """The tensors of a weights file by name, out of the usual containers (WRAPPERS; a pickled
    nn.Module gives its state dict), and the container's other entries (`classes` and `config`
    in this project's checkpoints). A file that cannot be read as weights stops the run with
    one line naming it, never a torch traceback."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"pretrained_path {path} does not exist")
    if path.stat().st_size == 0:
        raise SystemExit(f"pretrained_path {path}: empty file (0 bytes); attach it again")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file
            obj = load_file(str(path))
        else:
            obj = _torch_load(path)
    except Exception as e:  # truncated zip, not a pickle, a pickle of something else...
        raise SystemExit(f"pretrained_path {path}: not a weights file torch can read "
                         f"({_why(e)}); attach the file again "
                         "(a copy cut short is the usual cause)") from None
    meta: dict = {}
    while True:
        if isinstance(obj, nn.Module):
            obj = obj.state_dict()
        if not isinstance(obj, dict) or any(isinstance(v, torch.Tensor) for v in obj.values()):
            break
        key = next((k for k in WRAPPERS if isinstance(obj.get(k), (dict, nn.Module))), None)
        if key is None:
            break
        meta = meta or {k: v for k, v in obj.items() if k != key}
        obj = obj[key]
    tensors = ({str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
               if isinstance(obj, dict) else {})
    if not tensors:
        what = (("an empty dict" if not obj else f"a dict of {sorted(map(str, obj))[:5]}")
                if isinstance(obj, dict) else type(obj).__name__)
        raise SystemExit(f"pretrained_path {path} holds no weights (found {what})")
    return tensors, meta


def _is_counter(name: str) -> bool:
    """BatchNorm's step counter: not a weight, and absent from pre-0.4.1 files."""
    return name.endswith("num_batches_tracked")


def _prefixes(names, depth: int = 3) -> list[str]:
    """"" and every leading part of up to `depth` dotted components of `names`, shortest
    first."""
    out = {""}
    for name in names:
        parts = name.split(".")
        out.update(".".join(parts[:i]) + "." for i in range(1, min(depth, len(parts) - 1) + 1))
    return sorted(out, key=lambda p: (len(p), p))


@dataclass
class Match:
    """What a weights file gives a module: `tensors` by the module's names, ready for
    load_state_dict, and which of the module's tensors it leaves out or shapes otherwise."""

    tensors: dict[str, torch.Tensor]
    total: int  # the module's tensors, BatchNorm counters not counted
    missing: list[str] = field(default_factory=list)
    shapes: list[str] = field(default_factory=list)  # "name: file (..) vs model (..)"
    unused: list[str] = field(default_factory=list)  # the file's tensors the module lacks
    prefix: str = ""  # dropped from the file's names
    sample: list[str] = field(default_factory=list)  # a few of the file's own names

    @property
    def filled(self) -> int:
        return sum(not _is_counter(k) for k in self.tensors)

    @property
    def complete(self) -> bool:
        return self.filled == self.total

    def count(self) -> str:
        values = sum(v.numel() for k, v in self.tensors.items() if not _is_counter(k))
        return (f"{self.filled} of {self.total} tensors, {values / 1e6:.2f}M values"
                + (f"; the file's prefix {self.prefix!r} dropped" if self.prefix else ""))

    def report(self) -> str:
        """One line: the counts, then a few names of each kind of gap."""
        parts = [f"it fills {self.filled} of its {self.total} tensors"
                 + (f" (the file's prefix {self.prefix!r} dropped)" if self.prefix else "")]
        for label, names in (("missing", self.missing), ("other shape", self.shapes),
                             ("not in the model", self.unused)):
            if names:
                parts.append(f"{label} ({len(names)}): {', '.join(names[:3])}"
                             + (" ..." if len(names) > 3 else ""))
        if self.missing and not self.unused:
            parts.append(f"the file's names look like {self.sample}")
        return "; ".join(parts)


def match_weights(module: nn.Module, sd: dict[str, torch.Tensor], skip: tuple[str, ...] = (),
                  adapt: tuple[str, ...] = ()) -> Match:
    """How the tensors `sd` fill `module`, leaving out the module's names that start with
    `skip`. The file's names lose the leading part that makes most of them the module's own
    (`module.` of DDP, `model.`, this project's `backbone.`...). A first convolution named in
    `adapt` (its weight, `<name>.weight`) is re-summed to the module's input channels, as timm
    does for ImageNet's 3 channels."""
    own = {k: v for k, v in module.state_dict().items() if not k.startswith(skip)}

    def hits(prefix: str) -> int:
        return sum(k.startswith(prefix) and k[len(prefix):] in own for k in sd)

    prefix = max(_prefixes(sd), key=hits)  # the first, so the shortest, of the best
    src = {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}
    adapt_weights = {f"{name}.weight" for name in adapt}
    found = Match({}, sum(not _is_counter(k) for k in own), prefix=prefix,
                  sample=list(sd)[:3], unused=[k for k in src if k not in own])
    for name, target in own.items():
        if name not in src:
            if not _is_counter(name):
                found.missing.append(name)
            continue
        value = src[name]
        if (value.shape != target.shape and name in adapt_weights and value.ndim == 4
                and value.shape[0] == target.shape[0] and value.shape[2:] == target.shape[2:]):
            try:
                value = adapt_input_conv(target.shape[1], value, base_chans=value.shape[1])
            except (NotImplementedError, ValueError):
                pass  # a stem timm cannot re-sum: reported below as another shape
        if value.shape == target.shape:
            found.tensors[name] = value
        else:
            found.shapes.append(f"{name}: file {tuple(value.shape)} vs model "
                                f"{tuple(target.shape)}")
    return found


def fill_weights(module: nn.Module, sd: dict[str, torch.Tensor], path: str | Path, what: str,
                 skip: tuple[str, ...] = (), adapt: tuple[str, ...] = ()) -> str:
    """Load `sd` into every tensor of `module` (but those under `skip`) or stop the run naming
    `path`, the counts and a few of the tensors it lacks; returns the line saying what was
    filled."""
    found = match_weights(module, sd, skip, adapt)
    if not found.complete:
        raise SystemExit(f"pretrained_path {path} does not fit {what}: {found.report()}")
    module.load_state_dict(found.tensors, strict=False)
    return f"pretrained_path {path}: loaded {what} ({found.count()})"
