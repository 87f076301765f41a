"""Queries behind the dashboard's JSON API, over the tracking tables (`tradeready_gym.tracking.models`).

Every function takes an open SQLAlchemy `Session` and an ``account_id``: an ``int`` scopes every query
to that account (another account's run is "not found"), ``None`` means the local store (every run, as
the local store has no accounts). Results are plain JSON-able dicts; every chart series is downsampled
to at most ``max_points`` points, first and last point kept: episode curves by the database (min/max
buckets by episode number, `_episode_series_sql`), scalars and short series by `downsample.downsample`.

Results derived from a run's episodes (aggregates, best/worst, downsampled curves) are cached in
memory per run *version*: the run row's ``episodes_completed``, ``total_steps``, ``heartbeat_at``,
``completed_at`` and ``status``, which every writer (the local store and the platform) updates with
each episode. A finished run is computed once; a running one again after each change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import Any

import numpy as np
from sqlalchemy import BigInteger, Float, Select, and_, case, cast, extract, func, literal_column, or_, select
from sqlalchemy.orm import Session

from tradeready_gym.errors import ConfigError, TradeReadyError
from tradeready_gym.tracking.models import (
    STALE_AFTER_S,
    Episode,
    Run,
    Scalar,
    Trace,
    effective_status,
    utcnow,
)
from tradeready_platform.dashboard.downsample import MAX_POINTS, downsample

__all__ = [
    "EPISODE_METRICS",
    "EPISODE_SORT",
    "PALETTE",
    "SPARK_POINTS",
    "X_AXES",
    "NotFound",
    "clear_cache",
    "colour_of",
    "compare_runs",
    "episode_page",
    "episode_replay",
    "run_colours",
    "run_curves",
    "run_detail",
    "run_updates",
    "runs_list",
]

#: Episode columns that can be drawn as curves (name -> label).
EPISODE_METRICS: dict[str, str] = {
    "roi_pct": "ROI %",
    "sharpe": "Sharpe",
    "reward_sum": "Reward",
    "max_drawdown_pct": "Max drawdown %",
    "sortino": "Sortino",
    "buy_hold_roi_pct": "Buy-and-hold ROI %",
    "excess_roi_pct": "ROI - buy-and-hold %",
    "trades": "Trades",
    "fees": "Fees",
    "final_equity": "Final equity",
    "length": "Length",
}
#: x axes of episode curves: episode index, environment steps so far, wall-clock time (epoch seconds).
X_AXES = ("episode", "step", "time")
#: Points of the run list's ROI sparkline (bucket means).
SPARK_POINTS = 40
#: Okabe & Ito's colour-blind-safe palette (yellow left out: too pale on white).
PALETTE: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000")
#: Sortable columns of the episode table.
EPISODE_SORT = (
    "episode",
    "roi_pct",
    "sharpe",
    "sortino",
    "reward_sum",
    "max_drawdown_pct",
    "trades",
    "fees",
    "buy_hold_roi_pct",
    "final_equity",
    "length",
    "finished_at",
)
_MAX_PAGE_SIZE = 500
_MAX_COMPARE = 20
_MAX_WILDCARD_SCALARS = 6


class NotFound(TradeReadyError):
    """A run, episode or trace that does not exist (or belongs to another account)."""


class _LRU:
    """A small thread-safe least-recently-used cache."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            v = self._data.get(key)
            if v is not None:
                self._data.move_to_end(key)
            return v

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


#: Small results (list aggregates and sparklines, cards and best/worst): about 2 kB each.
_CACHE = _LRU(4096)
#: Downsampled curves: up to about 0.5 MB each (several series of 2,000 points), so fewer are kept.
_SERIES_CACHE = _LRU(64)


def clear_cache() -> None:
    """Forget every cached result (they are also replaced whenever a run's version changes)."""
    _CACHE.clear()
    _SERIES_CACHE.clear()


def _run_version(run: Run) -> tuple[Any, ...]:
    return (run.episodes_completed, run.total_steps, run.heartbeat_at, run.completed_at, run.status)


def _cache_key(session: Session, kind: str, run: Run, params: Any = None) -> tuple[Any, ...]:
    bind = session.get_bind()
    engine: Any = getattr(bind, "engine", bind)
    return (id(engine), str(engine.url), kind, run.id, _run_version(run), params)


# ---------------------------------------------------------------------------------------------- helpers
def _f(v: Any) -> float | None:
    if v is None:
        return None
    x = float(v)
    return x if math.isfinite(x) else None


def _iso(t: dt.datetime | None) -> str | None:
    if t is None:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _epoch(t: dt.datetime | None) -> float | None:
    if t is None:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.timestamp()


def _scoped(stmt: Select[Any], account_id: int | None) -> Select[Any]:
    return stmt if account_id is None else stmt.where(Run.account_id == account_id)


def _get_run(session: Session, run_id: str, account_id: int | None) -> Run:
    run = session.execute(_scoped(select(Run).where(Run.id == run_id), account_id)).scalar_one_or_none()
    if run is None:
        raise NotFound(f"run_id={run_id!r} not found")
    return run


def _check_max_points(max_points: int) -> int:
    if isinstance(max_points, bool) or not isinstance(max_points, int) or not 3 <= max_points <= MAX_POINTS:
        raise ConfigError(f"max_points={max_points!r} is invalid: allowed is an integer in [3, {MAX_POINTS}]")
    return max_points


def _target_steps(run: Run) -> int | None:
    for src in (run.hyperparams or {}, run.config or {}, run.summary or {}):
        for key in ("total_timesteps", "total_steps_target", "budget_steps"):
            v = src.get(key) if isinstance(src, dict) else None
            if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0:
                return int(v)
    return None


