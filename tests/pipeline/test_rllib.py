"""Ray RLlib: one PPO iteration on the native vector env (examples/rllib_ppo.py), on real candles."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "rllib_ppo.py"


@pytest.mark.slow
def test_rllib_ppo_one_iteration_on_the_native_vector_env(btc_1h):
    pytest.importorskip("ray.rllib", reason="the [rllib] extra is not installed")
    import ray

    from tradeready_gym.envs.vector_env import TradeReadyVectorEnv

    spec = importlib.util.spec_from_file_location("example_rllib_ppo", EXAMPLE)
    assert spec is not None and spec.loader is not None
    ex = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = ex
    spec.loader.exec_module(ex)
    args = ex.Args(iterations=1, num_envs_per_env_runner=4, train_batch_size=256, minibatch_size=64, num_epochs=1)
    args.env_config.update({"data": btc_1h, "start_time": "2024-02-01", "end_time": "2024-04-01",
                            "episode_length": 64, "lookback_window": 12})
    ray.init(num_cpus=1, include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    try:
        algo = ex.build(args)
        env = algo.env_runner.env.unwrapped
        assert isinstance(env, TradeReadyVectorEnv) and env.num_envs == 4  # the native vector env, not N copies
        result = algo.train()
        runners = result["env_runners"]
        assert runners["num_env_steps_sampled_lifetime"] >= 256
        assert math.isfinite(runners["episode_return_mean"])  # 64-bar episodes finished and were counted
        algo.stop()
    finally:
        ray.shutdown()
