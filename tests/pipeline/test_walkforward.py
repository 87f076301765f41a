"""Walk-forward folds (rolling and anchored, purge gap), stitching, and a whole walk-forward on real candles."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from tradeready_gym.cli import _add_subcommands, app
from tradeready_gym.errors import ConfigError
from tradeready_gym.pipeline.walkforward import make_folds, stitch

from .test_pipeline_cli import tiny_config

runner = CliRunner()
_add_subcommands()


def test_rolling_and_anchored_folds():
    f = make_folds("2024-01-01", "2024-04-01", train_days=30, test_days=10, purge_bars=24, timeframe="1h")
    assert [x.train_start for x in f[:2]] == ["2024-01-01T00:00:00Z", "2024-01-11T00:00:00Z"]
    assert f[0].train_end == "2024-01-31T00:00:00Z" and f[0].test_start == "2024-02-01T00:00:00Z"
    assert f[0].test_end == "2024-02-11T00:00:00Z" and f[1].test_start == f[0].test_end
    assert f[-1].test_end == "2024-04-01T00:00:00Z" and len(f) == 6
    a = make_folds("2024-01-01", "2024-04-01", train_days=30, test_days=10, purge_bars=24, mode="anchored", timeframe="1h")
    assert {x.train_start for x in a} == {"2024-01-01T00:00:00Z"}
    assert [x.test_start for x in a] == [x.test_start for x in f]
    assert a[2].train_end == "2024-02-20T00:00:00Z"
    # purge: the test window starts purge_bars after the training end
    g = make_folds("2024-01-01", "2024-04-01", train_days=30, test_days=10, step_days=20, purge_bars=5, timeframe="4h")
    assert g[0].test_start == "2024-01-31T20:00:00Z" and g[1].train_start == "2024-01-21T00:00:00Z"


def test_bad_folds():
    with pytest.raises(ConfigError, match="step_days=5 is shorter than test_days=10"):
        make_folds("2024-01-01", "2024-04-01", train_days=30, test_days=10, step_days=5)
    with pytest.raises(ConfigError, match="no fold fits"):
        make_folds("2024-01-01", "2024-02-01", train_days=30, test_days=10)
    with pytest.raises(ConfigError, match="mode='sideways'"):
        make_folds("2024-01-01", "2024-04-01", train_days=30, test_days=10, mode="sideways")


def test_stitch_chains_returns():
    s = stitch([np.array([100.0, 110.0]), np.array([50.0, 25.0, 50.0])], 1000.0)
    np.testing.assert_allclose(s, [1000, 1100, 550, 1100])


@pytest.mark.slow
def test_walkforward_cli(tmp_path, real_cache, monkeypatch):
    monkeypatch.setenv("TRADEREADY_HOME", str(tmp_path / "home"))
    cfg = tiny_config(tmp_path, walkforward={"start": "2024-01-01", "end": "2024-03-10", "train_days": 30,
                                             "test_days": 14, "mode": "rolling"})
    data = yaml.safe_load(cfg.read_text())
    data["training"].update({"total_timesteps": 512, "seeds": [3]})
    cfg.write_text(yaml.safe_dump(data))
    res = runner.invoke(app, ["walkforward", str(cfg), "--json", "--quiet"])
    assert res.exit_code == 0, res.output
    s = json.loads(res.output)
    assert len(s["folds"]) == 2 and s["mode"] == "rolling"
    f0, f1 = s["folds"]
    assert f0["test_end"] == f1["test_start"]  # consecutive, non-overlapping test windows
    assert f0["train_end"] < f0["test_start"]
    assert s["beats_bh"] == sum(f["beats_bh"] for f in s["folds"])
    assert s["share_beating_bh"] == s["beats_bh"] / 2
    out = Path(f0["run_dir"]).parents[1]
    assert (out / "walkforward.json").is_file() and (out / "walkforward.png").stat().st_size > 5_000
    with np.load(out / "stitched.npz") as z:
        agent = z["agent"]
    roi = [1 + f["agent_roi_pct"] / 100 for f in s["folds"]]
    assert 100 * (agent[-1] / agent[0] - 1) == pytest.approx(100 * (np.prod(roi) - 1), rel=1e-9)
    assert s["stitched"]["agent_roi_pct"] == pytest.approx(100 * (np.prod(roi) - 1), rel=1e-9)
    table = runner.invoke(app, ["walkforward", "--help"])
    assert "rolling or anchored" in table.output
