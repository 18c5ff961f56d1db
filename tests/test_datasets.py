import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import DataLoader

from audio import decode, open_cached, save_cached, to_float
from datasets import choose_crop, class_balanced_weights, EpochSampler, SedDataset
from folds import make_folds

SR = 1000


@pytest.fixture
def cached(tmp_path):
    """Two 10-s recordings: 'a' with class 0 at 1-2 s and class 1 at 7.5-8 s; 'b' weak."""
    paths = []
    for name in ["a", "b"]:
        path = tmp_path / f"{name}.npy"
        save_cached(path, np.linspace(-0.5, 0.5, 10 * SR, dtype=np.float32))
        paths.append(str(path))
    recordings = pd.DataFrame({"id": ["a", "b"], "cache_path": paths, "labels": [[0, 1], [2]]})
    events = pd.DataFrame({"id": ["a", "a", "b"], "cls": [0, 1, 2], "t_min": [1.0, 7.5, 0.0],
                           "t_max": [2.0, 8.0, np.inf]})
    return recordings, events


def test_cache_roundtrip_is_int16_and_memory_mapped(tmp_path):
    wave = np.sin(np.linspace(0, 100, 5000)).astype(np.float32) * 0.9
    save_cached(tmp_path / "x.npy", wave)
    ints = open_cached(tmp_path / "x.npy")
    assert ints.dtype == np.int16 and isinstance(ints, np.memmap)
    assert np.abs(to_float(ints) - wave).max() < 1e-4


def test_decode_resamples_and_downmixes(tmp_path):
    import soundfile as sf
    t = np.arange(48000) / 48000
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 440 * t)], 1) * 0.5
    sf.write(tmp_path / "s.flac", stereo, 48000)
    wave = decode(tmp_path / "s.flac", 16000)
    assert wave.dtype == np.float32 and wave.shape == (16000,)
    spectrum = np.abs(np.fft.rfft(wave))
    assert abs(np.argmax(spectrum) - 440) <= 1  # 1 Hz bins: the tone survived resampling


def test_choose_crop_holds_short_event_and_stays_inside_long_one():
    rng = np.random.default_rng(0)
    for _ in range(200):
        s = choose_crop(10_000, 3000, 4000, 5000, rng)
        assert 2000 <= s <= 4000  # the whole event is inside [s, s + 3000)
        s = choose_crop(10_000, 3000, 1000, 9000, rng)
        assert 1000 <= s <= 6000
        assert 0 <= choose_crop(10_000, 3000, 9500, 9900, rng) <= 7000  # clipped to the file
    assert choose_crop(2000, 3000, 0, 2000, rng) == 0  # shorter than the crop


def test_crop_targets_come_from_events_inside_the_crop(cached):
    recordings, events = cached
    ds = SedDataset(recordings.iloc[:1], events, n_classes=3, sample_rate=SR, duration=3.0,
                    hop_length=100)
    seen = set()
    for draw in range(100):
        item = ds[0, draw]
        wave, target = item["wave"], item["target"]
        assert wave.shape == (3 * SR,)
        start = round(float(wave[0]) * SR * 10 + 5 * SR)  # the ramp encodes the crop's start
        truth = [float(start < 2 * SR and start + 3 * SR > 1 * SR),
                 float(start < 8 * SR and start + 3 * SR > 7.5 * SR), 0.0]
        assert target.tolist() == truth
        seen.add(tuple(truth))
    assert (1.0, 0.0, 0.0) in seen and (0.0, 1.0, 0.0) in seen  # both events get picked


def test_weak_label_crops_anywhere_with_the_label(cached):
    recordings, events = cached
    ds = SedDataset(recordings.iloc[1:], events, 3, SR, 3.0, hop_length=100)
    items = [ds[0, draw] for draw in range(50)]
    starts = {round(float(it["wave"][0]) * SR * 10 + 5 * SR) for it in items}
    assert all(it["target"].tolist() == [0, 0, 1] for it in items)
    assert min(starts) < 2 * SR and max(starts) > 5 * SR


