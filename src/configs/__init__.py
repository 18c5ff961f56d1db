"""Experiment configs: one file per experiment, named after it (exp001.py -> "exp001")."""
from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
from pathlib import Path
from typing import Any

from .base import FIELDS, Config

__all__ = ["Config", "FIELDS", "load_config", "parse_overrides", "experiment_cli"]


def load_config(name: str, overrides: dict[str, Any] | None = None) -> Config:
    """Import `configs/<name>.py` (or a path to a .py file) and instantiate its `Config`.

    The experiment's name, which names every output, is the file's stem.
    """
    path = Path(name)
    if path.suffix == ".py":
        spec = importlib.util.spec_from_file_location(f"configs.{path.stem}", path)
        if spec is None or not path.exists():
            raise FileNotFoundError(f"no config file {path}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        name = path.stem
    else:
        try:
            module = importlib.import_module(f"configs.{name}")
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


def parse_overrides(items: list[str] | None) -> dict[str, Any]:
    """`["epochs=1", "backbone='resnet18'"]` -> dict; values are Python literals, else strings."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep:
            raise SystemExit(f"override {item!r} is not key=value")
        if key not in FIELDS:
            raise SystemExit(f"unknown config field {key!r} in override {item!r}")
        try:
            out[key] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            out[key] = raw
    return out


def experiment_cli(doc: str, argv: list[str] | None = None,
                   add_arguments=None) -> tuple[Config, argparse.Namespace]:
    """The command line every script shares: `EXP [-o field=value ...]` plus its own options."""
    parser = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    parser.add_argument("exp", help="experiment under src/configs/ (exp001) or a config file")
    parser.add_argument("-o", "--override", action="append", metavar="FIELD=VALUE",
                        help="change a config field for this run, e.g. -o epochs=1")
    if add_arguments:
        add_arguments(parser)
    args = parser.parse_args(argv)
    return load_config(args.exp, parse_overrides(args.override)), args
