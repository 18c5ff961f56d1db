"""Pictures of a run: its training curves, and what its model hears in a recording.

    python src/plot.py EXP                                  -> models/EXP/plots/curves.png
    python src/plot.py EXP --recording ID|PATH [...] [--fold K] [--top N] [--span T0 T1]

The curves are read from the per-fold logs (models/EXP/log_fold<K>.csv). A recording (a train
or test id of the competition, or any audio file) is drawn as its log-mel spectrogram with
the framewise probabilities of the top classes under it, and its labelled events (strong
labels) marked on both. A train recording is scored by the fold that did not train on it
(its out-of-fold prediction), unless --fold says otherwise.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from librosa import mel_frequencies
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator
from PIL import Image  # matplotlib's own dependency

from atomic import atomic_path, run_script
from audio import load_wave
from competitions import COMPETITIONS, competition_for
from configs import experiment_cli
from cache import cached_path
from recordings import load_train_table
from windows import RecordingWindows
from engine import resolve_device
from scoring import predict_timelines
from models import Features, build_model
from oof import run_dir


def read_logs(cfg) -> dict[str, pd.DataFrame]:
    """Per-epoch rows of every fold's log (the "mean of last N" rows left out)."""
    logs = {}
    for path in sorted(run_dir(cfg).glob("log_*.csv")):
        df = pd.read_csv(path)
        df = df[pd.to_numeric(df["epoch"], errors="coerce").notna()].copy()
        df["epoch"] = df["epoch"].astype(int)
        logs[path.stem.removeprefix("log_")] = df
    return logs