def test_batches_do_not_depend_on_workers(cached):
    recordings, events = cached
    noise = lambda w, sr: w + np.random.uniform(-0.01, 0.01, len(w)).astype(np.float32)  # noqa
    ds = SedDataset(recordings, events, 3, SR, 2.0, hop_length=100, augment=noise)
    sampler = EpochSampler(len(ds), crops_per_file=4, seed=0)
    batches = []
    for workers in (0, 2):
        loader = DataLoader(ds, batch_size=4, sampler=sampler, num_workers=workers)
        batches.append(torch.cat([b["wave"] for b in loader]))
    assert torch.equal(batches[0], batches[1])
    sampler.set_epoch(1)  # a new epoch draws new crops
    assert not torch.equal(batches[0], torch.cat([b["wave"] for b in DataLoader(
        ds, batch_size=4, sampler=sampler)]))


def test_folds_group_recordings_and_stratify():
    recordings = pd.DataFrame({"id": [f"r{i}" for i in range(40)],
                               "group": [f"g{i // 2}" for i in range(40)],
                               "labels": [[i % 4] for i in range(40)]})
    folds = make_folds(recordings, 4, seed=0)
    assert set(folds) == {0, 1, 2, 3}
    assert recordings.assign(f=folds).groupby("group")["f"].nunique().max() == 1
    assert np.array_equal(folds, make_folds(recordings, 4, seed=0))


def test_species_folds_keep_every_validated_species_in_training():
    counts = [1, 2, 2, 3, 5]  # recordings per species
    labels = [[c] for c, n in enumerate(counts) for _ in range(n)]
    recordings = pd.DataFrame({"id": [f"r{i}" for i in range(len(labels))], "labels": labels})
    for k in (2, 3):
        folds = make_folds(recordings, k, seed=1, scheme="species")
        first = np.array([row[0] for row in labels])
        assert (folds[first == 0] == -1).all()  # a single recording is always trained on
        for fold in range(k):
            valid = set(first[folds == fold])
            assert valid and valid <= set(first[folds != fold])
        assert (np.bincount(folds[first == 4], minlength=k) >= 1).all()  # dealt over the folds


def test_frame_targets_secondary_labels_and_smoothing(cached):
    recordings, events = cached
    recordings = recordings.assign(secondary=[[2], []])
    ds = SedDataset(recordings, events, 3, SR, duration=3.0, hop_length=500)
    target, weight, frames = ds.targets(0, t_start=0.0)  # crop 0-3 s holds event 0 (1-2 s)
    assert target.tolist() == [1, 0, 0] and weight.tolist() == [1, 1, 0]  # class 2 masked
    frame_times = np.arange(7) * 0.5
    assert frames[:, 0].tolist() == ((frame_times >= 1) & (frame_times <= 2)).tolist()
    assert frames[:, 1].sum() == 0
    soft = SedDataset(recordings, events, 3, SR, 3.0, 500, secondary_label=0.3,
                      label_smoothing=0.1)
    target, weight, _ = soft.targets(0, 0.0)
    assert target.tolist() == pytest.approx([0.95, 0.05, 0.3 * 0.9 + 0.05])
    assert weight.tolist() == [1, 1, 1]


def crop_2_to_4_targets(spans: list[tuple[float, float]], min_overlap: float) -> list[float]:
    """Targets of the crop [2 s, 4 s) of a recording with one event of class k at spans[k]."""
    recordings = pd.DataFrame({"id": ["r"], "cache_path": ["unused.npy"], "labels": [[0]]})
    events = pd.DataFrame({"id": "r", "cls": range(len(spans)),
                           "t_min": [a for a, _ in spans], "t_max": [b for _, b in spans]})
    ds = SedDataset(recordings, events, len(spans), SR, duration=2.0, hop_length=100,
                    min_overlap=min_overlap)
    return ds.targets(0, t_start=2.0)[0].tolist()


