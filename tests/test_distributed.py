"""Training with DistributedDataParallel (torchrun) equals training in one process: 2 CPU
processes on the gloo backend against 1, on the same tiny data."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.multiprocessing as mp
import torch.nn as nn
from timm.layers import BatchNormAct2d

import distributed
import prepare
import train
from configs import Config
from conftest import assert_out_of_fold
from datasets import EpochSampler, class_balanced_weights
from losses import build_loss
from models import SedModel
from training import FoldTrainer

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("balanced", [False, True])
def test_sampler_shards_are_disjoint_and_make_the_global_batches(balanced):
    labels = [[i % 3] for i in range(10)] + [[0]] * 7
    weights = class_balanced_weights(labels, 3) if balanced else None
    world, batch = 2, 4
    whole = list(EpochSampler(len(labels), 3, weights, seed=5))  # 51 (recording, draw) items
    shards = [list(EpochSampler(len(labels), 3, weights, seed=5, num_replicas=world, rank=r))
              for r in range(world)]
    assert len(shards[0]) == len(shards[1]) == len(whole) // world
    assert not {d for _, d in shards[0]} & {d for _, d in shards[1]}  # no crop on two ranks
    # the union of the ranks' k-th batches of batch / world is the k-th batch of one process
    for k in range(len(whole) // batch):
        union = [item for shard in shards
                 for item in shard[k * batch // world:(k + 1) * batch // world]]
        assert sorted(union) == sorted(whole[k * batch:(k + 1) * batch])
    # a resumed rank skips the items of the steps it has trained
    resumed = EpochSampler(len(labels), 3, weights, seed=5, num_replicas=world, rank=1)
    resumed.set_epoch(0, start=2 * batch // world)
    assert list(resumed) == shards[1][2 * batch // world:]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def join_group(rank: int, port: int) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE="2",
                      RANK=str(rank), LOCAL_RANK=str(rank))
    distributed.setup("cpu")


def norm_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.BatchNorm1d(5), nn.Unflatten(2, (3, 4)), nn.Conv2d(5, 6, 3, padding=1),
                         BatchNormAct2d(6, act_layer=nn.ReLU), nn.Conv2d(6, 4, 1),
                         nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(48, 1))


def norm_batch() -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs, and per-sample loss weights so that the loss is no plain sum."""
    return (torch.randn(8, 5, 12, generator=torch.Generator().manual_seed(1)) * 3 + 2,
            torch.arange(8.0).view(-1, 1))


def run_norm_net(net: nn.Module, x: torch.Tensor, weights: torch.Tensor) -> dict:
    x = x.clone().requires_grad_()
    out = net(x)
    (out * weights).sum().backward()
    return {"out": out.detach(), "x_grad": x.grad,
            "grads": {k: p.grad for k, p in net.named_parameters()},
            "buffers": {k: b.clone() for k, b in net.named_buffers()}}


def rank_checks(rank: int, port: int, out_dir: str) -> None:
    """Run in each of 2 spawned processes: the CPU sync_bn layers on this rank's half of the
    batch, then a FoldTrainer's save and load."""
    join_group(rank, port)
    net = distributed.sync_batchnorm(norm_net(), torch.device("cpu"))
    mine = slice(rank * 4, (rank + 1) * 4)
    x, weights = norm_batch()
    norm = run_norm_net(net, x[mine], weights[mine])

    torch.manual_seed(0)
    cfg = Config(sample_rate=8000, n_fft=256, hop_length=80, mel_bins=16, backbone="resnet10t",
                 head_hidden=16, epochs=2, ema=0.5)
    model = SedModel(3, cfg.sample_rate, cfg.n_fft, cfg.hop_length, cfg.mel_bins,
                     backbone=cfg.backbone, head_hidden=cfg.head_hidden)
    trainer = FoldTrainer(cfg, distributed.wrap(model, torch.device("cpu")),
                          build_loss("panns"), 3, torch.device("cpu"))
    distributed.decorrelate(7)
    trainer.running = {"loss": 1.0 + rank, "count": 2, "truth": [np.eye(2, 3)],
                       "scores": [np.full((2, 3), 0.5)]}
    path = Path(out_dir) / "state.pt"
    trainer.save(path)
    draws = torch.rand(3)  # what this rank's stream gives next
    torch.manual_seed(123)  # a fresh process would start elsewhere
    assert trainer.load(path)
    torch.save({**norm, "draws": draws, "after_load": torch.rand(3), "running": trainer.running,
                "stats": trainer.end_epoch()}, Path(out_dir) / f"rank{rank}.pt")
    distributed.cleanup()


@pytest.fixture(scope="module")
def ranks(tmp_path_factory) -> list[dict]:
    out = tmp_path_factory.mktemp("ranks")
    mp.spawn(rank_checks, args=(free_port(), str(out)), nprocs=2)
    return [torch.load(out / f"rank{r}.pt", weights_only=False) for r in (0, 1)] + [
        torch.load(out / "state.pt", weights_only=False)]


