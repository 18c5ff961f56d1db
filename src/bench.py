"""Benchmarks that print figures (never timed unit tests: shared machines are noisy).

    python src/bench.py io EXP      # cost of reading one training crop, by storage format
    python src/bench.py train EXP   # training samples/s end to end vs the model alone
    python src/bench.py ddp EXP     # one fold by 1 process vs 2 under torchrun (DDP)
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from audio import decode, open_cached, to_float
from configs import experiment_cli
from datasets import cache_root, cached_path
from engine import resolve_device
from competitions import competition_for


def per_call_ms(fn, paths: list, repeats: int = 3) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        for p in paths:
            fn(p)
    return (time.perf_counter() - start) / (repeats * len(paths)) * 1000


def bench_io(cfg) -> None:
    """One random `cfg.duration` crop read from: the int16 .npy cache (memory-mapped), a FLAC
    at the cache's sample rate (soundfile seeks), and the original file decoded + resampled."""
    comp = competition_for(cfg)
    recs = comp.train_recordings().head(30)
    cached = [cached_path(cfg, "train", i) for i in recs["id"]]
    if not all(p.exists() for p in cached):
        raise SystemExit(f"run `python src/prepare.py {cfg.name}` first")
    rng = np.random.default_rng(0)
    crop = int(cfg.duration * cfg.sample_rate)

    def npy(path):
        ints = open_cached(path)
        start = int(rng.integers(0, max(1, len(ints) - crop)))
        return to_float(ints[start:start + crop])

    with tempfile.TemporaryDirectory() as tmp:
        flacs = []
        for p in cached:
            flacs.append(Path(tmp) / f"{p.stem}.flac")
            sf.write(flacs[-1], to_float(open_cached(p)), cfg.sample_rate, subtype="PCM_16")

        def flac(path):
            n = sf.info(str(path)).frames
            start = int(rng.integers(0, max(1, n - crop)))
            return sf.read(str(path), start=start, frames=crop, dtype="float32")[0]

        figures = {"npy_mmap_ms": per_call_ms(npy, cached),
                   "flac_seek_ms": per_call_ms(flac, flacs),
                   "decode_resample_ms": per_call_ms(lambda p: decode(p, cfg.sample_rate),
                                                     recs["path"].tolist(), repeats=1)}
    print(" ".join(f"{k}={v:.2f}" for k, v in figures.items()))


def bench_train(cfg, steps: int = 30) -> None:
    """Samples per second of the real training loop (loader workers, augmentation, transfer,
    forward, backward, step) against the same steps on one batch already in memory: the ratio
    says whether the data pipeline keeps the model fed."""
    import torch

    from datasets import load_train_table
    from engine import seed_everything
    from train import build_trainer, train_loader

    comp = competition_for(cfg)
    recordings, events = load_train_table(cfg, comp)
    device = resolve_device(cfg.device)
    seed_everything(cfg.seed)
    _, _, loader = train_loader(cfg, len(comp.classes), recordings, events, cfg.seed, device)
    trainer = build_trainer(cfg, len(comp.classes), len(loader), device)
    steps = min(steps, len(loader) - 3)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    def timed(batches) -> float:
        n, start = 0, 0.0
        for i, batch in enumerate(batches):
            if i == 3:  # after warm-up (worker start, first allocations)
                sync()
                start = time.perf_counter()
            trainer.train_step(batch)
            n += i >= 3
        sync()
        return n * cfg.batch_size / (time.perf_counter() - start)

    def loader_steps():
        for i, batch in enumerate(loader):
            if i == steps + 3:
                return
            yield batch

    end_to_end = timed(loader_steps())
    batch = next(iter(loader))
    model_only = timed([batch] * (steps + 3))
    print(f"device={device} backbone={cfg.backbone} batch={cfg.batch_size} "
          f"crop={cfg.duration}s workers={cfg.num_workers} steps={steps}")
    print(f"train_samples_per_s={end_to_end:.1f} model_only_samples_per_s={model_only:.1f} "
          f"ratio={end_to_end / model_only:.2f}")


def bench_ddp(cfg, processes: int = 2) -> None:
    """One fold trained by one process, then by `processes` under torchrun (gloo on CPU, nccl
    on CUDA: one GPU each) with and without sync_bn: the wall time of each, its CV, and how far
    its out-of-fold predictions are from the single process's. Every process gets one CPU
    thread (torchrun's default), so that the runs also sum floats alike; one more single
    process with 2 threads shows how far mere float rounding carries this training."""
    src = Path(__file__).resolve().parent
    fold = cfg.train_folds[0] if cfg.train_folds else 0
    fields = {k: v for k, v in cfg.to_dict().items() if k != "name"}
    fields["cache_dir"] = str(cache_root(cfg).resolve())  # the runs work in a scratch folder
    for key in ("data_dir", "test_dir", "solution_csv", "pretrained_path"):
        if fields[key]:
            fields[key] = str(Path(fields[key]).resolve())
    runs = {"1 process": (1, cfg.sync_bn, 1), "1 process, 2 CPU threads": (1, cfg.sync_bn, 2),
            f"{processes} processes, sync_bn": (processes, True, 1),
            f"{processes} processes, BatchNorm per rank": (processes, False, 1)}
    print(f"{cfg.name} fold {fold}: device={resolve_device(cfg.device)} epochs={cfg.epochs} "
          f"batch_size={cfg.batch_size} backbone={cfg.backbone}")
    reference = None
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, (n, sync_bn, threads)) in enumerate(runs.items()):
            work = Path(tmp) / f"run{i}"
            work.mkdir()
            lines = ["from configs.base import Config as Base", "", "", "class Config(Base):"]
            lines += [f"    {k} = {v!r}" for k, v in {**fields, "sync_bn": sync_bn}.items()]
            (work / "ddpbench.py").write_text("\n".join(lines) + "\n")
            launch = [sys.executable] if n == 1 else [
                sys.executable, "-m", "torch.distributed.run", "--standalone",
                f"--nproc_per_node={n}"]
            start = time.perf_counter()
            command = [*launch, str(src / "train.py"), "ddpbench.py", "--fold", str(fold)]
            proc = subprocess.run(command, cwd=work, capture_output=True, text=True,
                                  env={**os.environ, "OMP_NUM_THREADS": str(threads)})
            wall = time.perf_counter() - start
            if proc.returncode:
                raise SystemExit(f"{label} failed:\n{proc.stderr[-3000:]}")
            cv = re.search(r"cv_\S+", proc.stdout)[0]
            oof = np.load(work / "oof" / "ddpbench.npy")
            reference = oof if reference is None else reference
            print(f"{label:<40} wall_s={wall:.1f} {cv} "
                  f"oof_max_abs_diff={np.abs(oof - reference).max():.2e}")


BENCHES = {"io": bench_io, "train": bench_train, "ddp": bench_ddp}


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in BENCHES:
        raise SystemExit(f"usage: python src/bench.py {{{','.join(BENCHES)}}} EXP")
    cfg, _ = experiment_cli(__doc__, argv[1:])
    BENCHES[argv[0]](cfg)


if __name__ == "__main__":
    main()
