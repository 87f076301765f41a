"""``tradeready runs list|show|export|sync`` on a real store."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from tradeready_gym._cli_runs import app
from tradeready_gym.tracking import Store, TrainingTracker

runner = CliRunner()


def _run(home: Path, n: int = 3, label: str = "cli") -> str:
    t = TrainingTracker(strategy_label=label)
    for i in range(1, n + 1):
        t.report_episode(i, {"roi_pct": float(i), "sharpe": 0.5, "trades": i, "length": 10, "win_rate": 0.25})
    t.log_scalars([{"key": "train/loss", "step": 5, "value": 0.1}])
    t.close()
    return t.run_id


def test_list_show_export(home: Path, tmp_path: Path) -> None:
    rid = _run(home)
    res = runner.invoke(app, ["list"])
    assert res.exit_code == 0, res.output
    assert rid[:8] in res.output and "finished" in res.output
    res = runner.invoke(app, ["list", "--json", "--status", "finished"])
    assert res.exit_code == 0 and rid in res.output
    res = runner.invoke(app, ["show", rid[:6]])
    assert res.exit_code == 0, res.output
    assert "train/loss" in res.output and "episodes_completed" in res.output
    out = tmp_path / "eps.csv"
    res = runner.invoke(app, ["export", rid, "--format", "csv", "--out", str(out)])
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out)
    assert df["episode"].tolist() == [1, 2, 3] and df["roi_pct"].tolist() == [1.0, 2.0, 3.0]
    assert df["win_rate"].tolist() == [0.25] * 3
    pq = tmp_path / "sc.parquet"
    res = runner.invoke(app, ["export", rid, "--format", "parquet", "--what", "scalars", "--out", str(pq)])
    assert res.exit_code == 0, res.output
    assert pd.read_parquet(pq)["key"].tolist() == ["train/loss"]


def test_bad_input_names_the_option(home: Path) -> None:
    _run(home)
    for args, word in ((["export", "zzzz"], "not found"), (["list", "--status", "done"], "--status"),
                       (["export", "x", "--format", "xlsx"], "--format"), (["sync"], "API key")):
        res = runner.invoke(app, args, env={"TRADEREADY_API_KEY": ""})
        assert res.exit_code == 1, (args, res.output)
        assert word in res.output, (args, res.output)


def test_sync_without_pending_rows(home: Path) -> None:
    _run(home)
    res = runner.invoke(app, ["sync", "--api-key", "ak_live_x"])
    assert res.exit_code == 0, res.output
    assert "nothing to deliver" in res.output
    assert Store(home / "tracking.sqlite").outbox_counts() == {"pending": 0, "delivered": 0}
