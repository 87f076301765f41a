"""``tradeready warmup``: compile every numba kernel once, so that no later process waits for it.

The kernels are compiled on first use and kept in numba's cache (``NUMBA_CACHE_DIR``, else the
``__pycache__`` folders of the installed package). `warmup` builds and steps, on seeded synthetic
candles (no data and no network needed), every kind of environment the library compiles code for:
the single env with discrete and continuous actions (the one-call fused step), the same with a
reward that takes the component-by-component path, a three-asset Portfolio env, and vector envs
below and above the threaded size, and computes every feature. Each of them runs the exact
argument types a real env uses, so later processes load every kernel from the cache.
``scripts/install.sh`` runs it at the end of an install.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import typer

__all__ = ["WARMUP_STEPS", "run_warmup", "warmup"]

logger = logging.getLogger("tradeready_gym")

#: Steps run in every warmed-up env (enough to trade, close and hit the pending-order paths).
WARMUP_STEPS = 5


def _envs() -> list[tuple[str, Callable[[], Any]]]:
    """``(name, build)`` of every env kind whose kernels the warm-up compiles."""
    from tradeready_gym.actions import (
        ContinuousActions,
        DiscreteActions,
        PortfolioWeightActions,
        TargetExposureActions,
    )
    from tradeready_gym.data.synthetic import generate_synthetic
    from tradeready_gym.engine import _kernel as K
    from tradeready_gym.envs import DataFeed, Portfolio, TradingEnv
    from tradeready_gym.envs.vector_env import TradeReadyVectorEnv
    from tradeready_gym.observers import WindowObserver
    from tradeready_gym.rewards import DrawdownPenaltyReward, PnLReward, SharpeReward, SortinoReward

    one = generate_synthetic(400, n_symbols=1, seed=1)
    three = generate_synthetic(400, n_symbols=3, seed=2)
    big = K.PARALLEL_MIN_ACCOUNTS

    def single(action: Any, reward: Any, market: Any = one) -> Callable[[], Any]:
        return lambda: TradingEnv(Portfolio(10_000), DataFeed(market), action(), reward(), WindowObserver(lookback=10))

    def vector(n: int, action: Any, reward: Any, market: Any = one) -> Callable[[], Any]:
        return lambda: TradeReadyVectorEnv(
            n, Portfolio(10_000), DataFeed(market), action(), reward(), WindowObserver(lookback=10)
        )

    return [
        ("single env, discrete (fused step)", single(DiscreteActions, PnLReward)),
        ("single env, continuous (fused step)", single(ContinuousActions, PnLReward)),
        ("single env, discrete, Sharpe reward (component path)", single(DiscreteActions, SharpeReward)),
        ("single env, continuous, Sortino reward (component path)", single(ContinuousActions, SortinoReward)),
        ("portfolio env", single(PortfolioWeightActions, PnLReward, three)),
        ("portfolio env, target exposure", single(TargetExposureActions, DrawdownPenaltyReward, three)),
        ("vector env, 2 envs, discrete", vector(2, DiscreteActions, PnLReward)),
        ("vector env, 2 envs, continuous", vector(2, ContinuousActions, PnLReward)),
        ("vector env, 2 envs, Sharpe reward", vector(2, DiscreteActions, SharpeReward)),
        (f"vector env, {big} envs, discrete (threaded)", vector(big, DiscreteActions, PnLReward)),
        (f"vector env, {big} envs, continuous (threaded)", vector(big, ContinuousActions, PnLReward)),
        (f"vector env, {big} envs, Sharpe reward (threaded)", vector(big, DiscreteActions, SharpeReward)),
        ("portfolio vector env, 2 envs", vector(2, PortfolioWeightActions, PnLReward, three)),
    ]


def _exercise(env: Any) -> None:
    """Reset and step ``env`` with seeded random actions; place and cancel a pending order."""
    env.reset(seed=0)
    space = env.action_space
    space.seed(0)
    for _ in range(WARMUP_STEPS):
        out = env.step(space.sample())
        if bool(np.any(out[2] | out[3])):
            env.reset()
    engine = env.unwrapped.broker
    oid = engine.place_order(0, 0, "buy", "limit", 0.01, float(engine.clock_close()[0, 0]) * 0.5)
    if oid > 0:
        engine.cancel_order(0, oid)
    engine.advance(2)  # the several-bars kernel (REST batch steps)


def run_warmup(progress: Callable[[str, float], None] | None = None) -> float:
    """Compile (or load from the cache) every kernel of the library; returns the seconds taken.

    ``progress(name, seconds)`` is called after each env kind.
    """
    from tradeready_gym._jit import compiling_in_this_thread

    with compiling_in_this_thread():
        return _run_warmup(progress)


def _run_warmup(progress: Callable[[str, float], None] | None) -> float:
    from tradeready_gym.data.synthetic import generate_synthetic
    from tradeready_gym.features import FEATURES, compute_features

    t_all = time.perf_counter()
    t = time.perf_counter()
    compute_features(generate_synthetic(400, n_symbols=2, seed=3), list(FEATURES))
    if progress is not None:
        progress("features", time.perf_counter() - t)
    for name, build in _envs():
        t = time.perf_counter()
        env = build()
        _exercise(env)
        env.close()
        if progress is not None:
            progress(name, time.perf_counter() - t)
    return time.perf_counter() - t_all


def warmup(
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the total time."),
) -> None:
    """Compile every numba kernel once (cached afterwards), so the first env step of later runs is fast.

    \b
    Examples:
      tradeready warmup
      tradeready warmup --quiet
    """
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    def show(name: str, seconds: float) -> None:
        if not quiet:
            typer.echo(f"  {name:<55} {seconds:6.1f} s")

    total = run_warmup(show)
    typer.echo(f"warmup done: every kernel compiled or loaded from the cache in {total:.1f} s")
