"""SQLAlchemy 2.x models of the training-tracking store.

The same declarative `Base` is used by the local store (`tradeready_gym.tracking.store.Store`, a
SQLite file) and by the platform server, which puts its own tables (accounts, keys, backtest
sessions, ...) on this `Base` too. Tables:

* ``runs`` (`Run`): one row per tracked env or vector env; the id is a client-generated UUID string.
  ``status`` is ``"running"``, ``"finished"`` or ``"failed"``; "stale" is never stored, it is computed
  from ``heartbeat_at`` by `effective_status`.
* ``episodes`` (`Episode`): one row per finished episode, primary key ``(run_id, episode)`` so a
  repeated report overwrites the same row (idempotent). Beside the agreed columns, ``extra`` (JSON)
  holds the remaining metrics (``win_rate``, ``profit_factor``, ``exposure_pct``, ...).
* ``scalars`` (`Scalar`): training scalars (Stable-Baselines3's logger), primary key
  ``(run_id, key, step)``.
* ``traces`` (`Trace`): compressed replay data of sampled episodes (`tradeready_gym.tracking.traces`),
  primary key ``(run_id, episode)``; ``reasons`` says why it was kept (``first``, ``last``, ``best``,
  ``worst``, ``every_k``, comma separated).
* ``outbox`` (`OutboxItem`, on `LocalBase`, local store only): reports waiting to be shipped to the
  platform in remote mode. It lives on its own metadata so that the server's migrations never see it.

Times are timezone-aware UTC datetimes (`UTCDateTime`); SQLite's naive values are read back as UTC.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

__all__ = [
    "RUN_MODES",
    "RUN_STATUSES",
    "STALE_AFTER_S",
    "Base",
    "Episode",
    "LocalBase",
    "OutboxItem",
    "Run",
    "Scalar",
    "Trace",
    "UTCDateTime",
    "effective_status",
    "utcnow",
]

#: Stored run statuses ("stale" is computed, never stored).
RUN_STATUSES: tuple[str, ...] = ("running", "finished", "failed")
#: Run modes.
RUN_MODES: tuple[str, ...] = ("train", "eval", "paper", "backtest")
#: A running run whose heartbeat is older than this many seconds is reported as "stale".
STALE_AFTER_S = 120.0


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A ``DateTime(timezone=True)`` that always returns aware UTC datetimes (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base shared by the local store and the platform server."""

    type_annotation_map = {dict[str, Any]: JSON, dt.datetime: UTCDateTime}  # noqa: RUF012


class LocalBase(DeclarativeBase):
    """Declarative base of the tables only the local store has (the outbox)."""

    type_annotation_map = {dict[str, Any]: JSON, dt.datetime: UTCDateTime}  # noqa: RUF012


class Run(Base):
    """A tracked training (or evaluation / paper / backtest) run."""

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    strategy_label: Mapped[str | None] = mapped_column(String(200), nullable=True)
    group_name: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    seed: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    mode: Mapped[str] = mapped_column(String(16), default="train")
    status: Mapped[str] = mapped_column(String(16), default="running")
    env_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    config: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    algorithm: Mapped[str | None] = mapped_column(String(100), nullable=True)
    hyperparams: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    library_version: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    episodes_completed: Mapped[int] = mapped_column(Integer, default=0)
    total_steps: Mapped[int] = mapped_column(BigInteger, default=0)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    __table_args__ = (Index("ix_runs_created_at", "created_at"),)


class Episode(Base):
    """One finished episode of a run (primary key ``(run_id, episode)``; ``episode`` counts from 1)."""

    __tablename__ = "episodes"

    run_id: Mapped[str] = mapped_column(String(36), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    episode: Mapped[int] = mapped_column(Integer, primary_key=True)
    env_index: Mapped[int] = mapped_column(Integer, default=0)
    data_start: Mapped[str | None] = mapped_column(String(40), nullable=True)
    data_end: Mapped[str | None] = mapped_column(String(40), nullable=True)
    length: Mapped[int] = mapped_column(Integer, default=0)
    reward_sum: Mapped[float | None] = mapped_column(Float, nullable=True)
    roi_pct: Mapped[float | None] = mapped_column(Float, nullable=True)
    sharpe: Mapped[float | None] = mapped_column(Float, nullable=True)
    sortino: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_drawdown_pct: Mapped[float | None] = mapped_column(Float, nullable=True)
    trades: Mapped[int | None] = mapped_column(Integer, nullable=True)
    fees: Mapped[float | None] = mapped_column(Float, nullable=True)
    buy_hold_roi_pct: Mapped[float | None] = mapped_column(Float, nullable=True)
    final_equity: Mapped[float | None] = mapped_column(Float, nullable=True)
    terminated: Mapped[bool] = mapped_column(Boolean, default=False)
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    wall_time_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    global_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class Scalar(Base):
    """One training scalar (e.g. ``train/loss``) at one step."""

    __tablename__ = "scalars"

    run_id: Mapped[str] = mapped_column(String(36), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    step: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    wall_time: Mapped[float | None] = mapped_column(Float, nullable=True)


class Trace(Base):
    """The compressed replay data of one sampled episode (see `tradeready_gym.tracking.traces`)."""

    __tablename__ = "traces"

    run_id: Mapped[str] = mapped_column(String(36), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    episode: Mapped[int] = mapped_column(Integer, primary_key=True)
    reasons: Mapped[str] = mapped_column(String(100), default="")
    data: Mapped[bytes] = mapped_column(LargeBinary)


class OutboxItem(LocalBase):
    """A report waiting to be delivered to the platform (remote mode).

    ``kind`` is ``"run"`` (register), ``"episode"`` or ``"complete"``; ``dedup_key`` is unique so a
    repeated report never queues a second delivery.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    dedup_key: Mapped[str] = mapped_column(String(120), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


def effective_status(
    status: str, heartbeat_at: dt.datetime | None, *, now: dt.datetime | None = None, stale_after: float = STALE_AFTER_S
) -> str:
    """``status``, or ``"stale"`` for a running run whose heartbeat is older than ``stale_after`` seconds."""
    if status != "running" or heartbeat_at is None:
        return status
    now = now or utcnow()
    if heartbeat_at.tzinfo is None:
        heartbeat_at = heartbeat_at.replace(tzinfo=dt.UTC)
    if (now - heartbeat_at).total_seconds() > stale_after:
        return "stale"
    return status
