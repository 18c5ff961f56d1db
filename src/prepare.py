"""Decode every train and test recording once into the resampled int16 cache, and write folds
(none for a full fit).

    python src/prepare.py EXP [--teacher]

`--teacher` also runs the optional BirdNET teacher (teacher.py) once over the cached train and
test audio, storing its window logits and embeddings for the experiments that use them.

Idempotent: files already cached are kept, so a second run (or a run after a crash) only
does what is missing, or what was cached from a source since replaced under the same name (its
size or modification time differs from <cache>/sources.csv). A file that cannot be read stops
nothing: every such file is listed with its reason (on screen and in <cache>/unreadable.csv),
training leaves it out and inference gives its rows the class prior; the next run tries it
again. A disk that refuses the cache (full, read-only) stops the run, naming the folder; a
complete cache on a read-only disk is used as it is.
"""
from __future__ import annotations

import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from tqdm import tqdm

from atomic import DiskError, disk_error, run_script, sweep, update_csv, write_csv
from audio import AudioError, cache_audio, open_cached
from competitions import competition_for
from competitions.tables import fail
from configs import experiment_cli
from cache import (cache_root, cached_path, fold_seed, folds_path, read_sources, source_key,
                   sources_path, unreadable_path)
from folds import make_folds
from recordings import background_files, folder_files, unlabeled_files

SHOWN = 20  # files named on screen per list; all unreadable ones go to unreadable.csv


def cache_one(job: tuple[str, str, str, str, int]) -> tuple[str | None, list[str]]:
    """Decode + resample + store one file. Returns (why it could not be read, or None; notes on
    what was repaired) instead of raising, so one bad file does not stop the others. A disk
    that refuses the cache file raises DiskError (no Exception: it stops the run)."""
    _, _, src, dst, sample_rate = job
    try:
        report = cache_audio(src, dst, sample_rate)
    except AudioError as e:
        return str(e), []
    except Exception as e:  # noqa: BLE001 - listed with the file name like any other failure
        return f"{type(e).__name__}: {e}", []
    notes = [f"{report.non_finite} NaN/inf sample(s) set to 0"] * bool(report.non_finite)
    notes += ["silent: every sample is 0"] * (report.peak == 0)
    return None, notes


