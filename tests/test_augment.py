import numpy as np
import pytest

import torch

from augment import BatchAugment, MelAugment, build_wave_augment
from configs import Config
from training import no_call_crops


def test_wave_augment_changes_audio_and_keeps_silence_finite():
    spec = {"AddGaussianSNR": {"min_snr_db": 10.0, "max_snr_db": 40.0, "p": 1.0},
            "Gain": {"min_gain_db": -6.0, "max_gain_db": 6.0, "p": 1.0}}
    augment = build_wave_augment(spec)
    wave = (np.sin(np.linspace(0, 300, 16000)) * 0.3).astype(np.float32)
    out = augment(wave.copy(), 16000)
    assert out.shape == wave.shape and not np.allclose(out, wave)
    silence = augment(np.zeros(16000, dtype=np.float32), 16000)  # exact digital silence
    assert np.isfinite(silence).all() and np.abs(silence).max() <= 1


def test_unknown_transform_is_named():
    with pytest.raises(SystemExit, match="NoSuchTransform"):
        build_wave_augment({"NoSuchTransform": {}})
    assert build_wave_augment({}) is None


def test_batch_augment_noise_at_the_drawn_snr_and_gain_per_clip():
    torch.manual_seed(0)
    wave = torch.sin(torch.linspace(0, 3000, 32000)).repeat(4, 1) * 0.3
    wave[3] = 0.0  # exact digital silence must stay silent and finite
    noisy = BatchAugment(gain_db=(0.0, 0.0), gain_p=0.0, snr_db=(20.0, 20.0), noise_p=1.0)(wave)
    noise = noisy[:3] - wave[:3]
    snr = 20 * torch.log10(wave[:3].pow(2).mean(1).sqrt() / noise.pow(2).mean(1).sqrt())
    assert torch.allclose(snr, torch.full((3,), 20.0), atol=0.3)
    assert torch.equal(noisy[3], wave[3])
    louder = BatchAugment(gain_db=(6.0, 6.0), gain_p=1.0, noise_p=0.0)(wave)
    assert torch.allclose(louder, (wave * 10 ** 0.3).clamp(-1, 1))


def test_batch_augment_draws_differ_per_clip_and_p_applies():
    torch.manual_seed(1)
    wave = torch.full((200, 100), 0.1)
    out = BatchAugment(gain_db=(-6.0, 6.0), gain_p=0.5, noise_p=0.0)(wave)
    changed = (out[:, 0] - 0.1).abs() > 1e-6
    assert 60 < changed.sum() < 140 and len(out[changed, 0].unique()) > 50
    assert Config().batch_augment and Config().augment == {}


def test_background_mix_adds_another_clip_at_the_drawn_snr():
    torch.manual_seed(2)
    t = torch.linspace(0, 1, 8000)
    wave = torch.stack([torch.sin(2 * torch.pi * f * t) * a
                        for f, a in ((200, 0.3), (900, 0.1), (2500, 0.5), (4000, 0.2))])
    mix = BatchAugment(gain_p=0.0, noise_p=0.0, mix_p=1.0, mix_snr_db=(10.0, 10.0))
    mixed = mix(wave)
    for i in range(4):
        added = mixed[i] - wave[i]
        # the added signal is one other clip of the batch, rescaled: never the clip itself
        sources = [j for j in range(4) if torch.allclose(
            added, wave[j] * (added.norm() / wave[j].norm()), atol=1e-4)]
        assert len(sources) == 1 and sources[0] != i
        snr = 20 * torch.log10(wave[i].pow(2).mean().sqrt() / added.pow(2).mean().sqrt())
        assert snr.item() == pytest.approx(10.0, abs=0.05)
    silent = wave.clone()
    silent[0] = 0.0  # digital silence stays silence, and nothing turns NaN
    out = mix(silent)
    assert torch.equal(out[0], silent[0]) and torch.isfinite(out).all()
    torch.manual_seed(3)
    plain = BatchAugment()(wave)
    torch.manual_seed(3)
    assert torch.equal(BatchAugment(mix_p=0.0)(wave), plain)  # off: the old draws exactly


def test_background_from_no_call_crops_only():
    """`mix_from="no_call"`: a labelled clip's background is a crop without a label (a
    negative soundscape's), never another bird's call, which would go unlabelled."""
    torch.manual_seed(4)
    t = torch.linspace(0, 1, 8000)
    wave = torch.stack([torch.sin(2 * torch.pi * f * t) * 0.2 for f in (300, 700, 1500, 3100,
                                                                          5200, 6100)])
    target = torch.zeros(6, 3)
    target[0, 0] = target[1, 1] = target[2, 2] = target[3, 0] = 1.0  # clips 4 and 5: no call
    weight = torch.ones(6, 3)
    no_call = no_call_crops({"target": target, "weight": weight})
    assert no_call.tolist() == [False] * 4 + [True] * 2
    unlabeled = no_call_crops({"target": target, "weight": weight * (torch.arange(6) < 5)[:, None]})
    assert unlabeled.tolist() == [False] * 4 + [True, False]  # unlabeled: unknown calls
    mix = BatchAugment(gain_p=0.0, noise_p=0.0, mix_p=1.0, mix_snr_db=(6.0, 6.0),
                       mix_from="no_call")
    for _ in range(5):
        mixed = mix(wave, no_call)
        for i in range(4):
            added = mixed[i] - wave[i]
            sources = [j for j in range(6) if torch.allclose(
                added, wave[j] * (added.norm() / wave[j].norm()), atol=1e-4)]
            assert len(sources) == 1 and sources[0] in (4, 5)
            snr = 20 * torch.log10(wave[i].pow(2).mean().sqrt() / added.pow(2).mean().sqrt())
            assert snr.item() == pytest.approx(6.0, abs=0.05)
        for i in (4, 5):  # a no-call crop takes the other's, never its own
            added = mixed[i] - wave[i]
            assert torch.allclose(added, wave[9 - i] * (added.norm() / wave[9 - i].norm()),
                                  atol=1e-4)
    assert torch.equal(mix(wave[:4], no_call[:4]), wave[:4])  # no no-call crop: no background
    with pytest.raises(SystemExit, match="mix_from"):
        BatchAugment(mix_from="negatives")


def test_mel_augment_shifts_pitch_and_colours_the_spectrum_in_training_only():
    power = torch.full((3, 1, 5, 32), 1e-3)
    power[..., 10] = 1.0  # one tonal line in mel bin 10
    torch.manual_seed(0)
    shift = MelAugment(shift=3, p=1.0).train()
    peaks = {int(shift(power)[b, 0, 0].argmax()) for _ in range(20) for b in range(3)}
    assert peaks == set(range(7, 14))  # every shift of -3..3 bins, no other
    eq = MelAugment(eq_db=6.0, p=1.0).train()
    gain_db = 10 * torch.log10(eq(power) / power)
    assert gain_db.abs().max() <= 6.0 + 1e-4 and gain_db.std() > 1.0
    assert torch.allclose(gain_db[:, :, 0], gain_db[:, :, 4])  # one curve for the whole clip
    assert (gain_db.diff(dim=-1).abs() < 12.0 / 10).all()  # smooth: 4 anchors over 32 bins
    assert torch.equal(eq.eval()(power), power) and torch.equal(shift.eval()(power), power)
    assert torch.equal(MelAugment(shift=3, eq_db=6.0, p=0.0).train()(power), power)
