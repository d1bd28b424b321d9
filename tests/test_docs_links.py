"""Every relative link in README.md and docs/*.md points to a file or folder that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def relative_links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)  # code blocks hold no links
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:|#", t)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(page):
    missing = [t for t in relative_links(page)
               if not (page.parent / t.split("#")[0]).exists()]
    assert not missing, f"{page.name}: {missing}"


def test_the_readme_is_a_tour_that_links_every_docs_page():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 300
    assert readme.startswith("```bash\nmake demo   # ") and "\nmake test   # " in readme
    linked = set(relative_links(ROOT / "README.md"))
    assert {f"docs/{p.name}" for p in PAGES[1:]} <= linked