def test_an_event_touching_the_crop_edge_is_not_a_target():
    """A call that ends as the crop starts, or starts as it ends, shares no audio with the
    crop: labelling it would teach the model that silence is the species."""
    assert crop_2_to_4_targets([(1.0, 2.0), (4.0, 5.0), (1.0, 2.25)], 0.0) == [0, 0, 1]


def test_min_overlap_needs_strictly_more_overlap():
    """A call counts when it overlaps the crop by more than min_event_overlap: 0.05 s counts
    at 0 but not at 0.1 s, and exactly 0.5 s does not count at 0.5 s (but does at 0.25 s)."""
    spans = [(3.95, 4.5), (1.0, 2.5), (2.5, 3.5)]  # overlaps 0.05, 0.5 and 1 s
    assert crop_2_to_4_targets(spans, 0.0) == [1, 1, 1]
    assert crop_2_to_4_targets(spans, 0.1) == [0, 1, 1]
    assert crop_2_to_4_targets(spans, 0.25) == [0, 1, 1]
    assert crop_2_to_4_targets(spans, 0.5) == [0, 0, 1]


def test_balanced_sampler_flattens_class_frequencies():
    labels = [[0]] * 80 + [[1]] * 15 + [[2]] * 5
    weights = class_balanced_weights(labels, 3)
    sampler = EpochSampler(len(labels), crops_per_file=30, weights=weights, seed=0)
    drawn = np.bincount([labels[i][0] for i, _ in sampler], minlength=3) / len(sampler)
    assert np.allclose(drawn, 1 / 3, atol=0.03)
    plain = EpochSampler(len(labels), crops_per_file=2, seed=0)
    drawn = np.bincount([labels[i][0] for i, _ in plain], minlength=3)
    assert drawn.tolist() == [160, 30, 10]  # every recording crops_per_file times


def test_sampler_resumes_and_shards():
    sampler = EpochSampler(10, crops_per_file=2, seed=3)
    sampler.set_epoch(4)
    full = list(sampler)
    sampler.set_epoch(4, start=7)
    assert list(sampler) == full[7:]
    shards = [list(EpochSampler(10, 2, seed=3, num_replicas=2, rank=r)) for r in (0, 1)]
    assert sorted(shards[0] + shards[1]) == sorted(list(EpochSampler(10, 2, seed=3)))


def test_known_absences_are_cropped_around_but_never_labelled(cached):
    recordings, events = cached
    negatives = pd.DataFrame({"id": ["a"], "cls": [2], "t_min": [5.0], "t_max": [5.5],
                              "negative": [True]})
    ds = SedDataset(recordings.iloc[:1], pd.concat([events.assign(negative=False), negatives]),
                    3, SR, duration=2.0, hop_length=100)
    near_absence = 0
    for draw in range(150):
        item = ds[0, draw]
        start = round(float(item["wave"][0]) * SR * 10 + 5 * SR) / SR
        assert item["target"][2] == 0  # the absent species is never a positive
        near_absence += start <= 5.0 and start + 2.0 >= 5.5
    assert near_absence > 20  # about a third of the crops hold the absence span


def test_rfcx_false_positives_add_negatives_and_fp_only_recordings(tmp_path):
    from competitions import get_competition
    from make_demo import make_rfcx_demo

    root = make_rfcx_demo(tmp_path / "comp", seed=5, n_species=3, n_train=6, n_test=1,
                          duration=3.0, sr=8000)
    fp = pd.read_csv(root / "train_fp.csv", dtype={"recording_id": str})
    extra = pd.DataFrame([{"recording_id": "fponly001", "species_id": 1, "songtype_id": 1,
                           "t_min": 0.5, "f_min": 1000.0, "t_max": 1.0, "f_max": 2000.0}])
    pd.concat([fp, extra]).to_csv(root / "train_fp.csv", index=False)
    plain = get_competition("rfcx", root)
    with_fp = get_competition("rfcx", root, false_positives=True)
    assert plain.train_negatives().empty and "fponly001" not in set(plain.train_recordings().id)
    assert len(with_fp.train_negatives()) == len(fp) + 1
    recs = with_fp.train_recordings().set_index("id")
    assert recs.loc["fponly001", "labels"] == [] and len(recs) == len(plain.train_recordings()) + 1


