"""Experiment configs: one file per experiment, named after it (exp001.py -> "exp001")."""
from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import json
from pathlib import Path
from typing import Any

from .base import FIELDS, Config, UnknownFieldError, did_you_mean

__all__ = ["Config", "FIELDS", "load_config", "parse_overrides", "experiment_cli",
           "from_saved"]


def load_config(name: str, overrides: dict[str, Any] | None = None) -> Config:
    """Import `configs/<name>.py` (or a path to a .py file) and instantiate its `Config`, or
    read a run's saved `models/<exp>/config.json` (see `from_saved`).

    The experiment's name, which names every output, is the file's stem (a saved config keeps
    the name of the run that wrote it).
    """
    path = Path(name)
    if path.suffix == ".json":
        return from_saved(path, overrides)
    if path.suffix == ".py":
        spec = importlib.util.spec_from_file_location(f"configs.{path.stem}", path)
        if spec is None or not path.exists():
            raise FileNotFoundError(f"no config file {path}")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)  # type: ignore[union-attr]
        except UnknownFieldError as e:
            raise SystemExit(f"{path}: {e}") from None
        name = path.stem
    else:
        try:
            module = importlib.import_module(f"configs.{name}")
        except UnknownFieldError as e:
            raise SystemExit(f"src/configs/{name}.py: {e}") from None
        except ModuleNotFoundError as e:
            if e.name != f"configs.{name}":
                raise
            known = sorted(p.stem for p in Path(__file__).parent.glob("*.py") if p.stem[0] != "_")
            raise SystemExit(f"no experiment {name!r}: expected src/configs/{name}.py "
                             f"(known: {', '.join(known)})") from None
    cls = getattr(module, "Config", None)
    if not (isinstance(cls, type) and issubclass(cls, Config)):
        raise TypeError(f"{module.__file__} must define `class Config(...)` derived from "
                        "configs.base.Config")
    cfg = cls(**(overrides or {}))
    cfg.name = name
    return cfg


def _tuples(value: Any) -> Any:
    """JSON arrays back to the tuples configs use (a list would differ from the tuple a .py
    config gives, and train.py's resume check compares configs)."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def from_saved(path: str | Path, overrides: dict[str, Any] | None = None) -> Config:
    """The resolved config a run saved (`models/<exp>/config.json`), to run it again.

    Every field comes from the file, so the run does not depend on the current state of its
    experiment file; the class is the experiment's own when `configs/<name>.py` still exists
    (so runinfo can tell its parent), else the base class. The name stays the saved one, so
    outputs land where the original run's did.
    """
    saved = json.loads(Path(path).read_text())
    unknown = sorted(set(saved) - FIELDS)
    if unknown:
        raise SystemExit(f"{path}: unknown config field(s) {unknown}{did_you_mean(unknown)}")
    try:
        cls = importlib.import_module(f"configs.{saved['name']}").Config
    except (ModuleNotFoundError, AttributeError):
        cls = Config
    fields = {k: _tuples(v) for k, v in saved.items() if k != "name"}
    cfg = cls(**{**fields, **(overrides or {})})
    cfg.name = saved["name"]
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
    parser.add_argument("exp", help="experiment under src/configs/ (exp001), a config file, or a "
                        "run's saved models/EXP/config.json")
    parser.add_argument("-o", "--override", action="append", metavar="FIELD=VALUE",
                        help="change a config field for this run, e.g. -o epochs=1")
    if add_arguments:
        add_arguments(parser)
    args = parser.parse_args(argv)
    return load_config(args.exp, parse_overrides(args.override)), args
