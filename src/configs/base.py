"""Every setting an experiment can change, with its default.

An experiment file (`configs/exp001.py`) subclasses `Config` from here or from another
experiment and states only what differs. A misspelt field is an error at class creation
time, because a silent default would waste a whole training run.
"""
from __future__ import annotations

import copy
import types
import typing
from pathlib import Path
from typing import Any

from competitions import COMPETITIONS


class UnknownFieldError(AttributeError):
    """A config names a field Config does not have (a typo, or a field since renamed)."""


class ConfigError(SystemExit):
    """Fields whose values cannot go together; raised when the config loads."""


# backbones that are not a CNN train.py trains but the optional BirdNET teacher (teacher.py)
TEACHER_BACKBONES = ("birdnet", "birdnet_head")
# transformers audio encoders under the SED head (hf.py), weights from a folder
HF_SAMPLE_RATES = {"hf_ast": 16000, "hf_hubert": 16000, "hf_wav2vec2": 16000, "hf_clap": 48000}
HF_BACKBONES = tuple(HF_SAMPLE_RATES)
# transformers.get_scheduler's names that need no metric and no setting of their own
SCHEDULERS = ("cosine", "linear", "cosine_with_restarts", "polynomial", "constant",
              "constant_with_warmup", "inverse_sqrt")
SOUNDSCAPE_KEYS = frozenset({"length", "calls", "seconds", "snr_db", "uses"})