def test_crop_pick_finds_the_call_in_a_long_weak_recording(tmp_path):
    """A 20-s recording, silent but for a 1-s chirp at 12-13 s: the loudest of 16 candidate
    crops holds the chirp whenever one of them does."""
    sr = 8000
    wave = np.random.default_rng(0).normal(0, 0.001, 20 * sr).astype(np.float32)
    t = np.arange(sr) / sr
    wave[12 * sr:13 * sr] += 0.3 * np.sin(2 * np.pi * 3000 * t)
    save_cached(tmp_path / "w.npy", wave)
    recordings = pd.DataFrame({"id": ["w"], "cache_path": [str(tmp_path / "w.npy")],
                               "labels": [[0]]})
    events = pd.DataFrame({"id": ["w"], "cls": [0], "t_min": [0.0], "t_max": [np.inf]})

    def hits(pick: int) -> float:
        ds = SedDataset(recordings, events, 1, sr, 2.0, hop_length=400, crop_pick=pick)
        return np.mean([ds[(0, d)]["wave"].abs().max() > 0.1 for d in range(100)])
    assert hits(16) > 0.85 and hits(1) < 0.35  # 1 - 0.83**16 = 0.95 vs 0.17 by chance


def test_quiet_negatives_take_a_recordings_quiet_stretch_with_its_label_absent(tmp_path):
    """`quiet_share` q: about q of a long labelled recording's draws become its quietest of 8
    crops with every class absent (the chirp left out), the rest keep the label; a recording
    shorter than 3 crops always keeps it, and q = 0 leaves every crop as it was."""
    sr = 8000
    noise = np.random.default_rng(0).normal(0, 0.001, 20 * sr).astype(np.float32)
    long_wave = noise.copy()
    t = np.arange(sr) / sr
    for second in (3, 8, 12, 16):  # calls through most of the recording, so a random crop
        long_wave[second * sr:(second + 1) * sr] += 0.3 * np.sin(2 * np.pi * 3000 * t)  # hits one
    save_cached(tmp_path / "long.npy", long_wave)
    save_cached(tmp_path / "short.npy", long_wave[11 * sr:16 * sr])  # 5 s: under 3 crops
    recordings = pd.DataFrame({"id": ["long", "short"], "cache_path": [
        str(tmp_path / "long.npy"), str(tmp_path / "short.npy")], "labels": [[0], [1]]})
    events = pd.DataFrame({"id": ["long", "short"], "cls": [0, 1], "t_min": [0.0, 0.0],
                           "t_max": [np.inf, np.inf]})

    def dataset(**kw) -> SedDataset:
        return SedDataset(recordings, events, 2, sr, 2.0, hop_length=400, crop_pick=4, **kw)
    ds = dataset(quiet_share=0.5)
    items = [ds[(0, d)] for d in range(200)]
    quiet = [i for i in items if i["target"].sum() == 0]
    assert 0.35 < len(quiet) / len(items) < 0.65
    assert all(i["weight"].sum() == 2 for i in quiet)  # absent, not unknown: a no-call crop
    assert np.mean([i["wave"].abs().max() < 0.1 for i in quiet]) > 0.9  # no chirp in it
    assert all(i["target"][0] == 1 for i in items if i["target"].sum())
    assert all(ds[(1, d)]["target"][1] == 1 for d in range(50))  # too short to lend one
    plain, off = dataset(), dataset(quiet_share=0.0)
    assert all(torch.equal(plain[(0, d)]["wave"], off[(0, d)]["wave"]) for d in range(20))
