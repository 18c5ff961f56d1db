"""Experiment sweeps: CV scores of whole experiments, kept in a results CSV and rendered.

    python src/sweep.py cv EXP [EXP ...] [--seeds N]  # train each in a scratch folder: CV
                                    # (top-1, LWLRAP, window AUC) per fold, CPU- and wall
                                    # minutes per fold; one CSV row per run
    python src/sweep.py aggregate EXP  # CV of each test-time aggregation on models/EXP's
                                    # trained folds; one CSV row per aggregation
    python src/sweep.py levels EXP --snr=-6,6 --snr 0,20  # the soundscape view of models/
                                    # EXP's folds at each range of call levels
    python src/sweep.py render [CSV ...]  # experiments/<group>/results.csv ->
                                    # docs/<group>-results.md

Rows go to the results.csv of the experiment's folder (`experiments/birdsong/results.csv` for
bird080), or to `experiments/results.csv` for the configs of src/configs/; `--results` names
another. Speed benchmarks are bench.py's.
"""
from __future__ import annotations

import argparse
import csv
import datetime
import io
import json
import os
import platform
import re
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from atomic import atomic_path, run_script
from configs import EXPERIMENTS, Config, experiment_cli, find_experiment, load_config

ROOT = EXPERIMENTS.parent
# the focal view (validation recordings) and the soundscape view (soundscapes.py)
CV_METRICS = ("top1", "lwlrap", "window_auc", "scape_auc", "scape_lwlrap", "scape_cmap")
METRIC_TITLES = {"top1": "top-1", "lwlrap": "LWLRAP", "window_auc": "window AUC",
                 "scape_auc": "soundscape AUC", "scape_lwlrap": "soundscape LWLRAP",
                 "scape_cmap": "soundscape cmAP"}
VIEW_TITLES = {"levels": "## The soundscape view's call levels (`levels`), on each "
                         "experiment's trained folds"}
# the columns of a results CSV, in order; the per-fold metric columns go in between
HEAD = ("experiment", "view", "change", "recipe", "seed", "folds")
TAIL = ("cpu_min_per_fold", "wall_min_per_fold", "date", "machine", "commit", "command",
        "source", "note")
RESULTS_GLOB = "*/results.csv"


# --- the runs -----------------------------------------------------------------------------

def spread(values: list[float]) -> str:
    """Mean over folds with each fold's value: "0.203 (0.271 0.136)"."""
    values = np.asarray(values, dtype=float)
    return f"{np.nanmean(values):.3f} ({' '.join(f'{v:.3f}' for v in values)})"


