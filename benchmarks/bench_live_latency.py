"""Live latency: final kline message -> decided order, 10 symbols, 1m candles replayed at x60.

::

    python benchmarks/bench_live_latency.py              # 60 candles (one minute of wall time)
    python benchmarks/bench_live_latency.py --candles 20 # quicker
    python benchmarks/bench_live_latency.py --out benchmarks/results/live_latency.json

A `ReplayServer` on 127.0.0.1 streams ten symbols' 1m candles at x60 (one candle per wall second,
three messages per candle and symbol) in Binance's combined-stream format; `LiveTradingEnv`
(portfolio weights over the ten symbols, ``ohlcv`` features, lookback 30) steps on every final
candle and a policy (a fixed random linear layer + softmax in numpy, a few microseconds) decides the
next order.

Measured per candle, with ``time.perf_counter`` in one process:

* ``message_to_decision_ms``: from the moment the feed thread processed the candle's last final
  ``x=true`` message (the tenth symbol's; the bar is complete then) to the moment the policy's
  action (the order of the next step) exists. This includes waking the env's thread, writing the
  candle into the env's data in place, updating the feature rows, the step, the observation and
  the policy.
* ``env_ms``: the same without the policy (``info["latency_ms"]``).

The candles are synthetic (`tradeready_gym.data.generate_synthetic`, seeded, renamed to
``SYN0USDT``..``SYN9USDT``): the shared real data has 3 symbols and no 1m candles. Latency does not
depend on the price values. Also reported: ``rebuild_ms`` = the cost of one full rebuild + replay
at longer session lengths (what the live env pays only when its buffers are full, O(log n) times
per session; see docs/live.md), and ``session_age``: the live env's own per-candle work (write
the candle in place, update the feature rows, step; no network, no store) on every candle of a
``--session-candles`` long session (default 2,000 1m candles, ten synthetic symbols), with
p50/p95/p99 overall and per quarter of the session (``step_ms_by_age``), each rebuild
(``rebuilds``) and samples every ``--session-every`` candles (``step_ms``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from typing import Any

import numpy as np

os.environ.setdefault("TRADEREADY_JIT", "wait")  # time compiled code: a missing kernel compiles before its call returns


def _market(n_bars: int, n_symbols: int) -> Any:
    from tradeready_gym.data.market import MarketData
    from tradeready_gym.data.synthetic import generate_synthetic

    syn = generate_synthetic(n_bars, timeframe="1m", n_symbols=n_symbols, seed=7, start="2025-01-01T00:00:00Z")
    names = tuple(f"SYN{j}USDT" for j in range(n_symbols))
    return MarketData(names, "1m", syn.open_time, syn.open, syn.high, syn.low, syn.close, syn.volume,
                      dict(syn.extra))


def _pct(xs: list[float]) -> dict[str, float]:
    a = np.asarray(xs, dtype=np.float64)
    return {"n": int(a.size), "p50": float(np.percentile(a, 50)), "p95": float(np.percentile(a, 95)),
            "p99": float(np.percentile(a, 99)), "max": float(a.max()), "mean": float(a.mean())}


def _rebuild_cost(market: Any, steps: int, repeats: int = 3) -> float:
    """ms of one live step's rebuild + replay when the session already has ``steps`` steps."""
    from tradeready_gym.envs.presets import make_portfolio_env

    rng = np.random.default_rng(0)
    # weights drawn around equal weights: trades every step, without draining the account on fees
    actions = [(0.5 * np.full(market.n_symbols, 1.0 / market.n_symbols) + 0.5 * rng.dirichlet(
        np.ones(market.n_symbols))).astype(np.float32) for _ in range(steps)]
    best = float("inf")
    first = 200
    sub = market.iloc(0, first + steps + 2)
    for _ in range(repeats):
        t0 = time.perf_counter()
        env = make_portfolio_env(list(market.symbols), data=sub, timeframe="1m", track_training=False,
                                 equity_floor=0.0)
        env.reset(options={"start_index": first})
        for a in actions:
            if env.step(a)[3]:
                raise RuntimeError("the episode ended early; the measurement would be short")
        best = min(best, (time.perf_counter() - t0) * 1000)
    return best