class Config:
    # --- data -----------------------------------------------------------------------
    competition: str = "rfcx"  # key of competitions.COMPETITIONS
    data_dir: str = "input/rfcx-demo"  # the unzipped competition folder
    demo: str | None = None  # make_demo.py layout that run.sh generates when data_dir is missing
    test_dir: str | None = None  # folder with the test table and audio; None = data_dir
    solution_csv: str | None = None  # true test labels, when known (the demo), for a test score
    cache_dir: str | None = None  # resampled int16 audio + folds; default input/cache/<data>-<sr>
    sample_rate: int = 32000
    duration: float = 10.0  # seconds per training crop
    crops_per_file: int = 1  # training crops drawn from each recording per epoch
    crop_pick: int = 1  # draw k candidate crops, keep the loudest (finds calls in weak labels)
    min_event_overlap: float = 0.0  # seconds an event must overlap a crop to count as present
    false_positives: bool = False  # RFCX train_fp.csv: crops around them, as hard negatives
    negative_audio: str | None = None  # a folder (or glob) of audio with none of the classes
    #                                    (no-call, other regions): crops with every class absent
    negative_repeat: int = 1  # each negative file drawn as often as N training recordings
    quiet_negatives: float = 0.0  # share of a labelled recording's draws that take instead its
    #   quietest stretch (of QUIET_CANDIDATES crops), every class absent: its site's noise
    balanced: bool = False  # draw recordings with class-balanced weights (PANNs, PSLA)
    label_smoothing: float = 0.0
    secondary_label: float | None = None  # None: secondary labels out of the loss; else target
    # --- folds ----------------------------------------------------------------------
    n_folds: int = 5
    fold_seed: int | None = None  # seed of the fold split; None = seed (so a new seed keeps
    #                               the folds only when this is set)
    fold_scheme: str = "stratified"  # or species: a validated species keeps a training recording
    train_folds: tuple[int, ...] | None = None  # None = all folds
    full_fit: bool = False  # one model on all training data, no validation (final submissions)
    # --- features -------------------------------------------------------------------
    n_fft: int = 1024
    hop_length: int = 320
    mel_bins: int = 128
    fmin: float = 50.0
    fmax: float | None = None  # None = sample_rate / 2
    # --- model ----------------------------------------------------------------------
    channels: tuple[str, ...] = ("logmel",)  # input channels: logmel, pcen, power (repeatable)
    backbone: str = "tf_efficientnet_b0"  # any timm model name, panns_cnn14(_att), or hf_ast,
    #                              hf_hubert, hf_wav2vec2, hf_clap (transformers encoders, hf.py)
    pretrained: bool = False  # ImageNet weights through timm (needs internet or the HF cache)
    pretrained_path: str | None = None  # local weights file, e.g. a Kaggle dataset under input/
    #                                     (for hf_* a folder save_pretrained wrote)
    hf_config: dict | None = None  # hf_* without weights: the transformers config's fields
    pooling: str = "attention"  # attention, max, mean, linear_softmax
    freq_pool: str = "mean"  # the CNN features' frequency axis: mean, or flatten (keeps pitch)
    head_hidden: int = 512
    dropout: float = 0.2
    spec_augment: dict | None = None  # e.g. dict(time_drop_width=64, time_stripes_num=2,
    #                                   freq_drop_width=8, freq_stripes_num=2)
    mel_augment: dict | None = None  # per clip while training, e.g. dict(shift=2, eq_db=6.0,
    #                                  p=0.5): pitch shift in mel bins, random EQ (augment.py)
    # --- teacher (optional BirdNET extra, see teacher.py) -----------------------------
    teacher_hop: float = 1.0  # seconds between the teacher's 3-s windows
    teacher_map: str | None = None  # CSV class,birdnet for classes without a scientific name
    distill_weight: float = 0.0  # weight of the loss against the teacher's soft labels per crop
    distill_loss: str = "bce"  # bce on its probabilities; kl or ce on the softmax over classes
    distill_temperature: float = 2.0  # the softmax temperature of distill_loss = "kl"
    distill_embedding: float = 0.0  # weight of (1 - cosine) to the teacher's crop embedding
    distill_audio: str | None = None  # unlabeled audio the teacher labels for the student: a
    #   folder, "soundscapes" (the competition's unlabeled ones), or "valid" (CV only)
    pseudo_labels: str | None = None  # a trained experiment whose fold models label
    #   distill_audio in BirdNET's place (self-training, pseudo.py), or a row OOF file
    crop_pick_by: str = "energy"  # how crop_pick ranks candidates: energy or teacher
    # --- training -------------------------------------------------------------------
    loss: str = "panns"  # key of losses.LOSSES: panns, clip_frame, focal, frame, softmax
    loss_args: dict = {}  # e.g. {"frame_weight": 0.5} for clip_frame, {"gamma": 2} for focal
    optimizer: str = "adamw"  # key of engine.OPTIMIZERS: adamw, adam, sgd
    scheduler: str = "cosine"  # transformers' schedule after linear warm-up: SCHEDULERS
    epochs: int = 20
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 1e-2
    warmup_epochs: float = 1.0
    layer_decay: float | None = None  # e.g. 0.75: each trunk layer below the top that much
    #                                   slower (fine-tuning pretrained weights; param_groups.py)
    freeze_epochs: int = 0  # the trunk (backbone or encoder) frozen while the head trains
    grad_clip: float | None = 5.0
    amp: str | None = "fp16"  # fp16 (CUDA only), bf16 or None; the log-mel always stays fp32
    mixup: dict | None = None  # e.g. dict(alpha=0.5, p=1.0, on="wave", labels="mix");
    #                            on: wave | logmel, labels: mix | union
    ema: float | None = None  # decay of an exponential moving average of the weights, e.g. 0.999
    average_last: int = 0  # average the weights of the last N epochs (PSLA); 0 = best epoch
    checkpoint_every: int = 50  # optimizer steps between resumable checkpoints
    sync_bn: bool = False  # under torchrun: BatchNorm statistics of the global batch, not per rank
    augment: dict = {}  # per clip in the loader workers: audiomentations transform name ->
    #                     keyword arguments (p included), e.g. {"PitchShift": {"p": 0.3}}
    batch_augment: dict | None = dict(gain_db=(-6.0, 6.0), gain_p=0.5, snr_db=(10.0, 40.0),
                                      noise_p=0.5)  # gain + SNR noise per clip, on the device;
    #   mix_p, mix_snr_db, mix_from ("any" | "no_call"): another crop of the batch as background
    valid_every: int = 1  # validate every N epochs (and after the last): long files are slow
    valid_soundscapes: dict | None = dict(length=60.0, calls=(3, 8), seconds=(2.0, 6.0),
                                          snr_db=(0.0, 20.0), uses=4)
    #   weak-label formats also validate on soundscapes mixed from the fold's validation
    #   recordings (soundscapes.py): seconds per soundscape, calls in one, seconds per call,
    #   its level over the background (dB), calls per recording, and optionally `background`,
    #   a folder or glob of noise the run does not train on ("soundscapes": the competition's
    #   unlabeled ones); None: focal recordings only
    keep: str = "best"  # which epoch's weights a fold keeps: best (by `metric`, among the
    #                     validated epochs) or last; average_last > 0 keeps the mean instead
    metric: str | None = None  # picks the best epoch: lwlrap, f1, map; None = competition's
    threshold: float = 0.5  # probability threshold of the F1 meter
    # --- inference ------------------------------------------------------------------
    infer_duration: float | None = None  # seconds per inference window; None = duration
    infer_hop: float | None = None  # seconds between inference windows; None = infer window
    infer_batch_size: int = 32  # windows per model call (windows of several files share one)
    infer_reduce: str = "max"  # max or mean: where windows overlap, and over each row's frames
    infer_recording: str = "max"  # a whole recording's score from its frames (validation's
    #   recording scores; test rows spanning a file: RFCX, Cornell's site_3): max, or mean (a
    #   focal recording, its species heard throughout: one loud frame of another no longer wins)
    infer_clip_blend: float = 0.0  # row score = (1 - w) framewise + w clipwise (w = this)
    infer_tta_shifts: tuple[float, ...] = ()  # time-shift TTA: extra passes of windows starting
    #                                           this many seconds earlier, averaged in
    infer_temporal: dict | None = None  # postprocess.Temporal of the 5-s rows of a recording,
    #   in validation and infer.py: dict(smoothing=alpha) adds alpha x each neighbouring row,
    #   dict(prior=beta) mixes in the recording's max; None = rows as predicted
    # --- run ------------------------------------------------------------------------
    seed: int = 42
    seed_bag: int = 1  # models per fold, from seeds seed + 1000 j, averaged as folds are
    bag_overrides: tuple[dict, ...] = ()  # member j of the bag changes the fields of
    #   bag_overrides[j % len] (half the bag on log-mel, half on PCEN, say); () = all alike
    validate_members: bool = True  # False: a bag's members are not scored one by one, only
    #   their mean (bird077: 1.4 of 24.9 CPU-min a fold); each keeps its last epoch's weights
    device: str = "auto"  # auto = cuda when available, else cpu
    num_workers: int = 2

    name: str = "base"  # set from the experiment's file name by configs.load_config

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        unknown = [k for k in vars(cls) if not k.startswith("_") and k not in FIELDS]
        if unknown:
            raise UnknownFieldError(
                f"{cls.__module__}.{cls.__name__}: unknown config field(s) {unknown}"
                f"{did_you_mean(unknown)}; known fields: {sorted(FIELDS)}")

    def __init__(self, **overrides: Any) -> None:
        for key in FIELDS:  # instance copies, so mutating a dict never leaks into the class
            setattr(self, key, copy.deepcopy(getattr(type(self), key)))
        for key, value in overrides.items():
            if key not in FIELDS:
                raise UnknownFieldError(f"unknown config field {key!r}{did_you_mean([key])}; "
                                        f"known: {sorted(FIELDS)}")
            setattr(self, key, value)

    def validate(self) -> None:
        """Every value's type and range, then the rules that link fields, checked when the
        config loads (a run that would stop part-way, after the first folds trained, or
        train nothing, stops here instead)."""
        wrong = [f"{key} = {getattr(self, key)!r}: {why}" for key in Config.__annotations__
                 if key != "name" and (why := value_problem(key, getattr(self, key)))]
        if wrong:
            raise ConfigError(f"{self.name}: " + "; ".join(wrong))
        teacher = bool(self.distill_weight or self.distill_embedding
                       or self.crop_pick_by == "teacher")
        rules = [
            (self.keep in ("best", "last"), f"keep {self.keep!r}: best or last"),
            (self.valid_soundscapes is None
             or set(self.valid_soundscapes) - {"background"} == SOUNDSCAPE_KEYS,
             f"valid_soundscapes: give each of {sorted(SOUNDSCAPE_KEYS)} (and optionally "
             "background), or None"),
            (not (self.metric or "").startswith("scape_")
             or (self.valid_soundscapes is not None
                 and getattr(COMPETITIONS.get(self.competition), "weak_labels", False)),
             f"metric {self.metric!r} is a score of the soundscape view, which weak-label "
             "formats have while valid_soundscapes is set"),
            (not self.quiet_negatives
             or getattr(COMPETITIONS.get(self.competition), "weak_labels", False),
             f"quiet_negatives label a recording's quietest crop absent, which only weak labels "
             f"allow; {self.competition}'s labels are events, which that crop may hold"),
            (not any(shared_audio(background_folder(self), other)
                     for other in (self.negative_audio, unlabeled_folder(self))),
             "valid_soundscapes background: that audio trains this run (negative_audio or "
             "distill_audio), and a validation soundscape must hold none of it: name other "
             "noise, or leave background out (the validation recordings' quiet seconds)"),
            ((self.batch_augment or {}).get("mix_from", "any") in ("any", "no_call"),
             f"batch_augment mix_from {(self.batch_augment or {}).get('mix_from')!r}: any or "
             "no_call"),
            ((self.batch_augment or {}).get("mix_from") != "no_call"
             or ((self.negative_audio or self.quiet_negatives)
                 and self.batch_augment.get("mix_p")),
             "batch_augment mix_from='no_call' borrows backgrounds from no-call crops: name "
             "their audio in negative_audio or set quiet_negatives, and set mix_p above 0"),
            (self.crop_pick_by in ("energy", "teacher"),
             f"crop_pick_by {self.crop_pick_by!r}: energy or teacher"),
            (self.infer_reduce in ("max", "mean") and self.infer_recording in ("max", "mean"),
             f"infer_reduce {self.infer_reduce!r}, infer_recording {self.infer_recording!r}: "
             "each max or mean"),
            (self.fold_scheme in ("stratified", "species"),
             f"fold_scheme {self.fold_scheme!r}: stratified or species"),
            (self.scheduler in SCHEDULERS,
             f"scheduler {self.scheduler!r}: one of {SCHEDULERS}"),
            (not (self.layer_decay or self.freeze_epochs)
             or not (self.backbone.startswith("panns_") or self.backbone in TEACHER_BACKBONES),
             f"layer_decay and freeze_epochs act on a timm or transformers trunk, not "
             f"{self.backbone!r}"),
            (self.freeze_epochs <= self.epochs,
             f"freeze_epochs {self.freeze_epochs} is more than epochs {self.epochs}"),
            (not self.distill_audio or bool(self.distill_weight or self.distill_embedding),
             "distill_audio trains only through the teacher's term: set distill_weight (or "
             "distill_embedding) too"),
            (not (self.negative_audio and teacher),
             "negative_audio with a teacher: not supported (the teacher has no labels for "
             "it); drop one of them"),
            (self.distill_audio != "soundscapes" or unlabeled_folder(self) is not None,
             f"distill_audio = 'soundscapes' names the competition's unlabeled soundscapes, and "
             f"{self.competition} has none (birdclef2024 and birdclef2025 do): name a folder"),
            (self.pseudo_labels != self.name,
             f"pseudo_labels = {self.name!r} is this experiment: name the trained one that "
             "labels its audio"),
            (not self.pseudo_labels or bool(self.distill_audio and not self.distill_embedding),
             "pseudo_labels label the distill_audio recordings, and have no embeddings: set "
             "distill_audio, and distill_embedding = 0"),
            (self.sample_rate == HF_SAMPLE_RATES.get(self.backbone, self.sample_rate),
             f"backbone {self.backbone!r} reads {HF_SAMPLE_RATES.get(self.backbone)}-Hz audio: "
             f"set sample_rate = {HF_SAMPLE_RATES.get(self.backbone)} (the cache follows it)"),
            (self.backbone not in HF_BACKBONES or not self.pretrained,
             f"backbone {self.backbone!r} takes its weights from a local folder: set "
             "pretrained_path to it (save_pretrained's config.json + model.safetensors) and "
             "pretrained = False; nothing is downloaded"),
            (not (self.hf_config and self.pretrained_path),
             "hf_config builds a model without weights; a pretrained_path folder brings its "
             "own config.json: drop one of them"),
            (not self.hf_config or self.backbone in HF_BACKBONES,
             f"hf_config configures the transformers backbones {HF_BACKBONES}, not "
             f"{self.backbone!r}"),
            (not (self.full_fit and self.backbone in TEACHER_BACKBONES),
             f"backbone {self.backbone!r} has no full fit: infer.py scores the test with "
             "BirdNET (birdnet) or the fold heads (birdnet_head); set full_fit = False"),
        ]
        if broken := [why for ok, why in rules if not ok]:
            raise ConfigError(f"{self.name}: " + "; ".join(broken))
        for j in range(self.seed_bag):
            self.member(j)  # a bad bag_overrides stops here, not after the first members

    def member(self, j: int) -> "Config":
        """The config that member j of the seed bag trains and predicts with."""
        if not self.bag_overrides:
            return self
        changes = self.bag_overrides[j % len(self.bag_overrides)]
        if unknown := sorted(set(changes) - FIELDS):
            raise UnknownFieldError(f"bag_overrides: unknown field(s) {unknown}"
                                    f"{did_you_mean(unknown)}")
        if fixed := sorted(set(changes) & BAG_SHARED):
            raise ValueError(f"bag_overrides cannot change {fixed}: a bag's members share its "
                             "data, folds, seeds and inference windows")
        out = copy.copy(self)
        for key, value in changes.items():
            setattr(out, key, copy.deepcopy(value))
        return out

    def to_dict(self) -> dict[str, Any]:
        """Every field, in the order this class declares them (a saved config is then the same
        bytes in every run, whatever the set order of FIELDS)."""
        return {k: getattr(self, k) for k in Config.__annotations__}

    def __repr__(self) -> str:
        return f"Config({self.to_dict()})"


