"""Every Python block of docs/frameworks.md runs, as a script in its own process (tiny budgets)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "frameworks.md"


def _blocks() -> list[tuple[str, str]]:
    text = DOC.read_text()
    out = []
    heading = ""
    for m in re.finditer(r"^## ([^\n]+)$|^```python\n(.*?)^```", text, flags=re.S | re.M):
        if m.group(1):
            heading = m.group(1).strip()
        else:
            out.append((heading, m.group(2)))
    return out


BLOCKS = _blocks()


def test_the_page_shows_every_framework():
    headings = {h for h, _ in BLOCKS}
    for name in ("Stable-Baselines3", "CleanRL", "Ray RLlib", "TorchRL", "Gymnasium's vector modes"):
        assert name in headings, name
    assert sum(h == "Stable-Baselines3" for h, _ in BLOCKS) == 3  # single, make_vec_env, native adapter


@pytest.mark.parametrize(
    "index",
    [pytest.param(i, marks=pytest.mark.slow) if h in ("Ray RLlib", "Stable-Baselines3") else i
     for i, (h, _) in enumerate(BLOCKS)],
    ids=[f"{i}-{h}" for i, (h, _) in enumerate(BLOCKS)],
)
def test_snippet_runs(index, real_cache, tmp_path):
    heading, code = BLOCKS[index]
    script = tmp_path / f"snippet_{index}.py"
    script.write_text(code)
    env = {**os.environ, "TRADEREADY_DATA_DIR": str(real_cache), "TRADEREADY_HOME": str(tmp_path / "home"),
           "OMP_NUM_THREADS": "1", "RAY_DEDUP_LOGS": "0"}
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, f"{heading} snippet failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
