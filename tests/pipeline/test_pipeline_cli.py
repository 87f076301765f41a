"""The pipeline end to end on real cached candles and tiny budgets, through the ``tradeready`` CLI:
train (PPO, 2 seeds, 2k env steps) -> evaluate (held out, 100 random seeds) -> compare -> report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from tradeready_gym.cli import _add_subcommands, app

runner = CliRunner()
_add_subcommands()
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "train_ppo_btc.yaml"


def tiny_config(tmp: Path, **over) -> Path:
    """The example config with tiny budgets (the test runs what a user runs, only shorter)."""
    cfg = yaml.safe_load(EXAMPLE.read_text())
    cfg["env"]["kwargs"].update({"lookback_window": 12, "episode_length": 200,
                                 "observation_features": ["ohlcv", "rsi_14", "position"]})
    cfg["data"] = {"train": {"start": "2024-01-01", "end": "2024-03-01"},
                   "validation": {"start": "2024-03-05", "end": "2024-04-01"},
                   "test": {"start": "2024-04-05", "end": "2024-05-01"}}
    cfg["algorithm"]["hyperparams"] = {"n_steps": 128, "batch_size": 128, "n_epochs": 2}
    cfg["training"].update({"total_timesteps": 2048, "num_envs": 4, "seeds": [0, 1], "eval_freq": 1024})
    cfg["evaluation"].update({"random_seeds": 100, "bootstrap": 300})
    cfg["output"]["runs_dir"] = str(tmp / "runs")
    for k, v in over.items():
        cfg[k] = v
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def home(tmp_path_factory, real_cache):
    import os

    h = tmp_path_factory.mktemp("home")
    old = os.environ.get("TRADEREADY_HOME")
    os.environ["TRADEREADY_HOME"] = str(h)
    yield h
    if old is None:
        os.environ.pop("TRADEREADY_HOME", None)
    else:
        os.environ["TRADEREADY_HOME"] = old


@pytest.fixture(scope="module")
def trained(home, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pipe")
    res = runner.invoke(app, ["train", str(tiny_config(tmp)), "--quiet"])
    assert res.exit_code == 0, res.output
    group = Path(res.output.split("runs: ", 1)[1].splitlines()[0].strip())
    return group


@pytest.mark.slow
def test_train_writes_run_folders_and_tracks_them(trained, home):
    from tradeready_gym.tracking import Store

    gj = json.loads((trained / "group.json").read_text())
    assert gj["seeds"] == [0, 1] and len(gj["run_ids"]) == 2
    for seed in (0, 1):
        d = trained / f"seed-{seed}"
        for f in ("model.zip", "vecnormalize.pkl", "config.yaml", "env_spec.json", "run.json",
                  "best/model.zip", "best/vecnormalize.pkl", "evaluations.json"):
            assert (d / f).is_file(), f
        run = json.loads((d / "run.json").read_text())
        assert run["seed"] == seed and run["algorithm"] == "PPO" and run["env_steps"] >= 2048
        evals = json.loads((d / "evaluations.json").read_text())
        assert [e["env_steps"] for e in evals][:2] == [1024, 2048]  # counted in env steps
        best = json.loads((d / "best" / "info.json").read_text())
        assert best["sharpe"] == max(e["sharpe"] for e in evals if e["sharpe"] is not None)
        spec = json.loads((d / "env_spec.json").read_text())
        assert spec["action_space"] == {"type": "Discrete", "n": 3} and spec["lookback_window"] == 12
        resolved = yaml.safe_load((d / "config.yaml").read_text())
        assert resolved["training"]["normalize"] is True and resolved["evaluation"]["random_seeds"] == 100
    # the best model's statistics are those of its own step, not the final ones
    import pickle

    with (trained / "seed-0" / "best" / "vecnormalize.pkl").open("rb") as fh:
        b = pickle.load(fh)
    with (trained / "seed-0" / "vecnormalize.pkl").open("rb") as fh:
        f = pickle.load(fh)
    best_step = json.loads((trained / "seed-0" / "best" / "info.json").read_text())["env_steps"]
    assert b.obs_rms.count <= f.obs_rms.count
    if best_step < 2048:
        assert b.obs_rms.count < f.obs_rms.count
    store = Store(home / "tracking.sqlite")
    runs = store.list_runs(mode="train", group_name=gj["group"])
    assert sorted(r["seed"] for r in runs) == [0, 1]
    assert all(r["status"] == "finished" and r["algorithm"] == "PPO" for r in runs)
    assert {r["id"] for r in runs} == set(gj["run_ids"])
    assert len(store.episodes(runs[0]["id"])) > 0  # episodes reported by the env
    keys = {s["key"] for s in store.scalars(runs[0]["id"])}
    assert "validation/sharpe" in keys


@pytest.mark.slow
def test_evaluate_compare_report(trained, home, tmp_path):
    run = trained / "seed-0"
    res = runner.invoke(app, ["evaluate", str(run), "--json", "--quiet"])
    assert res.exit_code == 0, res.output
    s = json.loads(res.output)
    assert s["held_out"] is True and s["test"]["start"] == "2024-04-05T00:00:00Z"
    assert s["random"]["costs"]["n_seeds"] == 100
    assert s["timeframe"] == "1h" and s["periods_per_year"] == 8760
    for who in ("agent", "buy_and_hold", "flat"):
        assert set(s[who]) == {"costs", "zero_fees"}
    assert s["flat"]["costs"]["roi_pct"] == 0.0
    assert s["buy_and_hold"]["zero_fees"]["fees"] == 0.0 and s["buy_and_hold"]["costs"]["fees"] > 0
    assert s["buy_and_hold"]["zero_fees"]["roi_pct"] > s["buy_and_hold"]["costs"]["roi_pct"]
    assert s["random"]["zero_fees"]["fees"]["median"] == 0.0
    assert 0.0 <= s["random_percentile"]["roi"] <= 100.0
    assert s["deflated_sharpe"]["n_train_runs"] == 2 and s["deflated_sharpe"]["n_trials"] >= 2
    assert s["test_period_uses"] == 1
    b = s["bootstrap_sharpe_diff"]
    assert b["low"] <= b["high"]
    assert s["verdict"].split(" ")[0] in ("Does", "Beats", "Higher")
    files = s["files"]
    for key in ("json", "curves", "html"):
        assert Path(files[key]).is_file()
    out = Path(files["json"]).parent
    for png in ("equity.png", "drawdown.png", "positions.png"):
        assert (out / png).stat().st_size > 5_000
    html = (out / "report.html").read_text()
    assert "buy-and-hold" in html and s["verdict"].split(":")[0] in html
    # the agent's curve in the files is the one the summary describes
    with np.load(out / "curves.npz") as z:
        eq = z["agent_costs"]
        assert 100 * (eq[-1] / eq[0] - 1) == pytest.approx(s["agent"]["costs"]["roi_pct"])
        assert z["random_costs"].shape == (3, eq.size)

    # a second evaluation of the same period is counted
    res2 = runner.invoke(app, ["evaluate", str(trained / "seed-1"), "--json", "--quiet", "--no-html"])
    assert res2.exit_code == 0, res2.output
    s2 = json.loads(res2.output)
    assert s2["test_period_uses"] == 2 and s2["deflated_sharpe"]["models_on_period"] == 2

    # overlapping training (or inside the purge gap) is refused unless forced
    bad = runner.invoke(app, ["evaluate", str(run), "--start", "2024-02-01", "--end", "2024-03-01", "--quiet"])
    assert bad.exit_code == 1 and "overlaps the train period" in bad.output
    near = runner.invoke(app, ["evaluate", str(run), "--start", "2024-04-01T12:00:00Z", "--end", "2024-05-01", "--quiet"])
    assert near.exit_code == 1 and "purge gap" in near.output
    forced = runner.invoke(app, ["evaluate", str(run), "--start", "2024-02-01", "--end", "2024-03-01", "--force",
                                 "--json", "--quiet", "--no-html", "--random-seeds", "100"])
    assert forced.exit_code == 0, forced.output
    sf = json.loads(forced.output)
    assert sf["held_out"] is False and "NOT held out" in sf["verdict"]

    cmp_dir = tmp_path / "cmp"
    res3 = runner.invoke(app, ["compare", str(trained), "--out", str(cmp_dir), "--json"])
    assert res3.exit_code == 0, res3.output
    c = json.loads(res3.output)
    assert len(c["rows"]) == 2 and (cmp_dir / "compare_equity.png").stat().st_size > 5_000
    res4 = runner.invoke(app, ["compare", str(trained), "--out", str(cmp_dir)])
    assert res4.exit_code == 0 and "comparison" in res4.output

    res5 = runner.invoke(app, ["report", str(run)])
    assert res5.exit_code == 0 and "report.html" in res5.output


def test_help_has_examples():
    for cmd in ("train", "evaluate", "walkforward", "compare", "report"):
        res = runner.invoke(app, [cmd, "--help"])
        assert res.exit_code == 0 and "Examples:" in res.output and f"tradeready {cmd}" in res.output


def test_bad_inputs(tmp_path, real_cache):
    cfg = tiny_config(tmp_path)
    data = yaml.safe_load(cfg.read_text())
    data["training"]["epochs"] = 3
    cfg.write_text(yaml.safe_dump(data))
    res = runner.invoke(app, ["train", str(cfg), "--quiet"])
    assert res.exit_code == 1 and "unknown key 'training.epochs'" in res.output
    res = runner.invoke(app, ["evaluate", str(tmp_path), "--quiet"])
    assert res.exit_code == 1 and "neither a run folder nor a group" in res.output
    res = runner.invoke(app, ["report", str(tmp_path)])
    assert res.exit_code == 1 and "has no evaluation" in res.output


@pytest.mark.slow
def test_example_pipeline_script(home, tmp_path):
    """examples/pipeline.py on a tiny budget: train -> evaluate -> report -> compare from Python."""
    import importlib.util
    import sys

    path = EXAMPLE.parent / "pipeline.py"
    spec = importlib.util.spec_from_file_location("example_pipeline", path)
    assert spec is not None and spec.loader is not None
    ex = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = ex
    spec.loader.exec_module(ex)
    out = ex.main(ex.Args(runs_dir=str(tmp_path / "runs"), total_timesteps=1024, num_envs=4, seeds=(0,),
                          eval_freq=512, random_seeds=100))
    assert len(out["runs"]) == 1 and Path(out["compare"]).is_file()
    assert out["verdicts"][0].split(" ")[0] in ("Does", "Beats", "Higher")
    assert list(Path(out["runs"][0]).glob("eval/*/report.html"))


@pytest.mark.slow
def test_missing_statistics_are_refused(trained, tmp_path):
    import shutil

    from tradeready_gym.errors import ConfigError
    from tradeready_gym.pipeline.runs import load_agent, read_run

    copy = tmp_path / "copy"
    shutil.copytree(trained / "seed-0", copy)
    (copy / "best" / "vecnormalize.pkl").unlink()
    with pytest.raises(ConfigError, match=r"normalize: true but .*best/vecnormalize.pkl is missing"):
        load_agent(read_run(copy), "best")
    assert callable(load_agent(read_run(copy), "final"))
