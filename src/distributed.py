"""Multi-process training on PyTorch's own engine: `torchrun` starts the processes, this module
joins them (gloo on CPU, nccl on CUDA) and wraps the model in DistributedDataParallel.

The aim is that N processes train the model one process would, up to float rounding: the
global batch stays `batch_size` (each rank takes `batch_size / N` of it, EpochSampler's
interleaved shards make the union of the ranks' k-th batches the single process's k-th batch),
DDP averages the gradients, and with `sync_bn` BatchNorm normalises with the statistics of the
global batch. Outside torchrun every helper is the single-process identity, so train.py has
one code path.
"""
from __future__ import annotations

import datetime
import os

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.parallel import DistributedDataParallel

from engine import resolve_device

__all__ = ["setup", "cleanup", "rank", "world_size", "is_main", "print0", "per_rank_batch",
           "shard", "all_gather", "barrier", "decorrelate", "wrap", "unwrap", "sync_batchnorm"]


def setup(device_name: str) -> torch.device:
    """Join the process group torchrun describes (WORLD_SIZE, RANK, LOCAL_RANK, MASTER_ADDR);
    returns this process's device: `cuda:LOCAL_RANK` when training on CUDA."""
    device = resolve_device(device_name)
    if int(os.environ.get("WORLD_SIZE", "1")) == 1 or dist.is_initialized():
        return device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo",
                            timeout=datetime.timedelta(minutes=30))  # long validations
    return device


def cleanup() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def world_size() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def is_main() -> bool:
    """Rank 0 alone writes checkpoints, logs, the OOF and the console lines."""
    return rank() == 0


def print0(*args) -> None:
    if is_main():
        print(*args, flush=True)


def per_rank_batch(batch_size: int) -> int:
    """Each rank's share of the global batch, so the optimizer sees the same batches as one
    process with `batch_size` whatever the number of processes."""
    if batch_size % world_size():
        raise SystemExit(f"batch_size {batch_size} is not divisible by the {world_size()} "
                         "processes: the global batch must split evenly between them")
    return batch_size // world_size()


def shard(n: int) -> list[int]:
    """This rank's items of `n` (every world_size-th), e.g. its validation recordings."""
    return list(range(rank(), n, world_size()))


def all_gather(obj) -> list:
    """Every rank's `obj` (any picklable object), in rank order, on every rank."""
    if world_size() == 1:
        return [obj]
    out = [None] * world_size()
    dist.all_gather_object(out, obj)
    return out


def barrier() -> None:
    if world_size() > 1:
        dist.barrier()


def decorrelate(seed: int) -> None:
    """Give ranks > 0 their own global RNG streams (dropout, SpecAugment, mixup), drawn after
    the model is built so every rank starts from the same weights; rank 0 keeps the stream of a
    single process."""
    if rank() > 0:
        rank_seed = int(np.random.SeedSequence([seed, rank()]).generate_state(1)[0])
        torch.manual_seed(rank_seed)
        np.random.seed(rank_seed)


def wrap(model: nn.Module, device: torch.device, sync_bn: bool = False) -> nn.Module:
    """The model in DistributedDataParallel under torchrun (as is otherwise), with its
    BatchNorm layers synchronised across ranks when `sync_bn`."""
    if world_size() == 1:
        return model
    if sync_bn:
        model = sync_batchnorm(model, device)
    # static_graph: the same parameters take part in every step, including ones the pooling
    # leaves unused (the attention branch under max pooling), which DDP then skips cheaply
    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda"
                                   else None, static_graph=True)


def unwrap(model: nn.Module) -> nn.Module:
    """The module DDP wraps: what is saved, evaluated and averaged (EMA)."""
    return model.module if isinstance(model, DistributedDataParallel) else model


def sync_batchnorm(model: nn.Module, device: torch.device) -> nn.Module:
    """torch's SyncBatchNorm on CUDA (timm's conversion, which keeps the activation of its
    BatchNormAct layers); on CPU, where torch has no SyncBatchNorm kernel, the same global-batch
    statistics through differentiable all-reduces (`GlobalStats`)."""
    if device.type != "cpu":
        from timm.layers import convert_sync_batchnorm

        return convert_sync_batchnorm(model)
    for module in model.modules():
        if isinstance(module, _BatchNorm) and not isinstance(module, GlobalStats):
            module.__class__ = _global_stats_class(type(module))
    return model


class _AllReduceSum(torch.autograd.Function):
    """Sum over ranks whose gradient is the sum over ranks of the gradients: each rank's input
    feeds every rank's loss."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        x = x.clone()
        dist.all_reduce(x)
        return x

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


class GlobalStats:
    """Mixed into a BatchNorm class (timm's BatchNormAct2d included): in training under a CPU
    process group, normalise with the mean and variance of the global batch and update the
    running statistics with them, as one process on the whole batch would (sums in float64);
    elsewhere the layer's own forward. The state dict is the layer's own, so checkpoints load
    anywhere."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and world_size() > 1 and x.device.type == "cpu"):
            return super().forward(x)
        dims = [0, *range(2, x.dim())]
        x64 = x.double()
        count = x64.new_tensor([x.numel() / x.shape[1]])
        total = _AllReduceSum.apply(torch.cat([x64.sum(dims), (x64 * x64).sum(dims), count]))
        c, n = x.shape[1], total[-1]
        mean, var = total[:c] / n, total[c:2 * c] / n - (total[:c] / n) ** 2
        if self.track_running_stats:
            self.num_batches_tracked.add_(1)
            factor = self.momentum if self.momentum is not None else \
                1.0 / float(self.num_batches_tracked)
            with torch.no_grad():
                self.running_mean.lerp_(mean.to(self.running_mean.dtype), factor)
                self.running_var.lerp_((var * n / (n - 1)).to(self.running_var.dtype), factor)
        shape = (1, c) + (1,) * (x.dim() - 2)
        y = ((x64 - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)).to(x.dtype)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        if hasattr(self, "act"):  # timm BatchNormAct2d: dropout and activation follow the norm
            y = self.act(self.drop(y))
        return y


_GLOBAL_STATS_CLASSES: dict[type, type] = {}


def _global_stats_class(cls: type) -> type:
    if cls not in _GLOBAL_STATS_CLASSES:
        _GLOBAL_STATS_CLASSES[cls] = type(f"GlobalStats{cls.__name__}", (GlobalStats, cls), {})
    return _GLOBAL_STATS_CLASSES[cls]
