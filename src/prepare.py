"""Decode every train and test recording once into the resampled int16 cache, and write folds.

    python src/prepare.py EXP

Idempotent: files already cached are kept, so a second run (or a run after a crash) only
does what is missing.
"""
from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from atomic import write_csv
from audio import decode, open_cached, save_cached
from competitions import competition_for
from competitions.tables import fail
from configs import experiment_cli
from datasets import cache_root, cached_path, folds_path, make_folds


def cache_one(job: tuple[str, str, int]) -> str | None:
    """Decode + resample + store one file; returns an error message instead of raising, so
    one unreadable file does not stop the others."""
    src, dst, sample_rate = job
    try:
        save_cached(dst, decode(src, sample_rate))
    except Exception as e:  # noqa: BLE001 - reported to the user with the file name
        return f"{src}: {type(e).__name__}: {e}"
    return None


def check_event_times(cfg, comp, recordings) -> None:
    """Strong labels must lie inside their audio: a t_max past the end is a labelling error
    (or the wrong file), found now rather than as silent empty crops during training."""
    if comp.events_file is None:
        return
    seconds = {i: len(open_cached(cached_path(cfg, "train", i))) / cfg.sample_rate
               for i in recordings["id"]}
    events = comp.train_events()
    length = events["id"].map(seconds)
    late = np.isfinite(events["t_max"]) & (events["t_max"] > length + 0.05)
    if late.any():
        ev = events[late].iloc[0]
        fail(comp.events_file, int(ev["row"]), f"t_max={ev['t_max']} is beyond the end of "
                                               f"{ev['id']}'s audio ({seconds[ev['id']]:.2f} s)")


def main(argv: list[str] | None = None) -> None:
    cfg, _ = experiment_cli(__doc__, argv)
    comp = competition_for(cfg)

    recordings = comp.train_recordings()
    tests = comp.test_rows().drop_duplicates("audio_id")
    jobs = [(p, str(cached_path(cfg, "train", i)), cfg.sample_rate)
            for i, p in zip(recordings["id"], recordings["path"])]
    jobs += [(p, str(cached_path(cfg, "test", i)), cfg.sample_rate)
             for i, p in zip(tests["audio_id"], tests["path"])]
    todo = [job for job in jobs if not Path(job[1]).exists()]
    print(f"prepare {cfg.name}: {len(jobs)} recordings, {len(jobs) - len(todo)} already cached "
          f"in {cache_root(cfg)}")
    errors = []
    if todo:
        with ProcessPoolExecutor(max(1, cfg.num_workers)) as pool:
            for err in tqdm(pool.map(cache_one, todo, chunksize=4), total=len(todo),
                            desc="decode", unit="file", dynamic_ncols=True):
                if err:
                    errors.append(err)
    for err in errors:
        print(f"  could not read {err}")
    if errors:
        raise SystemExit(f"{len(errors)} file(s) could not be read (listed above)")

    check_event_times(cfg, comp, recordings)
    path = folds_path(cfg)
    if not path.exists():
        folds = pd.DataFrame({"id": recordings["id"],
                              "fold": make_folds(recordings, cfg.n_folds, cfg.seed,
                                                         cfg.fold_scheme)})
        write_csv(path, folds)
    print(f"folds: {path}")


if __name__ == "__main__":
    main()
