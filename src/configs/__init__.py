"""Experiment configs: one file per experiment, named after it (exp001.py -> "exp001").

The configs a user starts from live here, in `src/configs/`; experiment histories live in
`experiments/<group>/` (the birdsong ablation: `experiments/birdsong/bird080.py`), each a
one-level diff of a frozen recipe in `experiments/<group>/recipes/`. Both load by name.
"""
from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from .base import FIELDS, Config, ConfigError, UnknownFieldError, did_you_mean

__all__ = ["Config", "ConfigError", "FIELDS", "load_config", "parse_overrides", "experiment_cli",
           "from_saved", "as_tuples", "find_experiment", "CONFIGS", "EXPERIMENTS"]

CONFIGS = Path(__file__).resolve().parent  # src/configs
ROOT = CONFIGS.parents[1]  # the repository, whatever the working directory
EXPERIMENTS = ROOT / "experiments"


def _experiments_package() -> None:
    """Make `experiments.<group>.<name>` importable (an experiment imports its recipe as
    `from experiments.birdsong.recipes.bird075 import Config as Recipe`) without putting the
    repository root, and the scripts beside it, on the import path."""
    if "experiments" in sys.modules:
        return
    spec = importlib.util.spec_from_loader("experiments", loader=None, is_package=True)
    spec.submodule_search_locations = [str(EXPERIMENTS)]  # type: ignore[union-attr]
    sys.modules["experiments"] = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]


_experiments_package()


def _module_name(path: Path) -> str | None:
    """The importable name of a config file here or under experiments/, else None."""
    path = path.resolve()
    for folder, package in ((CONFIGS, "configs"), (EXPERIMENTS, "experiments")):
        if folder in path.parents:
            parts = path.relative_to(folder).with_suffix("").parts
            if all(p.isidentifier() for p in parts):
                return ".".join((package, *parts))
    return None


def _known() -> str:
    here = sorted(p.stem for p in CONFIGS.glob("*.py") if p.stem[0] != "_")
    groups = [f"experiments/{g.name}/: {len(names)} ({names[0]} ... {names[-1]})"
              for g in sorted(EXPERIMENTS.glob("*/"))
              if (names := sorted(p.stem for p in g.glob("*.py") if p.stem[0] != "_"))]
    return "; ".join([f"src/configs/: {', '.join(here)}", *groups])


def find_experiment(name: str) -> Path | None:
    """The file of experiment `name`: `src/configs/<name>.py` first, then
    `experiments/<group>/<name>.py` (recipes/ is not searched: a recipe is no experiment)."""
    if not name.isidentifier():
        return None
    if (CONFIGS / f"{name}.py").is_file():
        return CONFIGS / f"{name}.py"
    found = sorted(EXPERIMENTS.glob(f"*/{name}.py"))
    if len(found) > 1:
        raise SystemExit(f"experiment {name!r} is ambiguous: "
                         f"{', '.join(str(p.relative_to(ROOT)) for p in found)}; load it by path")
    return found[0] if found else None


def _import(path: Path):
    """Import a config file: by its package name when it is one (so that loading by name or by
    path gives the same class, and runinfo names its parent), else straight from the file."""
    where = path.resolve().relative_to(ROOT) if ROOT in path.resolve().parents else path
    try:
        if module_name := _module_name(path):
            return importlib.import_module(module_name)
        spec = importlib.util.spec_from_file_location(f"configs.{path.stem}", path)
        if spec is None:
            raise FileNotFoundError(f"no config file {path}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        return module
    except UnknownFieldError as e:
        raise SystemExit(f"{where}: {e}") from None


def load_config(name: str, overrides: dict[str, Any] | None = None) -> Config:
    """Instantiate the `Config` of experiment `name` (`src/configs/<name>.py`, else
    `experiments/<group>/<name>.py`), of a path to a .py file, or read a run's saved
    `models/<exp>/config.json` (see `from_saved`); `overrides` change fields, and the result
    passes `Config.validate()`.

    The experiment's name, which names every output, is the file's stem (a saved config keeps
    the name of the run that wrote it).
    """
    path = Path(name)
    if path.suffix == ".json":
        return from_saved(path, overrides)
    if path.suffix == ".py":
        if not path.is_file():
            raise FileNotFoundError(f"no config file {path}")
    else:
        found = find_experiment(name)
        if found is None:
            raise SystemExit(f"no experiment {name!r}: looked for src/configs/{name}.py, then "
                             f"experiments/*/{name}.py (known: {_known()})")
        path = found
    module = _import(path)
    cls = getattr(module, "Config", None)
    if not (isinstance(cls, type) and issubclass(cls, Config)):
        raise TypeError(f"{module.__file__} must define `class Config(...)` derived from "
                        "configs.base.Config")
    cfg = cls(**(overrides or {}))
    cfg.name = path.stem
    cfg.validate()
    return cfg


def as_tuples(value: Any) -> Any:
    """JSON arrays back to the tuples configs use (a list would differ from the tuple a .py
    config gives, and train.py's resume check compares configs)."""
    if isinstance(value, list):
        return tuple(as_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: as_tuples(v) for k, v in value.items()}
    return value


def from_saved(path: str | Path, overrides: dict[str, Any] | None = None) -> Config:
    """The resolved config a run saved (`models/<exp>/config.json`), to run it again.

    Every field comes from the file, so the run does not depend on the current state of its
    experiment file; the class is the experiment's own when its file still exists (in
    src/configs/ or experiments/*/: so runinfo can tell its parent), else the base class. The
    name stays the saved one, so outputs land where the original run's did.
    """
    saved = json.loads(Path(path).read_text())
    unknown = sorted(set(saved) - FIELDS)
    if unknown:
        raise SystemExit(f"{path}: unknown config field(s) {unknown}{did_you_mean(unknown)}")
    cls = Config
    try:
        if found := find_experiment(saved["name"]):
            cls = getattr(_import(found), "Config", Config)
    except (SystemExit, ImportError, AttributeError):  # ambiguous, or no longer loads: the
        pass  # class only names the parent in run.json, the saved fields say what ran
    if not (isinstance(cls, type) and issubclass(cls, Config)):
        cls = Config
    fields = {k: as_tuples(v) for k, v in saved.items() if k != "name"}
    cfg = cls(**{**fields, **(overrides or {})})
    cfg.name = saved["name"]
    cfg.validate()
    return cfg


def parse_overrides(items: list[str] | None) -> dict[str, Any]:
    """`["epochs=1", "backbone='resnet18'"]` -> dict; values are Python literals, else strings."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep:
            raise SystemExit(f"override {item!r} is not key=value")
        if key not in FIELDS:
            raise SystemExit(f"unknown config field {key!r}{did_you_mean([key])} in override "
                             f"{item!r}")
        try:
            out[key] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            out[key] = raw
    return out


def experiment_cli(doc: str, argv: list[str] | None = None,
                   add_arguments=None) -> tuple[Config, argparse.Namespace]:
    """The command line every script shares: `EXP [-o field=value ...]` plus its own options."""
    parser = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    parser.add_argument("exp", help="experiment name (exp001 from src/configs/, bird080 from "
                        "experiments/birdsong/), a config file, or a run's saved "
                        "models/EXP/config.json")
    parser.add_argument("-o", "--override", action="append", metavar="FIELD=VALUE",
                        help="change a config field for this run, e.g. -o epochs=1")
    if add_arguments:
        add_arguments(parser)
    args = parser.parse_args(argv)
    return load_config(args.exp, parse_overrides(args.override)), args
