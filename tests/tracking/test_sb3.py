"""Stable-Baselines3: the logger's scalars land in the run; the adapter's infos carry episode_metrics."""

from __future__ import annotations

from pathlib import Path

import pytest
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback

from tradeready_gym.envs.sb3 import make_sb3_vec_env
from tradeready_gym.errors import ConfigError
from tradeready_gym.tracking import Store
from tradeready_gym.tracking.sb3 import TrackingCallback, TrackingOutputFormat, attach_tracking_logger


class _Collect(BaseCallback):
    def __init__(self) -> None:
        super().__init__()
        self.metrics: list[dict] = []

    def _on_step(self) -> bool:
        for info in self.locals["infos"]:
            if "episode_metrics" in info:
                self.metrics.append(info["episode_metrics"])
        return True


@pytest.mark.slow
def test_ppo_scalars_and_episodes_in_the_run(home: Path, small_market) -> None:
    venv = make_sb3_vec_env("TradeReady-BTC-v0", num_envs=2, data=small_market, episode_length=16)
    model = PPO("MlpPolicy", venv, n_steps=16, batch_size=16, n_epochs=1, seed=0, device="cpu", verbose=0)
    collect = _Collect()
    model.learn(96, callback=[TrackingCallback(), collect])
    tracker = venv.venv._tracking
    venv.close()
    store = Store(home / "tracking.sqlite")
    run = store.get_run(tracker.run_id)
    assert run is not None and run["status"] == "finished"
    assert run["algorithm"] == "PPO" and run["hyperparams"]["n_steps"] == 16
    keys = {s["key"] for s in store.scalars(tracker.run_id)}
    assert {"train/loss", "train/entropy_loss", "time/fps"} <= keys
    loss = store.scalars(tracker.run_id, "train/loss")
    assert [s["step"] for s in loss] == sorted(s["step"] for s in loss) and loss[-1]["step"] == 96
    # every finished episode: in the SB3 infos and in the run, with the same numbers
    eps = store.episodes(tracker.run_id)
    assert len(eps) == len(collect.metrics) == 96 // 16
    assert sorted(round(e["roi_pct"], 9) for e in eps) == sorted(round(m["roi_pct"], 9) for m in collect.metrics)
    assert all(set(m) >= {"roi_pct", "sharpe", "reward_sum", "length", "trades"} for m in collect.metrics)


def test_output_format_writes_numbers_only(home: Path) -> None:
    from tradeready_gym.tracking import TrainingTracker

    t = TrainingTracker()
    fmt = TrackingOutputFormat(t)
    fmt.write({"a/x": 1.5, "a/n": 3, "a/text": "hello", "a/nan": float("nan")}, {"a/x": None}, step=7)
    fmt.close()
    t.close()
    rows = {r["key"]: r for r in Store(home / "tracking.sqlite").scalars(t.run_id)}
    assert set(rows) == {"a/x", "a/n", "a/nan"}
    assert rows["a/x"]["value"] == 1.5 and rows["a/x"]["step"] == 7 and rows["a/nan"]["value"] is None


def test_untracked_env_is_refused(small_market) -> None:
    venv = make_sb3_vec_env("TradeReady-BTC-v0", num_envs=1, data=small_market, episode_length=8, track_training=False)
    model = PPO("MlpPolicy", venv, n_steps=8, batch_size=8, device="cpu")
    with pytest.raises(ConfigError, match="track_training"):
        attach_tracking_logger(model)
