"""Competition formats by name: each knows its files, labels, test rows, submission and metric."""
from __future__ import annotations

from .base import Competition
from .rfcx import Rfcx

COMPETITIONS: dict[str, type[Competition]] = {"rfcx": Rfcx}


def get_competition(name: str, data_dir: str) -> Competition:
    try:
        cls = COMPETITIONS[name]
    except KeyError:
        raise SystemExit(f"unknown competition {name!r}; known: {sorted(COMPETITIONS)}") from None
    return cls(data_dir)
