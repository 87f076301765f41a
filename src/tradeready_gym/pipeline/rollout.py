"""Whole-period rollouts through the native vector env: a policy, random policies, buy-and-hold, flat.

Every rollout runs one episode per env over ``[start, end)`` with no random start and no episode
length limit, so each env trades exactly the held-out bars. The envs are built with
``gymnasium.make_vec(env_id, num_envs=N)`` (the native `TradeReadyVectorEnv`) with
``track_training=False``: baselines are not training runs.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import gymnasium as gym
import numpy as np

from tradeready_gym.errors import ConfigError

__all__ = ["Rollout", "buy_and_hold_rollout", "flat_rollout", "make_eval_vec_env", "random_actions", "run_policy"]

log = logging.getLogger(__name__)

#: A batch policy: observations ``(N, D)`` -> actions for the batch.
BatchPolicy = Callable[[np.ndarray], np.ndarray]


@dataclass
class Rollout:
    """What one rollout recorded, env index last (``(T + 1, N)``: the reset point first).

    Attributes:
        name: label (``"agent"``, ``"random"``, ``"buy_and_hold"``, ``"flat"``).
        equity: ``(T + 1, N)`` equity at each decision bar.
        exposure: ``(T + 1, N)`` position value / equity.
        times: ``(T + 1,)`` decision times (ISO 8601).
        close: ``(T + 1, S)`` closes at the decision bars.
        n_trades: ``(N,)`` fills.
        fees: ``(N,)`` fees paid (quote currency).
        fills: per env, the fills (dicts with ``step``, ``side``, ``price``, ...) when recorded.
        interval_ns: bar interval.
        symbols: traded symbols.
    """

    name: str
    equity: np.ndarray
    exposure: np.ndarray
    times: np.ndarray
    close: np.ndarray
    n_trades: np.ndarray
    fees: np.ndarray
    interval_ns: int
    symbols: tuple[str, ...]
    fills: list[list[dict[str, Any]]] = field(default_factory=list)

    @property
    def n_bars(self) -> int:
        """Bars stepped (T)."""
        return int(self.equity.shape[0] - 1)

    @property
    def days(self) -> float:
        """Length of the period in days."""
        return self.n_bars * self.interval_ns / 86_400e9


def make_eval_vec_env(env_id: str, num_envs: int, env_kwargs: dict[str, Any], *, info_details: bool = False) -> Any:
    """``gymnasium.make_vec(env_id, num_envs)`` for a whole-period evaluation (no random start, untracked)."""
    kwargs = dict(env_kwargs)
    for k in ("random_start", "episode_length", "track_training", "render_mode"):
        kwargs.pop(k, None)
    kwargs["track_training"] = False
    try:
        venv = gym.make_vec(env_id, num_envs=num_envs, autoreset_mode="next_step", info_details=info_details, **kwargs)
    except gym.error.Error as exc:
        raise ConfigError(f"env_id={env_id!r} cannot be built: {exc}") from None
    from tradeready_gym.envs.vector_env import TradeReadyVectorEnv

    if not isinstance(venv, TradeReadyVectorEnv):
        raise ConfigError(f"env_id={env_id!r} is not a TradeReady environment with a native vector env")
    return venv


def random_actions(space: gym.Space[Any], n_steps: int, seeds: np.ndarray) -> np.ndarray:
    """``(n_steps, N, ...)`` uniformly random actions, env ``i`` drawn from its own generator ``seeds[i]``."""
    cols = []
    for s in seeds:
        rng = np.random.default_rng(int(s))
        if isinstance(space, gym.spaces.Discrete):
            cols.append(rng.integers(int(space.start), int(space.start) + int(space.n), size=n_steps))
        elif isinstance(space, gym.spaces.Box):
            cols.append(rng.uniform(space.low, space.high, size=(n_steps, *space.shape)).astype(space.dtype))
        else:
            raise ConfigError(f"the action space {space} is not supported by the random policy; allowed: Discrete, Box")
    return np.stack(cols, axis=1)


def run_policy(
    venv: Any,
    policy: BatchPolicy | np.ndarray,
    *,
    name: str,
    seed: int = 0,
    record_fills: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Rollout:
    """Run every env of ``venv`` through one whole episode.

    Args:
        venv: a `TradeReadyVectorEnv` from `make_eval_vec_env` (next-step autoreset).
        policy: a batch policy, or precomputed actions ``(T, N, ...)`` (e.g. `random_actions`); with
            fewer than the period's bars, the rollout stops after them.
        name: label of the rollout.
        seed: reset seed (env ``i`` gets ``seed + i``; no effect without random start).
        record_fills: keep each env's fills (needs ``info_details=True``).
        progress: called as ``progress(step, total)`` now and then.

    An env that ends early (equity floor) keeps its last equity for the remaining bars.
    """
    n = venv.num_envs
    obs, info = venv.reset(seed=seed)
    total = int(np.max(info["total_steps"]))
    if isinstance(policy, np.ndarray):
        total = min(total, int(policy.shape[0]))  # fewer actions than bars: a partial rollout
    eq = np.empty((total + 1, n), dtype=np.float64)
    expo = np.empty((total + 1, n), dtype=np.float64)
    n_sym = len(venv.symbols)
    close = np.empty((total + 1, n_sym), dtype=np.float64)
    times = np.empty(total + 1, dtype=object)
    eq[0] = info["equity"]
    expo[0] = info["position_value"] / info["equity"]
    close[0] = np.asarray(info["prices"])[0]
    times[0] = str(info["virtual_time"][0])
    done = np.zeros(n, dtype=bool)
    n_trades = np.zeros(n, dtype=np.int64)
    fees = np.zeros(n, dtype=np.float64)
    fills: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    fixed = isinstance(policy, np.ndarray)
    any_done = False
    k = 0
    while k < total:
        if fixed:
            assert isinstance(policy, np.ndarray)
            act = policy[k]
        else:
            act = policy(obs)  # type: ignore[operator]
        obs, _, term, trunc, info = venv.step(act)
        k += 1
        e = info["equity"]
        np.divide(info["position_value"], e, out=expo[k])
        eq[k] = e
        close[k] = info["prices"][0]
        times[k] = info["virtual_time"][0]
        if any_done:  # an env that ended early keeps its last values
            eq[k, done] = eq[k - 1, done]
            expo[k, done] = expo[k - 1, done]
        if record_fills and "details" in info:
            for i in np.flatnonzero(~done & (info["n_fills"] > 0)):
                for f in info["details"][int(i)]["filled_orders"]:
                    fills[int(i)].append({**f, "step": k})
        ended = term | trunc
        if any_done:
            ended &= ~done
        if ended.any():
            for i in np.flatnonzero(ended):
                m = venv.metrics(int(i))
                n_trades[i] = m.n_trades
                fees[i] = m.fees_paid
            done |= ended
            any_done = True
        if progress is not None and (k % 512 == 0 or k == total):
            progress(k, total)
        if done.all():
            break
    if not done.all():  # the episode limit is the period; this only guards against a short total
        for i in np.flatnonzero(~done):
            m = venv.metrics(int(i))
            n_trades[i] = m.n_trades
            fees[i] = m.fees_paid
    eq, expo, close = eq[: k + 1], expo[: k + 1], close[: k + 1]
    times = np.array([str(t) for t in times[: k + 1]], dtype=object)
    return Rollout(name, eq, expo, times, close, n_trades, fees, int(venv.feed.market.interval_ns),
                   tuple(venv.symbols), fills if record_fills else [])


def buy_and_hold_rollout(venv: Any, n_steps: int, *, name: str = "buy_and_hold") -> Rollout:
    """Equal-weight buy-and-hold through the engine with ``venv``'s costs and fill rule.

    At the first decision bar of the period the account buys ``1 / S`` of its cash of every symbol
    (the engine clips a buy to what the cash affords, fee and slippage included) and then holds.
    """
    from tradeready_gym.engine import Engine

    market = venv.feed.market
    cfg = venv.portfolio.config
    eng = Engine(market, cfg, n_accounts=1)
    venv.reset(seed=0)
    t0 = int(venv.clock[0])
    eng.reset(t0)
    n_sym = market.n_symbols
    eq = np.empty(n_steps + 1)
    expo = np.empty(n_steps + 1)
    eq[0] = float(eng.equity[0])
    expo[0] = 0.0
    price = eng.clock_close()[0]
    budget = float(eng.cash[0]) / n_sym
    order = np.zeros((1, n_sym))
    order[0] = budget / price
    for k in range(1, n_steps + 1):
        eng.step(order)
        order = np.zeros((1, n_sym))
        eq[k] = float(eng.equity[0])
        expo[k] = float(eng.position_value[0]) / eq[k]
    m = eng.metrics(0)
    t_idx = t0 + np.arange(n_steps + 1)
    times = np.array([venv.feed.time_iso(int(t)) for t in t_idx], dtype=object)
    return Rollout(name, eq[:, None], expo[:, None], times, market.close[t_idx], np.array([m.n_trades]),
                   np.array([m.fees_paid]), int(market.interval_ns), tuple(market.symbols))


def flat_rollout(like: Rollout, starting_balance: float) -> Rollout:
    """Staying flat: equity constant at the starting balance, no trades, no fees."""
    n = like.equity.shape[0]
    return replace(
        like,
        name="flat",
        equity=np.full((n, 1), float(starting_balance)),
        exposure=np.zeros((n, 1)),
        n_trades=np.zeros(1, dtype=np.int64),
        fees=np.zeros(1),
        fills=[],
    )


def finite_or_none(x: float) -> float | None:
    """JSON-friendly float: NaN and infinity become None."""
    return float(x) if isinstance(x, (int, float, np.floating)) and math.isfinite(float(x)) else None
