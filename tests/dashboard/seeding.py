"""Seed a real tracking store for the dashboard tests (through `tradeready_gym.tracking.store.Store`).

Episode rows are generated from a seeded random walk (the dashboard shows whatever a run stored);
replay traces are built from real candles with a moving-average-crossover policy whose cash, position,
equity and fills are accounted bar by bar (0.1 % fee), then encoded with `encode_trace`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import numpy as np

from tradeready_gym.tracking.store import Store
from tradeready_gym.tracking.traces import encode_trace

FEE = 0.001


def crossover_trace(market: Any, start: int, bars: int, *, fast: int = 5, slow: int = 20,
                    cash0: float = 10_000.0) -> dict[str, Any]:
    """Trade ``bars`` real bars from index ``start`` of a one-symbol `MarketData` with an MA crossover.

    As in the engine, an order decided at a bar's close (the fill's ``time`` is that decision time) fills
    at the next bar's open, so the position changes at the next decision. Returns the arrays and fills
    `encode_trace` takes (times are bar close times in ns).
    """
    opens_all = np.asarray(market.open[:, 0], dtype=np.float64)
    closes_all = np.asarray(market.close[:, 0], dtype=np.float64)
    close_time = np.asarray(market.close_time, dtype=np.int64)
    sym = market.symbols[0]
    idx = np.arange(start, start + bars + 1)
    cash, qty = cash0, 0.0
    pending: tuple[str, str] | None = None  # (side, decision time)
    times, closes, equity, position, fills = [], [], [], [], []
    for k, i in enumerate(idx):
        if pending is not None:  # fill at this bar's open
            side, t_iso = pending
            px = float(opens_all[i])
            if side == "buy":
                q = cash / (px * (1 + FEE))
                fee = q * px * FEE
                cash -= q * px + fee
                qty = q
            else:
                q = qty
                fee = q * px * FEE
                cash += q * px - fee
                qty = 0.0
            fills.append({"symbol": sym, "side": side, "quantity": q, "price": px, "fee": fee, "time": t_iso})
            pending = None
        px = float(closes_all[i])
        if i >= slow and k < len(idx) - 1:
            f = closes_all[i - fast + 1 : i + 1].mean()
            s = closes_all[i - slow + 1 : i + 1].mean()
            t_iso = dt.datetime.fromtimestamp(close_time[i] / 1e9, dt.UTC).isoformat().replace("+00:00", "Z")
            if f > s and qty == 0.0:
                pending = ("buy", t_iso)
            elif f < s and qty > 0.0:
                pending = ("sell", t_iso)
        times.append(int(close_time[i]))
        closes.append(px)
        equity.append(cash + qty * px)
        position.append(qty)
    return {
        "times": np.asarray(times, dtype=np.int64),
        "closes": np.asarray(closes).reshape(-1, 1),
        "equity": np.asarray(equity),
        "position": np.asarray(position).reshape(-1, 1),
        "fills": fills,
        "symbols": [sym],
    }


def episode_rows(n: int, seed: int, *, start: int = 1, t0: dt.datetime | None = None,
                 steps_per_episode: int = 500) -> list[dict[str, Any]]:
    """``n`` episode rows (numbers ``start..start+n-1``) with an upward-drifting noisy ROI."""
    rng = np.random.default_rng(seed)
    t0 = t0 or dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    rows = []
    for k in range(n):
        ep = start + k
        roi = float(-2.0 + 4.0 * (1 - np.exp(-ep / 300)) + rng.normal(0, 3))
        bh = float(rng.normal(1.0, 4))
        day = dt.date(2024, 1, 1) + dt.timedelta(days=int(ep % 150))
        rows.append(
            {
                "episode": ep,
                "env_index": ep % 4,
                "data_start": day.isoformat() + "T00:00:00Z",
                "data_end": (day + dt.timedelta(days=20)).isoformat() + "T00:00:00Z",
                "length": steps_per_episode,
                "reward_sum": roi / 100 * 5 + float(rng.normal(0, 0.1)),
                "roi_pct": roi,
                "sharpe": None if ep % 97 == 0 else float(roi / 3 + rng.normal(0, 0.3)),
                "sortino": float(roi / 2),
                "max_drawdown_pct": float(abs(rng.normal(5, 2))),
                "trades": int(rng.integers(0, 40)),
                "fees": float(abs(rng.normal(10, 3))),
                "buy_hold_roi_pct": bh,
                "final_equity": 10_000 * (1 + roi / 100),
                "terminated": False,
                "truncated": True,
                "wall_time_s": 0.5,
                "global_step": ep * steps_per_episode,
                "finished_at": t0 + dt.timedelta(seconds=ep * 7),
            }
        )
    return rows


def seed_run(
    store: Store,
    *,
    name: str,
    label: str | None = "ppo-basic",
    episodes: int = 300,
    seed: int = 0,
    status: str = "finished",
    heartbeat: dt.datetime | None = None,
    scalars: bool = True,
    traces: dict[int, bytes] | None = None,
    run_id: str | None = None,
    config: dict[str, Any] | None = None,
    batch: int = 5000,
) -> str:
    """Write one run with ``episodes`` episodes (and SB3-like scalars, traces) to ``store``; returns its id."""
    rid = run_id or str(uuid.UUID(int=int(np.random.default_rng(seed + 7919).integers(0, 2**63)) << 64 | seed))
    created = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=seed)
    store.upsert_run(
        {
            "id": rid,
            "name": name,
            "strategy_label": label,
            "seed": seed,
            "mode": "train",
            "status": "running",
            "env_id": "TradeReady-BTC-v0",
            "algorithm": "PPO",
            "config": config or {"symbol": "BTCUSDT", "timeframe": "1h"},
            "hyperparams": {"total_timesteps": episodes * 500, "learning_rate": 3e-4},
            "library_version": "0.1.0",
            "created_at": created,
        }
    )
    rows = episode_rows(episodes, seed)
    for i in range(0, len(rows), batch):
        store.record_episodes(rid, rows[i : i + batch], total_steps=rows[min(i + batch, len(rows)) - 1]["global_step"],
                              heartbeat=False)
    if scalars:
        rng = np.random.default_rng(seed + 1)
        srows = []
        for k in range(1, 61):
            step = k * 2048
            srows.append({"key": "train/loss", "step": step, "value": float(1.0 / k + rng.normal(0, 0.01)),
                          "wall_time": 1.767e9 + k * 10.0})
            srows.append({"key": "train/entropy_loss", "step": step, "value": float(-1.0 + k / 100),
                          "wall_time": 1.767e9 + k * 10.0})
        store.upsert_scalars(rid, srows)
    for ep, data in (traces or {}).items():
        store.upsert_trace(rid, ep, data, reasons="best")
    # explicit times: a run that ended did so an hour after its creation (long before any test's cursor);
    # only a running run without a given heartbeat beats "now" (it must not look stale)
    ended = created + dt.timedelta(hours=1)
    if heartbeat is None:
        heartbeat = dt.datetime.now(dt.UTC) if status == "running" else ended
    fields: dict[str, Any] = {"status": status, "heartbeat_at": heartbeat}
    if status != "running":
        fields["completed_at"] = ended
    store.update_run(rid, **fields)
    return rid


def beat(path: Any, run_id: str) -> None:
    """A fresh heartbeat for a running run, so it reads "running" however long ago it was seeded."""
    store = Store(path)
    try:
        store.heartbeat([run_id])
    finally:
        store.close()


def trace_bytes(market: Any, start: int, bars: int) -> tuple[bytes, dict[str, Any]]:
    """An encoded crossover trace over real candles and the raw trace dict."""
    tr = crossover_trace(market, start, bars)
    data = encode_trace(
        times=tr["times"], closes=tr["closes"], equity=tr["equity"], position=tr["position"],
        fills=tr["fills"], symbols=tr["symbols"], meta={"policy": "ma-crossover"},
    )
    return data, tr