def _progress(run: Run, status: str) -> dict[str, Any]:
    target = _target_steps(run)
    frac: float | None = None
    if target:
        frac = min(1.0, (run.total_steps or 0) / target)
    if status == "finished":
        frac = 1.0
    return {
        "episodes": int(run.episodes_completed or 0),
        "steps": int(run.total_steps or 0),
        "target_steps": target,
        "fraction": frac,
    }


def _run_public(run: Run, now: dt.datetime) -> dict[str, Any]:
    status = effective_status(run.status, run.heartbeat_at, now=now, stale_after=STALE_AFTER_S)
    return {
        "id": run.id,
        "name": run.name,
        "strategy_label": run.strategy_label,
        "group_name": run.group_name,
        "seed": run.seed,
        "mode": run.mode,
        "status": status,
        "stored_status": run.status,
        "env_id": run.env_id,
        "algorithm": run.algorithm,
        "library_version": run.library_version,
        "created_at": _iso(run.created_at),
        "heartbeat_at": _iso(run.heartbeat_at),
        "completed_at": _iso(run.completed_at),
        "progress": _progress(run, status),
        "colour": colour_of(run.id),
    }


def colour_of(run_id: str) -> str:
    """The run's own colour: a hash of its id into `PALETTE` (stable across pages and reloads)."""
    h = int.from_bytes(hashlib.sha256(run_id.encode("utf-8")).digest()[:4], "big")
    return PALETTE[h % len(PALETTE)]


def _tint(colour: str, amount: float) -> str:
    """``colour`` mixed with white (``amount`` 0 = unchanged, 1 = white)."""
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c + (255 - c) * amount):02X}" for c in rgb)


def run_colours(run_ids: Sequence[str]) -> dict[str, str]:
    """Colours of a set of compared runs, each distinct and depending only on the set of ids.

    Runs are taken in sorted id order; each gets its own `colour_of` unless a run before it has that
    colour, then the next free palette colour. Past ``len(PALETTE)`` runs a second round starts with the
    palette tinted towards white (45 %, then 65 %, ...), with the same rule.
    """
    out: dict[str, str] = {}
    n = len(PALETTE)
    used: set[int] = set()
    for k, rid in enumerate(sorted(set(run_ids))):
        rnd = k // n
        if k % n == 0:
            used = set()
        start = PALETTE.index(colour_of(rid))
        slot = next((start + j) % n for j in range(n) if (start + j) % n not in used)
        used.add(slot)
        amount = 0.0 if rnd == 0 else min(0.85, 0.25 + 0.2 * rnd)
        out[rid] = PALETTE[slot] if rnd == 0 else _tint(PALETTE[slot], amount)
    return out