def plot_curves(cfg, out: Path) -> Path:
    """Training loss and each validation metric per epoch, one line per fold; the training
    meters dashed beside their validation counterparts; each fold's kept epoch starred."""
    logs = read_logs(cfg)
    if not logs:
        raise SystemExit(f"no log_*.csv in {run_dir(cfg)}: run `python src/train.py {cfg.name}`")
    metric = cfg.metric or COMPETITIONS[cfg.competition].metric
    seen = [c for df in logs.values() for c in df.columns]
    valid = [c for c in dict.fromkeys(seen) if c not in ("epoch", "loss")
             and not c.startswith("train_")]
    panels = ["loss"] + sorted(valid, key=lambda c: c != metric)
    cols = min(3, len(panels))
    rows = -(-len(panels) // cols)
    fig = figure(3.6 * cols, 2.8 * rows)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    for ax, name in zip(axes.flat, panels):
        for k, (tag, df) in enumerate(logs.items()):
            color = f"C{k % 10}"
            if name in df:
                ax.plot(df["epoch"], df[name], color=color, marker=".", label=tag)
            if f"train_{name}" in df:
                ax.plot(df["epoch"], df[f"train_{name}"], color=color, ls="--", alpha=0.6)
            if name == metric and name in df and df[name].notna().any():
                best = df.loc[df[name].idxmax()]
                ax.plot(best["epoch"], best[name], "*", color=color, ms=12)
        note = {metric: " (picks the epoch)", "loss": " (training)"}.get(name, "")
        ax.set_title(name + note, fontsize=9)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(f"{cfg.name}: validation solid, training dashed", fontsize=10)
    fig.tight_layout()
    return save(fig, out / "curves.png")


@dataclass
class Recording:
    id: str
    path: str
    fold: int | None = None  # its validation fold when it is a train recording
    labels: list[int] = field(default_factory=list)
    events: pd.DataFrame = field(default_factory=pd.DataFrame)  # cls, t_min, t_max


def find_recording(cfg, key: str) -> Recording:
    """A train id (with its fold, labels and strong-label events), a test id, or a file."""
    try:
        comp = competition_for(cfg)
    except SystemExit:  # the competition's data is not here: only files can be drawn
        comp = None
    rid = Path(key).stem if Path(key).is_file() else key
    if comp is not None:
        try:
            train, _ = load_train_table(cfg, comp)
        except SystemExit:  # not prepared: no folds or cache yet
            train = comp.train_recordings().assign(fold=None, cache_path=None)
        row = train[train["id"] == rid]
        if len(row):
            row = row.iloc[0]
            events = comp.train_events()
            events = events[(events["id"] == rid) & np.isfinite(events["t_max"])]
            cache = row["cache_path"]
            path = key if Path(key).is_file() else (
                cache if cache and Path(cache).exists() else row["path"])
            fold = None if pd.isna(row["fold"]) else int(row["fold"])
            return Recording(rid, path, fold, list(row["labels"]),
                             events[["cls", "t_min", "t_max"]].reset_index(drop=True))
        if not Path(key).is_file():
            tests = comp.test_rows().drop_duplicates("audio_id").set_index("audio_id")
            if rid in tests.index:
                cached = cached_path(cfg, "test", rid)
                return Recording(rid, str(cached if cached.exists() else tests.loc[rid, "path"]))
    if not Path(key).is_file():
        raise SystemExit(f"{key!r} is neither a recording id of {cfg.data_dir} nor a file")
    return Recording(rid, key)


def load_checkpoint(cfg, fold: int | None, device: torch.device) -> tuple[torch.nn.Module,
                                                                          list[str], str]:
    """The model of `fold` (any trained one when None), its class names and its file name."""
    paths = {p.name: p for p in run_dir(cfg).glob("*.pt") if re.fullmatch(r"(fold\d+|full)\.pt",
                                                                           p.name)}
    if not paths:
        raise SystemExit(f"no checkpoints in {run_dir(cfg)}: run `python src/train.py {cfg.name}`")
    name = f"fold{fold}.pt" if fold is not None else min(paths)
    if name not in paths:
        raise SystemExit(f"{run_dir(cfg) / name} not found (have {', '.join(sorted(paths))})")
    state = torch.load(paths[name], map_location="cpu", weights_only=False)
    model = build_model(cfg.member(0), len(state["classes"]), weights=False)
    model.load_state_dict(state["model"])
    return model.to(device), list(state["classes"]), name


def hear(cfg, model: torch.nn.Module, path: str,
         device: torch.device) -> tuple[np.ndarray, np.ndarray]:
    """The recording's log-mel (frames, mel bins) and the model's framewise probabilities
    (frames, classes) on the same frames, predicted as validation and infer.py do."""
    windows = RecordingWindows([path], cfg.sample_rate, cfg.duration, cfg.infer_hop)
    _, (timeline,) = next(iter(predict_timelines([model], windows, cfg, device, "plot")))
    wave = torch.from_numpy(load_wave(path, cfg.sample_rate))[None]
    front = Features(cfg.sample_rate, cfg.n_fft, cfg.hop_length, cfg.mel_bins, cfg.fmin, cfg.fmax)
    with torch.no_grad():
        logmel = front(wave)[0, 0].numpy()
    return logmel, timeline


def draw_spectrogram(ax, cfg, logmel: np.ndarray, seconds: float) -> None:
    ax.imshow(logmel.T, origin="lower", aspect="auto", cmap="magma",
              extent=(0, seconds, 0, cfg.mel_bins), vmin=np.percentile(logmel, 5),
              vmax=logmel.max())
    hz = mel_frequencies(cfg.mel_bins + 2, fmin=cfg.fmin, fmax=cfg.fmax or cfg.sample_rate / 2)
    ticks = np.linspace(0, cfg.mel_bins - 1, 5).astype(int)
    ax.set_yticks(ticks + 0.5, [f"{hz[t + 1] / 1000:.1f}" for t in ticks])
    ax.set_ylabel("kHz (mel)")


def plot_recording(cfg, rec: Recording, out: Path, fold: int | None = None, top: int = 3,
                   span: tuple[float, float] | None = None) -> Path:
    """Spectrogram above, framewise probabilities of the `top` classes (and the true ones)
    below, each labelled event boxed above and shaded below in its class's colour."""
    device = resolve_device(cfg.device)
    model, classes, ckpt = load_checkpoint(cfg, rec.fold if fold is None else fold, device)
    logmel, timeline = hear(cfg, model, rec.path, device)
    fps = cfg.sample_rate / cfg.hop_length
    true = set(rec.labels) | {int(c) for c in rec.events.get("cls", [])}
    shown = sorted(set(np.argsort(-timeline.max(axis=0))[:top].tolist()) | true,
                   key=lambda c: -timeline[:, c].max())
    colors = {c: f"C{k % 10}" for k, c in enumerate(shown)}

    spec, probs = figure(11, 5.2).subplots(2, 1, sharex=True,
                                           gridspec_kw={"height_ratios": [1.3, 1]})
    draw_spectrogram(spec, cfg, logmel, len(timeline) / fps)
    for ev in rec.events.itertuples():
        c = colors[int(ev.cls)]
        spec.add_patch(Rectangle((ev.t_min, 0.5), ev.t_max - ev.t_min, cfg.mel_bins - 1,
                                 fill=False, ec=c, lw=1.5))
        spec.text(ev.t_min, cfg.mel_bins - 1, classes[int(ev.cls)], color=c, fontsize=7,
                  va="top", ha="left", fontweight="bold")
        probs.axvspan(ev.t_min, ev.t_max, color=c, alpha=0.18, lw=0)
    t = np.arange(len(timeline)) / fps
    for c in shown:
        probs.plot(t, timeline[:, c], color=colors[c], lw=1.2,
                   label=f"{classes[c]}{' (true)' if c in true else ''}  max "
                         f"{timeline[:, c].max():.2f}")
    probs.set(ylim=(0, 1.02), ylabel="probability", xlabel="seconds")
    probs.legend(fontsize=7, loc="lower left", bbox_to_anchor=(0, 1), ncol=min(len(shown), 6),
                 frameon=False)  # above the curves, never over them
    probs.grid(alpha=0.3)
    if span:
        probs.set_xlim(*span)
    held_out = "" if rec.fold is None else (
        " (out-of-fold)" if ckpt == f"fold{rec.fold}.pt" else " (trained on it)")
    spec.set_title(f"{cfg.name} · {rec.id} · model {ckpt}{held_out}"
                   + (" · boxed and shaded: labelled events" if len(rec.events) else ""),
                   fontsize=9)
    spec.figure.tight_layout()
    return save(spec.figure, out / f"{rec.id}.png")


def figure(width: float, height: float) -> Figure:
    """A figure on matplotlib's Agg canvas: files only, no display or global pyplot state
    (servers, Kaggle kernels, tests)."""
    fig = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(fig)
    return fig


def save(fig: Figure, path: Path) -> Path:
    """A 128-colour PNG: a spectrogram's noise makes a true-colour one three times larger
    for no visible difference (docs/ pictures stay small)."""
    fig.canvas.draw()
    image = Image.fromarray(np.asarray(fig.canvas.buffer_rgba())[..., :3])
    with atomic_path(path) as tmp:
        image.quantize(128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            tmp, format="PNG", optimize=True)
    print(f"wrote {path}")
    return path


def main(argv: list[str] | None = None) -> None:
    def add_arguments(parser):
        parser.add_argument("--recording", action="append", metavar="ID|PATH",
                            help="draw this recording (a train or test id, or an audio file)")
        parser.add_argument("--fold", type=int, help="the fold model to use (default: the "
                            "recording's held-out fold, else the first trained one)")
        parser.add_argument("--top", type=int, default=3, help="classes drawn besides the true")
        parser.add_argument("--span", type=float, nargs=2, metavar=("T0", "T1"),
                            help="seconds shown")
        parser.add_argument("--out", help="folder of the PNGs (default models/EXP/plots)")

    cfg, args = experiment_cli(__doc__, argv, add_arguments)
    cfg.num_workers = 0  # one recording: worker start-up would cost more than it saves
    out = Path(args.out) if args.out else run_dir(cfg) / "plots"
    if not args.recording:
        plot_curves(cfg, out)
    for key in args.recording or []:
        plot_recording(cfg, find_recording(cfg, key), out, args.fold, args.top, args.span)


if __name__ == "__main__":
    run_script(main)
