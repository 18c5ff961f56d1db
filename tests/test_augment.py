import numpy as np
import pytest

from augment import build_wave_augment
from configs import Config


def test_default_augment_changes_audio_and_keeps_silence_finite():
    spec = {name: {**kw, "p": 1.0} for name, kw in Config().augment.items()}
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
