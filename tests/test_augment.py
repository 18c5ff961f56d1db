import numpy as np
import pytest

import torch

from augment import BatchAugment, build_wave_augment
from configs import Config


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
