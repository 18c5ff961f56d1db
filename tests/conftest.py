import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import pytest  # noqa: E402


def _write_config(path: Path, parent: str = "configs.base", **fields) -> str:
    """An experiment file stating only `fields`, as a user writes one; returns its path."""
    lines = [f"from {parent} import Config as Base", "", "", "class Config(Base):"]
    lines += [f"    {key} = {value!r}" for key, value in fields.items()]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.fixture
def write_config():
    return _write_config


@pytest.fixture(scope="module")
def write_config_module():
    return _write_config
