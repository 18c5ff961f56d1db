"""A wrong config value stops the run when the config loads, in one line naming the field, the
value and what is allowed, never as a traceback from deep inside training."""
import subprocess
import sys
from pathlib import Path

import pytest

from configs import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[1]

BAD = [
    ("epochs=abc", "epochs = 'abc': expected int"),
    ("epochs=True", "epochs = True: expected int"),
    ("epochs=0", "epochs = 0: allowed: at least 1"),
    ("lr=-1", "lr = -1: allowed: greater than 0"),
    ("batch_size=0", "batch_size = 0: allowed: at least 1"),
    ("duration=0", "duration = 0: allowed: greater than 0"),
    ("n_folds=1", "n_folds = 1: allowed: at least 2"),
    ("sample_rate=22050.5", "sample_rate = 22050.5: expected int"),
    ("fmax='high'", "fmax = 'high': expected float or None"),
    ("train_folds=(0,'a')", "train_folds = (0, 'a'): expected tuple[int, ...] or None"),
    ("channels=('logmel','pcn')", "channels = ('logmel', 'pcn'): allowed: one or more of"),
    ("label_smoothing=0.7", "label_smoothing = 0.7: allowed: 0 or more, below 0.5"),
    ("amp='fp32'", "amp = 'fp32': allowed: fp16, bf16 or None"),
    ("metric='auc'", "metric = 'auc': allowed: lwlrap"),
    ("threshold=2", "threshold = 2: allowed: between 0 and 1"),
    ("keep='first'", "keep 'first': best or last"),
    ("batch_augment={'mix_p':0.5,'mix_from':'negatives'}",
     "batch_augment mix_from 'negatives': any or no_call"),
    ("batch_augment={'mix_p':0.5,'mix_from':'no_call'}",  # exp001 names no negative_audio
     "borrows backgrounds from no-call crops: name their audio in negative_audio"),
]


@pytest.mark.parametrize("override, says", BAD)
def test_a_wrong_value_names_the_field_the_value_and_what_is_allowed(override, says):
    from configs import parse_overrides

    with pytest.raises(ConfigError) as stop:
        load_config("exp001", parse_overrides([override]))
    assert str(stop.value).startswith("exp001: ") and says in str(stop.value)


def test_right_values_load_and_ints_serve_for_floats():
    cfg = load_config("exp001", {"lr": 1, "fmax": 8000, "ema": 0.999, "amp": None,
                                 "train_folds": (0, 1)})
    assert cfg.lr == 1 and cfg.train_folds == (0, 1)


def test_the_scripts_print_one_line_not_a_traceback():
    out = subprocess.run([sys.executable, str(ROOT / "src" / "train.py"), "exp001", "-o",
                          "epochs=abc", "-o", "lr=-1"], capture_output=True, text=True,
                         cwd=ROOT)
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert out.stderr.strip() == ("exp001: epochs = 'abc': expected int; lr = -1: allowed: "
                                  "greater than 0")
