"""The shape a reader relies on: modules import in one direction, scripts are never imported by
modules, and train.py's fold loop stays short enough to read at a glance."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"


def modules() -> dict[str, Path]:
    """Top-level importable names of src/: each .py file, and the packages by their folder."""
    out = {p.stem: p for p in SRC.glob("*.py")}
    out.update({p.parent.name: p for p in SRC.glob("*/__init__.py")})
    return out


def imported(path: Path, known: set[str]) -> set[str]:
    """The src modules a file imports anywhere, inside functions included."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names & known


def graph() -> dict[str, set[str]]:
    known = set(modules())
    out: dict[str, set[str]] = {}
    for name, path in modules().items():
        files = [path] if path.name != "__init__.py" else list(path.parent.glob("*.py"))
        out[name] = set().union(*(imported(f, known) for f in files)) - {name}
    return out


def is_script(path: Path) -> bool:
    """A file with a top-level `if __name__ == "__main__":` block."""
    return any(isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
               and isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__"
               for node in ast.parse(path.read_text()).body)


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_src_modules_import_in_one_direction():
    assert (cycle := find_cycle(graph())) is None, " -> ".join(cycle)


def test_no_module_or_script_imports_a_script():
    scripts = {name for name, path in modules().items() if is_script(path)}
    assert {"train", "infer", "prepare"} <= scripts
    users = {**graph(), "ensemble": imported(ROOT / "ensemble.py", set(modules()))}
    offenders = {name: sorted(deps & scripts) for name, deps in users.items() if deps & scripts}
    assert not offenders, offenders


def test_train_fold_reads_at_a_glance():
    tree = ast.parse((SRC / "train.py").read_text())
    (fn,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "train_fold"]
    assert fn.end_lineno - fn.lineno + 1 <= 40
