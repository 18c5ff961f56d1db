"""Benchmarks that print figures (never timed unit tests: shared machines are noisy).

    python src/bench.py io EXP      # cost of reading one training crop, by storage format
    python src/bench.py train EXP   # training samples/s end to end vs the model alone
    python src/bench.py cv EXP ...  # CV (top-1, LWLRAP, window AUC) and CPU-minutes per fold
    python src/bench.py teacher EXP # BirdNET teacher vs the experiment's model, audio s per s
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from audio import decode, open_cached, to_float
from configs import experiment_cli, load_config
from datasets import cache_root, cached_path
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
    from engine import resolve_device, seed_everything
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


def bench_teacher(cfg, n_recordings: int = 12) -> None:
    """Audio seconds per wall second on the same cached train recordings: the BirdNET teacher
    (3-s windows without overlap, batches of 16) against this experiment's SED model (its
    `duration` windows, batched; weights do not change the speed)."""
    import torch

    import teacher
    from datasets import RecordingWindows
    from engine import predict_timelines, resolve_device
    from models import build_model

    comp = competition_for(cfg)
    ids = comp.train_recordings()["id"].tolist()[:n_recordings]
    paths = [str(cached_path(cfg, "train", i)) for i in ids]
    seconds = sum(len(open_cached(p)) for p in paths) / cfg.sample_rate
    model = teacher.BirdNet()
    model(np.zeros((16, int(teacher.SAMPLE_RATE * teacher.WINDOW_S)), np.float32))  # warm-up
    start = time.perf_counter()
    for p in paths:
        teacher.run_teacher(model, p, cfg.sample_rate, teacher.WINDOW_S)
    teacher_speed = seconds / (time.perf_counter() - start)
    device = resolve_device(cfg.device)
    student = build_model(cfg, len(comp.classes), weights=False).to(device)
    windows = RecordingWindows(paths, cfg.sample_rate, cfg.duration)
    with torch.inference_mode():
        list(predict_timelines([student], RecordingWindows(paths[:1], cfg.sample_rate,
                                                           cfg.duration), cfg, device))
        start = time.perf_counter()
        list(predict_timelines([student], windows, cfg, device))
    student_speed = seconds / (time.perf_counter() - start)
    print(f"recordings={len(paths)} audio_s={seconds:.0f} backbone={cfg.backbone}")
    print(f"teacher_audio_s_per_s={teacher_speed:.1f} student_audio_s_per_s={student_speed:.1f} "
          f"student_vs_teacher={student_speed / teacher_speed:.2f}")


CV_METRICS = ("top1", "lwlrap", "window_auc")


def bench_cv(experiments: list[str]) -> None:
    """Train each experiment from scratch in a scratch folder (the user's models/ and oof/ are
    left alone; input/ is shared, so the audio cache is reused) and print, side by side, the
    validation scores of each fold's kept epoch, averaged over folds with their spread, and the
    CPU-minutes (all processes, loader workers included) and wall minutes per fold."""
    import json
    import resource
    import subprocess

    src, rows = Path(__file__).resolve().parent, []
    for name in experiments:
        subprocess.run([sys.executable, str(src / "prepare.py"), name], check=True)
        cfg = load_config(name)
        paths = {"cache_dir": cache_root(cfg)}  # relative paths, resolved from here
        paths.update({k: getattr(cfg, k) for k in ("data_dir", "test_dir", "solution_csv",
                                                    "pretrained_path") if getattr(cfg, k)})
        overrides = [f"{k}={str(Path(v).resolve())!r}" for k, v in paths.items()]
        with tempfile.TemporaryDirectory() as tmp:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run([sys.executable, str(src / "train.py"), name,
                            *[a for o in overrides for a in ("-o", o)]], cwd=tmp, check=True)
            wall = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            folds = sorted((Path(tmp) / "models" / name).glob("scores_fold*.json"))
            scores = [json.loads(f.read_text()) for f in folds]
        cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        row = {"experiment": name, "folds": len(scores),
               "cpu_min_per_fold": cpu / 60 / max(1, len(scores)),
               "wall_min_per_fold": wall / 60 / max(1, len(scores))}
        for key in CV_METRICS:
            values = np.array([s.get(key, np.nan) for s in scores], dtype=float)
            row[key] = f"{np.nanmean(values):.3f} ({' '.join(f'{v:.3f}' for v in values)})"
        rows.append(row)
        print(" ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in row.items()), flush=True)
    import pandas as pd
    print(pd.DataFrame(rows).to_string(index=False, float_format="%.1f"))


BENCHES = {"io": bench_io, "train": bench_train, "teacher": bench_teacher}


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "cv":
        if len(argv) < 2:
            raise SystemExit("usage: python src/bench.py cv EXP [EXP ...]")
        return bench_cv(argv[1:])
    if not argv or argv[0] not in BENCHES:
        raise SystemExit(f"usage: python src/bench.py {{{','.join([*BENCHES, 'cv'])}}} EXP")
    cfg, _ = experiment_cli(__doc__, argv[1:])
    BENCHES[argv[0]](cfg)


if __name__ == "__main__":
    main()