FIELDS = frozenset(Config.__annotations__)
HINTS = typing.get_type_hints(Config)
# what the members of a seed bag share: the validation and inference of their mean need it
BAG_SHARED = frozenset({"competition", "data_dir", "test_dir", "cache_dir", "sample_rate",
                        "hop_length", "n_folds", "fold_seed", "fold_scheme", "train_folds",
                        "full_fit", "seed", "seed_bag",
                        "bag_overrides", "name"} | {k for k in FIELDS if k.startswith("infer_")})


# allowed ranges and choices, beyond each field's declared type: (test, what is allowed)
POSITIVE = (lambda v: v > 0, "greater than 0")
AT_LEAST_1 = (lambda v: v >= 1, "at least 1")
NOT_NEGATIVE = (lambda v: v >= 0, "0 or more")
FRACTION = (lambda v: 0 <= v <= 1, "between 0 and 1")
RANGES: dict[str, tuple] = {
    **dict.fromkeys(("sample_rate", "duration", "lr", "teacher_hop", "distill_temperature",
                     "infer_duration", "infer_hop", "grad_clip"), POSITIVE),
    **dict.fromkeys(("epochs", "batch_size", "crops_per_file", "crop_pick", "negative_repeat",
                     "n_fft", "hop_length", "mel_bins", "head_hidden", "seed_bag",
                     "valid_every", "checkpoint_every", "infer_batch_size"), AT_LEAST_1),
    **dict.fromkeys(("min_event_overlap", "weight_decay", "warmup_epochs", "average_last",
                     "num_workers", "distill_weight", "distill_embedding", "fmin"),
                    NOT_NEGATIVE),
    **dict.fromkeys(("threshold", "infer_clip_blend"), FRACTION),
    "quiet_negatives": (lambda v: 0 <= v < 1, "0 or more and below 1 (some draws must keep "
                        "their labels)"),
    "layer_decay": (lambda v: 0 < v <= 1, "between 0 (excluded) and 1"),
    "freeze_epochs": NOT_NEGATIVE,
    "n_folds": (lambda v: v >= 2, "at least 2 (a fold validates what the others train on)"),
    "label_smoothing": (lambda v: 0 <= v < 0.5, "0 or more, below 0.5"),
    "dropout": (lambda v: 0 <= v < 1, "0 or more, below 1"),
    "ema": (lambda v: 0 < v < 1, "between 0 and 1 (a decay such as 0.999), or None"),
    "secondary_label": FRACTION,
    "amp": (lambda v: v in ("fp16", "bf16"), "fp16, bf16 or None"),
    "channels": (lambda v: len(v) > 0 and set(v) <= {"logmel", "pcen", "power", "denoised",
                                                     "gated"},
                 "one or more of logmel, pcen, power, denoised, gated"),
    "metric": (lambda v: v in ("lwlrap", "f1", "map", "top1", "window_auc", "padded_cmap",
                               "f1_rowwise", "macro_auc", "weighted_accuracy", "scape_auc",
                               "scape_lwlrap", "scape_cmap"),
               "lwlrap, f1, map, top1, window_auc, padded_cmap, f1_rowwise, macro_auc, "
               "weighted_accuracy, scape_auc, scape_lwlrap, scape_cmap, or None (the "
               "competition's)"),
}


