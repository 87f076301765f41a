"""`run_deploy`: a trained run's model trading on paper, one line per candle (``tradeready deploy``).

The run folder written by ``tradeready train`` gives the env id and keyword arguments (symbols,
timeframe, features, lookback, costs), the model and the observation-normalization statistics taken
with it (`tradeready_gym.pipeline.runs.load_agent`, the validation-best model by default). The live
env is built with those settings, so the model sees observations of the shape and scale it was
trained on. The session is recorded in the tracking store as a run with mode ``"paper"`` (heartbeat,
steps and the account summary after every candle), which the dashboard lists beside training runs.

Ctrl-C stops cleanly: an interrupted wait for a candle has stored nothing (a step is stored in one
transaction), the env and feed are closed and the tracked run is marked finished.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tradeready_gym.errors import ConfigError

__all__ = ["live_kwargs_from_run", "run_deploy"]

log = logging.getLogger(__name__)

_LIVE_KEYS = ("timeframe", "action_type", "starting_balance", "lookback_window", "observation_features",
              "reward_function", "fee_rate", "slippage", "equity_floor")
_DROP = ("symbol", "symbols", "pairs", "start_time", "end_time", "data", "data_dir", "download", "episode_length",
         "random_start", "track_training", "strategy_label", "api_key", "base_url", "render_mode")


def live_kwargs_from_run(env_id: str, env_kwargs: dict[str, Any]) -> dict[str, Any]:
    """`LiveTradingEnv` keyword arguments equivalent to a historical env id + kwargs."""
    import gymnasium as gym

    spec = gym.spec(env_id)
    kw = {**dict(spec.kwargs), **env_kwargs}
    symbols = kw.get("symbols") or kw.get("pairs") or [kw.get("symbol", "BTCUSDT")]
    if isinstance(symbols, str):
        symbols = [symbols]
    out: dict[str, Any] = {"symbols": list(symbols)}
    for k in _LIVE_KEYS:
        if k in kw:
            out[k] = kw[k]
    out.setdefault("timeframe", "1h")
    rest = {k: v for k, v in kw.items() if k not in _LIVE_KEYS and k not in _DROP}
    if rest:
        out["env_kwargs"] = rest
    return out


def _fmt_action(a: Any) -> str:
    arr = np.asarray(a)
    if arr.ndim == 0:
        return str(arr.item())
    return "[" + ", ".join(f"{float(x):.3f}" for x in arr.ravel()) + "]"


def run_deploy(
    run: str | Path,
    *,
    symbols: list[str] | None = None,
    timeframe: str | None = None,
    session: str | None = None,
    store: str | Path | None = None,
    ws_url: str | None = None,
    rest_url: str | None = None,
    speed: float = 1.0,
    max_steps: int | None = None,
    restart: bool = False,
    track: bool = True,
    which: str = "best",
    tracking_store: Any = None,
    feed_config: Any = None,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Trade a trained run's model on paper until ``max_steps`` candles or Ctrl-C.

    Returns a summary: session, run id of the tracked session, steps, equity, stop reason.
    """
    from tradeready_gym import __version__ as version
    from tradeready_gym.live.env import LiveTradingEnv
    from tradeready_gym.pipeline.runs import load_agent, read_run

    info_run = read_run(run)
    kw = live_kwargs_from_run(info_run.env_id, info_run.env_kwargs)
    if symbols:
        kw["symbols"] = list(symbols)
    if timeframe:
        kw["timeframe"] = timeframe
    if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1):
        raise ConfigError(f"steps={max_steps!r} is not allowed; allowed: an integer >= 1")
    env = LiveTradingEnv(
        **kw, binance_ws_url=ws_url, binance_rest_url=rest_url, speed=speed, feed_config=feed_config,
        session=session or f"deploy-{info_run.name.replace('/', '-')}", store=store,
        track_training=False,  # the session is tracked here, with the model's run
    )
    agent = load_agent(info_run, which)
    tracker = None
    run_id = str(uuid.uuid4())
    if track:
        from tradeready_gym.tracking.store import Store, default_store_path

        tracker = tracking_store if tracking_store is not None else Store(default_store_path())
        tracker.upsert_run({
            "id": run_id, "name": f"paper/{env.session}", "strategy_label": info_run.name, "mode": "paper",
            "status": "running", "env_id": "TradeReady-Live-v0", "algorithm": info_run.data.get("algorithm"),
            "seed": info_run.data.get("seed"), "library_version": version,
            "config": {"live": {k: v for k, v in env.settings.items() if k != "api_key"},
                       "source_run_id": info_run.run_id, "source_run_dir": str(info_run.path), "model": which},
        })
    steps = 0
    reason = "steps"
    summary: dict[str, Any] = {}
    try:
        obs, info = env.reset(options={"restart": True} if restart else None)
        echo(f"session {env.session}: {', '.join(env.symbols)} {env.timeframe}, equity {info['equity']:.2f}, "
             f"resumed at step {info['live']['step']} ({info['live']['offline_steps']} candles missed offline)")
        while max_steps is None or steps < max_steps:
            action = agent(obs[None])[0]
            obs, _, term, trunc, info = env.step(action)
            steps += 1
            fills = "; ".join(f"{f['side']} {f['quantity']:.6g} {f['symbol']} @ {f['price']:.8g}" for f in info["filled_orders"])
            lat = info["latency_ms"]
            echo(f"{info['virtual_time']}  action {_fmt_action(action)}  equity {info['equity']:.2f}  "
                 f"{fills or 'no fill'}  feed {info['feed']['state']}{' STALE' if info['feed']['stale'] else ''}  "
                 f"latency {'-' if lat is None else f'{lat:.1f}'} ms  kind {info['live']['kind']}")
            summary = {"equity": info["equity"], "roi_pct": (info["equity"] / env.settings["starting_balance"] - 1) * 100,
                       "fees": info["fees_paid"], "session_steps": info["live"]["step"],
                       "late_steps": info["live"]["late_steps"], "session": env.session}
            if tracker is not None:
                now = dt.datetime.now(dt.UTC)
                tracker.update_run(run_id, heartbeat_at=now, total_steps=steps, summary=summary)
            if term or trunc:
                reason = "episode ended (equity floor)"
                break
    except KeyboardInterrupt:
        reason = "interrupted"
        echo("stopped (Ctrl-C); the paper account is stored and resumes on the next deploy")
    finally:
        env.close()
        if tracker is not None:
            now = dt.datetime.now(dt.UTC)
            tracker.update_run(run_id, status="finished", completed_at=now, heartbeat_at=now, total_steps=steps,
                               summary={**summary, "stop_reason": reason})
    return {"session": env.session, "run_id": run_id if track else None, "steps": steps, "stop_reason": reason,
            **summary}