def cv_run(spec: str, name: str, overrides: list[str], src: Path) -> dict:
    """One `train.py` run of all folds of experiment `spec` (a name or an absolute path, `name`
    its outputs' name) in a scratch folder: folds, CPU- and wall minutes per fold, and each
    metric's values per fold (of a seed bag, the bag's)."""
    with tempfile.TemporaryDirectory() as tmp:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([sys.executable, str(src / "train.py"), spec,
                        *[a for o in overrides for a in ("-o", o)]], cwd=tmp, check=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        folds = sorted((p for p in (Path(tmp) / "models" / name).glob("scores_fold*.json")
                        if re.fullmatch(r"scores_fold\d+\.json", p.name)),  # not bag members
                       key=lambda p: int(re.findall(r"\d+", p.name)[0]))
        scores = [json.loads(f.read_text()) for f in folds]
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    n = max(1, len(scores))
    return {"folds": len(scores), "cpu_min_per_fold": cpu / 60 / n,
            "wall_min_per_fold": wall / 60 / n,
            **{key: [s.get(key, np.nan) for s in scores] for key in CV_METRICS}}


def absolute(spec: str) -> str:
    """An experiment argument that names the same file from another working directory."""
    return str(Path(spec).resolve()) if Path(spec).suffix in (".py", ".json") else spec


def sweep_cv(experiments: list[str], seeds: int = 1, results: Path | None = None,
             argv: list[str] | None = None, first: int = 0) -> list[dict]:
    """Train each experiment from scratch in a scratch folder (the user's models/ and oof/ are
    left alone; input/ is shared, so the audio cache is reused), print the validation scores of
    each fold's kept epoch, averaged over folds with their spread, and the CPU-minutes (all
    processes, loader workers included) and wall minutes per fold, and append one row per run
    to the results CSV (as each run ends: a failed sweep keeps the runs it finished).

    With `seeds` N > 1 each experiment is trained N times, from seeds seed, seed + 1, ...,
    on the same folds, and a last line per experiment prints the mean over those runs with
    their standard deviation: on a few hundred validation recordings one run's luck can
    outweigh the change a row is meant to measure (render shows the same mean). `first` K
    starts at seed + K: more seeds of an experiment whose first runs are already rows."""
    from cache import cache_root, fold_seed

    src, printed = Path(__file__).resolve().parent, []
    context = run_context(["cv", *(argv or experiments)])
    for spec in experiments:
        subprocess.run([sys.executable, str(src / "prepare.py"), spec], check=True)
        cfg = load_config(spec)
        paths = {"cache_dir": cache_root(cfg)}  # relative paths, resolved from here
        paths.update({k: getattr(cfg, k) for k in ("data_dir", "test_dir", "solution_csv",
                                                    "pretrained_path", "teacher_map",
                                                    "distill_audio", "pseudo_labels",
                                                    "negative_audio")
                      if getattr(cfg, k) and getattr(cfg, k) not in ("valid", "soundscapes")
                      and (k != "pseudo_labels" or cfg.pseudo_labels.endswith(".npz"))})
        overrides = [f"{k}={str(Path(v).resolve())!r}" for k, v in paths.items()]
        noise = (cfg.valid_soundscapes or {}).get("background")
        if noise and noise != "soundscapes":  # a folder or pattern, read from the scratch folder
            view = dict(cfg.valid_soundscapes, background=str(Path(noise).resolve()))
            overrides.append(f"valid_soundscapes={view!r}")
        out = results or results_csv(spec if Path(spec).suffix == ".py" else cfg.name)
        runs = []
        for k in range(first, first + seeds):
            extra = [f"seed={cfg.seed + k}", f"fold_seed={fold_seed(cfg)}"] if k else []
            runs.append(cv_run(absolute(spec), cfg.name, overrides + extra, src))
            append_rows(out, [run_row(cfg, runs[-1], cfg.seed + k, context)])
            line = {"experiment": cfg.name, **({"seed": cfg.seed + k} if seeds > 1 else {}),
                    **{key: spread(v) if isinstance(v, list) else v
                       for key, v in runs[-1].items()}}
            printed.append(line)
            print(" ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in line.items()), flush=True)
        if seeds > 1:
            line = {"experiment": cfg.name, "seed": f"mean of {seeds}"}
            for key in runs[0]:
                values = [np.nanmean(r[key]) for r in runs]
                line[key] = (f"{np.mean(values):.3f} ± {np.std(values, ddof=1):.3f}"
                             if key in CV_METRICS else np.mean(values))
            printed.append(line)
            print(" ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in line.items()), flush=True)
        print(f"{seeds} row(s) appended to {display(out)}; `python src/sweep.py render` "
              "updates its docs table", flush=True)
    import pandas as pd
    print(pd.DataFrame(printed).to_string(index=False, float_format="%.1f"))
    return printed


def with_fields(cfg: Config, **changes: Any) -> Config:
    """`cfg` with `changes`, built and checked as load_config builds a config (a new instance,
    so Config.validate() sees the result; editing a config's attributes would bypass it)."""
    fields = {k: v for k, v in cfg.to_dict().items() if k != "name"}
    out = type(cfg)(**{**fields, **changes})
    out.name = cfg.name
    out.validate()
    return out


def aggregate(cfg: Config, results: Path | None = None, argv: list[str] | None = None,
              spec: str | None = None) -> list[dict]:
    """Test-time choices on the folds trained in models/EXP (`python src/train.py EXP`), each
    fold's models (a seed bag's members) averaged as validation does. The validation
    recordings are predicted once per inference window (the config's and the training
    crop's, each alone and overlapping by half), then scored, on each of those windows, with
    each row smoothed with its neighbours and mixed with the recording's max
    (`postprocess.temporal_rows`, which moves window AUC only; the config's own
    `infer_temporal` is left out), and for each reduction of frames to a 5-s row (max, mean)
    and to a recording (max, mean of its frames (`infer_recording`), mean of its 3 highest
    rows). Where the run validates on soundscapes too (`valid_soundscapes`), each choice of
    window, row reduction and mixing also scores the fold's soundscape rows (`scape_*`).
    Prints the table and appends one row per choice (view "aggregate")."""
    import pandas as pd
    import torch

    from backends import load_fold_models
    from competitions import competition_for
    from engine import resolve_device
    from postprocess import Temporal, temporal_rows
    from recordings import load_train_table, multi_hot
    from scoring import (predict_timelines, recording_rows, recording_score, reduced_rows,
                         scape_metrics, score_recordings, soundscape_rows,
                         soundscape_view)
    from windows import RecordingWindows

    context = run_context(["aggregate", *(argv or [cfg.name])])
    comp = competition_for(cfg)
    recordings, _ = load_train_table(cfg, comp)
    device, fps = resolve_device(cfg.device), cfg.sample_rate / cfg.hop_length
    windows = {}
    for seconds in dict.fromkeys((cfg.infer_duration or cfg.duration, cfg.duration)):
        windows[f"{seconds:g} s"] = {"infer_duration": seconds, "infer_hop": None}
        windows[f"{seconds:g} s every {seconds / 2:g} s"] = {"infer_duration": seconds,
                                                             "infer_hop": seconds / 2}
    by_recording = {"max": lambda t, r: r.max(axis=0),  # of the rows (of max rows: of the frames)
                   "mean": lambda t, r: recording_score(t, "mean"),  # of the frames
                   "top3": lambda t, r: np.sort(r, axis=0)[-3:].mean(axis=0)}
    temporal = [(0.0, 0.0), (0.5, 0.0), (1.0, 0.0), (0.5, 0.5)]  # (smoothing, prior)
    trials = ([(w, "max", "max", *t) for w in windows for t in temporal]
              + [(w, r, name, 0.0, 0.0) for w in windows for r in ("max", "mean")
                 for name in by_recording if (r, name) != ("max", "max")])
    table: dict[tuple, list[dict]] = {}
    for fold in cfg.train_folds if cfg.train_folds is not None else range(cfg.n_folds):
        models = load_fold_models(cfg, comp.classes, device, fold)
        valid = recordings[recordings.fold == fold]
        y_valid = multi_hot(valid["labels"], len(comp.classes))
        scape_rows, scape_y = (soundscape_rows(cfg, comp, valid, len(comp.classes))
                               if soundscape_view(cfg, comp) else (None, None))
        for label, changes in windows.items():
            wcfg = with_fields(cfg, **changes)
            with torch.no_grad():
                timelines = {i: t for i, (t,) in predict_timelines(
                    models, RecordingWindows.from_config(valid.cache_path, wcfg), wcfg, device,
                    ensemble=True)}
                scapes = {}  # soundscape rows by their reduction of frames
                if scape_rows is not None and len(scape_rows):
                    scapes = dict(zip(("max", "mean"), reduced_rows(
                        wcfg, models, scape_rows, device, ["max", "mean"])))
            for trial in (t for t in trials if t[0] == label):
                _, row_reduce, name, alpha, beta = trial
                scored = {}
                for i, t in timelines.items():
                    rows = recording_rows(t, fps, row_reduce)
                    scored[i] = (by_recording[name](t, rows),
                                 temporal_rows({"smoothing": alpha, "prior": beta}, rows))
                scores = score_recordings(cfg, comp, y_valid, scored)[0]
                if scapes:
                    p = Temporal(smoothing=alpha, prior=beta).apply(
                        scapes[row_reduce], scape_rows["audio_id"].tolist(),
                        scape_rows["t_start"].to_numpy(float))
                    scores.update(scape_metrics(scape_y, p))
                table.setdefault(trial, []).append(scores)
    out = [{"windows": w, "row": r, "recording": name, "smoothing": a, "prior": b,
            **{key: [f.get(key, np.nan) for f in table[(w, r, name, a, b)]]
               for key in CV_METRICS}}
           for w, r, name, a, b in trials]
    print(pd.DataFrame([{k: spread(v) if k in CV_METRICS else v for k, v in o.items()}
                        for o in out]).to_string(index=False))
    path = results or results_csv(spec if spec and Path(spec).suffix == ".py" else cfg.name)
    append_rows(path, [run_row(cfg, {"folds": len(o["top1"]), **o}, cfg.seed, context,
                               view="aggregate", change=aggregation(o)) for o in out])
    print(f"{len(out)} rows appended to {display(path)}")
    return out


def levels(cfg: Config, snr_dbs: list[tuple[float, float]], results: Path | None = None,
           argv: list[str] | None = None, spec: str | None = None) -> list[dict]:
    """The soundscape view of the folds trained in models/EXP, its calls mixed at each range
    of levels over the background (`valid_soundscapes["snr_db"]`), the rest of the view and
    of inference as configured: how much of the view's score is noise and how much the calls
    themselves, which is what calibrating the view needs (not a recipe choice). Prints the
    table and appends one row per range (view "levels")."""
    import pandas as pd

    from backends import load_fold_models
    from competitions import competition_for
    from engine import resolve_device
    from recordings import load_train_table
    from scoring import soundscape_scores, soundscape_view

    comp = competition_for(cfg)
    if not soundscape_view(cfg, comp):
        raise SystemExit(f"{cfg.name}: no soundscape view to vary (valid_soundscapes is None, "
                         "or the format is not weak-label)")
    context = run_context(["levels", *(argv or [cfg.name])])
    recordings, _ = load_train_table(cfg, comp)
    device = resolve_device(cfg.device)
    table: dict[tuple, list[dict]] = {}
    for fold in cfg.train_folds if cfg.train_folds is not None else range(cfg.n_folds):
        models = load_fold_models(cfg, comp.classes, device, fold)
        valid = recordings[recordings.fold == fold]
        for snr in snr_dbs:
            view = with_fields(cfg, valid_soundscapes={**cfg.valid_soundscapes,
                                                       "snr_db": tuple(snr)})
            table.setdefault(tuple(snr), []).append(
                soundscape_scores(view, comp, models, valid, len(comp.classes), device))
    out = [{"snr_db": snr, **{key: [f.get(key, np.nan) for f in folds] for key in CV_METRICS}}
           for snr, folds in table.items()]
    print(pd.DataFrame([{"snr_db": f"{o['snr_db'][0]:g} to {o['snr_db'][1]:g} dB",
                         **{k: spread(o[k]) for k in CV_METRICS if k.startswith("scape_")}}
                        for o in out]).to_string(index=False))
    path = results or results_csv(spec if spec and Path(spec).suffix == ".py" else cfg.name)
    append_rows(path, [run_row(cfg, {"folds": len(o["scape_auc"]), **o}, cfg.seed, context,
                               view="levels",
                               change=f"calls {o['snr_db'][0]:g} to {o['snr_db'][1]:g} dB over "
                                      "the background") for o in out])
    print(f"{len(out)} rows appended to {display(path)}")
    return out


def aggregation(o: dict) -> str:
    """An aggregate row's test-time choice, in words."""
    return (f"windows {o['windows']}, rows {o['row']}, recording {o['recording']}, "
            f"smoothing {o['smoothing']:g}, prior {o['prior']:g}")


# --- the results CSV -------------------------------------------------------------------------

def display(path: Path) -> str:
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if ROOT in path.parents else str(path)


def results_csv(spec: str) -> Path:
    """Where an experiment's rows go: the results.csv of its experiments/<group>/ folder (a
    recipe's: its group's), else experiments/results.csv (the configs of src/configs/, a
    file elsewhere)."""
    path = Path(spec) if Path(spec).suffix == ".py" else find_experiment(spec)
    if path is not None:
        path = path.resolve()
        if EXPERIMENTS in path.parents:
            return EXPERIMENTS / path.relative_to(EXPERIMENTS).parts[0] / "results.csv"
    return EXPERIMENTS / "results.csv"


def machine() -> str:
    """This machine, short: host, CPU model, usable cores (and GPU, where nvidia-smi lists
    one)."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1]
                break
    except OSError:
        pass
    model = re.sub(r"\((R|TM|tm|r)\)|\bCPU\b|\bProcessor\b", "", model)
    model = re.sub(r"\s+", " ", model).strip()
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 0
    parts = [platform.node(), model, f"{cores} cores"]
    if shutil.which("nvidia-smi"):
        proc = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                              capture_output=True, text=True, check=False)
        gpus = proc.stdout.split("\n")
        if proc.returncode == 0 and gpus[0].strip():
            parts.append(gpus[0].strip() + (f" x{len([g for g in gpus if g.strip()])}"
                                            if len([g for g in gpus if g.strip()]) > 1 else ""))
    return ", ".join(p for p in parts if p)


def commit() -> str:
    """`git rev-parse --short HEAD`, with `+dirty` when code or configs differ from it
    (untracked files included; the results CSVs and their docs are not code)."""
    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                              check=False)
    try:
        head = git("rev-parse", "--short", "HEAD")
        if head.returncode:
            return "unknown"
        status = git("status", "--porcelain", "--", ".", ":(exclude)experiments/*/results.csv",
                     ":(exclude)experiments/results.csv", ":(exclude)docs/*-results.md")
    except OSError:  # no git (a Kaggle kernel)
        return "unknown"
    return head.stdout.strip() + ("+dirty" if status.stdout.strip() else "")


def run_context(argv: list[str]) -> dict[str, str]:
    """What every row of one sweep shares, taken once before its first run (the rows it
    appends would otherwise make the tree dirty)."""
    return {"date": datetime.datetime.now().astimezone().isoformat(timespec="minutes"),
            "machine": machine(), "commit": commit(),
            "command": shlex.join(["python", "src/sweep.py", *argv]), "source": "sweep.py"}


def first_sentence(doc: str | None) -> str:
    text = " ".join((doc or "").split())
    match = re.match(r"(.+?[.!?])(\s|$)", text)
    return match.group(1) if match else text


def describe(cfg: Config) -> tuple[str, str]:
    """(change, recipe) of an experiment: the first sentence of its file's docstring (else
    how it differs from its parent), and the module name of that parent (for an experiment
    under experiments/, the recipe it names)."""
    from runinfo import config_diff, parent_values

    cls = type(cfg)
    parent = next((c for c in cls.__mro__[1:] if c is not Config and issubclass(c, Config)),
                  Config)
    recipe = parent.__module__.rsplit(".", 1)[-1]
    change = first_sentence(getattr(sys.modules.get(cls.__module__), "__doc__", None))
    if not change:
        diff = config_diff(cfg, parent_values(cls))
        change = ", ".join(f"{k}={v['to']!r}" for k, v in diff.items())
    return change, recipe


def run_row(cfg: Config, run: dict, seed: int, context: dict[str, str], view: str = "cv",
            change: str | None = None) -> dict[str, Any]:
    """One CSV row: the experiment, what it changes, the seed, each metric per fold and their
    mean, the minutes per fold, and `context` (date, machine, commit, command, source)."""
    own_change, recipe = describe(cfg)
    row: dict[str, Any] = {"experiment": cfg.name, "view": view,
                           "change": change or own_change, "recipe": recipe, "seed": seed,
                           "folds": run.get("folds", len(run.get(CV_METRICS[0], [])))}
    for key in CV_METRICS:
        values = [float(v) for v in run.get(key, [])]
        row[f"{key}_mean"] = float(np.nanmean(values)) if values and not np.all(
            np.isnan(values)) else None
        row.update({f"{key}_fold{k}": v for k, v in enumerate(values)})
    row["cpu_min_per_fold"] = run.get("cpu_min_per_fold")
    row["wall_min_per_fold"] = run.get("wall_min_per_fold")
    row.update(context)
    return row


def columns(keys: Iterable[str]) -> list[str]:
    """The columns of a CSV holding `keys`, in order: HEAD, each metric's mean then its folds,
    TAIL, then anything else."""
    keys = set(keys)
    metric = []
    for key in CV_METRICS:
        folds = sorted((k for k in keys if re.fullmatch(rf"{key}_fold\d+", k)),
                       key=lambda k: int(k.rsplit("fold", 1)[1]))
        metric += [f"{key}_mean", *folds]
    order = [*HEAD, *metric, *TAIL]
    return order + sorted(keys - set(order))


def cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value == value else ""
    return str(value)


def read_rows(path: Path) -> list[dict[str, str]]:
    if not Path(path).exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def append_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    """Add `rows` to the CSV at `path`, widening its columns when a row brings new ones (more
    folds); written whole through a temporary, so a crash never leaves half a file."""
    old = read_rows(path)
    new = [{k: cell(v) for k, v in row.items()} for row in rows]
    names = columns([k for r in old + new for k in r])
    buf = io.StringIO()
    writer = csv.DictWriter(buf, names, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(old + new)
    with atomic_path(path) as tmp:
        tmp.write_text(buf.getvalue())


# --- rendering ------------------------------------------------------------------------------

def number(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def folds_of(row: dict[str, str], key: str) -> list[str]:
    return [row[k] for k in columns(row) if re.fullmatch(rf"{key}_fold\d+", k)]


def score_cell(row: dict[str, str], key: str) -> str:
    """"0.203 (0.271 0.136)": the fold mean, then each fold ("–" where one was not run)."""
    mean = number(row.get(f"{key}_mean"))
    folds = folds_of(row, key)
    if mean is None:
        values = [number(v) for v in folds if number(v) is not None]
        mean = float(np.mean(values)) if values else None
    if mean is None:
        return "–"
    if len(folds) < 2 or all(number(v) is None for v in folds):
        return f"{mean:.3f}"
    shown = " ".join(f"{number(v):.3f}" if number(v) is not None else "–" for v in folds)
    return f"{mean:.3f} ({shown})"


def run_mean(row: dict[str, str], key: str) -> float | None:
    mean = number(row.get(f"{key}_mean"))
    if mean is None:
        values = [number(v) for v in folds_of(row, key) if number(v) is not None]
        mean = float(np.mean(values)) if values else None
    return mean


def seed_summary(rows: list[dict[str, str]]) -> dict[str, str]:
    """The mean ± sample sd over runs of each metric ("–" where a run lacks it) and the mean
    minutes."""
    out = {}
    for key in CV_METRICS:
        values = [run_mean(r, key) for r in rows]
        out[key] = ("–" if any(v is None for v in values)
                    else f"{np.mean(values):.3f} ± {np.std(values, ddof=1):.3f}")
    for key in ("cpu_min_per_fold", "wall_min_per_fold"):
        values = [number(r.get(key)) for r in rows]
        out[key] = ("" if any(v is None for v in values) else f"{np.mean(values):.1f}")
    return out


def md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def minutes(row: dict[str, str]) -> str:
    cpu, wall = number(row.get("cpu_min_per_fold")), number(row.get("wall_min_per_fold"))
    if cpu is None:
        return "–"
    return f"{cpu:.1f}" + (f" ({wall:.1f} wall)" if wall is not None else "")


def same_sweep(a: dict[str, str], b: dict[str, str]) -> bool:
    """Runs of one experiment that differ only by seed (render gives them a mean row)."""
    keys = ("experiment", "view", "change", "machine", "commit", "command", "source")
    return all(a.get(k, "") == b.get(k, "") for k in keys)


def render(rows: list[dict[str, str]], csv_name: str, title: str) -> str:
    """The markdown page of a results CSV: its cv rows grouped by the recipe they build on,
    its aggregate rows by experiment; scores as fold means with each fold's value, runs of one
    sweep from several seeds followed by their mean ± sd; machines and sources in a legend."""
    machines = list(dict.fromkeys(r.get("machine", "") for r in rows))
    label = {m: f"m{i + 1}" for i, m in enumerate(machines)}
    sources = {}
    for r in rows:
        sources[r.get("source", "")] = sources.get(r.get("source", ""), 0) + 1
    command = f"python src/sweep.py render {csv_name}"
    lines = [f"_Generated from `{csv_name}` by `{command}`: do not edit this file; add "
             "rows with `python src/sweep.py cv EXP` (or fix the CSV) and render again._",
             "", f"# {title}", "",
             "One row per run of the CSV. Scores are the mean over folds, each "
             "fold's value in brackets (– where a fold was not run); CPU-min are per fold, "
             "training plus its validations (wall minutes in brackets where recorded). Runs "
             "of one sweep from several seeds are followed by their mean ± sd over the seeds "
             "(sample sd), computed from the values in the CSV (rows imported with 3 decimals "
             "can differ in the last digit from a mean of unrounded scores).", "",
             "Machines:", ""]
    lines += [f"- {label[m]}: {md(m) or 'not recorded'}" for m in machines]
    lines += ["", "Sources:", ""]
    lines += [f"- {md(s) or 'not recorded'}: {n} rows" for s, n in sources.items()]
    cv = [r for r in rows if r.get("view", "cv") in ("", "cv")]
    other = [r for r in rows if r not in cv]
    # the metrics some run has (runs from before the soundscape view lack its three)
    metrics = [k for k in CV_METRICS if any(run_mean(r, k) is not None for r in rows)]
    metric_heads = [METRIC_TITLES[k] for k in metrics]

    def table(group: list[dict[str, str]], with_minutes: bool) -> list[str]:
        heads = ["experiment", "change", "seed", *metric_heads,
                 *(["CPU-min"] if with_minutes else []), "date", "machine", "commit", "note"]
        out = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
        ordered = sorted(group, key=lambda r: r.get("experiment", ""))  # stable: CSV order
        for i, r in enumerate(ordered):
            out.append("| " + " | ".join(md(x) for x in [
                f"`{r.get('experiment', '')}`", r.get("change", ""), r.get("seed", ""),
                *[score_cell(r, k) for k in metrics],
                *([minutes(r)] if with_minutes else []), r.get("date", "").split("T")[0],
                label.get(r.get("machine", ""), ""), r.get("commit", ""),
                r.get("note", "")]) + " |")
            run = [x for x in ordered[:i + 1] if same_sweep(x, r)]
            nxt = ordered[i + 1] if i + 1 < len(ordered) else None
            if len(run) > 1 and not (nxt and same_sweep(nxt, r)):
                s = seed_summary(run)
                cpu = s["cpu_min_per_fold"] or "–"
                out.append("| " + " | ".join(md(x) for x in [
                    f"`{r.get('experiment', '')}`", f"mean ± sd of {len(run)} runs above",
                    ", ".join(x.get("seed", "") for x in run), *[s[k] for k in metrics],
                    *([cpu] if with_minutes else []), "", label.get(r.get("machine", ""), ""),
                    r.get("commit", ""), ""]) + " |")
        return out

    if cv:
        lines += ["", "## Training runs, by the recipe they build on"]
        for recipe in sorted(dict.fromkeys(r.get("recipe", "") for r in cv)):
            group = [r for r in cv if r.get("recipe", "") == recipe]
            lines += ["", f"### {'Recipe ' + recipe if recipe else 'No recipe recorded'}", ""]
            lines += table(group, with_minutes=True)
    for view in dict.fromkeys(r.get("view", "") for r in other):
        lines += ["", VIEW_TITLES.get(view, f"## Test-time choices (`{view}`), on each "
                                            "experiment's trained folds")]
        views = [r for r in other if r.get("view", "") == view]
        for exp in dict.fromkeys(r.get("experiment", "") for r in views):
            lines += ["", f"### {exp}", ""]
            lines += table([r for r in views if r.get("experiment", "") == exp],
                           with_minutes=False)
    return "\n".join(lines) + "\n"


def render_file(path: Path, out: Path | None = None) -> Path:
    """Render experiments/<group>/results.csv into docs/<group>-results.md."""
    path = Path(path).resolve()
    group = path.parent.name if path.parent != EXPERIMENTS else "experiments"
    out = out or ROOT / "docs" / f"{group}-results.md"
    text = render(read_rows(path), display(path), f"{group.capitalize()} results")
    with atomic_path(out) as tmp:
        tmp.write_text(text)
    print(f"{display(path)} -> {display(out)}")
    return out


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "cv":
        parser = argparse.ArgumentParser(prog="python src/sweep.py cv")
        parser.add_argument("experiments", nargs="+", metavar="EXP")
        parser.add_argument("--seeds", type=int, default=1,
                            help="train each experiment from this many seeds (same folds)")
        parser.add_argument("--first-seed", type=int, default=0, metavar="K",
                            help="start at the config's seed + K (more seeds of a run already "
                            "in the results)")
        parser.add_argument("--results", type=Path, help="the CSV the rows go to (default: "
                            "the results.csv of each experiment's folder)")
        args = parser.parse_args(argv[1:])
        sweep_cv(args.experiments, args.seeds, args.results, argv[1:], args.first_seed)
    elif argv and argv[0] == "aggregate":
        def add_arguments(parser) -> None:
            parser.add_argument("--results", type=Path, help="the CSV the rows go to")
        cfg, args = experiment_cli(__doc__, argv[1:], add_arguments)
        aggregate(cfg, args.results, argv[1:], args.exp)
    elif argv and argv[0] == "levels":
        def add_arguments(parser) -> None:
            parser.add_argument("--snr", action="append", required=True, metavar="LOW,HIGH",
                                type=lambda v: tuple(float(x) for x in v.split(",")),
                                help="a range of the calls' level over the background, in dB "
                                     "(repeat it; write --snr=-6,6 for a negative start)")
            parser.add_argument("--results", type=Path, help="the CSV the rows go to")
        cfg, args = experiment_cli(__doc__, argv[1:], add_arguments)
        levels(cfg, args.snr, args.results, argv[1:], args.exp)
    elif argv and argv[0] == "render":
        parser = argparse.ArgumentParser(prog="python src/sweep.py render")
        parser.add_argument("csv", nargs="*", type=Path,
                            help="results CSVs (default: every experiments/*/results.csv)")
        parser.add_argument("--out", type=Path, help="the markdown file (one CSV only)")
        args = parser.parse_args(argv[1:])
        paths = args.csv or sorted(EXPERIMENTS.glob(RESULTS_GLOB))
        if args.out and len(paths) != 1:
            raise SystemExit("--out takes one CSV")
        for path in paths:
            render_file(path, args.out)
    else:
        raise SystemExit("usage: python src/sweep.py {cv EXP [EXP ...] [--seeds N], "
                         "aggregate EXP, levels EXP --snr LOW,HIGH [...], render [CSV ...]}")


if __name__ == "__main__":
    run_script(main)
