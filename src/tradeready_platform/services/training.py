"""Training runs on the tracking tables (`tradeready_gym.tracking.models`), scoped by account.

* Register is idempotent: an existing ``run_id`` of the same account answers 200 with the run as it
  is (a new one 201); a ``run_id`` held by another account is 404 ``TRAINING_RUN_NOT_FOUND``, like
  every other access to another account's run.
* Episodes are upserted on ``(run_id, episode_number)``; ``episodes_completed`` is the number of
  distinct episodes stored, so a repeated report changes nothing. An unknown run is 404.
* Complete sets ``status="finished"`` and stores ``aggregate_stats`` in the run's ``summary``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

from tradeready_gym.tracking.models import Episode, Run, Scalar, Trace, effective_status, utcnow
from tradeready_platform.db import Database
from tradeready_platform.errors import ApiError

__all__ = ["CURVE_METRICS", "TrainingService"]

#: Learning-curve metric names -> episode columns (the original's names are aliases).
CURVE_METRICS: dict[str, str] = {
    "roi_pct": "roi_pct",
    "sharpe": "sharpe",
    "sharpe_ratio": "sharpe",
    "sortino": "sortino",
    "sortino_ratio": "sortino",
    "max_drawdown_pct": "max_drawdown_pct",
    "reward_sum": "reward_sum",
    "trades": "trades",
    "total_trades": "trades",
    "fees": "fees",
    "final_equity": "final_equity",
    "buy_hold_roi_pct": "buy_hold_roi_pct",
    "length": "length",
}

_EPISODE_FIELDS = (
    "env_index", "data_start", "data_end", "length", "reward_sum", "roi_pct", "sharpe", "sortino",
    "max_drawdown_pct", "trades", "fees", "buy_hold_roi_pct", "final_equity", "terminated", "truncated",
    "wall_time_s", "global_step",
)
_RUN_FIELDS = (
    "name", "strategy_label", "group_name", "seed", "mode", "env_id", "algorithm", "hyperparams",
    "library_version",
)


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _not_found(run_id: str) -> ApiError:
    return ApiError(404, "TRAINING_RUN_NOT_FOUND", f"training run {run_id!r} not found")


def _stats(values: Sequence[float | None]) -> dict[str, float | None]:
    xs = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not xs:
        return {"mean": None, "best": None, "worst": None, "last": None}
    return {"mean": sum(xs) / len(xs), "best": max(xs), "worst": min(xs), "last": xs[-1]}


class TrainingService:
    """Reads and writes training runs for the routers."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _owned(s: DbSession, account_id: int, run_id: str) -> Run:
        run = s.get(Run, run_id)
        if run is None or run.account_id != account_id:
            raise _not_found(run_id)
        return run

    @staticmethod
    def _summary(run: Run) -> dict[str, Any]:
        summary = dict(run.summary or {})
        return {
            "run_id": run.id,
            "status": effective_status(run.status, run.heartbeat_at),
            "stored_status": run.status,
            "name": run.name,
            "strategy_label": run.strategy_label,
            "group_name": run.group_name,
            "mode": run.mode,
            "seed": run.seed,
            "env_id": run.env_id,
            "algorithm": run.algorithm,
            "config": run.config or {},
            "episodes_total": None,
            "episodes_completed": run.episodes_completed,
            "total_steps": run.total_steps,
            "started_at": _iso(run.created_at),
            "heartbeat_at": _iso(run.heartbeat_at),
            "completed_at": _iso(run.completed_at),
            "aggregate_stats": summary.get("aggregate_stats"),
            # what the client sent at completion (e.g. the error of a failed run), without the aggregate
            "summary": {k: v for k, v in summary.items() if k != "aggregate_stats"} or None,
        }

    @staticmethod
    def _retry(fn: Any, *args: Any) -> Any:
        """``fn(*args)``; on a primary-key race (two upserts of one row at once) the second try updates."""
        try:
            return fn(*args)
        except IntegrityError:
            return fn(*args)

    # ------------------------------------------------------------------ writes
    def register(self, account_id: int, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Create the run, or return the existing one of this account; ``(run, created)``."""
        run_id = str(body["run_id"])
        with self.db.session() as s:
            run = s.get(Run, run_id)
            if run is not None:
                if run.account_id != account_id:
                    raise _not_found(run_id)
                return self._summary(run), False
            config = dict(body.get("config") or {})
            config.pop("api_key", None)
            now = utcnow()
            run = Run(
                id=run_id,
                account_id=account_id,
                config=config,
                status="running",
                created_at=now,
                heartbeat_at=now,
                episodes_completed=0,
                total_steps=0,
            )
            for k in _RUN_FIELDS:
                if body.get(k) is not None:
                    setattr(run, k, body[k])
            if run.strategy_label is None and config.get("strategy_label") is not None:
                run.strategy_label = str(config["strategy_label"])[:200]
            if body.get("strategy_id") is not None:
                config["strategy_id"] = str(body["strategy_id"])
            run.mode = run.mode or "train"
            s.add(run)
            try:
                s.flush()
            except IntegrityError:  # registered concurrently by another request
                s.rollback()
                run = self._owned(s, account_id, run_id)
                return self._summary(run), False
            return self._summary(run), True

    def add_episode(self, account_id: int, run_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """See `_add_episode`; retried once when a concurrent request inserted the same row first."""
        return self._retry(self._add_episode, account_id, run_id, body)

    def _add_episode(self, account_id: int, run_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Upsert one episode (the original's field names are accepted) and refresh the run."""
        with self.db.session() as s:
            run = self._owned(s, account_id, run_id)
            number = int(body["episode_number"])
            values: dict[str, Any] = {k: _clean(body.get(k)) for k in _EPISODE_FIELDS if body.get(k) is not None}
            aliases = {"sharpe_ratio": "sharpe", "sortino_ratio": "sortino", "total_trades": "trades"}
            for src, dst in aliases.items():
                if body.get(src) is not None and dst not in values:
                    values[dst] = _clean(body[src])
            extra = dict(body.get("extra") or {})
            if body.get("session_id"):
                extra["session_id"] = str(body["session_id"])
            ep = s.get(Episode, (run_id, number))
            if ep is None:
                ep = Episode(run_id=run_id, episode=number, finished_at=utcnow())
                s.add(ep)
            for k, v in values.items():
                setattr(ep, k, v)
            if extra:
                ep.extra = {**(ep.extra or {}), **extra}
            s.flush()
            run.episodes_completed = int(
                s.scalar(select(func.count()).select_from(Episode).where(Episode.run_id == run_id)) or 0
            )
            steps = s.scalar(select(func.sum(Episode.length)).where(Episode.run_id == run_id))
            run.total_steps = max(int(run.total_steps or 0), int(steps or 0))
            run.heartbeat_at = utcnow()
            return self._summary(run)

    def complete(
        self,
        account_id: int,
        run_id: str,
        status: str = "finished",
        summary: dict[str, Any] | None = None,
        total_steps: int | None = None,
    ) -> dict[str, Any]:
        """Finish the run: aggregate statistics and the learning curve are computed and stored.

        ``summary`` (merged into the stored summary, ``api_key`` removed) and ``total_steps`` come from
        the tracking library's remote mode; the original client sends neither.
        """
        with self.db.session() as s:
            run = self._owned(s, account_id, run_id)
            eps = list(s.scalars(select(Episode).where(Episode.run_id == run_id).order_by(Episode.episode)))
            agg = self._aggregate(eps)
            run.status = status
            run.completed_at = run.completed_at or utcnow()
            extra = {k: v for k, v in (summary or {}).items() if k != "api_key"}
            run.summary = {**(run.summary or {}), **extra, "aggregate_stats": agg}
            if total_steps is not None:
                run.total_steps = max(int(run.total_steps or 0), int(total_steps))
            out = self._summary(run)
            out["learning_curve"] = self._curve(eps, "roi_pct", 10)
            return out

    def heartbeat(self, account_id: int, run_id: str) -> dict[str, Any]:
        with self.db.session() as s:
            run = self._owned(s, account_id, run_id)
            run.heartbeat_at = utcnow()
            return self._summary(run)

    def add_scalars(self, account_id: int, run_id: str, items: list[dict[str, Any]]) -> dict[str, Any]:
        """See `_add_scalars`; retried once when a concurrent request inserted the same row first."""
        return self._retry(self._add_scalars, account_id, run_id, items)

    def _add_scalars(self, account_id: int, run_id: str, items: list[dict[str, Any]]) -> dict[str, Any]:
        """Upsert training scalars ``{key, step, value, wall_time}`` (primary key run, key, step)."""
        with self.db.session() as s:
            self._owned(s, account_id, run_id)
            for it in items:
                row = s.get(Scalar, (run_id, str(it["key"]), int(it["step"])))
                if row is None:
                    row = Scalar(run_id=run_id, key=str(it["key"]), step=int(it["step"]))
                    s.add(row)
                row.value = _clean(it.get("value"))
                row.wall_time = it.get("wall_time")
            return {"run_id": run_id, "stored": len(items)}

    def put_trace(self, account_id: int, run_id: str, episode: int, data: bytes, reasons: str) -> dict[str, Any]:
        """See `_put_trace`; retried once when a concurrent request inserted the same row first."""
        return self._retry(self._put_trace, account_id, run_id, episode, data, reasons)

    def _put_trace(self, account_id: int, run_id: str, episode: int, data: bytes, reasons: str) -> dict[str, Any]:
        """Store an episode trace (bytes of `tradeready_gym.tracking.traces`)."""
        with self.db.session() as s:
            self._owned(s, account_id, run_id)
            row = s.get(Trace, (run_id, episode))
            if row is None:
                row = Trace(run_id=run_id, episode=episode, data=data, reasons=reasons)
                s.add(row)
            else:
                row.data, row.reasons = data, reasons
            return {"run_id": run_id, "episode": episode, "bytes": len(data)}

    # ------------------------------------------------------------------ reads
    def list_runs(
        self, account_id: int, status: str | None = None, limit: int = 100, offset: int = 0
    ) -> dict[str, Any]:
        with self.db.session() as s:
            q = select(Run).where(Run.account_id == account_id)
            if status in ("running", "finished", "failed"):
                q = q.where(Run.status == status)
            q = q.order_by(Run.created_at.desc(), Run.id).offset(offset).limit(limit)
            runs = [self._summary(r) for r in s.scalars(q)]
            if status == "stale":
                runs = [r for r in runs if r["status"] == "stale"]
            total = s.scalar(select(func.count()).select_from(Run).where(Run.account_id == account_id))
            return {"runs": runs, "count": len(runs), "total": int(total or 0)}

    def get_run(self, account_id: int, run_id: str, episode_limit: int = 1000) -> dict[str, Any]:
        with self.db.session() as s:
            run = self._owned(s, account_id, run_id)
            out = self._summary(run)
            eps = list(
                s.scalars(
                    select(Episode).where(Episode.run_id == run_id).order_by(Episode.episode).limit(episode_limit)
                )
            )
            out["episodes"] = [self._episode(e) for e in eps]
            if out["aggregate_stats"] is None:
                out["aggregate_stats"] = self._aggregate(eps)
            return out

    @staticmethod
    def _episode(e: Episode) -> dict[str, Any]:
        return {
            "episode_number": e.episode,
            "session_id": (e.extra or {}).get("session_id"),
            "roi_pct": e.roi_pct,
            "sharpe_ratio": e.sharpe,
            "sortino_ratio": e.sortino,
            "max_drawdown_pct": e.max_drawdown_pct,
            "total_trades": e.trades,
            "reward_sum": e.reward_sum,
            "fees": e.fees,
            "final_equity": e.final_equity,
            "length": e.length,
            "finished_at": _iso(e.finished_at),
        }

    @staticmethod
    def _aggregate(eps: Sequence[Episode]) -> dict[str, Any]:
        return {
            "episodes": len(eps),
            "roi_pct": _stats([e.roi_pct for e in eps]),
            "sharpe_ratio": _stats([e.sharpe for e in eps]),
            "max_drawdown_pct": _stats([e.max_drawdown_pct for e in eps]),
            "reward_sum": _stats([e.reward_sum for e in eps]),
            "total_trades": sum(int(e.trades or 0) for e in eps),
        }

    @staticmethod
    def _curve(eps: Sequence[Episode], metric: str, window: int) -> dict[str, Any]:
        col = CURVE_METRICS[metric]
        pts = [(e.episode, getattr(e, col)) for e in eps]
        pts = [(n, float(v)) for n, v in pts if v is not None and math.isfinite(float(v))]
        xs = [n for n, _ in pts]
        ys = [v for _, v in pts]
        smoothed = []
        acc = 0.0
        for i, y in enumerate(ys):  # trailing rolling mean over up to `window` episodes
            acc += y
            if i >= window:
                acc -= ys[i - window]
            smoothed.append(acc / min(i + 1, window))
        return {"metric": metric, "window": window, "episode_numbers": xs, "raw_values": ys,
                "smoothed": smoothed}

    def learning_curve(self, account_id: int, run_id: str, metric: str, window: int) -> dict[str, Any]:
        if metric not in CURVE_METRICS:
            raise ApiError(422, "VALIDATION_ERROR",
                           f"metric={metric!r} is not allowed; allowed: {', '.join(CURVE_METRICS)}")
        with self.db.session() as s:
            self._owned(s, account_id, run_id)
            eps = list(s.scalars(select(Episode).where(Episode.run_id == run_id).order_by(Episode.episode)))
            out = self._curve(eps, metric, window)
            out["run_id"] = run_id
            return out

    def compare(self, account_id: int, run_ids: Sequence[str]) -> dict[str, Any]:
        runs = []
        with self.db.session() as s:
            for rid in run_ids:
                run = self._owned(s, account_id, rid)
                eps = list(s.scalars(select(Episode).where(Episode.run_id == rid).order_by(Episode.episode)))
                out = self._summary(run)
                out["aggregate_stats"] = self._aggregate(eps)
                runs.append(out)
        best = None
        means = [(r["aggregate_stats"]["roi_pct"]["mean"], r["run_id"]) for r in runs]
        means = [m for m in means if m[0] is not None]
        if means:
            best = max(means)[1]
        return {"runs": runs, "count": len(runs), "best_run_id_by_mean_roi_pct": best}
