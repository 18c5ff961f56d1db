"""The README stays short and its pointers stay true: it fits in 200 lines, every relative link
in README.md and docs/*.md reaches a file (and, for a `#anchor`, a heading of that file), and
its Layout section names every module of src/. Text only: no torch, nothing trained."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
# Written by `python src/sweep.py render` from experiments/birdsong/results.csv, not by hand:
# a link to it is only checked once it has been rendered.
GENERATED = {DOCS / "birdsong-results.md"}

LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.S | re.M)
CODE_SPAN = re.compile(r"`+[^`\n]*`+")


def markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def prose(text: str) -> str:
    """The text with code blocks and code spans blanked, so `[x](y)` in code is no link."""
    text = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    return CODE_SPAN.sub("", text)


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: link markup and code ticks dropped, lower case, every
    character but letters, digits, '_', '-' and spaces removed, spaces turned into '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a markdown file, numbered as GitHub numbers repeats (-1, -2)."""
    seen: dict[str, int] = {}
    out = set()
    for line in prose(path.read_text(encoding="utf-8")).splitlines():
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        base = slug(m.group(1))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def relative_links(path: Path) -> list[tuple[str, Path | None, str]]:
    """(link as written, the file it points to (None: this file), its #anchor or '')."""
    links = []
    for target in LINK.findall(prose(path.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto: ...
            continue
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else None
        links.append((target, dest, anchor))
    return links


def test_readme_fits_in_200_lines():
    n = len(README.read_text(encoding="utf-8").splitlines())
    assert n <= 200, f"README.md has {n} lines; move detail into docs/"


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path):
    broken = []
    for target, dest, anchor in relative_links(path):
        if dest in GENERATED and not dest.exists():
            continue  # rendered later by src/sweep.py render
        if dest is not None and not dest.exists():
            broken.append(f"{target}: no such file")
            continue
        page = dest if dest is not None else path
        if anchor and page.suffix == ".md" and anchor not in anchors(page):
            broken.append(f"{target}: no heading '#{anchor}' in {page.relative_to(ROOT)}")
    assert not broken, f"{path.relative_to(ROOT)}: " + "; ".join(broken)


def layout_section() -> str:
    text = README.read_text(encoding="utf-8")
    m = re.search(r"^## Layout\s*$(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert m, "README.md has no '## Layout' section"
    return m.group(1)


def test_layout_names_every_module():
    """Each top-level src/*.py, each package of src/ (configs/, competitions/) and the
    top-level scripts appear by name in README's Layout section."""
    layout = layout_section()
    src = ROOT / "src"
    names = [p.name for p in sorted(src.glob("*.py"))]
    names += [f"{p.name}/" for p in sorted(src.iterdir())
              if p.is_dir() and (p / "__init__.py").exists()]
    names += [p.name for p in sorted(ROOT.glob("*.py"))] + ["run.sh"]
    missing = [n for n in names
               if not re.search(rf"(?<![\w.]){re.escape(n)}(?![\w])", layout)]
    assert not missing, f"README.md's Layout section does not name: {', '.join(missing)}"
