"""What the Kaggle kernels in notebooks/ need before the pipeline can be imported: an offline
install of the missing packages from an attached folder of wheels, and the scripts' command
line built from a config name and overrides. Standard library only, since it runs before the
packages are there."""
from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

MODULE_OF = {"scikit-learn": "sklearn"}  # distributions whose import name differs


def read_requirements(path: str | Path) -> dict[str, str]:
    """{distribution name: its requirement line} of a pip requirements file."""
    out = {}
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            out[re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0].lower()] = line
    return out


def missing_requirements(path: str | Path) -> list[str]:
    """The requirement lines whose package cannot be imported here. What a kernel image already
    has (Kaggle's torch, numpy...) is kept, whatever its version."""
    return [line for name, line in read_requirements(path).items()
            if importlib.util.find_spec(MODULE_OF.get(name, name.replace("-", "_"))) is None]


def install_offline(wheels: str | Path, requirements: str | Path) -> list[str]:
    """pip-install the missing requirements from the `wheels` folder only (`--no-index`: a
    kernel without internet must not try the network). Returns what was installed."""
    missing = missing_requirements(requirements)
    if not missing:
        print("every required package is importable: nothing to install")
        return []
    print(f"installing from {wheels}: {' '.join(missing)}")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--find-links",
                    str(wheels), *missing], check=True)
    importlib.invalidate_caches()
    return missing


def script_args(exp: str | Path, overrides: dict[str, Any] | None = None) -> list[str]:
    """`EXP -o field=value ...` as every script's main(argv) takes it (values as literals)."""
    args = [str(exp)]
    for key, value in (overrides or {}).items():
        value = str(value) if isinstance(value, Path) else value
        args += ["-o", f"{key}={value!r}"]
    return args