def _session_age_costs(n_candles: int, n_symbols: int, every: int, history: int = 400) -> dict[str, Any]:
    """ms of the live env's per-candle work at each session age (synthetic candles, no network).

    A `LiveTradingEnv` (store off, no feed) starts a session after ``history`` candles, then gets
    ``n_candles`` final candles one at a time through its own candle path: ``_ensure_room`` (the
    rebuild with doubled capacity that `LiveTradingEnv.step` runs before it waits, while the candle
    is still open) and ``_step_bars`` (write the candle in place, update the feature rows, step the
    action: what runs between the final message and the observation). ``step_ms`` is the latter,
    measured on every candle (``step_ms_by_age``: p50/p95/p99 per quarter of the session; the
    samples listed every ``every`` candles); ``rebuilds`` lists each rebuild's session age, capacity
    and ms.
    """
    from tradeready_gym.live.env import CANDLE_FIELDS, LiveTradingEnv
    from tradeready_gym.live.feed import Bar, Kline

    market = _market(history + n_candles + 2, n_symbols)
    rng = np.random.default_rng(0)
    # weights drawn around equal weights: trades every step without draining the account on fees
    actions = [(0.5 * np.full(n_symbols, 1.0 / n_symbols) + 0.5 * rng.dirichlet(np.ones(n_symbols))).astype(
        np.float32) for _ in range(n_candles + 1)]
    env = LiveTradingEnv(symbols=list(market.symbols), timeframe="1m", store=False, track_training=False,
                         equity_floor=0.0)
    open_ms = (market.open_time // 1_000_000).tolist()
    # the values the replay server sends for candles without these fields
    ex, zeros = market.extra, np.zeros_like(market.close)
    fields = [market.open, market.high, market.low, market.close, market.volume,
              ex.get("quote_volume", market.volume * market.close),
              *(ex.get(k, zeros) for k in ("trades", "taker_buy_base_volume", "taker_buy_quote_volume"))]
    vals = np.stack(fields, axis=-1).reshape(market.n_bars, -1).tolist()  # (bars, symbols * fields)
    nf = len(CANDLE_FIELDS)

    def bar(k: int) -> Bar:
        return Bar(open_ms[k], tuple(Kline(open_ms[k], *vals[k][j * nf : (j + 1) * nf], source="ws")
                                     for j in range(n_symbols)), 0.0)

    env._start_bar = history
    env._open_ms, env._values, env._actions = open_ms[: history + 1], vals[: history + 1], []
    env._replay()  # load the compiled kernels before the clock starts
    rebuilds_before = env.rebuilds
    samples: list[tuple[int, float]] = []
    rebuilds: list[dict[str, Any]] = []
    for age in range(n_candles):
        r0, t0 = env.rebuilds, time.perf_counter()
        env._ensure_room()
        if env.rebuilds != r0:
            rebuilds.append({"age": age, "capacity": env.capacity, "ms": (time.perf_counter() - t0) * 1000})
        t0 = time.perf_counter()
        _, _, term, trunc, _ = env._step_bars([bar(history + 1 + age)], env._canonical(actions[age]), "agent")
        samples.append((age, (time.perf_counter() - t0) * 1000))
        if term or trunc:
            raise RuntimeError("the episode ended early; the measurement would be short")
    buckets: dict[str, Any] = {}
    q = max(1, -(-n_candles // 4))
    for lo in range(0, n_candles, q):
        xs = [ms for age, ms in samples if lo <= age < lo + q]
        if xs:
            buckets[f"{lo}-{min(lo + q, n_candles) - 1}"] = _pct(xs)
    all_ms = [ms for _, ms in samples]
    return {"candles": n_candles, "every": every, "history_bars": history, "symbols": n_symbols,
            "data": "synthetic 1m candles (seeded GARCH, SYN0USDT..): latency does not depend on prices",
            "step_ms_all": _pct(all_ms), "target_p99_ms": 50.0,
            "target_met": bool(np.percentile(all_ms, 99) <= 50.0),
            "step_ms_by_age": buckets, "rebuilds": rebuilds, "rebuild_count": env.rebuilds - rebuilds_before,
            "replayed_steps": env.replayed_steps,
            "step_ms": {str(a): ms for a, ms in samples if a % every == 0}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--candles", type=int, default=60)
    ap.add_argument("--symbols", type=int, default=10)
    ap.add_argument("--speed", type=float, default=60.0)
    ap.add_argument("--session-candles", type=int, default=2000,
                    help="session length of the per-candle cost by session age (0: skip)")
    ap.add_argument("--session-every", type=int, default=20, help="measure every N candles of that session")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    from tradeready_gym.envs.presets import make_portfolio_env
    from tradeready_gym.live.env import LiveTradingEnv
    from tradeready_gym.live.replay import ReplayServer

    history = 400
    market = _market(history + args.candles + 50, args.symbols)
    # compile / load the numba kernels before the clock starts
    warm = make_portfolio_env(list(market.symbols), data=market, timeframe="1m", track_training=False)
    warm.reset(options={"start_index": 100})
    warm.step(warm.action_space.sample())

    rng = np.random.default_rng(1)
    w = None
    msg_to_dec: list[float] = []
    env_ms: list[float] = []
    kinds: dict[str, int] = {}
    with ReplayServer(market, start_index=history, speed=args.speed) as server:
        env = LiveTradingEnv(symbols=list(market.symbols), timeframe="1m", binance_ws_url=server.ws_url,
                             binance_rest_url=server.rest_url, speed=args.speed, store=False, step_timeout_s=30,
                             track_training=False)
        try:
            obs, info = env.reset()
            w = rng.normal(0, 0.01, (obs.shape[0], args.symbols)).astype(np.float32)

            def policy(o: np.ndarray) -> np.ndarray:
                z = o @ w
                e = np.exp(z - z.max())
                return (e / e.sum()).astype(np.float32)

            action = policy(obs)
            for _ in range(args.candles):
                obs, _, term, trunc, info = env.step(action)
                action = policy(obs)
                done_at = time.perf_counter()
                assert env.feed is not None
                bar_done = env.feed.bars(env.candle_open_ms[-1], env.candle_open_ms[-1] + env.interval_ms)[0].completed_at
                msg_to_dec.append((done_at - bar_done) * 1000)
                env_ms.append(float(info["latency_ms"]))
                kinds[info["live"]["kind"]] = kinds.get(info["live"]["kind"], 0) + 1
                if term or trunc:
                    break
            feed_status = info["feed"]
        finally:
            env.close()
    result = {
        "benchmark": "live_latency",
        "symbols": args.symbols,
        "timeframe": "1m",
        "speed": args.speed,
        "candles": len(msg_to_dec),
        "data": "synthetic 1m candles (seeded GARCH); the shared real data has no 1m candles",
        "message_to_decision_ms": _pct(msg_to_dec),
        "env_ms": _pct(env_ms),
        "target_p99_ms": 50.0,
        "target_met": bool(np.percentile(msg_to_dec, 99) <= 50.0),
        "step_kinds": kinds,
        "feed": {k: feed_status[k] for k in ("finals_ws", "finals_rest", "reconnects", "duplicates")},
        "rebuild_ms": {str(n): _rebuild_cost(_market(n + 300, args.symbols), n) for n in (100, 1000, 5000)},
        "session_age": (_session_age_costs(args.session_candles, args.symbols, args.session_every)
                        if args.session_candles > 0 else None),
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count(),
                    "loadavg": list(os.getloadavg())},
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
