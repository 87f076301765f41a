"""Train PPO (Stable-Baselines3) on the native vector env, then evaluate on a held-out period.

    pip install "tradeready-gym[sb3]"
    tradeready data download BTCUSDT --timeframe 1h --start 2024-01-01 --end 2024-09-01
    python examples/ppo_vector.py
"""

from __future__ import annotations

from dataclasses import dataclass

from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecMonitor

from tradeready_gym.envs.episode import run_episode
from tradeready_gym.envs.sb3 import make_sb3_vec_env


@dataclass
class Args:
    env_id: str = "tradeready_gym:TradeReady-BTC-v0"
    num_envs: int = 16
    train_start: str = "2024-01-01T00:00:00Z"
    train_end: str = "2024-07-01T00:00:00Z"
    test_start: str = "2024-07-01T00:00:00Z"
    test_end: str = "2024-09-01T00:00:00Z"
    total_timesteps: int = 50_000
    episode_length: int = 500
    n_steps: int = 256
    n_epochs: int = 10
    seed: int = 0


def main(args: Args) -> dict[str, float]:
    features = ["ohlcv", "rsi_14", "macd"]
    venv = make_sb3_vec_env(
        args.env_id,
        num_envs=args.num_envs,
        start_time=args.train_start,
        end_time=args.train_end,
        observation_features=features,
        episode_length=args.episode_length,
        random_start=True,
    )
    model = PPO(
        "MlpPolicy",
        VecMonitor(venv),
        n_steps=args.n_steps,
        batch_size=min(1024, args.n_steps * args.num_envs),
        n_epochs=args.n_epochs,
        seed=args.seed,
        device="cpu",
        verbose=1,
    )
    model.learn(total_timesteps=args.total_timesteps)

    import gymnasium as gym

    env = gym.make(args.env_id, start_time=args.test_start, end_time=args.test_end, observation_features=features)
    obs, _ = env.reset(seed=args.seed)
    done = False
    while not done:
        action, _ = model.predict(obs, deterministic=True)
        obs, _, terminated, truncated, _info = env.step(int(action))
        done = terminated or truncated
    m = env.unwrapped.metrics()
    baseline = run_episode(args.env_id, policy="random", seed=args.seed, start_time=args.test_start,
                           end_time=args.test_end, observation_features=features)
    print(f"PPO   ROI {m.roi_pct:7.2f}%  Sharpe {m.sharpe:6.2f}  max DD {m.max_drawdown_pct:6.2f}%  trades {m.n_trades}")
    print(f"random ROI {baseline['metrics']['roi_pct']:7.2f}%   buy-and-hold ROI {m.buy_and_hold_roi_pct:7.2f}%")
    return {"roi_pct": m.roi_pct, "random_roi_pct": baseline["metrics"]["roi_pct"]}


if __name__ == "__main__":
    main(Args())
