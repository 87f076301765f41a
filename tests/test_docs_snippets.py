"""Every ```python block of every ``docs/*.md`` page runs.

Conventions for the pages (new pages are picked up automatically):

* The blocks of one page run in order in one namespace, like one Python session: a later block may
  use the names an earlier one defined. Every page starts from an empty namespace, so a page must
  define (visibly) what its blocks use.
* A block that cannot run in the tests (it needs a server, the network, a GPU, or trains for
  minutes) is marked by an HTML comment on the line right before its opening fence (blank lines
  between are allowed)::

      <!-- no-run: trains PPO for 100k steps (minutes) -->
      ```python
      ...

  The reason is required. Nothing else is skipped; a block that is not Python at all should use
  another fence language (``text``, ``bash``).
* The blocks run with the working directory set to a fresh temporary folder, with
  ``TRADEREADY_DATA_DIR`` pointing at a cache of the real BTCUSDT / ETHUSDT / SOLUSDT candles at
  1h (2022-01 .. 2026-04), 4h and 1d (from 2017-08; SOL from 2020-08) — the ``real_cache`` fixture —
  ``TRADEREADY_HOME`` at a temporary folder, and the Binance URLs at a closed local port (no
  network).
"""

from __future__ import annotations

import os
import re
import socket
import textwrap
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))

_FENCE = re.compile(r"^\s*```\s*(\S*)\s*$")  # indented fences (inside list items) count too
_NO_RUN = re.compile(r"^<!--\s*no-run:(.*?)-->\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced Python block of a page."""

    page: str
    line: int  # 1-based line of the opening fence
    code: str
    no_run: str | None  # the reason, when marked


def python_blocks(path: Path) -> list[Block]:
    """The ```python / ```py blocks of a markdown page, with their no-run marks."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        lang = m.group(1).lower()
        start = i
        i += 1
        body: list[str] = []
        while i < len(lines) and not lines[i].lstrip().startswith("```"):
            body.append(lines[i])
            i += 1
        if i >= len(lines):
            raise AssertionError(f"{path.name}:{start + 1}: a fenced block is never closed")
        i += 1  # the closing fence
        if lang not in ("python", "py"):
            continue
        k = start - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        mark = _NO_RUN.match(lines[k].strip()) if k >= 0 else None
        code = textwrap.dedent("\n".join(body)) + "\n"
        out.append(Block(path.name, start + 1, code, mark.group(1).strip() if mark else None))
    return out


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def docs_env(real_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    saved = dict(os.environ)  # a block may set variables (os.environ[...] = ...): none outlives the page
    try:
        yield _docs_env(real_cache, tmp_path, monkeypatch)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _docs_env(real_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    nowhere = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.chdir(work)
    monkeypatch.setenv("TRADEREADY_DATA_DIR", str(real_cache))
    monkeypatch.setenv("TRADEREADY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TRADEREADY_BINANCE_API_URL", nowhere)
    monkeypatch.setenv("TRADEREADY_BINANCE_VISION_URL", nowhere)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    for var in ("TRADEREADY_START", "TRADEREADY_END", "TRADEREADY_EPISODE_LENGTH", "TRADEREADY_RANDOM_START"):
        monkeypatch.delenv(var, raising=False)
    return work


def test_the_docs_have_pages() -> None:
    assert PAGES, f"no docs/*.md under {DOCS}"
    assert sum(len(python_blocks(p)) for p in PAGES) > 0


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_no_run_marks_give_a_reason(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    for line in text.splitlines():
        if "no-run" in line and line.strip().startswith("<!--"):
            m = _NO_RUN.match(line.strip())
            assert m and m.group(1).strip(), f"{page.name}: {line.strip()!r} needs a reason: <!-- no-run: why -->"
    for b in python_blocks(page):
        assert b.no_run is None or b.no_run, f"{page.name}:{b.line}: a no-run mark without a reason"


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_python_blocks_run(page: Path, docs_env: Path) -> None:
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    ran = 0
    for block in python_blocks(page):
        if block.no_run is not None:
            continue
        try:
            code = compile(block.code, f"docs/{block.page}:{block.line}", "exec")
            exec(code, namespace)
        except Exception:
            pytest.fail(
                f"docs/{block.page}, the block at line {block.line} fails:\n{block.code}\n"
                f"{traceback.format_exc(limit=-6)}",
                pytrace=False,
            )
        ran += 1
    assert os.getcwd() == str(docs_env)


def test_the_block_parser() -> None:
    import tempfile

    text = (
        "# t\n\n```python\nx = 1\n```\n\n<!-- no-run: needs a server -->\n\n```python\nboom()\n```\n"
        "```bash\nls\n```\n```py\ny = x + 1\n```\n- item:\n\n  ```python\n  z = 2\n  ```\n"
    )
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "t.md"
        p.write_text(text)
        blocks = python_blocks(p)
    assert [(b.line, b.no_run) for b in blocks] == [(3, None), (9, "needs a server"), (15, None), (20, None)]
    assert blocks[2].code == "y = x + 1\n" and blocks[3].code == "z = 2\n"