def test_cpu_sync_batchnorm_equals_batchnorm_on_the_global_batch(ranks):
    """torch's SyncBatchNorm is CUDA-only; on CPU sync_bn normalises with the global batch's
    statistics: outputs, gradients and running statistics of one process on the whole batch."""
    ref = run_norm_net(norm_net(), *norm_batch())
    for key in ("out", "x_grad"):
        assert torch.allclose(torch.cat([r[key] for r in ranks[:2]]), ref[key], atol=1e-5), key
    for key, grad in ref["grads"].items():  # each rank's loss reaches the others' inputs
        assert torch.allclose(ranks[0]["grads"][key] + ranks[1]["grads"][key], grad,
                              rtol=1e-4, atol=1e-5), key
    for key, buffer in ref["buffers"].items():
        assert torch.equal(ranks[0]["buffers"][key], ranks[1]["buffers"][key]), key
        assert torch.allclose(ranks[0]["buffers"][key].float(), buffer.float(), atol=1e-5), key


def test_resume_state_keeps_each_ranks_rng_and_the_epoch_statistics(ranks):
    rank0, rank1, state = ranks
    assert len(state["rng"]) == 2
    assert not torch.equal(rank0["draws"], rank1["draws"])  # ranks draw differently
    for r in (rank0, rank1):
        assert torch.equal(r["after_load"], r["draws"])  # each rank resumes its own stream
    assert rank0["running"]["count"] == 4 and rank1["running"]["count"] == 0
    assert rank0["stats"]["loss"] == rank1["stats"]["loss"] == pytest.approx(3.0 / 4)


# --- end to end: torchrun with 2 processes against one process ------------------------------

@pytest.fixture(scope="module")
def config_path(rfcx_tiny, write_config_module):
    root = rfcx_tiny
    # dropout, mixup, SpecAugment and batch_augment draw per rank (a rank's share of the
    # batch gets other masks than the same samples would in one process): off, so the runs
    # must agree
    path = write_config_module(
        root / "tinyddp.py", data_dir=str(root / "tiny"), cache_dir=str(root / "cache"),
        sample_rate=8000, duration=1.0, n_folds=2, crops_per_file=2, epochs=2, batch_size=4,
        n_fft=256, hop_length=128, mel_bins=16, backbone="resnet10t", head_hidden=16,
        dropout=0.0, batch_augment=None, num_workers=0, checkpoint_every=2, amp=None,
        sync_bn=True)
    prepare.main([path])
    return Path(path)


def torchrun(config: Path, workdir: Path, *args: str) -> str:
    """train.py in 2 processes on the gloo backend (no GPU here); returns the console."""
    workdir.mkdir(exist_ok=True)
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc_per_node=2", str(ROOT / "src" / "train.py"), str(config),
                           *args], cwd=workdir, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def outputs(workdir: Path) -> list[str]:
    return sorted(str(p.relative_to(workdir)) for p in workdir.rglob("*") if p.is_file())


def test_two_processes_train_what_one_does_and_write_one_set_of_outputs(config_path, tmp_path,
                                                                       monkeypatch):
    """Same OOF, metrics and logs within float noise, through a kill and a resume under DDP;
    one set of files, one console summary. Measured OOF differences: 2e-6; 0.1 without
    sync_bn (per-rank BatchNorm statistics); 7e-4 between two single processes with 1 and 2
    CPU threads (other float sums, grown by Adam over the steps): the reference runs with one
    thread, as torchrun gives each of its processes."""
    single, ddp = tmp_path / "single", tmp_path / "ddp"
    single.mkdir()
    monkeypatch.chdir(single)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train.main([str(config_path)])
    finally:
        torch.set_num_threads(threads)
    # 3 steps per epoch: stop in epoch 1 of fold 0, then resume to the end
    first = torchrun(config_path, ddp, "--max-steps", "4")
    assert first.count("stopped after --max-steps") == 1
    state = torch.load(ddp / "models/tinyddp/fold0.last.pt", weights_only=False)
    assert (state["epoch"], state["step"]) == (1, 1) and len(state["rng"]) == 2
    out = torchrun(config_path, ddp)
    assert out.count("fold0: resuming at epoch 1 step 1") == 1
    assert out.count("cv_lwlrap=") == 1 and out.count("fold1 epoch 1:") == 1

    assert outputs(ddp) == outputs(single)
    assert assert_out_of_fold(ddp / "models/tinyddp",
                              config_path.parent / "cache/folds_k2_seed42.csv") == 2
    a, b = np.load(single / "oof/tinyddp.npy"), np.load(ddp / "oof/tinyddp.npy")
    assert a.std() > 0.01 and np.allclose(a, b, atol=1e-4)
    meta_a = json.loads((single / "oof/tinyddp.json").read_text())
    meta_b = json.loads((ddp / "oof/tinyddp.json").read_text())
    assert meta_a["ids"] == meta_b["ids"] and meta_a["cv"] == pytest.approx(meta_b["cv"], abs=1e-4)
    for fold in (0, 1):
        log_a = pd.read_csv(single / f"models/tinyddp/log_fold{fold}.csv")
        log_b = pd.read_csv(ddp / f"models/tinyddp/log_fold{fold}.csv")
        pd.testing.assert_frame_equal(log_a, log_b, atol=1e-4)
