"""`BatchStepWrapper`: one decision held for ``n_steps`` candles, the order sent once."""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym

from tradeready_gym.errors import ConfigError

__all__ = ["BatchStepWrapper"]


class BatchStepWrapper(gym.Wrapper[Any, Any, Any, Any], gym.utils.RecordConstructorArgs):
    """Hold each decision for ``n_steps`` candles.

    ``step(action)`` sends ``action`` to the env once, then the env's no-op action
    (``env.unwrapped.action_scheme.noop_action()``) for up to ``n_steps - 1`` more candles, and stops
    early when the episode ends. It returns the last observation, the **sum** of the rewards, the last
    ``terminated`` / ``truncated``, and the last ``info`` with two changes:
    ``info["filled_orders"]`` lists the fills of all the inner steps in order, and
    ``info["batch_steps"]`` says how many candles were stepped.

    Args:
        env: a TradeReady env (any env whose ``unwrapped.action_scheme`` has ``noop_action()``).
        n_steps: candles per decision, an integer >= 1 (default 5, as in the published package; 1
            changes nothing).

    Example:
        >>> env = BatchStepWrapper(gym.make("TradeReady-BTC-v0"), n_steps=4)  # doctest: +SKIP
        >>> obs, reward, terminated, truncated, info = env.step(1)  # doctest: +SKIP
        >>> info["batch_steps"]  # doctest: +SKIP
        4
    """

    def __init__(self, env: gym.Env[Any, Any], n_steps: int = 5) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, n_steps=n_steps)
        super().__init__(env)
        if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 1:
            raise ConfigError(f"n_steps={n_steps!r} must be an integer >= 1")
        scheme = getattr(env.unwrapped, "action_scheme", None)
        if not callable(getattr(scheme, "noop_action", None)):
            raise ConfigError(
                f"BatchStepWrapper needs env.unwrapped.action_scheme.noop_action(); "
                f"{type(env.unwrapped).__name__} has none"
            )
        self.n_steps = n_steps

    def noop_action(self) -> Any:
        """The env's action that places no order."""
        return self.env.unwrapped.action_scheme.noop_action()  # type: ignore[attr-defined]

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        total = 0.0
        fills: list[Any] = []
        obs, reward, terminated, truncated, info = self.env.step(action)
        total += float(reward)
        fills.extend(info.get("filled_orders", []))
        done = 1
        while done < self.n_steps and not (terminated or truncated):
            obs, reward, terminated, truncated, info = self.env.step(self.noop_action())
            total += float(reward)
            fills.extend(info.get("filled_orders", []))
            done += 1
        info = dict(info)
        info["filled_orders"] = fills
        info["batch_steps"] = done
        return obs, total, bool(terminated), bool(truncated), info
