"""Benchmarks that print figures (never timed unit tests: shared machines are noisy).

    python src/bench.py io EXP      # cost of reading one training crop, by storage format
    python src/bench.py train EXP   # training samples/s end to end vs the model alone
    python src/bench.py teacher EXP # BirdNET teacher vs the experiment's model, audio s per s
    python src/bench.py infer EXP [--backend torch|onnx|openvino]
                                    # inference audio s/s: end to end, forward only, seed loop
    python src/bench.py ddp EXP     # one fold by 1 process vs 2 under torchrun (DDP)

Experiment sweeps (CV of whole experiments, test-time aggregation, the results CSV) are
sweep.py's.
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

from atomic import run_script
from audio import decode, open_cached, stream_wave, to_float
from configs import experiment_cli
from cache import cache_root, cached_path
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

    from recordings import load_train_table
    from engine import seed_everything
    from training import build_trainer, train_loader

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
    (3-s windows without overlap, in its batches) against this experiment's SED model (its
    `duration` windows, batched; weights do not change the speed); and the teacher's first
    call (model load and graph planning, once per process)."""
    import torch

    import teacher
    from windows import RecordingWindows
    from engine import resolve_device
    from scoring import predict_timelines
    from models import build_model

    comp = competition_for(cfg)
    ids = comp.train_recordings()["id"].tolist()[:n_recordings]
    paths = [str(cached_path(cfg, "train", i)) for i in ids]
    seconds = sum(len(open_cached(p)) for p in paths) / cfg.sample_rate
    start = time.perf_counter()
    model = teacher.shared_birdnet()
    model(np.zeros((model.batch, int(teacher.SAMPLE_RATE * teacher.WINDOW_S)), np.float32))
    first_call = time.perf_counter() - start  # the interpreter plans the graph for its batch
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
    print(f"teacher_batch={model.batch} teacher_first_call_s={first_call:.1f} "
          f"teacher_audio_s_per_s={teacher_speed:.1f} student_audio_s_per_s={student_speed:.1f} "
          f"student_vs_teacher={student_speed / teacher_speed:.2f}")


def best_rates(audio_s: float, runs: dict, repeats: int) -> dict[str, float]:
    """Audio seconds per wall second of each of `runs` (name -> callable), from its fastest of
    `repeats` runs. Each repeat runs them all in turn, so that on a shared machine they see
    the same load, and the fastest run is the one least disturbed."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeats):
        for name, fn in runs.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: audio_s / t for name, t in best.items()}


def seed_loop(cfg, models, rows, n_classes: int) -> np.ndarray:
    """The seed notebook's inference: each file read whole in the main process, cut into
    windows, each window one model call (batch of 1), models one after another each computing
    its own log-mel, and a Python loop over classes to score the rows."""
    import torch

    window = int((cfg.infer_duration or cfg.duration) * cfg.sample_rate)
    fps = cfg.sample_rate / cfg.hop_length
    scores = np.zeros((len(rows), n_classes), dtype=np.float32)
    for audio_id, group in rows.groupby("audio_id", sort=False):
        wave = np.concatenate(list(stream_wave(group["path"].iloc[0], cfg.sample_rate)))
        n_windows = max(1, -(-len(wave) // window))
        wave = np.pad(wave, (0, n_windows * window - len(wave)))
        for model in models:
            model_scores = np.zeros((len(group), scores.shape[1]), dtype=np.float32)
            for w in range(n_windows):
                with torch.no_grad():
                    x = torch.from_numpy(wave[w * window:(w + 1) * window]).view(1, -1)
                    frames = model(x)["framewise_output"][0].numpy()
                t0 = w * window / cfg.sample_rate
                for r, (a, b) in enumerate(zip(group["t_start"], group["t_end"])):
                    lo = max(0, int(np.ceil((a - t0) * fps)))
                    hi = len(frames) if np.isnan(b) else int(np.ceil((b - t0) * fps))
                    for c in range(frames.shape[1]):
                        if hi > lo:
                            model_scores[r, c] = max(model_scores[r, c], frames[lo:hi, c].max())
            scores[group.index] += model_scores / len(models)
    return scores


def smaps_mb(pid: int) -> dict[str, float]:
    try:
        lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]
    except OSError:
        return {}
    return {k.rstrip(":"): int(v) / 1024 for k, v, *_ in (line.split() for line in lines)}


def tree_memory_mb(pid: int) -> float:
    """Memory of a process and its children (loader workers): its RSS plus the pages private
    to each child. Pages the children share with it (torch's libraries, forked memory) are
    counted once, as the machine holds them once; summing RSS would count them per process."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            pass
    total = smaps_mb(pid).get("Rss", 0.0)
    for child in children:
        m = smaps_mb(child)
        total += m.get("Private_Clean", 0.0) + m.get("Private_Dirty", 0.0)
    return total


def one_hour_peak_mb(cfg, overrides: list[str], backend: str,
                     minutes: int = 60) -> tuple[float, float]:
    """Peak memory of infer.py's prediction path on one synthetic `minutes`-long 48 kHz FLAC
    (5-s rows), in a fresh process: of it with its loader workers (`tree_memory_mb`, sampled
    every 0.1 s), and its own peak RSS."""
    import subprocess

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hour.flac"
        rng = np.random.default_rng(0)
        with sf.SoundFile(path, "w", 48000, 1, subtype="PCM_16") as f:
            for _ in range(minutes):
                f.write((rng.standard_normal(48000 * 60) * 0.05).astype(np.float32))
        code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
                "from bench import peak_rss_mb, predict_one_file\n"
                f"predict_one_file({cfg.name!r}, {overrides!r}, {backend!r}, {str(path)!r}, "
                f"{minutes * 60})\n"
                "print(peak_rss_mb())")
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        peak = 0.0
        while proc.poll() is None:
            peak = max(peak, tree_memory_mb(proc.pid))
            time.sleep(0.1)
        out = proc.stdout.read()
        if proc.returncode:
            raise SystemExit(f"one-hour run failed ({proc.returncode})")
        return peak, float(out.strip().splitlines()[-1])


