"""Run one whole episode of a registered env with a simple policy and collect its metrics."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from tradeready_gym.errors import ConfigError

__all__ = ["POLICIES", "run_episode"]

#: Built-in baseline policies: name -> description.
POLICIES: dict[str, str] = {
    "random": "a uniformly random action each step (seeded)",
    "hold": "never trade (the action scheme's no-op)",
    "buy": "always the most bullish action (discrete: buy; continuous: +1; portfolio: equal weights)",
}


def _buy_action(space: gym.Space[Any]) -> Any:
    if isinstance(space, gym.spaces.Discrete):
        return 1
    if isinstance(space, gym.spaces.Box):
        if float(space.low.min()) < 0.0:
            return np.ones(space.shape, dtype=space.dtype)
        return np.full(space.shape, 1.0 / int(np.prod(space.shape)), dtype=space.dtype)
    raise ConfigError(f"policy='buy' does not support the action space {space}")


def _policy_function(policy: Any) -> Any:
    """None for a built-in policy name, else a function ``obs -> action``."""
    if isinstance(policy, str):
        if policy not in POLICIES:
            raise ConfigError(
                f"policy={policy!r} is not supported; allowed: {', '.join(POLICIES)}, a callable obs -> action, "
                "or a model with predict(obs)"
            )
        return None
    predict = getattr(policy, "predict", None)
    if callable(predict):

        def act(obs: Any) -> Any:
            action, _state = predict(obs, deterministic=True)
            return action

        return act
    if callable(policy):
        return policy
    raise ConfigError(
        f"policy={policy!r} is not supported; allowed: {', '.join(POLICIES)}, a callable obs -> action, "
        "or a model with predict(obs)"
    )


def _policy_name(policy: Any) -> str:
    return str(getattr(policy, "__name__", None) or type(policy).__name__)


def run_episode(env_id: str, *, policy: Any = "random", seed: int = 0, **env_kwargs: Any) -> dict[str, Any]:
    """Build ``env_id`` with ``env_kwargs``, play one episode with ``policy``, return a JSON-friendly summary.

    Args:
        env_id: a registered id, e.g. ``"TradeReady-BTC-v0"``.
        policy: one of `POLICIES`, a callable ``policy(obs) -> action``, or a trained model with
            ``predict(obs, deterministic=True) -> (action, state)`` (a Stable-Baselines3 model).
        seed: seeds the env and the random policy.
        **env_kwargs: keyword arguments of the env (``start_time``, ``timeframe``, ``data``, ...).

    Returns:
        ``env``, ``symbols``, ``timeframe``, ``start``, ``end``, ``steps``, ``total_reward``,
        ``policy`` (its name, or the class / function name of a callable or model), ``seed``, ``terminated``, ``truncated`` and the engine's episode ``metrics``
        (ROI %, Sharpe, Sortino, max drawdown %, win rate, trades, fees, buy-and-hold ROI %, ...).

    Example:
        >>> run_episode("TradeReady-BTC-v0", policy="hold", start_time="2025-01-01", end_time="2025-02-01")  # doctest: +SKIP
    """
    act = _policy_function(policy)
    env = gym.make(env_id, **env_kwargs)
    try:
        base: Any = env.unwrapped
        obs, info = env.reset(seed=seed)
        env.action_space.seed(seed)
        start = info["virtual_time"]
        total = 0.0
        terminated = truncated = False
        buy = _buy_action(env.action_space) if isinstance(policy, str) and policy == "buy" else None
        while not (terminated or truncated):
            if act is not None:
                action = act(obs)
            elif policy == "random":
                action = env.action_space.sample()
            elif policy == "hold":
                action = base.action_scheme.noop_action()
            else:
                action = buy
            obs, reward, terminated, truncated, info = env.step(action)
            total += float(reward)
        return {
            "env": env_id,
            "symbols": list(base.symbols),
            "timeframe": base.feed.market.timeframe,
            "start": start,
            "end": info["virtual_time"],
            "steps": int(info["step"]),
            "policy": policy if isinstance(policy, str) else _policy_name(policy),
            "seed": seed,
            "terminated": bool(terminated),
            "truncated": bool(truncated),
            "total_reward": total,
            "final_equity": float(info["equity"]),
            "metrics": base.metrics().to_dict(),
        }
    finally:
        env.close()