# ---------------------------------------------------------------------------------------------- runs list
def _run_stats(session: Session, run_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Per-run aggregates and the ROI sparkline, from one grouped pass over the episodes."""
    if not run_ids:
        return {}
    mx = (
        select(Episode.run_id.label("rid"), func.max(Episode.episode).label("mx"))
        .where(Episode.run_id.in_(run_ids))
        .group_by(Episode.run_id)
        .subquery()
    )
    bucket = ((Episode.episode - 1) * SPARK_POINTS) // case((mx.c.mx > 1, mx.c.mx), else_=1)
    stmt = (
        select(
            Episode.run_id,
            bucket.label("b"),
            func.count(Episode.roi_pct),
            func.sum(Episode.roi_pct),
            func.max(Episode.roi_pct),
            func.count(Episode.sharpe),
            func.sum(Episode.sharpe),
            func.count(Episode.buy_hold_roi_pct),
            func.sum(Episode.roi_pct - Episode.buy_hold_roi_pct),
            func.sum(case((Episode.roi_pct > Episode.buy_hold_roi_pct, 1), else_=0)),
            func.count(),
        )
        .join(mx, mx.c.rid == Episode.run_id)
        .group_by(Episode.run_id, "b")
    )
    acc: dict[str, dict[str, Any]] = {}
    for rid, b, n_roi, s_roi, m_roi, n_sh, s_sh, n_bh, s_ex, n_beat, n_all in session.execute(stmt):
        a = acc.setdefault(
            rid, {"n_roi": 0, "s_roi": 0.0, "best": None, "n_sh": 0, "s_sh": 0.0, "n_bh": 0, "s_ex": 0.0,
                  "beat": 0, "n": 0, "spark": {}}
        )
        a["n_roi"] += n_roi
        a["s_roi"] += s_roi or 0.0
        if m_roi is not None and (a["best"] is None or m_roi > a["best"]):
            a["best"] = m_roi
        a["n_sh"] += n_sh
        a["s_sh"] += s_sh or 0.0
        a["n_bh"] += n_bh
        a["s_ex"] += s_ex or 0.0
        a["beat"] += n_beat or 0
        a["n"] += n_all
        if n_roi:
            a["spark"][int(b)] = s_roi / n_roi
    out: dict[str, dict[str, Any]] = {}
    for rid, a in acc.items():
        spark = [_f(a["spark"][k]) for k in sorted(a["spark"])]
        out[rid] = {
            "episodes": a["n"],
            "best_roi_pct": _f(a["best"]),
            "avg_roi_pct": _f(a["s_roi"] / a["n_roi"]) if a["n_roi"] else None,
            "avg_sharpe": _f(a["s_sh"] / a["n_sh"]) if a["n_sh"] else None,
            "avg_excess_roi_pct": _f(a["s_ex"] / a["n_bh"]) if a["n_bh"] else None,
            "beat_buy_hold_frac": (a["beat"] / a["n_bh"]) if a["n_bh"] else None,
            "sparkline": spark,
        }
    return out


_EMPTY_STATS: dict[str, Any] = {
    "episodes": 0,
    "best_roi_pct": None,
    "avg_roi_pct": None,
    "avg_sharpe": None,
    "avg_excess_roi_pct": None,
    "beat_buy_hold_frac": None,
    "sparkline": [],
}


def _cached_run_stats(session: Session, runs: Sequence[Run]) -> dict[str, dict[str, Any]]:
    """`_run_stats` for ``runs``, computing only those whose version is not cached."""
    out: dict[str, dict[str, Any]] = {}
    missing: list[Run] = []
    for r in runs:
        hit = _CACHE.get(_cache_key(session, "stats", r))
        if hit is None:
            missing.append(r)
        else:
            out[r.id] = hit
    if missing:
        fresh = _run_stats(session, [r.id for r in missing])
        for r in missing:
            st = fresh.get(r.id, _EMPTY_STATS)
            _CACHE.put(_cache_key(session, "stats", r), st)
            out[r.id] = st
    return out


def runs_list(
    session: Session,
    account_id: int | None,
    *,
    label: str | None = None,
    since: str | None = None,
    limit: int = 1000,
) -> dict[str, Any]:
    """The run list: every run with status, progress, sparkline and ROI/Sharpe/buy-and-hold aggregates.

    Args:
        session: Open session.
        account_id: Account scope (``None``: the local store).
        label: Only runs with this ``strategy_label`` (``""`` or ``None``: all).
        since: A ``cursor`` of an earlier answer: only runs created, beating or completed at or after it
            (the pages poll with it and merge the rows).
        limit: Newest runs first, at most this many (1..10000).

    Returns:
        ``{"runs": [...], "labels": [...], "cursor": ISO time, "stale_after_s": float}``.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10000:
        raise ConfigError(f"limit={limit!r} is invalid: allowed is an integer in [1, 10000]")
    now = utcnow()
    stmt = _scoped(select(Run), account_id)
    if label:
        stmt = stmt.where(Run.strategy_label == label)
    if since:
        try:
            t = dt.datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(f"since={since!r} is invalid: allowed is an ISO-8601 time (a cursor)") from None
        if t.tzinfo is None:
            t = t.replace(tzinfo=dt.UTC)
        stmt = stmt.where(or_(Run.created_at >= t, Run.heartbeat_at >= t, Run.completed_at >= t))
    runs = list(session.execute(stmt.order_by(Run.created_at.desc()).limit(limit)).scalars())
    stats = _cached_run_stats(session, runs)
    rows = []
    for r in runs:
        d = _run_public(r, now)
        d.update(stats.get(r.id, _EMPTY_STATS))
        rows.append(d)
    labels = sorted(
        {
            v
            for (v,) in session.execute(
                _scoped(select(Run.strategy_label).distinct(), account_id).where(Run.strategy_label.is_not(None))
            )
        }
    )
    # the cursor is a little behind "now" so a row written while this query ran is sent again, not lost
    cursor = _iso(now - dt.timedelta(seconds=2))
    return {"runs": rows, "labels": labels, "cursor": cursor, "stale_after_s": STALE_AFTER_S, "now": _iso(now)}


# ---------------------------------------------------------------------------------------------- run detail
def _episode_row(e: Any, traced: set[int] | None = None) -> dict[str, Any]:
    roi, bh = _f(e.roi_pct), _f(e.buy_hold_roi_pct)
    row = {
        "episode": int(e.episode),
        "env_index": int(e.env_index or 0),
        "data_start": e.data_start,
        "data_end": e.data_end,
        "length": int(e.length or 0),
        "reward_sum": _f(e.reward_sum),
        "roi_pct": roi,
        "sharpe": _f(e.sharpe),
        "sortino": _f(e.sortino),
        "max_drawdown_pct": _f(e.max_drawdown_pct),
        "trades": e.trades,
        "fees": _f(e.fees),
        "buy_hold_roi_pct": bh,
        "excess_roi_pct": (roi - bh) if roi is not None and bh is not None else None,
        "final_equity": _f(e.final_equity),
        "terminated": bool(e.terminated),
        "truncated": bool(e.truncated),
        "wall_time_s": _f(e.wall_time_s),
        "global_step": e.global_step,
        "finished_at": _iso(e.finished_at),
    }
    if traced is not None:
        row["has_trace"] = int(e.episode) in traced
    return row


def _traced(session: Session, run_id: str) -> set[int]:
    return {int(v) for (v,) in session.execute(select(Trace.episode).where(Trace.run_id == run_id))}


def _episode_summary(session: Session, run_id: str, top: int) -> dict[str, Any]:
    """Aggregates of a run's episodes and its ``top`` best and worst episodes by ROI."""
    agg = session.execute(
        select(
            func.count(),
            func.max(Episode.roi_pct),
            func.avg(Episode.roi_pct),
            func.avg(Episode.sharpe),
            func.avg(Episode.roi_pct - Episode.buy_hold_roi_pct),
            func.max(Episode.max_drawdown_pct),
            func.sum(Episode.trades),
            func.sum(Episode.fees),
            func.max(Episode.episode),
            func.avg(Episode.reward_sum),
        ).where(Episode.run_id == run_id)
    ).one()
    last_n = 100
    last_avg = session.execute(
        select(func.avg(Episode.roi_pct)).where(
            Episode.run_id == run_id, Episode.episode > func.coalesce(agg[8], 0) - last_n
        )
    ).scalar_one()
    base = select(Episode).where(Episode.run_id == run_id, Episode.roi_pct.is_not(None))
    best = session.execute(base.order_by(Episode.roi_pct.desc(), Episode.episode).limit(top)).scalars()
    best_rows = [_episode_row(e) for e in best]
    worst = session.execute(base.order_by(Episode.roi_pct.asc(), Episode.episode).limit(top)).scalars()
    worst_rows = [_episode_row(e) for e in worst]
    return {
        "cards": {
            "episodes": int(agg[0]),
            "best_roi_pct": _f(agg[1]),
            "avg_roi_pct": _f(agg[2]),
            "avg_roi_pct_last_100": _f(last_avg),
            "avg_sharpe": _f(agg[3]),
            "avg_excess_roi_pct": _f(agg[4]),
            "worst_drawdown_pct": _f(agg[5]),
            "trades": int(agg[6]) if agg[6] is not None else 0,
            "fees": _f(agg[7]) or 0.0,
            "avg_reward": _f(agg[9]),
        },
        "best": best_rows,
        "worst": worst_rows,
        "cursor": int(agg[8] or 0),
    }


def run_detail(session: Session, account_id: int | None, run_id: str, *, top: int = 5) -> dict[str, Any]:
    """One run: its fields, summary cards, best and worst episodes, the metrics that can be drawn.

    Raises:
        NotFound: Unknown run (or another account's).
    """
    run = _get_run(session, run_id, account_id)
    now = utcnow()
    d = _run_public(run, now)
    d["config"] = run.config
    d["hyperparams"] = run.hyperparams
    d["summary"] = run.summary
    key = _cache_key(session, "summary", run, top)
    summary = _CACHE.get(key)
    if summary is None:
        summary = _episode_summary(session, run_id, top)
        _CACHE.put(key, summary)
    traced = _traced(session, run_id)
    d["cards"] = {**summary["cards"], "steps": int(run.total_steps or 0)}
    d["best_episodes"] = [{**e, "has_trace": e["episode"] in traced} for e in summary["best"]]
    d["worst_episodes"] = [{**e, "has_trace": e["episode"] in traced} for e in summary["worst"]]
    d["traced_episodes"] = sorted(traced)
    d["cursor"] = summary["cursor"]
    keys = [k for (k,) in session.execute(select(Scalar.key).where(Scalar.run_id == run_id).distinct())]
    d["metrics"] = [{"key": k, "label": v, "kind": "episode"} for k, v in EPISODE_METRICS.items()] + [
        {"key": "scalar:" + k, "label": k, "kind": "scalar"} for k in sorted(keys)
    ]
    return d


# ---------------------------------------------------------------------------------------------- curves
def _check_x(x: str) -> str:
    if x not in X_AXES:
        raise ConfigError(f"x={x!r} is invalid: allowed are {', '.join(X_AXES)}")
    return x


def _metric_column(key: str) -> Any:
    if key == "excess_roi_pct":
        return Episode.roi_pct - Episode.buy_hold_roi_pct
    return getattr(Episode, key)


def _check_metrics(metrics: Iterable[str]) -> list[str]:
    out = []
    for m in metrics:
        if m not in EPISODE_METRICS and not m.startswith("scalar:"):
            allowed = ", ".join(EPISODE_METRICS)
            raise ConfigError(f"metric={m!r} is unknown: allowed are {allowed} or 'scalar:<key>'")
        out.append(m)
    if not out:
        raise ConfigError("metrics=[] is invalid: allowed is at least one metric")
    return out


def _epoch_column(session: Session) -> Any:
    """``finished_at`` as epoch seconds, computed by the database (no datetime objects per row)."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(Episode.finished_at) - 2440587.5) * 86400.0
    return cast(extract("epoch", Episode.finished_at), Float)


def _column(rows: Sequence[Any], j: int) -> np.ndarray:
    return np.fromiter((math.nan if r[j] is None else r[j] for r in rows), dtype=np.float64, count=len(rows))


def _episode_series_rows(
    session: Session, run_id: str, metrics: list[str], x: str, max_points: int
) -> dict[str, dict[str, Any]]:
    em = [m for m in metrics if not m.startswith("scalar:")]
    out: dict[str, dict[str, Any]] = {}
    if em:
        xcol: Any = {"episode": Episode.episode, "step": Episode.global_step, "time": _epoch_column(session)}[x]
        cols = [xcol] + [_metric_column(m) for m in em]
        stmt = select(*cols).where(Episode.run_id == run_id).order_by(Episode.episode)
        rows = session.execute(stmt).all()
        xa = _column(rows, 0)
        if x == "time":  # whole milliseconds, as stored
            xa = np.round(xa, 3)
        keep = np.isfinite(xa)
        order = np.flatnonzero(keep)
        if x != "episode" and len(order) > 1 and np.any(np.diff(xa[order]) < 0):
            order = order[np.argsort(xa[order], kind="stable")]
        for j, m in enumerate(em, start=1):
            ya = _column(rows, j)
            sx, sy = downsample(xa[order], ya[order], max_points)
            out[m] = {"x": sx, "y": sy, "n": len(rows)}
    for m in metrics:
        if not m.startswith("scalar:"):
            continue
        key = m[len("scalar:") :]
        srows = session.execute(
            select(Scalar.step, Scalar.wall_time, Scalar.value)
            .where(Scalar.run_id == run_id, Scalar.key == key)
            .order_by(Scalar.step)
        ).all()
        if x == "time":
            pairs = sorted((float(r[1]), r[2]) for r in srows if r[1] is not None)
        else:  # scalars are logged against environment steps; the episode axis shows them by step too
            pairs = [(float(r[0]), r[2]) for r in srows]
        sx, sy = downsample([p[0] for p in pairs], [p[1] for p in pairs], max_points)
        out[m] = {"x": sx, "y": sy, "n": len(pairs), "x_kind": "time" if x == "time" else "step"}
    return out


def _x_column(session: Session, x: str) -> Any:
    return {"episode": Episode.episode, "step": Episode.global_step, "time": _epoch_column(session)}[x]


def _finish_points(
    pts: dict[int, float], xs: dict[int, float] | None, x: str
) -> tuple[list[float], list[float | None]]:
    """Kept points ``{episode: y}`` as x/y lists: x from ``xs`` (None: the episode), in x order."""
    eps = sorted(e for e, v in pts.items() if math.isfinite(v) and (xs is None or e in xs))
    xv = [float(e) if xs is None else xs[e] for e in eps]
    if x == "time":  # whole milliseconds, as stored
        xv = [round(v, 3) for v in xv]
    yv: list[float | None] = [float(pts[e]) for e in eps]
    if x != "episode" and any(b < a for a, b in pairwise(xv)):
        order = sorted(range(len(xv)), key=xv.__getitem__)
        xv, yv = [xv[i] for i in order], [yv[i] for i in order]
    return xv, yv


def _episode_series_sql(
    session: Session, run_id: str, metrics: list[str], x: str, max_points: int
) -> dict[str, dict[str, Any]]:
    """Episode curves downsampled by the database: min/max buckets by episode number, first and last kept.

    The episodes strictly between the first and the last one (of those with an ``x`` value) are cut into
    ``(max_points - 2) // 2`` buckets by episode number; one grouped query finds each bucket's lowest and
    highest value of every metric (and its first and last episode), a second one, joining each bucket's
    episode range of the primary key, the first episode holding each bucket's minimum and the last one
    holding its maximum. Python only handles the kept points (O(buckets)), so a first visit of a
    long run costs two grouped scans of its primary-key range, never a transfer of every row. For
    contiguous episode numbers this keeps exactly the points of `downsample.minmax_indices`.
    """
    xcol = _x_column(session, x)
    has_x = {"episode": Episode.episode, "step": Episode.global_step, "time": Episode.finished_at}[x].is_not(None)
    # (answered from the primary-key index alone)
    n_all, lo, hi = session.execute(
        select(func.count(), func.min(Episode.episode), func.max(Episode.episode)).where(Episode.run_id == run_id)
    ).one()
    if n_all <= max_points:  # short: every row (at most max_points) through the row-based path
        rows = _episode_series_rows(session, run_id, metrics, x, max_points)
        for v in rows.values():
            v["n"] = int(n_all)
        return rows
    if max_points < 4:
        raise ConfigError(f"max_points={max_points!r} is invalid: allowed is an integer >= 4")
    lo, hi = int(lo), int(hi)
    nb, inner = (max_points - 2) // 2, hi - lo - 1
    ycols = [_metric_column(m) for m in metrics]
    # integers written into the SQL (all computed here), so the bucket expression is the same text
    # wherever it appears (PostgreSQL matches GROUP BY expressions textually)
    def lit(v: int) -> Any:
        return literal_column(str(int(v)), BigInteger)

    bucket = ((cast(Episode.episode, BigInteger) - lit(lo + 1)) * lit(nb)) // lit(inner)
    where = [Episode.run_id == run_id, Episode.episode > lo, Episode.episode < hi, has_x]
    agg_cols: list[Any] = [bucket.label("b"), func.min(Episode.episode).label("lo_b"),
                           func.max(Episode.episode).label("hi_b")]
    for j, c in enumerate(ycols):
        agg_cols += [func.min(c).label(f"mn{j}"), func.max(c).label(f"mx{j}")]
    agg = select(*agg_cols).where(*where).group_by(literal_column("b")).cte("buckets")
    sel: list[Any] = [agg.c.b]
    hit = []
    for j, c in enumerate(ycols):
        mn, mx = agg.c[f"mn{j}"], agg.c[f"mx{j}"]
        sel += [
            func.min(mn),
            func.max(mx),
            func.min(case((c == mn, Episode.episode))),
            func.max(case((c == mx, Episode.episode))),
        ]
        hit += [c == mn, c == mx]
    stmt = (
        select(*sel)
        .select_from(Episode)
        # each bucket is a range of the primary key: joined by range, not by recomputing every row's bucket
        .join(agg, and_(Episode.episode >= agg.c.lo_b, Episode.episode <= agg.c.hi_b))
        .where(Episode.run_id == run_id, has_x, or_(*hit))
        .group_by(agg.c.b)
    )
    pts: list[dict[int, float]] = [{} for _ in metrics]
    for row in session.execute(stmt):
        for j in range(len(metrics)):
            mn, mx, e_mn, e_mx = row[1 + 4 * j : 5 + 4 * j]
            if e_mn is not None and mn is not None:
                pts[j][int(e_mn)] = float(mn)
            if e_mx is not None and mx is not None:
                pts[j][int(e_mx)] = float(mx)
    # the first and the last episode; a metric missing there keeps its first/last episode that has it
    at_ends: dict[int, tuple[Any, ...]] = {
        int(e): tuple(ys)
        for e, *ys in session.execute(
            select(Episode.episode, *ycols).where(Episode.run_id == run_id, Episode.episode.in_([lo, hi]), has_x)
        )
    }
    for j, c in enumerate(ycols):
        for e, order in ((lo, Episode.episode.asc()), (hi, Episode.episode.desc())):
            v = at_ends.get(e, (None,) * len(ycols))[j]
            if v is not None:
                pts[j][e] = float(v)
                continue
            r = session.execute(
                select(Episode.episode, c).where(Episode.run_id == run_id, has_x, c.is_not(None)).order_by(order).limit(1)
            ).first()
            if r is not None:
                pts[j][int(r[0])] = float(r[1])
    xs: dict[int, float] | None = None
    if x != "episode":
        eps = sorted(set().union(*(p.keys() for p in pts)))
        xs = {}
        for k in range(0, len(eps), 5000):
            chunk = eps[k : k + 5000]
            for e, xv in session.execute(select(Episode.episode, xcol).where(Episode.run_id == run_id,
                                                                             Episode.episode.in_(chunk))):
                if xv is not None:
                    xs[int(e)] = float(xv)
    out: dict[str, dict[str, Any]] = {}
    for j, m in enumerate(metrics):
        sx, sy = _finish_points(pts[j], xs, x)
        out[m] = {"x": sx, "y": sy, "n": int(n_all)}
    return out


def _cached_episode_series(
    session: Session, run: Run, metrics: list[str], x: str, max_points: int
) -> dict[str, dict[str, Any]]:
    """`_episode_series` with the episode-derived series cached per run version (scalars always fresh)."""
    em = tuple(m for m in metrics if not m.startswith("scalar:"))
    sm = [m for m in metrics if m.startswith("scalar:")]
    out: dict[str, dict[str, Any]] = {}
    if em:
        key = _cache_key(session, "series", run, (em, x, max_points))
        hit = _SERIES_CACHE.get(key)
        if hit is None:
            hit = _episode_series_sql(session, run.id, list(em), x, max_points)
            _SERIES_CACHE.put(key, hit)
        out.update(hit)
    if sm:
        out.update(_episode_series_rows(session, run.id, sm, x, max_points))
    return out


def run_curves(
    session: Session,
    account_id: int | None,
    run_id: str,
    *,
    metrics: Sequence[str] = ("roi_pct",),
    x: str = "episode",
    max_points: int = MAX_POINTS,
) -> dict[str, Any]:
    """Learning curves of one run, each downsampled to at most ``max_points`` points.

    Args:
        metrics: Episode columns of `EPISODE_METRICS` and/or ``"scalar:<key>"`` training scalars;
            ``"scalar:*"`` stands for the run's scalars (the first six keys in sorted order).
        x: ``"episode"``, ``"step"`` (the episode's ``global_step``) or ``"time"`` (finish time, epoch s).
            Scalars use their step on the episode and step axes and their wall time on the time axis.
        max_points: Cap per series (3..2000).

    Returns:
        ``{"run_id", "x", "series": {metric: {"x": [...], "y": [...], "n": raw length}}, "cursor"}``.
    """
    run = _get_run(session, run_id, account_id)
    x = _check_x(x)
    ms = _check_metrics(metrics)
    _check_max_points(max_points)
    if "scalar:*" in ms:
        keys = session.execute(select(Scalar.key).where(Scalar.run_id == run_id).distinct()).scalars()
        extra = ["scalar:" + k for k in sorted(keys)[:_MAX_WILDCARD_SCALARS]]
        ms = list(dict.fromkeys([m for m in ms if m != "scalar:*"] + extra))
    series = _cached_episode_series(session, run, ms, x, max_points)
    cursor = session.execute(select(func.max(Episode.episode)).where(Episode.run_id == run_id)).scalar_one()
    return {"run_id": run_id, "x": x, "series": series, "cursor": int(cursor or 0), "max_points": max_points}


def run_updates(
    session: Session,
    account_id: int | None,
    run_id: str,
    *,
    after: int,
    limit: int = 2000,
) -> dict[str, Any]:
    """What a run page needs to go live: the run's status/progress and the episodes after ``after``.

    Args:
        after: The ``cursor`` (highest episode number) the page already has.
        limit: At most this many new episodes (oldest first); more means the page reloads its curves.

    Returns:
        ``{"run": {...}, "episodes": [rows], "cursor": int, "more": bool}``.
    """
    if isinstance(after, bool) or not isinstance(after, int) or after < 0:
        raise ConfigError(f"after={after!r} is invalid: allowed is an integer >= 0 (a cursor)")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10000:
        raise ConfigError(f"limit={limit!r} is invalid: allowed is an integer in [1, 10000]")
    run = _get_run(session, run_id, account_id)
    rows = list(
        session.execute(
            select(Episode)
            .where(Episode.run_id == run_id, Episode.episode > after)
            .order_by(Episode.episode)
            .limit(limit + 1)
        ).scalars()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    eps = [_episode_row(e) for e in rows]
    for r, e in zip(eps, rows, strict=True):
        r["time"] = _epoch(e.finished_at)
    cursor = eps[-1]["episode"] if eps else after
    return {"run": _run_public(run, utcnow()), "episodes": eps, "cursor": cursor, "more": more}


# ---------------------------------------------------------------------------------------------- episodes
def episode_page(
    session: Session,
    account_id: int | None,
    run_id: str,
    *,
    page: int = 1,
    page_size: int = 50,
    q: str = "",
    sort: str = "episode",
    order: str = "desc",
) -> dict[str, Any]:
    """One page of a run's episode table.

    Args:
        page: 1-based page number.
        page_size: Rows per page (1..500).
        q: Search text: a number matches that episode number; any text matches the data start/end
            (e.g. ``2024-03``); ``env:N`` matches the vector-env index.
        sort: A column of `EPISODE_SORT`.
        order: ``"asc"`` or ``"desc"``.

    Returns:
        ``{"rows": [...], "total": int, "page": int, "page_size": int, "pages": int}``.
    """
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise ConfigError(f"page={page!r} is invalid: allowed is an integer >= 1")
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= _MAX_PAGE_SIZE:
        raise ConfigError(f"page_size={page_size!r} is invalid: allowed is an integer in [1, {_MAX_PAGE_SIZE}]")
    if sort not in EPISODE_SORT:
        raise ConfigError(f"sort={sort!r} is invalid: allowed are {', '.join(EPISODE_SORT)}")
    if order not in ("asc", "desc"):
        raise ConfigError(f"order={order!r} is invalid: allowed are 'asc', 'desc'")
    _get_run(session, run_id, account_id)
    cond: list[Any] = [Episode.run_id == run_id]
    q = (q or "").strip()
    if q:
        if q.isdigit():
            cond.append(or_(Episode.episode == int(q), Episode.data_start.contains(q), Episode.data_end.contains(q)))
        elif q.lower().startswith("env:") and q[4:].strip().isdigit():
            cond.append(Episode.env_index == int(q[4:].strip()))
        else:
            cond.append(or_(Episode.data_start.contains(q), Episode.data_end.contains(q)))
    total = int(session.execute(select(func.count()).select_from(Episode).where(*cond)).scalar_one())
    col = getattr(Episode, sort)
    tie = Episode.episode.desc() if order == "desc" else Episode.episode.asc()
    if sort == "episode":  # the primary key: walked in index order, no sort
        stmt = select(Episode).where(*cond).order_by(tie)
    else:  # missing values last in both directions
        key = col.desc() if order == "desc" else col.asc()
        stmt = select(Episode).where(*cond).order_by(key.nulls_last(), tie)
    rows = session.execute(stmt.offset((page - 1) * page_size).limit(page_size)).scalars()
    traced = _traced(session, run_id)
    return {
        "rows": [_episode_row(e, traced) for e in rows],
        "total": total,
        "page": page,
        "page_size": page_size,
        "pages": max(1, math.ceil(total / page_size)),
        "sort": sort,
        "order": order,
        "q": q,
    }


# ---------------------------------------------------------------------------------------------- compare
def compare_runs(
    session: Session,
    account_id: int | None,
    run_ids: Sequence[str],
    *,
    metric: str = "roi_pct",
    x: str = "episode",
    max_points: int = MAX_POINTS,
) -> dict[str, Any]:
    """Several runs side by side: one curve per run (own colour, see `run_colours`) and a metrics table.

    Raises:
        ConfigError: No ids, more than 20, or a bad metric/axis.
        NotFound: Any id unknown (or another account's).
    """
    ids = list(dict.fromkeys(i for i in run_ids if i))
    if not ids:
        raise ConfigError("ids=[] is invalid: allowed are 1 to 20 run ids, comma separated")
    if len(ids) > _MAX_COMPARE:
        raise ConfigError(f"ids has {len(ids)} runs: allowed are at most {_MAX_COMPARE}")
    x = _check_x(x)
    (m,) = _check_metrics([metric])
    if m == "scalar:*":
        raise ConfigError("metric='scalar:*' is invalid here: allowed is one metric, e.g. 'roi_pct' or 'scalar:train/loss'")
    _check_max_points(max_points)
    now = utcnow()
    runs = {r.id: r for r in session.execute(_scoped(select(Run).where(Run.id.in_(ids)), account_id)).scalars()}
    missing = [i for i in ids if i not in runs]
    if missing:
        raise NotFound(f"run_id={missing[0]!r} not found")
    colours = run_colours(ids)
    stats = _cached_run_stats(session, [runs[i] for i in ids])
    out_runs = []
    for rid in ids:
        d = _run_public(runs[rid], now)
        d.update(stats.get(rid, _EMPTY_STATS))
        d["colour"] = colours[rid]
        s = _cached_episode_series(session, runs[rid], [m], x, max_points)[m]
        d["series"] = s
        out_runs.append(d)
    return {"metric": m, "x": x, "runs": out_runs, "max_points": max_points}


# ---------------------------------------------------------------------------------------------- replay
def _find_key(obj: Any, key: str, depth: int = 0) -> Any:
    if depth > 4:
        return None
    if isinstance(obj, dict):
        if key in obj and obj[key] is not None:
            return obj[key]
        for v in obj.values():
            r = _find_key(v, key, depth + 1)
            if r is not None:
                return r
    if isinstance(obj, list):
        for v in obj:
            r = _find_key(v, key, depth + 1)
            if r is not None:
                return r
    return None


def _time_ns(v: Any) -> int:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return int(v)
    t = dt.datetime.fromisoformat(str(v).replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return round(t.timestamp() * 1_000_000) * 1000


def _ohlc_from_cache(
    cache_dir: str | None, symbol: str, timeframe: str, close_times: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Open/high/low/close of the bars that close at ``close_times`` from the candle cache, if all are there."""
    from tradeready_gym.data.cache import CandleCache
    from tradeready_gym.timeframes import timeframe_ns

    try:
        step = timeframe_ns(timeframe)
        cache = CandleCache(cache_dir)
        opens = close_times - step
        md = cache.read(symbol, timeframe, int(opens.min()), int(opens.max()) + 1)
    except (TradeReadyError, OSError, ValueError):
        return None
    idx = np.searchsorted(md.open_time, opens)
    if np.any(idx >= md.n_bars) or np.any(md.open_time[np.minimum(idx, md.n_bars - 1)] != opens):
        return None
    return (
        np.asarray(md.open[idx, 0], dtype=np.float64),
        np.asarray(md.high[idx, 0], dtype=np.float64),
        np.asarray(md.low[idx, 0], dtype=np.float64),
        np.asarray(md.close[idx, 0], dtype=np.float64),
    )


def _bucket_candles(
    t: np.ndarray, o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray, max_points: int
) -> tuple[np.ndarray, ...]:
    """Merge consecutive bars into at most ``max_points`` candles (first open, max high, min low, last close)."""
    n = len(t)
    edges = np.linspace(0, n, max_points + 1).astype(np.int64)
    edges = np.unique(edges)
    starts, ends = edges[:-1], edges[1:] - 1
    return (
        t[ends],
        o[starts],
        np.maximum.reduceat(h, starts),
        np.minimum.reduceat(lo, starts),
        c[ends],
        ends,
    )


def episode_replay(
    session: Session,
    account_id: int | None,
    run_id: str,
    episode: int,
    *,
    symbol: str | None = None,
    cache_dir: str | None = None,
    max_points: int = MAX_POINTS,
) -> dict[str, Any]:
    """The replay of one traced episode: candles, fills, equity against buy-and-hold, position.

    Candles: one per decision bar of the trace (times are bar close times, in epoch seconds). Open, high and
    low come from the local candle cache when it holds every bar of the episode for the run's
    ``timeframe``; otherwise each candle runs from the previous decision's close to this one's
    (``"ohlc_source": "closes"``). An episode longer than ``max_points`` bars has its bars merged into
    ``max_points`` candles (and its lines downsampled the same way); fills are never merged. A fill is
    drawn on the first candle after its ``time`` (the time of the decision that sent it; it executed at
    the next bar's open), as the trace's positions count it.

    Buy-and-hold: the starting equity invested in equal parts in every symbol at the first close.

    Raises:
        NotFound: Unknown run or no stored trace for ``episode``.
    """
    run = _get_run(session, run_id, account_id)
    _check_max_points(max_points)
    tr = session.execute(select(Trace).where(Trace.run_id == run_id, Trace.episode == episode)).scalar_one_or_none()
    if tr is None:
        raise NotFound(f"episode={episode!r} of run_id={run_id!r} has no stored trace")
    from tradeready_gym.tracking.traces import decode_trace

    data = decode_trace(tr.data)
    symbols: list[str] = list(data["symbols"]) or ["?"]
    if symbol is None:
        symbol = symbols[0]
    if symbol not in symbols:
        raise ConfigError(f"symbol={symbol!r} is not in this trace: allowed are {', '.join(symbols)}")
    j = symbols.index(symbol)
    times_ns = np.asarray(data["times"], dtype=np.int64)
    closes_all = np.asarray(data["closes"], dtype=np.float64).reshape(len(times_ns), -1)
    closes = closes_all[:, j]
    equity = np.asarray(data["equity"], dtype=np.float64)
    position = np.asarray(data["position"], dtype=np.float64).reshape(len(times_ns), -1)[:, j]
    timeframe = _find_key(run.config or {}, "timeframe")
    ohlc = None
    if isinstance(timeframe, str) and len(times_ns):
        ohlc = _ohlc_from_cache(cache_dir, symbol, timeframe, times_ns)
    if ohlc is not None and np.allclose(ohlc[3], closes, rtol=1e-9, atol=0):
        o, h, lo, c = ohlc
        source = "cache"
    else:
        o = np.concatenate([closes[:1], closes[:-1]])
        h, lo, c = np.maximum(o, closes), np.minimum(o, closes), closes
        source = "closes"
    n = len(times_ns)
    bh = np.full(n, np.nan)
    if n and np.all(closes_all[0] > 0):
        bh = equity[0] * np.mean(closes_all / closes_all[0], axis=1)
    ts = times_ns / 1e9
    merged = n > max_points
    if merged:
        ts_c, o, h, lo, c, ends = _bucket_candles(ts, o, h, lo, c, max_points)
        eq_s, bh_s, pos_s = equity[ends], bh[ends], position[ends]
    else:
        ts_c, eq_s, bh_s, pos_s = ts, equity, bh, position
    fills = []
    for f in data["fills"]:
        if str(f.get("symbol", symbol)) != symbol and len(symbols) > 1:
            continue
        try:
            tf = _time_ns(f.get("time"))
        except (TypeError, ValueError):
            continue
        # a fill carries the time of the decision that sent it and executes at the next bar's open
        # (the tracker's positions_from_fills(side="right")): its candle is the first bar after that time
        k = int(np.searchsorted(times_ns, tf, side="right"))
        k = min(k, n - 1)
        fills.append(
            {
                "time": float(times_ns[k]) / 1e9 if n else None,
                "fill_time": f.get("time"),
                "side": str(f.get("side")),
                "price": _f(f.get("price")),
                "quantity": _f(f.get("quantity")),
                "fee": _f(f.get("fee")),
            }
        )
    if merged:  # move each fill onto the merged candle that holds its bar
        for fl in fills:
            if fl["time"] is not None:
                k = int(np.searchsorted(ts_c, fl["time"], side="left"))
                fl["time"] = float(ts_c[min(k, len(ts_c) - 1)])
    return {
        "run_id": run_id,
        "run_name": run.name,
        "episode": episode,
        "symbol": symbol,
        "symbols": symbols,
        "reasons": tr.reasons,
        "meta": data["meta"],
        "bars": n,
        "merged": merged,
        "ohlc_source": source,
        "time": [float(v) for v in ts_c],
        "open": [_f(v) for v in o],
        "high": [_f(v) for v in h],
        "low": [_f(v) for v in lo],
        "close": [_f(v) for v in c],
        "equity": [_f(v) for v in eq_s],
        "buy_hold": [_f(v) for v in bh_s],
        "position": [_f(v) for v in pos_s],
        "fills": fills,
    }