def peak_rss_mb() -> float:
    """This process's peak RSS since it started its program (VmHWM; getrusage's ru_maxrss
    would also count the forked copy of a large parent before the exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise OSError("no VmHWM in /proc/self/status")


def predict_one_file(exp: str, argv: list[str], backend: str, path: str, seconds: int) -> None:
    import pandas as pd

    from backends import load_backend
    from windows import RecordingWindows
    from engine import resolve_device
    from inference import predict_rows

    cfg, _ = experiment_cli(__doc__, [exp] + argv)
    device = resolve_device(cfg.device)
    comp = competition_for(cfg)
    rows = pd.DataFrame({"row_id": [f"h_{s}" for s in range(0, seconds, 5)], "audio_id": "h",
                         "path": path, "t_start": np.arange(0, seconds, 5.0)})
    rows["t_end"] = rows["t_start"] + 5
    window = RecordingWindows.from_config([], cfg).window
    predict_rows([cfg], load_backend(backend, [cfg], comp.classes, device, window), rows,
                 device)


def bench_infer(cfg, args) -> None:
    """Audio seconds per wall second on the test set: infer.py's prediction path end to end
    (loader workers reading the prepare cache as run.sh has it, or decoding and resampling the
    source files as a Kaggle kernel must; every fold, stitching, rows), the backend's forward
    pass alone on the same windows already in memory, each CPU backend's forward pass, and the
    seed notebook's loop on the same checkpoints and cache; then peak memory on a one-hour
    recording."""
    import importlib.util

    import torch

    from backends import BACKENDS, load_backend, load_fold_models
    from windows import RecordingWindows
    from engine import resolve_device
    from inference import predict_rows, test_rows

    comp = competition_for(cfg)
    device = resolve_device(cfg.device)
    sources = comp.test_rows()
    audio_s = sum(sf.info(p).duration for p in sources.drop_duplicates("audio_id")["path"])
    rows = test_rows(cfg, comp)  # as infer.py reads them: prepare.py's cache where it has it
    windows = RecordingWindows.from_config(rows.drop_duplicates("audio_id")["path"], cfg)
    batches = [b.waves for b in windows if len(b.waves)]
    print(f"device={device} threads={torch.get_num_threads()} workers={cfg.num_workers} "
          f"backbone={cfg.backbone} test_audio_s={audio_s:.0f} "
          f"windows={sum(len(b) for b in batches)} window={windows.window / cfg.sample_rate}s "
          f"hop={windows.hop / cfg.sample_rate}s batch={cfg.infer_batch_size} "
          f"repeats={args.repeats}")

    runs = {}
    for name in [b for b in BACKENDS if b == "torch" or importlib.util.find_spec(
            "onnxruntime" if b == "onnx" else b) is not None]:
        try:
            backend = load_backend(name, [cfg], comp.classes, device, windows.window)
        except SystemExit as e:
            print(f"{name}: skipped ({e})")
            continue
        runs[name] = lambda backend=backend: [backend(b) for b in batches]
        if name == args.backend:
            runs["e2e"] = lambda backend=backend: predict_rows([cfg], backend, rows, device)
            runs["e2e_source"] = lambda backend=backend: predict_rows([cfg], backend, sources,
                                                                      device)
    rates = best_rates(audio_s, runs, args.repeats)
    forward = {k: v for k, v in rates.items() if k in BACKENDS}
    print("forward_only " + " ".join(f"{k}={v:.1f}" for k, v in forward.items()) + " "
          + " ".join(f"{k}_vs_torch={v / forward['torch']:.2f}" for k, v in forward.items()
                     if k != "torch"))
    models = load_fold_models(cfg, comp.classes, torch.device("cpu"))
    seed_rows = rows[rows["audio_id"].isin(rows["audio_id"].unique()[:args.seed_files])]
    seed_s = audio_s * seed_rows["audio_id"].nunique() / rows["audio_id"].nunique()
    seed = best_rates(seed_s, {"seed": lambda: seed_loop(
        cfg, models, seed_rows.reset_index(drop=True), len(comp.classes))}, 1)["seed"]
    overrides = [x for o in args.override or [] for x in ("-o", o)]
    tree, main_rss = one_hour_peak_mb(cfg, overrides, args.backend)
    print(f"one_hour_recording_peak_mb={tree:.0f} (main process and {cfg.num_workers} loader "
          f"workers) main_process_peak_rss_mb={main_rss:.0f}")
    e2e, source, fwd = rates["e2e"], rates["e2e_source"], forward[args.backend]
    print(f"backend={args.backend} seed_loop_files={seed_rows['audio_id'].nunique()} "
          f"e2e_from_source_files_audio_s_per_s={source:.1f} "
          f"e2e_from_source_vs_forward={source / fwd:.2f}")
    print(f"e2e_audio_s_per_s={e2e:.1f} forward_only={fwd:.1f} seed_loop={seed:.1f} "
          f"e2e_vs_forward={e2e / fwd:.2f} e2e_vs_seed={e2e / seed:.2f}")


def no_arguments(parser) -> None:
    pass


def infer_arguments(parser) -> None:
    from backends import BACKENDS

    parser.add_argument("--backend", choices=BACKENDS, default="torch",
                        help="the backend of the end-to-end run")
    parser.add_argument("--repeats", type=int, default=5, help="runs per figure; the best counts")
    parser.add_argument("--seed-files", type=int, default=10,
                        help="test files the (slow) seed loop is timed on")


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


BENCHES = {"io": (bench_io, no_arguments), "train": (bench_train, no_arguments),
           "infer": (bench_infer, infer_arguments), "teacher": (bench_teacher, no_arguments),
           "ddp": (bench_ddp, no_arguments)}


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("cv", "aggregate"):
        raise SystemExit(f"`{argv[0]}` moved to sweep.py: python src/sweep.py {' '.join(argv)}")
    if not argv or argv[0] not in BENCHES:
        raise SystemExit(f"usage: python src/bench.py {{{','.join(BENCHES)}}} EXP")
    bench, add_arguments = BENCHES[argv[0]]
    cfg, args = experiment_cli(__doc__, argv[1:], add_arguments)
    if bench is bench_infer:
        bench(cfg, args)
    else:
        bench(cfg)


if __name__ == "__main__":
    run_script(main)
