"""Honest evaluation on a held-out period: the agent beside buy-and-hold, random policies and flat.

`evaluate_policy` runs a batch policy on ``[start, end)`` and reports, at zero fees and at the
configured costs, the agent, equal-weight buy-and-hold, ``random_seeds`` random policies (through
one native vector env: ``gymnasium.make_vec(env_id, num_envs=random_seeds)``) and staying flat;
metrics annualised for the bar size; trades per day and fees; the agent's percentile among the
random policies; the probabilistic and deflated Sharpe ratio with the number of configurations
tried (counted in the tracking store) and how often this test period was used; a stationary
bootstrap CI of the Sharpe difference to buy-and-hold; and a plain verdict line.

`evaluate_run` does the same for a run folder written by ``tradeready train`` and refuses a period
that overlaps the run's training or validation period, or comes closer to it than the purge gap
(default and minimum: the observation window, ``warmup_bars(features) + lookback_window`` bars),
unless ``force=True``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tradeready_gym.errors import ConfigError
from tradeready_gym.pipeline import stats as S
from tradeready_gym.pipeline.rollout import (
    Rollout,
    buy_and_hold_rollout,
    finite_or_none,
    flat_rollout,
    make_eval_vec_env,
    random_actions,
    run_policy,
)
from tradeready_gym.pipeline.runs import RunInfo, load_agent, read_run
from tradeready_gym.timeframes import format_iso, parse_time, periods_per_year, timeframe_ns
from tradeready_gym.validation import check_time_range

__all__ = [
    "EvalSettings",
    "Evaluation",
    "check_held_out",
    "evaluate_policy",
    "evaluate_run",
    "load_evaluation",
    "min_purge_bars",
    "verdict",
]

log = logging.getLogger(__name__)


@dataclass
class EvalSettings:
    """Settings of an evaluation (the ``evaluation:`` section of a training config).

    Attributes:
        random_seeds: random policies run (>= 100 by default; the agent's percentile is among them).
        bootstrap: stationary-bootstrap resamples of the Sharpe difference.
        bootstrap_block: mean block length in bars (None: ``round(n ** (1/3))``).
        confidence: level of the bootstrap interval.
        seed: seed of the random policies (env ``i`` draws with ``seed + i``) and of the bootstrap.
        purge_bars: gap between training/validation and test, in bars (None: the observation
            window; a smaller value is raised to it).
        deterministic: the agent acts greedily.
        significance: DSR threshold of a "significant" verdict.
    """

    random_seeds: int = 100
    bootstrap: int = 2000
    bootstrap_block: float | None = None
    confidence: float = 0.95
    seed: int = 0
    purge_bars: int | None = None
    deterministic: bool = True
    significance: float = 0.95

    def validate(self) -> EvalSettings:
        """Raise `ConfigError` naming a bad value; return self."""
        for name, lo in (("random_seeds", 1), ("bootstrap", 10)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ConfigError(f"evaluation.{name}={v!r} is not allowed; allowed: an integer >= {lo}")
        if not (0.0 < float(self.confidence) < 1.0):
            raise ConfigError(f"evaluation.confidence={self.confidence!r} is not allowed; allowed: 0 < confidence < 1")
        if not (0.0 < float(self.significance) < 1.0):
            raise ConfigError(f"evaluation.significance={self.significance!r} is not allowed; allowed: 0 < x < 1")
        if self.purge_bars is not None and (isinstance(self.purge_bars, bool) or int(self.purge_bars) < 0):
            raise ConfigError(f"evaluation.purge_bars={self.purge_bars!r} is not allowed; allowed: an integer >= 0")
        if self.bootstrap_block is not None and not float(self.bootstrap_block) >= 1:
            raise ConfigError(f"evaluation.bootstrap_block={self.bootstrap_block!r} is not allowed; allowed: >= 1")
        return self


@dataclass
class Evaluation:
    """Result of an evaluation: the JSON summary and the curves behind it."""

    summary: dict[str, Any]
    agent: dict[str, Rollout]
    random: dict[str, Rollout]
    buy_and_hold: dict[str, Rollout]
    flat: Rollout
    out_dir: Path | None = None
    files: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        """The summary as JSON."""
        return json.dumps(self.summary, indent=2)


# ---------------------------------------------------------------------------------------------- periods
def min_purge_bars(env_kwargs: dict[str, Any]) -> int:
    """The observation window in bars: ``warmup_bars(features) + lookback_window``."""
    from tradeready_gym.features import warmup_bars

    feats = env_kwargs.get("observation_features") or ["ohlcv"]
    scalars = {"balance", "position", "unrealized_pnl"}
    names = [f for f in feats if f not in scalars] or ["ohlcv"]
    return int(warmup_bars(names)) + int(env_kwargs.get("lookback_window", 30))


def check_held_out(
    test: tuple[Any, Any],
    used: Sequence[tuple[str, Any, Any]],
    *,
    purge_bars: int,
    timeframe: str,
    force: bool = False,
) -> list[str]:
    """Check that ``test`` keeps ``purge_bars`` bars away from every ``(label, start, end)`` in ``used``.

    Returns the problems found (empty when held out). Raises `ConfigError` listing them unless
    ``force``; with ``force`` they are returned (and logged) instead.
    """
    ts = parse_time(test[0], param="start")
    te = parse_time(test[1], param="end")
    check_time_range(test[0], test[1])  # the library's one range rule (start < end)
    gap = int(purge_bars) * timeframe_ns(timeframe)
    problems = []
    for label, s, e in used:
        us, ue = parse_time(s, param=f"{label}.start"), parse_time(e, param=f"{label}.end")
        if ts < ue + gap and us < te + gap:
            problems.append(
                f"the test period {format_iso(ts)} .. {format_iso(te)} overlaps the {label} period "
                f"{format_iso(us)} .. {format_iso(ue)} or lies within the purge gap of {purge_bars} bars "
                f"({timeframe}) of it"
            )
    if problems and not force:
        raise ConfigError(
            "; ".join(problems)
            + "; allowed: a test period after the training/validation end plus the purge gap "
            "(or force=True / --force to evaluate anyway, reported as not held out)"
        )
    for p in problems:
        log.warning("forced: %s", p)
    return problems


# ---------------------------------------------------------------------------------------------- store
def _open_store(store: Any) -> Any:
    if store is False:
        return None
    from tradeready_gym.tracking import Store

    return store if isinstance(store, Store) else Store(store)


def _store_counts(store: Any, env_id: str, ts: int, te: int, model_id: str | None) -> dict[str, Any]:
    """Configurations tried (train runs of ``env_id``) and earlier uses of this test period."""
    if store is None:
        return {"n_train_runs": 0, "period_uses": 0, "models_on_period": [], "trial_sharpes": []}
    trains = [r for r in store.list_runs(mode="train") if r.get("env_id") == env_id]
    evals = [r for r in store.list_runs(mode="eval") if r.get("env_id") == env_id]
    uses = 0
    latest: dict[str, float | None] = {}
    for r in sorted(evals, key=lambda r: r.get("created_at") or ""):
        cfg = r.get("config") or {}
        s, e = cfg.get("test_start_ns"), cfg.get("test_end_ns")
        if s is None or e is None or not (int(s) < te and ts < int(e)):
            continue
        uses += 1
        mid = cfg.get("model_run_id") or r["id"]
        latest[str(mid)] = (r.get("summary") or {}).get("agent_sharpe_per_bar")
    if model_id is not None:
        latest.pop(model_id, None)
    return {
        "n_train_runs": len(trains),
        "period_uses": uses,
        "models_on_period": sorted(latest),
        "trial_sharpes": [v for v in latest.values() if v is not None],
    }


# ---------------------------------------------------------------------------------------------- metrics
def _row(r: Rollout, j: int = 0) -> dict[str, Any]:
    m = S.annualized_metrics(r.equity[:, j], interval_ns=r.interval_ns)
    days = max(r.days, 1e-12)
    return {
        "roi_pct": m["total_return_pct"],
        "cagr_pct": m["cagr_pct"],
        "volatility_pct": m["volatility_pct"],
        "sharpe": m["sharpe"],
        "sortino": m["sortino"],
        "max_drawdown_pct": m["max_drawdown_pct"],
        "calmar": m["calmar"],
        "trades": int(r.n_trades[j]),
        "trades_per_day": float(r.n_trades[j]) / days,
        "fees": float(r.fees[j]),
        "final_equity": float(r.equity[-1, j]),
        "exposure_pct": 100.0 * float(np.mean(r.exposure[1:, j])) if r.n_bars else 0.0,
    }


def _random_summary(r: Rollout) -> dict[str, Any]:
    rows = [_row(r, j) for j in range(r.equity.shape[1])]
    out: dict[str, Any] = {"n_seeds": len(rows)}
    for key in ("roi_pct", "sharpe", "max_drawdown_pct", "trades_per_day", "fees"):
        vals = np.array([np.nan if x[key] is None else x[key] for x in rows], dtype=float)
        vals = vals[np.isfinite(vals)]
        out[key] = {
            "median": float(np.median(vals)) if vals.size else math.nan,
            "p05": float(np.quantile(vals, 0.05)) if vals.size else math.nan,
            "p95": float(np.quantile(vals, 0.95)) if vals.size else math.nan,
        }
    out["_roi"] = [x["roi_pct"] for x in rows]
    out["_sharpe"] = [x["sharpe"] for x in rows]
    return out


def verdict(summary: dict[str, Any]) -> str:
    """The plain verdict line of an evaluation summary.

    "Beats buy-and-hold" means a higher return over the test period at the configured costs;
    it is "significant" only when the bootstrap interval of the Sharpe difference lies above 0 and
    the deflated Sharpe ratio reaches the significance level.
    """
    a = summary["agent"]["costs"]
    b = summary["buy_and_hold"]["costs"]
    boot = summary["bootstrap_sharpe_diff"]
    dsr = summary["deflated_sharpe"]["dsr"]
    held = "" if summary["held_out"] else " (NOT held out: the period overlaps training)"
    pct = summary["random_percentile"]["roi"]
    pct_txt = "n/a" if pct is None else f"{pct:.0f}"
    if a["roi_pct"] is None or b["roi_pct"] is None or a["roi_pct"] <= b["roi_pct"]:
        return (
            f"Does not beat buy-and-hold out of sample after costs{held}: ROI {_pct(a['roi_pct'])} vs "
            f"{_pct(b['roi_pct'])}; random-policy percentile {pct_txt}."
        )
    sig = (boot["low"] is not None and boot["low"] > 0) and (dsr is not None and dsr >= summary["significance"])
    if sig:
        return (
            f"Beats buy-and-hold out of sample after costs{held}: ROI {_pct(a['roi_pct'])} vs {_pct(b['roi_pct'])}, "
            f"Sharpe difference CI [{boot['low']:.2f}, {boot['high']:.2f}], DSR {dsr:.2f}; random-policy percentile {pct_txt}."
        )
    dsr_txt = "n/a" if dsr is None else f"{dsr:.2f}"
    lo = "n/a" if boot["low"] is None else f"{boot['low']:.2f}"
    hi = "n/a" if boot["high"] is None else f"{boot['high']:.2f}"
    return (
        f"Higher return than buy-and-hold out of sample after costs{held} ({_pct(a['roi_pct'])} vs {_pct(b['roi_pct'])}), "
        f"but not significantly: Sharpe difference CI [{lo}, {hi}], DSR {dsr_txt}; random-policy percentile {pct_txt}."
    )


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.2f}%"


def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items() if not str(k).startswith("_")}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return finite_or_none(float(obj))
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


# ---------------------------------------------------------------------------------------------- evaluate
def evaluate_policy(
    policy: Callable[[np.ndarray], np.ndarray],
    env_id: str,
    env_kwargs: dict[str, Any],
    start: Any,
    end: Any,
    *,
    name: str = "agent",
    settings: EvalSettings | None = None,
    used_periods: Sequence[tuple[str, Any, Any]] = (),
    force: bool = False,
    store: Any = None,
    model_run_id: str | None = None,
    out_dir: str | Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> Evaluation:
    """Evaluate a batch policy on the held-out period ``[start, end)``.

    Args:
        policy: ``obs (N, D) -> actions`` (see `tradeready_gym.pipeline.runs.load_agent`).
        env_id: a registered TradeReady id.
        env_kwargs: the env's keyword arguments (costs, features, lookback, data, ...); ``start_time``,
            ``end_time``, ``random_start`` and ``episode_length`` are replaced.
        start, end: the test period (ISO 8601; ``end`` exclusive).
        name: label of the agent.
        settings: `EvalSettings`.
        used_periods: ``(label, start, end)`` periods the agent was trained or selected on.
        force: evaluate even if the period is not held out (reported as such).
        store: tracking store (a `Store`, a path/URL, None for the default, False for none): counts
            the configurations tried and the uses of this period, and records this evaluation.
        model_run_id: id of the evaluated training run (for the counts).
        out_dir: write ``evaluation.json`` and ``curves.npz`` there.
        progress: ``progress(label, done, total)`` callback.
    """
    st = (settings or EvalSettings()).validate()
    kw = dict(env_kwargs)
    timeframe = str(kw.get("timeframe", "1h"))
    interval = timeframe_ns(timeframe)
    floor = min_purge_bars(kw)
    purge = floor if st.purge_bars is None else max(int(st.purge_bars), floor)
    problems = check_held_out((start, end), used_periods, purge_bars=purge, timeframe=timeframe, force=force)
    ts, te = parse_time(start, param="start"), parse_time(end, param="end")
    kw["start_time"], kw["end_time"] = format_iso(ts), format_iso(te)
    zero = {**kw, "fee_rate": 0.0, "slippage": None}

    def prog(label: str) -> Callable[[int, int], None] | None:
        return None if progress is None else (lambda k, n: progress(label, k, n))

    agent: dict[str, Rollout] = {}
    rand: dict[str, Rollout] = {}
    bh: dict[str, Rollout] = {}
    market = None
    for label, kwargs in (("costs", kw), ("zero_fees", zero)):
        if market is not None:
            kwargs = {**kwargs, "data": market}
        venv = make_eval_vec_env(env_id, 1, kwargs, info_details=True)
        market = venv.feed.market
        agent[label] = run_policy(venv, policy, name=name, seed=st.seed, record_fills=True,
                                  progress=prog(f"agent ({label})"))
        bh[label] = buy_and_hold_rollout(venv, agent[label].n_bars)
        venv.close()
        rv = make_eval_vec_env(env_id, st.random_seeds, {**kwargs, "data": market})
        seeds = st.seed + np.arange(st.random_seeds)
        acts = random_actions(rv.single_action_space, agent[label].n_bars, seeds)
        rand[label] = run_policy(rv, acts, name="random", seed=st.seed, progress=prog(f"random x{st.random_seeds} ({label})"))
        rv.close()
    starting = float(kw.get("starting_balance", 10_000.0))
    flat = flat_rollout(agent["costs"], starting)

    ppy = periods_per_year(interval)
    a_ret = S.bar_returns(agent["costs"].equity[:, 0])
    b_ret = S.bar_returns(bh["costs"].equity[:, 0])
    db = _open_store(store)
    try:
        counts = _store_counts(db, env_id, ts, te, model_run_id)
        n_trials = max(1, counts["n_train_runs"], len(counts["models_on_period"]) + 1)
        sr_bar = S.sharpe_ratio(a_ret)
        trial_sharpes = counts["trial_sharpes"] + ([sr_bar] if math.isfinite(sr_bar) else [])
        dsr = S.deflated_sharpe_ratio(a_ret, n_trials, trial_sharpes if len(trial_sharpes) >= 2 else None)
        boot = S.bootstrap_sharpe_difference(
            a_ret, b_ret, ppy=ppy, n_boot=st.bootstrap, mean_block=st.bootstrap_block,
            confidence=st.confidence, seed=st.seed,
        )
        rs = {k: _random_summary(v) for k, v in rand.items()}
        a_row = {k: _row(v) for k, v in agent.items()}
        summary: dict[str, Any] = {
            "name": name,
            "env_id": env_id,
            "symbols": list(agent["costs"].symbols),
            "timeframe": timeframe,
            "periods_per_year": ppy,
            "test": {"start": format_iso(ts), "end": format_iso(te),
                     "first_decision": agent["costs"].times[0], "last_decision": agent["costs"].times[-1],
                     "bars": agent["costs"].n_bars, "days": agent["costs"].days},
            "held_out": not problems,
            "overlaps": problems,
            "purge_bars": purge,
            "costs": {"fee_rate": kw.get("fee_rate", 0.001), "slippage": kw.get("slippage")},
            "agent": a_row,
            "buy_and_hold": {k: _row(v) for k, v in bh.items()},
            "flat": {"costs": _row(flat), "zero_fees": _row(flat)},
            "random": rs,
            "random_percentile": {
                "roi": S.percentile_of(a_row["costs"]["roi_pct"], rs["costs"]["_roi"]),
                "sharpe": S.percentile_of(a_row["costs"]["sharpe"], rs["costs"]["_sharpe"]),
                "roi_zero_fees": S.percentile_of(a_row["zero_fees"]["roi_pct"], rs["zero_fees"]["_roi"]),
            },
            "psr": S.probabilistic_sharpe_ratio(a_ret),
            "deflated_sharpe": {**dsr, "n_train_runs": counts["n_train_runs"],
                                "models_on_period": len(counts["models_on_period"]) + 1},
            "test_period_uses": counts["period_uses"] + 1,
            "agent_sharpe_per_bar": sr_bar,
            "bootstrap_sharpe_diff": boot,
            "significance": st.significance,
            "settings": asdict(st),
            "model_run_id": model_run_id,
        }
        summary = _clean(summary)
        summary["verdict"] = verdict(summary)
        if db is not None:
            eval_id = str(uuid.uuid4())
            import tradeready_gym

            now = dt.datetime.now(dt.UTC)
            db.upsert_run({
                "id": eval_id, "name": f"eval {name}", "mode": "eval", "status": "finished", "env_id": env_id,
                "config": {"test_start_ns": ts, "test_end_ns": te, "test": summary["test"],
                           "model_run_id": model_run_id, "held_out": not problems,
                           "env_kwargs": {k: v for k, v in kw.items() if _jsonable(v) and k != "api_key"}},
                "summary": {"agent_sharpe_per_bar": finite_or_none(sr_bar),
                            "roi_pct": summary["agent"]["costs"]["roi_pct"],
                            "sharpe": summary["agent"]["costs"]["sharpe"],
                            "buy_hold_roi_pct": summary["buy_and_hold"]["costs"]["roi_pct"],
                            "dsr": summary["deflated_sharpe"]["dsr"], "verdict": summary["verdict"]},
                "library_version": tradeready_gym.__version__, "created_at": now, "completed_at": now,
                "heartbeat_at": now,
            })
            summary["eval_run_id"] = eval_id
    finally:
        if db is not None and db is not store:
            db.close()
    ev = Evaluation(summary, agent, rand, bh, flat)
    if out_dir is not None:
        save_evaluation(ev, out_dir)
    return ev


def _jsonable(v: Any) -> bool:
    try:
        json.dumps(v)
    except (TypeError, ValueError):
        return False
    return True


def save_evaluation(ev: Evaluation, out_dir: str | Path) -> Path:
    """Write ``evaluation.json`` and ``curves.npz`` (equity, exposure, closes, random band) to ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "evaluation.json").write_text(ev.to_json())
    arrays: dict[str, np.ndarray] = {}
    for label in ("costs", "zero_fees"):
        arrays[f"agent_{label}"] = ev.agent[label].equity[:, 0]
        arrays[f"bh_{label}"] = ev.buy_and_hold[label].equity[:, 0]
        q = np.quantile(ev.random[label].equity, [0.05, 0.5, 0.95], axis=1)
        arrays[f"random_{label}"] = q
    arrays["agent_exposure"] = ev.agent["costs"].exposure[:, 0]
    arrays["close"] = ev.agent["costs"].close
    arrays["times"] = np.array([str(t) for t in ev.agent["costs"].times])
    fills = ev.agent["costs"].fills[0] if ev.agent["costs"].fills else []
    arrays["fill_step"] = np.array([f["step"] for f in fills], dtype=np.int64)
    arrays["fill_side"] = np.array([1 if f["side"] == "buy" else -1 for f in fills], dtype=np.int64)
    arrays["fill_price"] = np.array([f["price"] for f in fills], dtype=np.float64)
    arrays["fill_symbol"] = np.array([str(f["symbol"]) for f in fills])
    np.savez_compressed(out / "curves.npz", **arrays)  # type: ignore[arg-type]
    ev.out_dir = out
    ev.files.update({"json": str(out / "evaluation.json"), "curves": str(out / "curves.npz")})
    return out


