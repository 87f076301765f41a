"""``tradeready episode``: one episode on real cached candles, metrics printed."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tradeready_gym.cli import _add_subcommands, app
from tradeready_gym.envs.episode import run_episode

runner = CliRunner()
_add_subcommands()


def test_episode_json_on_real_cache(real_cache):
    result = runner.invoke(
        app,
        ["episode", "TradeReady-ETH-v0", "--start", "2024-03-01", "--end", "2024-04-01", "--policy", "hold", "--json"],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["symbols"] == ["ETHUSDT"] and summary["timeframe"] == "1h"
    assert summary["start"] == "2024-03-01T01:00:00Z" and summary["end"] == "2024-04-01T00:00:00Z"
    assert summary["steps"] == 31 * 24 - 1 and summary["terminated"] is True
    m = summary["metrics"]
    assert m["n_trades"] == 0 and m["roi_pct"] == 0.0 and summary["final_equity"] == 10_000.0
    assert m["buy_and_hold_roi_pct"] != 0.0


def test_episode_text_and_policies_agree_with_library(real_cache):
    result = runner.invoke(
        app, ["episode", "TradeReady-BTC-Continuous-v0", "--start", "2024-05-01", "--end", "2024-05-15", "--policy", "buy"]
    )
    assert result.exit_code == 0, result.output
    lib = run_episode(
        "TradeReady-BTC-Continuous-v0", policy="buy", start_time="2024-05-01", end_time="2024-05-15", slippage=0.0
    )
    assert f"{lib['metrics']['roi_pct']:,.4f}" in result.output
    assert lib["metrics"]["n_trades"] > 0 and lib["metrics"]["exposure_pct"] > 90


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["episode", "TradeReady-XRP-v0"], "TradeReady-XRP"),
        (["episode", "TradeReady-BTC-v0", "--start", "2031-01-01", "--end", "2031-02-01"], "BTCUSDT"),
        (["episode", "TradeReady-BTC-v0", "--features", "ohlcv,nope", "--start", "2024-03-01"], "nope"),
        (["episode", "TradeReady-BTC-v0", "--policy", "genius"], "policy='genius'"),
    ],
)
def test_episode_errors(args, message, real_cache):
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert message in result.output
