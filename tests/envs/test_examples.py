"""The examples run on real cached candles with tiny budgets."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_quickstart(real_cache, capsys):
    ex = _load("quickstart")
    out = ex.main(ex.Args(steps=300))
    assert math.isfinite(out["roi_pct"]) and out["equity"] > 0
    assert "ROI" in capsys.readouterr().out


def test_composable_env(real_cache, tmp_path):
    ex = _load("composable_env")
    out = ex.main(ex.Args(end_time="2024-02-01T00:00:00Z", plot_path=str(tmp_path / "episode.png")))
    assert (tmp_path / "episode.png").exists()
    assert out["steps"] > 0


@pytest.mark.slow
def test_ppo_vector(real_cache):
    import torch

    torch.set_num_threads(1)
    ex = _load("ppo_vector")
    args = ex.Args(num_envs=4, total_timesteps=1024, n_steps=128, n_epochs=2, episode_length=200,
                   test_end="2024-07-15T00:00:00Z")
    out = ex.main(args)
    assert math.isfinite(out["roi_pct"]) and math.isfinite(out["random_roi_pct"])
