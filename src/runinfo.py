"""What a run needs to be understood and repeated later, saved next to its outputs.

`models/<exp>/config.json` is the resolved config (re-run it with `python src/train.py
models/<exp>/config.json`); `models/<exp>/run.json` says how this run differs from its parent
experiment and from the base defaults, which code it ran (git commit, and whether the tree had
uncommitted changes, whose diff is saved as `git.diff`), with which package versions, where,
and from which command line.
"""
from __future__ import annotations

import datetime
import importlib.metadata
import json
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from atomic import atomic_path, write_json
from configs import FIELDS, Config
from oof import run_dir

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("torch", "torchvision", "timm", "torchlibrosa", "numpy", "scipy", "pandas",
            "scikit-learn", "librosa", "soundfile", "soxr", "audiomentations", "tqdm",
            "matplotlib")


def _plain(value: Any) -> Any:
    """A value as config.json stores it (tuples become lists), so equal means equal there."""
    return json.loads(json.dumps(value))


def parent_values(cls: type) -> dict[str, Any]:
    """Each field as the experiment's parents define it: what the class would be without its
    own body (the base defaults for the base class itself)."""
    parents = cls.__mro__[1:] if cls is not Config else (Config,)
    out = {}
    for key in FIELDS - {"name"}:
        owner = next(c for c in parents if key in vars(c))
        out[key] = vars(owner)[key]
    return out


def config_diff(cfg: Config, reference: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{field: {"from": reference value, "to": this run's}} for every field that differs."""
    run = cfg.to_dict()
    return {k: {"from": _plain(reference[k]), "to": _plain(run[k])}
            for k in sorted(reference) if _plain(reference[k]) != _plain(run[k])}


def _git(*args: str) -> str | None:
    try:
        proc = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                              check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired):  # no git (a Kaggle kernel)
        return None
    return proc.stdout if proc.returncode == 0 else None


def git_state() -> dict[str, Any]:
    """Commit of the code that ran and the files that differed from it (untracked ones too:
    a new experiment file not yet committed is part of the run)."""
    commit = _git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None, "changed": []}
    changed = (_git("status", "--porcelain") or "").splitlines()  # "XY path", ?? = untracked
    return {"commit": commit.strip(), "dirty": bool(changed), "changed": changed}


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def run_info(cfg: Config) -> dict[str, Any]:
    cls = type(cfg)
    git = git_state()
    info = {"experiment": cfg.name,
            "class": f"{cls.__module__}.{cls.__qualname__}",
            "parents": [f"{c.__module__}.{c.__qualname__}" for c in cls.__bases__],
            "from_parent": config_diff(cfg, parent_values(cls)),
            "from_base": config_diff(cfg, parent_values(Config)),
            "git": git, "packages": package_versions(), "command": sys.argv,
            "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "host": platform.node(), "platform": platform.platform()}
    try:
        import torch

        info["torch_cuda"] = torch.version.cuda
        info["gpu"] = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    except ImportError:
        pass
    return info


def save_run(cfg: Config) -> Path:
    """Write config.json, run.json (and git.diff when the tree is dirty) in the run's folder."""
    out = run_dir(cfg)
    write_json(out / "config.json", cfg.to_dict())
    info = run_info(cfg)
    write_json(out / "run.json", info)
    diff = _git("diff", "HEAD") if info["git"]["dirty"] else None  # tracked files' changes
    if diff:
        with atomic_path(out / "git.diff") as tmp:
            tmp.write_text(diff)
    else:
        (out / "git.diff").unlink(missing_ok=True)  # a stale one would describe another run
    return out
