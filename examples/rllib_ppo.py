"""Ray RLlib PPO on the native vector env (``gymnasium.make_vec`` vector entry point).

    pip install "tradeready-gym[rllib]"
    tradeready data download BTCUSDT --timeframe 1h --start 2023-12-01 --end 2024-07-01
    python examples/rllib_ppo.py

RLlib's env runners build their envs with ``gymnasium.make_vec(id, num_envs=N,
vectorization_mode="vector_entry_point")``, which for a TradeReady id is the native
`TradeReadyVectorEnv`: N accounts stepped by one engine call, no subprocesses. Scale out by raising
``num_env_runners`` (one process, possibly on another machine of a Ray cluster, per runner, each
holding one native vector env of ``num_envs_per_env_runner`` envs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Args:
    env_id: str = "TradeReady-BTC-v0"
    iterations: int = 20
    num_env_runners: int = 0           # 0: sample in the driver process
    num_envs_per_env_runner: int = 16
    train_batch_size: int = 4096
    minibatch_size: int = 512
    num_epochs: int = 5
    env_config: dict[str, Any] = field(default_factory=lambda: {
        "start_time": "2024-01-01", "end_time": "2024-05-01", "episode_length": 500, "random_start": True,
        "lookback_window": 24, "observation_features": ["ohlcv", "rsi_14", "position"], "track_training": False,
    })
    seed: int = 0


def build(args: Args) -> Any:
    """The RLlib algorithm (PPO, new API stack) on the native vector env."""
    import gymnasium as gym
    from ray.rllib.algorithms.ppo import PPOConfig

    import tradeready_gym  # noqa: F401  (registers the ids)

    config = (
        PPOConfig()
        .environment(env=args.env_id, env_config=args.env_config)
        .env_runners(
            num_env_runners=args.num_env_runners,
            num_envs_per_env_runner=args.num_envs_per_env_runner,
            gym_env_vectorize_mode=gym.VectorizeMode.VECTOR_ENTRY_POINT,
        )
        .training(train_batch_size_per_learner=args.train_batch_size, minibatch_size=args.minibatch_size,
                  num_epochs=args.num_epochs, lr=3e-4)
        .debugging(seed=args.seed)
    )
    return config.build_algo()


def main(args: Args) -> list[dict[str, float]]:
    import ray

    ray.init(num_cpus=max(1, args.num_env_runners + 1), include_dashboard=False, ignore_reinit_error=True,
             log_to_driver=False)
    try:
        algo = build(args)
        history = []
        for i in range(args.iterations):
            result = algo.train()
            runners = result.get("env_runners", {})
            row = {"iteration": i + 1,
                   "env_steps": float(runners.get("num_env_steps_sampled_lifetime", 0.0)),
                   "episode_return_mean": float(runners.get("episode_return_mean", float("nan")))}
            history.append(row)
            print(f"iter {row['iteration']:3d}  env steps {row['env_steps']:>9.0f}  "
                  f"mean episode return {row['episode_return_mean']:.2f}")
        algo.stop()
        return history
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main(Args())
