"""Benchmarks that print figures (never timed unit tests: shared machines are noisy).

    python src/bench.py io EXP   # cost of reading one training crop, by storage format
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from audio import decode, open_cached, to_float
from configs import experiment_cli
from datasets import cached_path
from competitions import get_competition


def per_call_ms(fn, paths: list, repeats: int = 3) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        for p in paths:
            fn(p)
    return (time.perf_counter() - start) / (repeats * len(paths)) * 1000


def bench_io(cfg) -> None:
    """One random `cfg.duration` crop read from: the int16 .npy cache (memory-mapped), a FLAC
    at the cache's sample rate (soundfile seeks), and the original file decoded + resampled."""
    comp = get_competition(cfg.competition, cfg.data_dir)
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


BENCHES = {"io": bench_io}


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in BENCHES:
        raise SystemExit(f"usage: python src/bench.py {{{','.join(BENCHES)}}} EXP")
    cfg, _ = experiment_cli(__doc__, argv[1:])
    BENCHES[argv[0]](cfg)


if __name__ == "__main__":
    main()
