"""Fast inference: windows streamed in batches, stitched onto the timeline, reduced per row;
fold ensembles sharing a front end; memory bounded on long recordings. (The exported ONNX and
OpenVINO backends are checked against torch in test_pipeline.py, on trained models.)"""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
import torch.nn as nn

from audio import decode, save_cached, stream_wave
from backends import Ensemble, TorchBackend
from configs import Config
from windows import cut_windows, RecordingWindows
from inference import predict_rows
from models import Features, SedModel
from timeline import RowReducer, Timeline, row_frames

SR = 16000
TESTS = Path(__file__).resolve().parent


class BandDetector(nn.Module):
    """A real, untrained SED model whose answer is known: class k's framewise probability is a
    sigmoid of the log-mel level of mel band `bands[k]` above `level` dB."""

    def __init__(self, bands=(10, 20), level: float = -15.0, hop_length: int = 160) -> None:
        super().__init__()
        self.features = Features(SR, 256, hop_length, 32, 50.0, None)
        self.front_end_spec = ("band", hop_length)
        self.bands, self.level = list(bands), level

    def front_end(self, wave: torch.Tensor) -> torch.Tensor:
        return self.features(wave)

    def from_front_end(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        frame = torch.sigmoid(x[:, 0][..., self.bands] - self.level)
        return {"framewise_output": frame, "clipwise_output": frame.max(dim=1).values}

    def forward(self, wave: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.from_front_end(self.front_end(wave))


def band_hz(band: int) -> float:
    """Centre frequency of `BandDetector`'s mel band."""
    import librosa

    return float(librosa.mel_frequencies(34, fmin=50.0, fmax=SR / 2)[band + 1])


def tone_file(path: Path, seconds: float, events: list[tuple[int, float, float]]) -> str:
    """Quiet noise with a tone at band `b`'s frequency over [t0, t1) for each (b, t0, t1)."""
    rng = np.random.default_rng(0)
    wave = rng.standard_normal(int(seconds * SR)).astype(np.float32) * 1e-4
    t = np.arange(len(wave)) / SR
    for band, t0, t1 in events:  # 10-ms raised-cosine edges: no broadband click
        envelope = np.clip(np.minimum(t - t0, t1 - t) / 0.01, 0, 1)
        envelope = 0.5 - 0.5 * np.cos(np.pi * envelope)
        wave += (0.3 * np.sin(2 * np.pi * band_hz(band) * t) * envelope).astype(np.float32)
    sf.write(path, wave, SR, subtype="FLOAT")
    return str(path)


def config(**fields) -> Config:
    base = dict(sample_rate=SR, hop_length=160, infer_duration=2.0, infer_hop=0.5,
                infer_batch_size=8, num_workers=0, amp=None)
    return Config(**{**base, **fields})


def row_table(files: dict[str, str], seconds: int) -> pd.DataFrame:
    return pd.DataFrame([{"row_id": f"{a}_{s}", "audio_id": a, "path": p, "t_start": float(s),
                          "t_end": float(s + 1)} for a, p in files.items() for s in range(seconds)])


def test_streamed_windows_match_cutting_the_whole_wave(tmp_path):
    wave = np.random.default_rng(1).standard_normal(2700).astype(np.float32)
    pieces = [wave[i:i + 333] for i in range(0, 2700, 333)]
    windows = cut_windows(iter(pieces), 1000, 500, shifts=[250])
    got = []
    while True:
        try:
            got.append(next(windows))
        except StopIteration as stop:
            assert stop.value == 2700
            break
    starts = [s for _, s, _ in got]
    assert starts == sorted(starts)  # in order of start, both passes interleaved
    assert [s for p, s, _ in got if p == 0] == [0, 500, 1000, 1500, 2000]  # the last reaches 2700
    assert [s for p, s, _ in got if p == 1] == [-250, 250, 750, 1250, 1750]
    padded = np.concatenate([np.zeros(250), wave, np.zeros(1000)])
    for _, s, w in got:
        assert np.array_equal(w, padded[s + 250:s + 1250])

    flac = tmp_path / "r.flac"  # streamed decode + resample equals decoding the whole file
    sf.write(flac, np.sin(np.arange(48000 * 3) / 7.0).astype(np.float32) * 0.5, 48000)
    whole = decode(flac, SR)
    assert np.allclose(np.concatenate(list(stream_wave(flac, SR, chunk=10000))), whole, atol=1e-6)
    save_cached(tmp_path / "r.npy", whole)
    assert np.allclose(np.concatenate(list(stream_wave(tmp_path / "r.npy", SR, chunk=999))),
                       whole, atol=1e-4)


def test_batches_pack_recordings_and_mark_their_ends(tmp_path):
    for name, n in [("a", 2700), ("b", 300), ("c", 1200)]:
        save_cached(tmp_path / f"{name}.npy", np.full(n, 0.5, dtype=np.float32))
    ds = RecordingWindows([str(tmp_path / f"{x}.npy") for x in "abc"], 1000, 1.0, 0.5,
                          batch_size=4)
    batches = list(ds)
    assert [b.recordings.tolist() for b in batches] == [[0, 0, 0, 0], [0, 1, 2, 2]]
    assert [b.ends for b in batches] == [[], [(0, 2700), (1, 300), (2, 1200)]]
    last = batches[1].waves
    assert last[0, 699] > 0.49 and last[0, 700:].abs().max() == 0  # 2000 + 700 = 2700
    assert last[1, 299] > 0.49 and last[1, 300:].abs().max() == 0


def test_timeline_stretches_equal_stitching_at_once():
    rng = np.random.default_rng(0)
    outputs = rng.random((9, 30, 2)).astype(np.float32)
    # 30-frame windows: pass 0 at 0, 20, 40, 60, 80; pass 1 at 5, 25, 45, 65
    offsets, passes = np.arange(9) * 10 - np.array([0, 5] * 4 + [0]), np.array([0, 1] * 4 + [0])
    # frame 25 lies in pass 0's windows at 0 and 20 and pass 1's at 5 and 25; in one channel
    # of each pass the earlier window is the larger, so the max differs from "the last wins"
    outputs[0, 25], outputs[2, 5] = [0.9, 0.2], [0.3, 0.6]  # pass 0
    outputs[1, 20], outputs[3, 0] = [0.5, 0.4], [0.7, 0.0]  # pass 1
    order = np.argsort(offsets, kind="stable")
    for reduce in ("max", "mean"):
        whole = Timeline(2, n_passes=2, reduce=reduce)
        whole.add(outputs[order], offsets[order], passes[order])
        _, expected = whole.flush(100)
        streamed, parts = Timeline(2, n_passes=2, reduce=reduce), []
        for chunk in np.array_split(order, 4):
            streamed.add(outputs[chunk], offsets[chunk], passes[chunk])
            parts.append(streamed.flush(int(offsets[chunk].max())))
        parts.append(streamed.flush(100))
        assert [p[0] for p in parts[1:]] == list(np.cumsum([len(p[1]) for p in parts[:-1]]))
        assert np.allclose(np.concatenate([p[1] for p in parts]), expected)
    # frame 25 by hand: the passes' max are [0.9, 0.6] and [0.7, 0.4], their mean [0.8, 0.5];
    # the passes' means are [0.6, 0.4] and [0.6, 0.2], their mean [0.6, 0.3]
    for reduce, frame_25 in [("max", [0.8, 0.5]), ("mean", [0.6, 0.3])]:
        whole = Timeline(2, 2, reduce)
        whole.add(outputs[order], offsets[order], passes[order])
        assert whole.flush(100)[1][25] == pytest.approx(frame_25)


def test_rows_reduce_by_max_or_mean_and_rows_past_the_end_score_0():
    timeline = np.zeros((65, 2), dtype=np.float32)
    timeline[35:40, 0] = 0.9  # frames at 10 fps: 3.5-4.0 s
    timeline[25:30, 1] = 0.2  # 2.5-3.0 s
    lo, hi = row_frames(np.array([0.0, 2.5, 5.0, 7.0, 0.0]),
                        np.array([2.5, 5.0, 7.5, 9.0, np.nan]), fps=10.0)
    for reduce, row1 in [("max", [0.9, 0.2]), ("mean", [0.18, 0.04])]:
        rows = RowReducer(lo, hi, reduce)
        for first in range(0, 65, 7):  # fed in stretches
            rows.add(first, timeline[first:first + 7])
        out = rows.result()
        assert out[1] == pytest.approx(row1)
        assert out[3].tolist() == [0.0, 0.0]  # 7-9 s: past the 6.5-s audio
    mixed = RowReducer(lo, hi, ["max"] * 4 + ["mean"])  # one reduction per row
    mixed.add(0, timeline)
    assert mixed.result()[1] == pytest.approx([0.9, 0.2])
    assert mixed.result()[4] == pytest.approx(timeline.mean(axis=0))


def test_a_row_spanning_its_file_takes_infer_recording(tmp_path):
    files = {"a": tone_file(tmp_path / "a.wav", 8.0, [(10, 2.0, 3.0)])}  # 1 s of 8
    rows = row_table(files, 8)
    rows = pd.concat([rows, pd.DataFrame([{"row_id": "a", "audio_id": "a", "path": files["a"],
                                           "t_start": 0.0, "t_end": np.nan}])],
                     ignore_index=True)
    detector = TorchBackend([[BandDetector()]], torch.device("cpu"))
    (peak,) = predict_rows([config()], detector, rows, torch.device("cpu"))
    (mean,) = predict_rows([config(infer_recording="mean")], detector, rows, torch.device("cpu"))
    assert peak[-1, 0] > 0.9 and mean[-1, 0] == pytest.approx(1 / 8, abs=0.04)
    assert np.array_equal(peak[:-1], mean[:-1])  # the 1-s rows keep infer_reduce's max


@pytest.mark.parametrize("workers", [0, 2])
def test_event_at_a_known_time_lands_in_its_rows(tmp_path, workers):
    files = {"a": tone_file(tmp_path / "a.wav", 12.0, [(10, 7.2, 7.6)]),
             "b": tone_file(tmp_path / "b.wav", 6.5, [(20, 1.9, 3.3)]),
             "c": tone_file(tmp_path / "c.wav", 3.0, [])}
    rows = row_table(files, 12)
    detector = TorchBackend([[BandDetector()]], torch.device("cpu"))
    expected = np.zeros((len(rows), 2), dtype=bool)
    expected[rows.row_id.isin(["a_7"]), 0] = True
    expected[rows.row_id.isin(["b_1", "b_2", "b_3"]), 1] = True
    for fields in [dict(), dict(infer_tta_shifts=(0.25, 1.0), num_workers=workers),
                   dict(infer_reduce="mean", infer_hop=None, infer_duration=3.0)]:
        cfg = config(**fields)
        (scores,) = predict_rows([cfg], detector, rows, torch.device("cpu"))
        if cfg.infer_reduce == "max":
            assert (scores > 0.9).tolist() == expected.tolist(), fields
            assert scores[~expected].max() < 0.1
        else:  # the mean over a row: the 0.4-s tone fills 40% of row a_7
            assert scores[rows.row_id == "a_7", 0] == pytest.approx(0.4, abs=0.05)
            assert scores[rows.row_id == "b_2", 1] == pytest.approx(1.0, abs=0.05)
            assert scores[~expected].max() < 0.1
        past = rows.row_id.isin([f"b_{s}" for s in range(7, 12)] + ["c_5"])
        assert scores[past].max() == 0.0  # rows past the end of the audio score 0


def test_clip_blend_mixes_the_scores_of_the_windows_covering_a_row(tmp_path):
    files = {"a": tone_file(tmp_path / "a.wav", 8.0, [(10, 2.2, 2.6)])}
    rows = row_table(files, 8)
    detector = TorchBackend([[BandDetector()]], torch.device("cpu"))
    cfg = config(infer_duration=2.0, infer_hop=2.0)
    (frame,) = predict_rows([cfg], detector, rows, torch.device("cpu"))
    (clip,) = predict_rows([config(infer_duration=2.0, infer_hop=2.0, infer_clip_blend=1.0)],
                           detector, rows, torch.device("cpu"))
    assert frame[:, 0].round(1).tolist() == [0, 0, 1, 0, 0, 0, 0, 0]
    assert clip[:, 0].round(1).tolist() == [0, 0, 1, 1, 0, 0, 0, 0]  # the window 2-4 s fired
    (half,) = predict_rows([config(infer_duration=2.0, infer_hop=2.0, infer_clip_blend=0.5)],
                           detector, rows, torch.device("cpu"))
    assert np.allclose(half, (frame + clip) / 2, atol=1e-6)


def test_temporal_smoothing_mixes_rows_of_the_same_recording_only(tmp_path):
    files = {"a": tone_file(tmp_path / "a.wav", 6.0, [(10, 2.2, 2.6)]),
             "b": tone_file(tmp_path / "b.wav", 6.0, [(10, 0.2, 0.6)])}
    rows = row_table(files, 6)
    detector = TorchBackend([[BandDetector()]], torch.device("cpu"))
    cfg = config(infer_duration=2.0, infer_hop=2.0)
    (raw,) = predict_rows([cfg], detector, rows, torch.device("cpu"))
    (smoothed,) = predict_rows([config(infer_duration=2.0, infer_hop=2.0,
                                       infer_temporal=dict(smoothing=1.0))],
                               detector, rows, torch.device("cpu"))
    assert raw[:6, 0].round(1).tolist() == [0, 0, 1, 0, 0, 0]
    # each row: the mean of itself and its neighbours (two at the ends of a recording)
    assert smoothed[:6, 0] == pytest.approx([0, 1 / 3, 1 / 3, 1 / 3, 0, 0], abs=0.01)
    assert smoothed[6:, 0] == pytest.approx([1 / 2, 1 / 3, 0, 0, 0, 0], abs=0.01)  # a's
    #   last row does not hear b's first
    (prior,) = predict_rows([config(infer_duration=2.0, infer_hop=2.0,
                                    infer_temporal=dict(prior=0.5))],
                            detector, rows, torch.device("cpu"))
    assert prior[:6, 0] == pytest.approx([0.5, 0.5, 1, 0.5, 0.5, 0.5], abs=0.01)
    assert prior[6:, 0] == pytest.approx([1, 0.5, 0.5, 0.5, 0.5, 0.5], abs=0.01)


def test_folds_share_the_front_end_and_experiments_run_in_one_pass():
    torch.manual_seed(0)
    tiny = dict(sample_rate=SR, n_fft=512, hop_length=160, mel_bins=32, fmin=50,
                backbone="resnet10t", head_hidden=32)
    folds = [SedModel(n_classes=3, **tiny).eval() for _ in range(2)]
    other = [SedModel(n_classes=3, **{**tiny, "mel_bins": 16}).eval()]
    wave = torch.randn(3, SR) * 0.1
    calls = []
    for m in folds + other:
        m.features.register_forward_hook(lambda *_: calls.append(1))
    with torch.inference_mode():
        out = Ensemble([folds, other])(wave)
        assert len(calls) == 2  # one front end per distinct spec, not one per model
        separate = [m(wave) for m in folds]
        for key, got in zip(["framewise_output", "clipwise_output"], out[:2]):
            assert torch.allclose(got, torch.stack([s[key] for s in separate]).mean(0), atol=1e-6)
        assert torch.allclose(out[2], other[0](wave)["framewise_output"], atol=1e-6)


def peak_rss_after(paths: list[str], seconds: list[int]) -> list[float]:
    """Infer each file's 1-s rows in turn; the process's peak RSS in MB after each."""
    from bench import peak_rss_mb

    cfg = config(infer_duration=2.0, infer_hop=2.0, infer_batch_size=16)
    backend = TorchBackend([[BandDetector(hop_length=256)]], torch.device("cpu"))
    peaks = []
    for path, n in zip(paths, seconds):
        (scores,) = predict_rows([cfg], backend, row_table({"a": path}, n), torch.device("cpu"))
        assert scores.shape == (n, 2)
        peaks.append(peak_rss_mb())
    return peaks


def test_memory_stays_bounded_on_a_long_recording(tmp_path):
    minutes = [1, 24]
    paths = [str(tmp_path / f"{m}.wav") for m in minutes]
    for path, m in zip(paths, minutes):
        with sf.SoundFile(path, "w", SR, 1, subtype="PCM_16") as f:
            for _ in range(m):
                f.write(np.random.default_rng(0).standard_normal(60 * SR).astype(np.float32) * 0.1)
    code = (f"import sys; sys.path[:0] = {[str(TESTS.parent / 'src'), str(TESTS)]!r}; "
            f"import test_infer; print(*test_infer.peak_rss_after({paths!r}, "
            f"{[m * 60 for m in minutes]!r}))")  # a fresh process: its peak is this run's
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    short, long = map(float, proc.stdout.split()[-2:])
    # 24 min at 16 kHz is 92 MB as float32: holding it, or its windows, would show
    assert long - short < 30, (short, long)


def test_validation_scores_each_recording_by_infer_recording(tmp_path):
    from types import SimpleNamespace

    from scoring import validate

    files = [tone_file(tmp_path / "a.wav", 8.0, [(10, 2.0, 3.0)]),  # class 0 for 1 s of 8
             tone_file(tmp_path / "b.wav", 8.0, [(20, 0.0, 8.0)])]  # class 1 throughout
    valid = pd.DataFrame({"cache_path": files})
    y = np.array([[1, 0], [0, 1]], dtype=np.float32)
    comp = SimpleNamespace(metric="lwlrap")
    for reduce, a0 in [("max", 1.0), ("mean", 1 / 8)]:
        _, preds, rows = validate(config(infer_recording=reduce), comp, [BandDetector()], valid,
                                  y, torch.device("cpu"))
        assert preds[0, 0] == pytest.approx(a0, abs=0.04) and preds[1, 1] > 0.9, reduce
        assert rows[0][:, 0].max() > 0.9  # the 5-s rows keep their max either way