def run_isolated(fn: Callable, jobs: list, workers: int,
                 progress: Callable[[int], object] = lambda n: None) -> dict:
    """{job: fn(job)} computed in `workers` processes. A job that kills its process (a codec
    library crashing on a malformed file) breaks the pool and every job still pending with it;
    those are run again in halves until the culprit is alone, and it is reported as unreadable
    ("the decoder crashed on it") instead of taking prepare down.

    Ctrl-C, or a DiskError from any job, ends the workers at once (not after the files still
    queued) and is raised here; the workers are started with Ctrl-C blocked, so none prints a
    traceback of its own."""
    results: dict = {}
    groups = [list(jobs)] if jobs else []
    while groups:
        group, broken = groups.pop(), []
        pool = ProcessPoolExecutor(min(workers, len(group)))
        try:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})  # inherited by the workers
            try:
                futures = {pool.submit(fn, job): job for job in group}  # starts the workers
            finally:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
            for future in as_completed(futures):
                try:
                    results[futures[future]] = future.result()
                    progress(1)
                except BrokenProcessPool:
                    broken.append(futures[future])
        except BaseException:
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                process.terminate()  # mid-file: its temporary is swept by the caller
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        if len(broken) == 1:
            results[broken[0]] = ("the decoder crashed on it (its process died)", [])
            progress(1)
        elif broken:
            groups += [broken[len(broken) // 2:], broken[:len(broken) // 2]]
    return results


def cache_all(cfg, jobs: list[tuple[str, str, str, str, int]]) -> pd.DataFrame:
    """Cache what is not cached yet, or was cached from a source replaced since (its size or
    modification time differs from sources.csv's); returns the files that could not be read
    (split, id, path, reason), also written to unreadable.csv, and prints them and the repaired
    ones. A cached file without a recorded source (a cache older than sources.csv, or one a
    killed run left) is taken as decoded from its current source, not decoded again.

    A disk that refuses a cache file stops the run (DiskError) with the temporaries of the
    ended workers removed; so does Ctrl-C."""
    recorded, keys = read_sources(cfg), {job: source_key(job[2]) for job in jobs}
    cached = [job for job in jobs if Path(job[3]).exists()]
    changed = [job for job in cached
               if keys[job] is not None and recorded.get(job[:2], keys[job]) != keys[job]]
    adopted = [job for job in cached if job[:2] not in recorded and keys[job] is not None]
    keep = set(cached) - set(changed)
    todo = [job for job in jobs if job not in keep]
    print(f"prepare {cfg.name}: {len(jobs)} recordings, {len(keep)} already cached in "
          f"{cache_root(cfg)}")
    if changed:
        print(f"{len(changed)} source file(s) changed since they were cached (new size or "
              "modification time); decoding them again:")
        _show([f"  {job[2]}" for job in changed])
        for job in changed:  # gone first: a failed decode must not leave the old one in use
            _remove(job[3])
    if adopted:
        print(f"{len(adopted)} cached file(s) had no recorded source size and time; taken as "
              f"decoded from the current source (recorded in {sources_path(cfg)})")
    failed, repaired = [], []
    try:
        with tqdm(total=len(todo), desc="decode", unit="file", dynamic_ncols=True) as bar:
            results = run_isolated(cache_one, todo, max(1, cfg.num_workers), bar.update)
    except BaseException:
        for folder in {Path(job[3]).parent for job in todo if Path(job[3]).parent.is_dir()}:
            try:
                sweep(folder, again=True)  # the ended workers' temporaries
            except OSError:
                pass
        raise
    for job in todo:
        split, audio_id, src, _, _ = job
        error, notes = results[job]
        if error:
            failed.append({"split": split, "id": audio_id, "path": src, "reason": error})
        repaired += [f"  {src}: {note}" for note in notes]
    if repaired:
        print("repaired while caching:", *repaired, sep="\n")
    table = pd.DataFrame(failed, columns=["split", "id", "path", "reason"])
    _record(unreadable_path(cfg), table)
    new = set(todo) | set(adopted)
    for job in jobs:
        if not Path(job[3]).exists():
            recorded.pop(job[:2], None)
        elif keys[job] is not None and job in new:
            recorded[job[:2]] = keys[job]  # taken before decoding: a later change is noticed
    _record(sources_path(cfg), pd.DataFrame(
        [(s, i, z, t) for (s, i), (z, t) in sorted(recorded.items())],
        columns=["split", "id", "size", "mtime_ns"]))
    if failed:
        print(f"could not read {len(failed)} file(s) (all in {unreadable_path(cfg)}); training "
              "leaves them out, their test rows get the class prior:")
        _show([f"  {row['path']}: {row['reason']}" for row in failed])
    return table


def _show(lines: list[str]) -> None:
    print(*lines[:SHOWN], sep="\n")
    if len(lines) > SHOWN:
        print(f"  ... and {len(lines) - SHOWN} more")


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
    except OSError as e:  # a read-only cache cannot drop what it holds
        raise disk_error(Path(path).parent, e) from e


def _record(path: Path, table: pd.DataFrame) -> None:
    """Bookkeeping beside the cache, written only when it changed: a complete cache on a
    read-only disk needs no write, and one this run cannot update is still read as it is."""
    try:
        update_csv(path, table)
    except DiskError as e:
        print(f"warning: {path} not updated: {e}", file=sys.stderr)


def check_event_times(cfg, comp, recordings) -> None:
    """Strong labels must lie inside their audio: a t_max past the end is a labelling error
    (or the wrong file), found now rather than as silent empty crops during training.
    Recordings that could not be read are skipped (training leaves them out)."""
    if comp.events_file is None:
        return
    seconds = {i: len(open_cached(path)) / cfg.sample_rate for i in recordings["id"]
               for path in [cached_path(cfg, "train", i)] if path.exists()}
    events = comp.train_events()
    length = events["id"].map(seconds)  # NaN where unreadable: never "beyond"
    late = np.isfinite(events["t_max"]) & (events["t_max"] > length + 0.05)
    if late.any():
        ev = events[late].iloc[0]
        fail(comp.events_file, int(ev["row"]), f"t_max={ev['t_max']} is beyond the end of "
                                               f"{ev['id']}'s audio ({seconds[ev['id']]:.2f} s)")


def main(argv: list[str] | None = None) -> None:
    def add_arguments(parser):
        parser.add_argument("--teacher", action="store_true",
                            help="fill the BirdNET teacher's cache too (requirements-teacher.txt)")

    cfg, args = experiment_cli(__doc__, argv, add_arguments)
    comp = competition_for(cfg)

    recordings = comp.train_recordings()
    tests = comp.test_rows().drop_duplicates("audio_id")
    jobs = [("train", i, p, str(cached_path(cfg, "train", i)), cfg.sample_rate)
            for i, p in zip(recordings["id"], recordings["path"])]
    jobs += [("test", i, p, str(cached_path(cfg, "test", i)), cfg.sample_rate)
             for i, p in zip(tests["audio_id"], tests["path"])]
    extra = unlabeled_files(cfg)  # audio for the teacher to label (distill_audio)
    jobs += [("unlabeled", i, p, str(cached_path(cfg, "unlabeled", i)), cfg.sample_rate)
             for i, p in zip(extra["id"], extra["path"])]
    scapes = comp.labelled_soundscapes() if cfg.valid_soundscapes else None
    if scapes is not None:  # the soundscape view of validation scores these
        audio = scapes[0].drop_duplicates("audio_id")
        jobs += [("soundscape", a, p, str(cached_path(cfg, "soundscape", a)), cfg.sample_rate)
                 for a, p in zip(audio["audio_id"], audio["path"])]
    noise = background_files(cfg)  # under the validation soundscapes (soundscapes.py)
    jobs += [("background", i, p, str(cached_path(cfg, "background", i)), cfg.sample_rate)
             for i, p in zip(noise["id"], noise["path"])]
    negatives = folder_files(cfg.negative_audio, "negative_audio")
    jobs += [("negative", i, p, str(cached_path(cfg, "negative", i)), cfg.sample_rate)
             for i, p in zip(negatives["id"], negatives["path"])]
    failed = cache_all(cfg, jobs)
    if len(recordings) and (failed["split"] == "train").sum() == len(recordings):
        raise SystemExit(f"none of the {len(recordings)} train recordings could be read "
                         f"(listed in {unreadable_path(cfg)}): is data_dir right?")

    check_event_times(cfg, comp, recordings)
    if cfg.full_fit:  # one model on everything: a split would be unused, and may not exist
        print("folds: none (full_fit trains on every recording)")
    else:
        path = folds_path(cfg)
        if not path.exists():
            folds = pd.DataFrame({"id": recordings["id"],
                                  "fold": make_folds(recordings, cfg.n_folds, fold_seed(cfg),
                                                     cfg.fold_scheme)})
            write_csv(path, folds)
        print(f"folds: {path}")
    if args.teacher:
        import teacher  # torch and the optional extra, only when asked for

        teacher.competition_map(cfg, comp)
        teacher.fill_cache(cfg, {"train": recordings["id"].tolist(),
                                 "test": tests["audio_id"].tolist()})
        print(f"teacher cache: {teacher.teacher_root(cfg)}")


if __name__ == "__main__":
    run_script(main)
