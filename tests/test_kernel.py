"""The kernels' offline install and command line (src/kernel.py)."""
import subprocess

import pytest

from configs import parse_overrides
from kernel import install_offline, missing_requirements, read_requirements, script_args


def test_requirements_missing_here_are_the_ones_to_install(tmp_path):
    req = tmp_path / "requirements.txt"
    req.write_text("-r base.txt\n# a comment\nnumpy==0.0.1  # kept: importable, any version\n"
                   "scikit-learn>=1\nno-such-package-xyz==1.0\n")
    assert read_requirements(req) == {"numpy": "numpy==0.0.1", "scikit-learn": "scikit-learn>=1",
                                      "no-such-package-xyz": "no-such-package-xyz==1.0"}
    assert missing_requirements(req) == ["no-such-package-xyz==1.0"]


def test_install_never_goes_to_the_network(tmp_path):
    req = tmp_path / "requirements.txt"
    req.write_text("numpy\n")
    assert install_offline(tmp_path, req) == []  # all there: pip is not even started
    req.write_text("no-such-package-xyz==1.0\n")
    with pytest.raises(subprocess.CalledProcessError):  # not in the (empty) wheels folder
        install_offline(tmp_path / "wheels", req)


def test_script_args_round_trip_through_the_cli(tmp_path):
    overrides = {"data_dir": tmp_path / "comp", "epochs": 2, "channels": ("logmel", "pcen"),
                 "pretrained_path": None}
    args = script_args("exp001", overrides)
    assert args[0] == "exp001" and args[1::2] == ["-o"] * 4
    assert parse_overrides(args[2::2]) == {**overrides, "data_dir": str(tmp_path / "comp")}