def competition_folder(cfg, name: str | None) -> str | None:
    """A folder a config names: as named, or for "soundscapes" the competition's own unlabeled
    soundscapes (None where it ships none)."""
    if name != "soundscapes":
        return name
    folder = getattr(COMPETITIONS.get(cfg.competition), "unlabeled_dir", None)
    return str(Path(cfg.data_dir) / folder) if folder else None


AUDIO_SUFFIXES = (".ogg", ".mp3", ".flac", ".wav")
GLOB_CHARS = "*?["


def split_pattern(spec: str) -> tuple[Path, str | None]:
    """A folder field's fixed folder (the parts before its first wildcard) and the glob
    pattern below it, None for a plain folder."""
    parts = Path(spec).parts
    fixed = next((k for k, part in enumerate(parts) if any(c in part for c in GLOB_CHARS)),
                 len(parts))
    root = Path(*parts[:fixed]) if fixed else Path(".")
    return root, (str(Path(*parts[fixed:])) if fixed < len(parts) else None)


def audio_files(spec: str | None) -> dict[str, Path]:
    """The audio files a config's folder field names, by id: every file under a folder, or
    the files a glob pattern matches (`.../unlabeled_soundscapes/[0-7]*.ogg`: one source split
    between two uses, such as training negatives and the validation soundscapes' background).
    An id is the file's path below the folder (a pattern's part before its first wildcard)
    without suffix, '/' as '__'."""
    if spec is None:
        return {}
    root, pattern = split_pattern(spec)
    if not root.is_dir():
        return {}
    found = root.glob(pattern) if pattern is not None else root.rglob("*")
    files = sorted(p for p in found if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    return {"__".join(p.relative_to(root).with_suffix("").parts): p for p in files}


def shared_audio(a: str | None, b: str | None) -> bool:
    """Whether two folder fields name any file in common (a folder and a pattern inside it,
    or two overlapping patterns)."""
    if not a or not b:
        return False
    return a == b or bool({p.resolve() for p in audio_files(a).values()}
                          & {p.resolve() for p in audio_files(b).values()})


def unlabeled_folder(cfg) -> str | None:
    """The folder of `distill_audio` (competition_folder); None for "valid"."""
    return None if cfg.distill_audio == "valid" else competition_folder(cfg, cfg.distill_audio)


def background_folder(cfg) -> str | None:
    """The folder of noise under the validation soundscapes (`valid_soundscapes["background"]`,
    competition_folder); None: the validation recordings' quiet seconds."""
    return competition_folder(cfg, (cfg.valid_soundscapes or {}).get("background"))


def type_matches(value: Any, kind: Any) -> bool:
    """Whether `value` is of the declared type `kind` (int for a float is fine, bool for an
    int is not: `-o epochs=True` is a mistake)."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        return any(type_matches(value, a) for a in args)
    if kind is type(None):
        return value is None
    if kind is Any:
        return True
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is tuple:
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(type_matches(v, args[0]) for v in value)
        return len(args) == len(value) and all(map(type_matches, value, args))
    return isinstance(value, origin or kind)


def value_problem(key: str, value: Any) -> str | None:
    """What is wrong with a field's value (None when nothing is): its type, then its range."""
    kind = HINTS[key]
    if not type_matches(value, kind):
        union = typing.get_origin(kind) in (typing.Union, types.UnionType)
        return "expected " + " or ".join(map(type_name, typing.get_args(kind) if union else [kind]))
    check = RANGES.get(key)
    if check is None or value is None:
        return None
    ok, allowed = check
    return None if ok(value) else f"allowed: {allowed}"


def type_name(kind: Any) -> str:
    if kind is type(None):
        return "None"
    return str(kind) if typing.get_origin(kind) else getattr(kind, "__name__", str(kind))


def did_you_mean(names: list[str]) -> str:
    """" (did you mean 'epochs'?)" for the known fields closest to misspelt `names`."""
    import difflib

    close = [m for n in names for m in difflib.get_close_matches(n, FIELDS, n=1)]
    return f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