def load_evaluation(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read an evaluation folder (or a run folder: its latest evaluation): ``(summary, curves)``."""
    p = Path(path)
    if not (p / "evaluation.json").is_file():
        evals = sorted((p / "eval").glob("*/evaluation.json")) if (p / "eval").is_dir() else []
        if not evals:
            raise ConfigError(
                f"run={str(path)!r} has no evaluation; allowed: an evaluation folder or a run evaluated with "
                "`tradeready evaluate RUN`"
            )
        p = evals[-1].parent
    summary = json.loads((p / "evaluation.json").read_text())
    with np.load(p / "curves.npz", allow_pickle=False) as z:
        curves = {k: z[k] for k in z.files}
    summary["_dir"] = str(p)
    return summary, curves


def evaluate_run(
    run: str | Path | RunInfo,
    start: Any = None,
    end: Any = None,
    *,
    which: str = "best",
    force: bool = False,
    settings: EvalSettings | None = None,
    store: Any = None,
    out_dir: str | Path | None = None,
    data: Any = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> Evaluation:
    """Evaluate the model of a run folder on a held-out period.

    Args:
        run: a run folder written by ``tradeready train`` (or its `RunInfo`).
        start, end: the test period; default the run config's ``test`` period.
        which: ``"best"`` (default) or ``"final"`` model.
        force: evaluate even if the period overlaps training/validation (plus the purge gap).
        settings: `EvalSettings` (default: the run config's ``evaluation:`` section).
        store: tracking store (default: the one the run was tracked in).
        out_dir: output folder (default ``RUN/eval/<UTC stamp>``).
        data: candles instead of the cache (as the env's ``data=``).
        progress: ``progress(label, done, total)`` callback.
    """
    info = run if isinstance(run, RunInfo) else read_run(run)
    test = info.period("test")
    if start is None or end is None:
        if test is None:
            raise ConfigError(f"run={str(info.path)!r} has no test period in its config; allowed: give --start and --end")
        start = test[0] if start is None else start
        end = test[1] if end is None else end
    used = [(label, *p) for label in ("train", "validation") if (p := info.period(label)) is not None]
    if settings is None:
        settings = EvalSettings(**(info.data.get("evaluation") or {}))
    kwargs = info.env_kwargs
    if data is not None:
        kwargs["data"] = data
    if store is None:
        store = info.data.get("store")
    policy = load_agent(info, which, deterministic=settings.deterministic)
    if out_dir is None:
        out_dir = info.path / "eval" / dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return evaluate_policy(
        policy, info.env_id, kwargs, start, end, name=f"{info.name} ({which})", settings=settings,
        used_periods=used, force=force, store=store, model_run_id=info.run_id, out_dir=out_dir, progress=progress,
    )
