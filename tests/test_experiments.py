"""The experiment histories under experiments/: each experiment loads by name and by path, from
any working directory, and is a one-level diff of a frozen, flat recipe, so that no edit of
base.py or of another experiment changes what it ran; src/configs/ keeps only what a user
starts from."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import configs
from configs import CONFIGS, EXPERIMENTS, FIELDS, Config, load_config

ROOT = Path(__file__).resolve().parents[1]
USER_FACING = {"__init__.py", "base.py", "exp000.py", "exp001.py", "exp002.py", "exp003.py",
               "bird.py", "birdsong.py", "birdsong_birdnet.csv",
               *(f"birdclef{y}.py" for y in range(2021, 2026))}  # the competition templates


def experiment_files() -> list[Path]:
    return sorted(p for p in EXPERIMENTS.glob("*/*.py") if p.stem[0] != "_")


def recipe_files() -> list[Path]:
    return sorted(p for p in EXPERIMENTS.glob("*/recipes/*.py") if p.stem[0] != "_")


def test_experiments_are_found_where_the_loader_looks():
    assert EXPERIMENTS == ROOT / "experiments" and CONFIGS == ROOT / "src" / "configs"
    names = [p.stem for p in experiment_files()]
    assert len(names) >= 71 and {"bird000", "bird010", "bird011", "bird080"} <= set(names)
    assert recipe_files()


def test_src_configs_lists_only_the_user_facing_files():
    present = {p.name for p in CONFIGS.iterdir() if p.name != "__pycache__"}
    assert present == USER_FACING


def test_every_experiment_loads_by_name_and_by_path():
    for path in experiment_files():
        by_name = load_config(path.stem)
        by_path = load_config(str(path))
        by_relative = load_config(str(path.relative_to(ROOT))) if Path.cwd() == ROOT else by_path
        assert by_name.name == by_path.name == by_relative.name == path.stem
        assert type(by_name) is type(by_path) is type(by_relative)  # one module, not two copies
        assert type(by_name).__module__ == f"experiments.{path.parent.name}.{path.stem}"
        assert by_name.to_dict() == by_path.to_dict() == by_relative.to_dict()


def test_names_are_unique_across_src_configs_and_experiments():
    names = [p.stem for p in CONFIGS.glob("*.py")] + [p.stem for p in experiment_files()]
    assert len(names) == len(set(names)), sorted(n for n in set(names) if names.count(n) > 1)


def test_each_experiment_is_a_one_level_diff_of_a_flat_recipe():
    """An experiment's only base is a recipe under experiments/<group>/recipes/, and a recipe
    derives from configs.base.Config directly and states every field itself: an edit of
    base.py's defaults, or of another experiment, cannot reach a moved experiment."""
    used = set()
    for path in experiment_files():
        cls = type(load_config(path.stem))
        (recipe,) = cls.__bases__
        group = path.parent.name
        assert recipe.__module__.startswith(f"experiments.{group}.recipes."), (path, recipe)
        used.add(recipe.__module__)
        # the file itself imports nothing but its recipe (no other experiment, no configs.X)
        imports = [n for n in ast.parse(path.read_text()).body
                   if isinstance(n, (ast.Import, ast.ImportFrom))]
        assert [getattr(n, "module", None) for n in imports] == [recipe.__module__], path
        own = {k for k in vars(cls) if k in FIELDS}
        assert len(own) <= 8, f"{path.name}: {len(own)} fields differ from its recipe"
    for path in recipe_files():
        module = f"experiments.{path.parent.parent.name}.recipes.{path.stem}"
        recipe = load_config(str(path))
        cls = type(recipe)
        assert cls.__module__ == module and cls.__bases__ == (Config,), path
        missing = sorted(FIELDS - {"name"} - set(vars(cls)))
        assert not missing, f"{path.name} leaves {missing} to base.py's defaults"
        if path.parent.parent.name == "birdsong":  # frozen before `keep` existed
            assert recipe.keep == "best"
        assert "frozen" in (sys.modules[module].__doc__ or ""), f"{path.name}: say what it froze"
        assert module in used, f"{path.name} serves no experiment"


def test_loads_from_another_working_directory(tmp_path):
    """Tests and sweeps run train.py from a scratch folder: names resolve from the package."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from configs import load_config; "
            "print(load_config('bird080').name, load_config(sys.argv[2]).name)")
    out = subprocess.run([sys.executable, "-c", code, str(ROOT / "src"),
                          str(EXPERIMENTS / "birdsong" / "bird081.py")], cwd=tmp_path,
                         capture_output=True, text=True, check=True).stdout
    assert out.split() == ["bird080", "bird081"]


def test_unknown_name_says_where_it_looked():
    with pytest.raises(SystemExit, match=r"src/configs/nope\.py, then experiments/\*/nope\.py"):
        load_config("nope")


def test_a_saved_config_of_a_moved_experiment_keeps_its_class(tmp_path):
    from runinfo import config_diff, parent_values

    cfg = load_config("bird081", {"seed": 43})
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg.to_dict()))
    again = configs.from_saved(path)
    assert type(again) is type(cfg) and again.to_dict() == cfg.to_dict()
    # run.json's from_parent: the diff against the recipe bird081 names
    assert set(config_diff(again, parent_values(type(again)))) == {
        "seed", "seed_bag", "epochs", "valid_every", "infer_recording"}
