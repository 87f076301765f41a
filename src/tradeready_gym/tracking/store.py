"""`Store`: the tracking database (a local SQLite file by default) and its read/write helpers.

Opening a store creates the file if needed and applies the package's Alembic migrations
(``tradeready_gym/tracking/migrations``, version table ``tradeready_tracking_version``) under a file
lock (``<file>.lock``), so several processes opening one store at once migrate it once.

SQLite settings: WAL journal (readers never block the writer), ``synchronous=NORMAL`` (a committed
transaction survives a killed process), ``busy_timeout`` (default 60 s) and foreign keys on. Every
write is one short ``BEGIN IMMEDIATE`` transaction (the write lock is taken up front, so a
transaction never has to upgrade a read lock, which is what fails with "database is locked" in WAL
mode); a write that still meets a locked database is retried.

Read helpers return plain dicts (datetimes as ISO 8601 strings with ``Z``); a run's ``status`` there
is the computed one (``"stale"`` for a running run without a recent heartbeat), the stored value is
``stored_status``.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    case,
    create_engine,
    delete,
    event,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.exc import OperationalError

from tradeready_gym.tracking.models import (
    STALE_AFTER_S,
    Episode,
    OutboxItem,
    Run,
    Scalar,
    Trace,
    UTCDateTime,
    effective_status,
    utcnow,
)

__all__ = [
    "EPISODE_SQLITE_COLUMNS",
    "HEAD_REVISION",
    "STORE_FILENAME",
    "Store",
    "default_home",
    "default_store_path",
    "iso",
    "sqlite_datetime",
]

log = logging.getLogger(__name__)

#: File name of the local store inside ``TRADEREADY_HOME``.
STORE_FILENAME = "tracking.sqlite"
#: The newest migration of the package (checked against the migration scripts by the tests).
HEAD_REVISION = "t0001"
VERSION_TABLE = "tradeready_tracking_version"

_RUN_COLS = {c.name for c in Run.__table__.columns}
_EPISODE_COLS = {c.name for c in Episode.__table__.columns}


def default_home() -> Path:
    """``$TRADEREADY_HOME`` if set, else the user data dir of ``tradeready`` (platformdirs)."""
    env = os.environ.get("TRADEREADY_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("tradeready", appauthor=False))


def default_store_path() -> Path:
    """``<TRADEREADY_HOME>/tracking.sqlite``."""
    return default_home() / STORE_FILENAME


def iso(value: dt.datetime | None) -> str | None:
    """An aware datetime as ISO 8601 UTC with ``Z`` (None stays None)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


_SQLITE_CACHE: dict[tuple[Any, ...], tuple[str, tuple[Any, ...]]] = {}
_ALEMBIC_LOCK = threading.Lock()
#: Key of the PostgreSQL advisory lock held while a store migrates (any fixed 64-bit number).
_PG_MIGRATION_LOCK = 0x7472_7472_6B01

#: Column order of `Store.record_episodes`' ``sqlite_params`` tuples.
EPISODE_SQLITE_COLUMNS: tuple[str, ...] = (
    "run_id", "episode", "env_index", "data_start", "data_end", "length", "reward_sum", "roi_pct", "sharpe",
    "sortino", "max_drawdown_pct", "trades", "fees", "buy_hold_roi_pct", "final_equity", "terminated",
    "truncated", "wall_time_s", "global_step", "finished_at", "extra",
)
_EPISODE_SQL = (
    f"INSERT INTO episodes ({', '.join(EPISODE_SQLITE_COLUMNS)}) VALUES ({', '.join('?' for _ in EPISODE_SQLITE_COLUMNS)}) "
    "ON CONFLICT (run_id, episode) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in EPISODE_SQLITE_COLUMNS[2:])
)


_SECOND: list[Any] = [None, ""]


def sqlite_datetime(ts: float) -> str:
    """A Unix time as SQLAlchemy stores a UTC datetime in SQLite (``YYYY-MM-DD HH:MM:SS.ffffff``)."""
    whole = int(ts)
    micros = round((ts - whole) * 1e6)
    if micros >= 1_000_000:
        whole, micros = whole + 1, micros - 1_000_000
    cached = _SECOND
    if cached[0] != whole:  # episodes finish many times a second: format each second once
        cached[1] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(whole))
        cached[0] = whole
    return f"{cached[1]}.{micros:06d}"


def _sqlite_dt(v: Any) -> Any:
    if v is None:
        return None
    if v.tzinfo is not None:
        v = v.astimezone(dt.UTC)
    return v.strftime("%Y-%m-%d %H:%M:%S.%f")


def _sqlite_json(v: Any) -> Any:
    import json

    return None if v is None else json.dumps(v)


def _sqlite_bool(v: Any) -> Any:
    return None if v is None else int(bool(v))


def _sqlite_converter(col_type: Any) -> Any:
    from sqlalchemy import JSON, Boolean

    from tradeready_gym.tracking.models import UTCDateTime

    if isinstance(col_type, UTCDateTime):
        return _sqlite_dt
    if isinstance(col_type, JSON):
        return _sqlite_json
    if isinstance(col_type, Boolean):
        return _sqlite_bool
    return None


def _is_locked(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "database is locked" in text or "database table is locked" in text or "busy" in text


class Store:
    """The tracking database.

    Args:
        url_or_path: a SQLAlchemy URL (``sqlite:///...``, ``postgresql+psycopg://...``) or a file path;
            default `default_store_path()`.
        busy_timeout_s: how long a SQLite connection waits for the write lock.
        migrate: apply the package's migrations on open (default True).

    Example:
        >>> store = Store(tmp_path / "tracking.sqlite")  # doctest: +SKIP
        >>> store.list_runs()  # doctest: +SKIP
        []
    """

    def __init__(self, url_or_path: str | os.PathLike[str] | None = None, *, busy_timeout_s: float = 60.0,
                 migrate: bool = True) -> None:
        self.path: Path | None
        if url_or_path is None:
            url_or_path = default_store_path()
        text = os.fspath(url_or_path)
        for plain in ("postgresql://", "postgres://"):
            if text.startswith(plain):  # psycopg 3 is the PostgreSQL driver (SQLAlchemy's default is psycopg2)
                text = "postgresql+psycopg://" + text[len(plain) :]
        if "://" in text:
            self.url = text
            self.path = None
            if text.startswith("sqlite:///") and text != "sqlite:///:memory:":
                self.path = Path(text[len("sqlite:///") :])
        else:
            self.path = Path(text).expanduser().resolve()
            self.url = f"sqlite:///{self.path}"
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.busy_timeout_s = float(busy_timeout_s)
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self.engine = self._make_engine()
        if migrate:
            self.migrate()

    # ------------------------------------------------------------------ engine
    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    def _make_engine(self) -> Engine:
        if not self.is_sqlite:
            return create_engine(self.url, pool_pre_ping=True)
        engine = create_engine(
            self.url,
            connect_args={"timeout": self.busy_timeout_s, "check_same_thread": False},
        )
        busy_ms = int(self.busy_timeout_s * 1000)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout={busy_ms}")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            if conn.get_execution_options().get("tr_write"):
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("BEGIN")

        return engine

    def _check_fork(self) -> None:
        """After a fork, drop the parent's pooled connections (never share SQLite handles across processes)."""
        pid = os.getpid()
        if pid != self._pid:
            self._pid = pid
            self.engine.dispose(close=False)

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One short write transaction (``BEGIN IMMEDIATE`` on SQLite)."""
        self._check_fork()
        with self.engine.connect() as conn:
            conn.execution_options(tr_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        self._check_fork()
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def _retry(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a write, retrying when the database is locked beyond the busy timeout."""
        delay = 0.05
        for attempt in range(20):
            try:
                return fn(*args, **kwargs)
            except OperationalError as exc:
                if not _is_locked(exc) or attempt == 19:
                    raise
                log.warning("tracking store busy (%s); retrying", exc.orig)
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 2.0)
        raise AssertionError("unreachable")

    def migrate(self) -> None:
        """Bring the schema to `HEAD_REVISION` (under ``<file>.lock`` for a SQLite file)."""
        if self._revision() == HEAD_REVISION:
            return
        if self.path is not None:
            from filelock import FileLock

            with FileLock(str(self.path) + ".lock", timeout=max(self.busy_timeout_s, 60.0)):
                if self._revision() != HEAD_REVISION:
                    self._upgrade()
        elif self.engine.dialect.name == "postgresql":
            # one migration at a time across processes: a session-level advisory lock
            with self.engine.connect() as conn:
                conn.exec_driver_sql(f"SELECT pg_advisory_lock({_PG_MIGRATION_LOCK})")
                try:
                    if self._revision() != HEAD_REVISION:
                        self._upgrade()
                finally:
                    conn.exec_driver_sql(f"SELECT pg_advisory_unlock({_PG_MIGRATION_LOCK})")
                    conn.commit()
        else:
            self._upgrade()

    def _revision(self) -> str | None:
        try:
            with self.engine.connect() as conn:
                row = conn.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").first()
                conn.rollback()
        except OperationalError as exc:
            if _is_locked(exc):
                raise
            return None
        except Exception:  # the table does not exist yet (other databases' error classes)
            return None
        return None if row is None else str(row[0])

    def _upgrade(self) -> None:
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        # Alembic keeps its running context in module globals: one migration at a time per process
        with _ALEMBIC_LOCK, self.engine.connect() as conn:
            conn.execution_options(tr_write=True)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            if conn.in_transaction():
                conn.commit()
        log.info("tracking store %s migrated to %s", self.url, HEAD_REVISION)

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()

    def _insert(self, table: Any) -> Any:
        if self.is_sqlite:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            return sqlite_insert(table)
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table)
        raise NotImplementedError(f"upserts are implemented for SQLite and PostgreSQL, not {self.engine.dialect.name}")

    def _upsert(self, conn: Connection, table: Any, rows: Sequence[dict[str, Any]], keys: Sequence[str],
                update_cols: Sequence[str] | None = None) -> None:
        if not rows:
            return
        if self.is_sqlite:
            self._sqlite_upsert(conn, table, rows, keys, update_cols)
            return
        stmt = self._insert(table)
        cols = update_cols if update_cols is not None else [c for c in rows[0] if c not in keys]
        if cols:
            stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_={c: stmt.excluded[c] for c in cols})
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
        conn.execute(stmt, list(rows))

    def _sqlite_upsert(self, conn: Connection, table: Any, rows: Sequence[dict[str, Any]], keys: Sequence[str],
                       update_cols: Sequence[str] | None) -> None:
        """``INSERT .. ON CONFLICT DO UPDATE`` as one prepared statement over tuples (the writer's hot path).

        Values are stored exactly as SQLAlchemy's SQLite types store them: datetimes as
        ``YYYY-MM-DD HH:MM:SS.ffffff`` (UTC), JSON as text, booleans as 0/1.
        """
        cols = tuple(rows[0])
        upd = tuple(update_cols) if update_cols is not None else tuple(c for c in cols if c not in keys)
        ck = (table.name, cols, tuple(keys), upd)
        prepared = _SQLITE_CACHE.get(ck)
        if prepared is None:
            conflict = f"ON CONFLICT ({', '.join(keys)}) " + (
                f"DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in upd)}" if upd else "DO NOTHING")
            sql = (f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)}) "
                   + conflict)
            convs = tuple(_sqlite_converter(table.c[c].type) for c in cols)
            prepared = _SQLITE_CACHE[ck] = (sql, convs)
        sql, convs = prepared
        params = []
        for r in rows:
            if len(r) != len(cols):
                raise ValueError(f"rows for {table.name} must all have the columns {cols}")
            params.append(tuple(v if f is None else f(v) for f, v in zip(convs, (r[c] for c in cols), strict=True)))
        conn.exec_driver_sql(sql, params)

    # ------------------------------------------------------------------ writes
    def upsert_run(self, run: dict[str, Any]) -> None:
        """Insert a run, or update the given columns of an existing one (``run["id"]`` required)."""
        row = {k: v for k, v in run.items() if k in _RUN_COLS}
        if "id" not in row:
            raise ValueError("run needs an 'id'")
        row.setdefault("created_at", utcnow())
        row.setdefault("heartbeat_at", row["created_at"])
        row.setdefault("status", "running")
        row.setdefault("mode", "train")
        row.setdefault("episodes_completed", 0)
        row.setdefault("total_steps", 0)
        upd = [c for c in row if c not in ("id", "created_at", "episodes_completed", "total_steps")]

        def go() -> None:
            with self._write() as conn:
                self._upsert(conn, Run.__table__, [row], ["id"], upd)

        self._retry(go)

    def update_run(self, run_id: str, **fields: Any) -> None:
        """Set columns of an existing run (e.g. ``status="finished"``, ``summary={...}``)."""
        bad = set(fields) - _RUN_COLS
        if bad:
            raise ValueError(f"unknown run column(s) {sorted(bad)}")

        def go() -> None:
            with self._write() as conn:
                conn.execute(update(Run).where(Run.id == run_id).values(**fields))

        self._retry(go)

    def heartbeat(self, run_ids: Sequence[str], *, when: dt.datetime | None = None) -> None:
        """Mark runs as alive now (only those still ``running``)."""
        if not run_ids:
            return
        now = when or utcnow()

        def go() -> None:
            with self._write() as conn:
                conn.execute(
                    update(Run).where(and_(Run.id.in_(list(run_ids)), Run.status == "running")).values(heartbeat_at=now)
                )

        self._retry(go)

    def record_episodes(
        self,
        run_id: str,
        episodes: Sequence[dict[str, Any]],
        *,
        traces: Sequence[dict[str, Any]] = (),
        drop_traces: Sequence[int] = (),
        relabel_traces: dict[int, str] | None = None,
        total_steps: int | None = None,
        outbox: Sequence[dict[str, Any]] = (),
        heartbeat: bool = True,
        sqlite_params: Sequence[tuple[Any, ...]] = (),
    ) -> None:
        """Write finished episodes (idempotent by ``(run_id, episode)``) in one short transaction.

        Args:
            run_id: the run.
            episodes: episode rows (columns of `Episode`; unknown keys go into ``extra``).
            traces: ``{"episode", "reasons", "data"}`` rows to upsert.
            drop_traces: episodes whose trace is no longer wanted.
            relabel_traces: new ``reasons`` of traces already stored, by episode.
            total_steps: the run's total steps so far (stored when larger than the stored value).
            outbox: outbox items (``{"kind", "dedup_key", "payload"}``) queued in the same transaction.
            heartbeat: also refresh the run's heartbeat.
            sqlite_params: more episodes, SQLite only: tuples in `EPISODE_SQLITE_COLUMNS` order with
                values as stored (the tracker's fast path; see `episode_sqlite_params`).
        """
        rows = [self._episode_row(run_id, e) for e in episodes]
        if sqlite_params and not self.is_sqlite:
            raise ValueError("sqlite_params needs a SQLite store")

        def go() -> None:
            with self._write() as conn:
                self._upsert(conn, Episode.__table__, rows, ["run_id", "episode"])
                if sqlite_params:
                    conn.exec_driver_sql(_EPISODE_SQL, list(sqlite_params))
                if drop_traces:
                    conn.execute(delete(Trace).where(and_(Trace.run_id == run_id, Trace.episode.in_(list(drop_traces)))))
                for ep, reasons in (relabel_traces or {}).items():
                    conn.execute(update(Trace).where(and_(Trace.run_id == run_id, Trace.episode == int(ep)))
                                 .values(reasons=reasons))
                if traces:
                    self._upsert(
                        conn, Trace.__table__,
                        [{"run_id": run_id, "episode": int(t["episode"]), "reasons": t.get("reasons", ""),
                          "data": t["data"]} for t in traces],
                        ["run_id", "episode"],
                    )
                n = conn.execute(select(func.count()).select_from(Episode).where(Episode.run_id == run_id)).scalar_one()
                values: dict[str, Any] = {"episodes_completed": int(n)}
                if heartbeat:  # only a running run beats (a finished or failed one keeps its last beat)
                    values["heartbeat_at"] = case((Run.status == "running", literal(utcnow(), UTCDateTime())),
                                                   else_=Run.heartbeat_at)
                if total_steps is not None:
                    values["total_steps"] = func.max(Run.total_steps, int(total_steps)) if self.is_sqlite else func.greatest(
                        Run.total_steps, int(total_steps))
                conn.execute(update(Run).where(Run.id == run_id).values(**values))
                if outbox:
                    self._enqueue(conn, run_id, outbox)

        self._retry(go)

    @staticmethod
    def _episode_row(run_id: str, e: dict[str, Any]) -> dict[str, Any]:
        row: dict[str, Any] = {"run_id": run_id}
        extra = dict(e.get("extra") or {})
        for k, v in e.items():
            if k == "extra":
                continue
            if k in _EPISODE_COLS:
                row[k] = v
            else:
                extra[k] = v
        row["episode"] = int(row["episode"])
        row.setdefault("env_index", 0)
        row.setdefault("length", 0)
        row.setdefault("terminated", False)
        row.setdefault("truncated", False)
        row.setdefault("finished_at", utcnow())
        row["extra"] = extra or None
        for c in _EPISODE_COLS:
            row.setdefault(c, None)
        return row

    def upsert_episodes(self, run_id: str, episodes: Sequence[dict[str, Any]]) -> None:
        """`record_episodes` without traces or outbox items."""
        self.record_episodes(run_id, episodes)

    def upsert_scalars(self, run_id: str, rows: Sequence[dict[str, Any]]) -> None:
        """Insert or replace scalars: ``{"key", "step", "value", "wall_time"}`` rows."""
        data = [
            {"run_id": run_id, "key": str(r["key"]), "step": int(r["step"]),
             "value": None if r.get("value") is None else float(r["value"]), "wall_time": r.get("wall_time")}
            for r in rows
        ]
        if not data:
            return

        def go() -> None:
            with self._write() as conn:
                self._upsert(conn, Scalar.__table__, data, ["run_id", "key", "step"])

        self._retry(go)

    def upsert_trace(self, run_id: str, episode: int, data: bytes, reasons: str = "") -> None:
        """Insert or replace one episode's trace (bytes from `encode_trace`)."""

        def go() -> None:
            with self._write() as conn:
                self._upsert(conn, Trace.__table__, [{"run_id": run_id, "episode": int(episode), "reasons": reasons,
                                                      "data": data}], ["run_id", "episode"])

        self._retry(go)

    # ------------------------------------------------------------------ outbox
    def _enqueue(self, conn: Connection, run_id: str, items: Sequence[dict[str, Any]]) -> None:
        now = utcnow()
        rows = [
            {"run_id": run_id, "kind": it["kind"], "dedup_key": it["dedup_key"], "payload": it["payload"],
             "created_at": now, "attempts": 0, "next_attempt_at": now}
            for it in items
        ]
        self._upsert(conn, OutboxItem.__table__, rows, ["dedup_key"], update_cols=[])

    def enqueue(self, run_id: str, items: Sequence[dict[str, Any]]) -> None:
        """Queue outbox items (``{"kind", "dedup_key", "payload"}``); a known ``dedup_key`` is ignored."""

        def go() -> None:
            with self._write() as conn:
                self._enqueue(conn, run_id, items)

        self._retry(go)

    def pending(self, *, limit: int = 500, due_only: bool = True, run_id: str | None = None) -> list[dict[str, Any]]:
        """Undelivered outbox items, oldest first (only those due now unless ``due_only`` is False)."""
        q = select(OutboxItem).where(OutboxItem.delivered_at.is_(None))
        if due_only:
            q = q.where(OutboxItem.next_attempt_at <= utcnow())
        if run_id is not None:
            q = q.where(OutboxItem.run_id == run_id)
        q = q.order_by(OutboxItem.id).limit(limit)
        with self._read() as conn:
            rows = conn.execute(q).mappings().all()
        return [dict(r) for r in rows]

    def outbox_counts(self) -> dict[str, int]:
        """``{"pending": n, "delivered": m}``."""
        with self._read() as conn:
            pend = conn.execute(select(func.count()).select_from(OutboxItem).where(OutboxItem.delivered_at.is_(None))).scalar_one()
            done = conn.execute(select(func.count()).select_from(OutboxItem).where(OutboxItem.delivered_at.is_not(None))).scalar_one()
        return {"pending": int(pend), "delivered": int(done)}

    def mark_delivered(self, ids: Sequence[int]) -> None:
        """Mark outbox items as delivered."""
        if not ids:
            return

        def go() -> None:
            with self._write() as conn:
                conn.execute(update(OutboxItem).where(OutboxItem.id.in_(list(ids))).values(delivered_at=utcnow()))

        self._retry(go)

    def mark_failed(self, item_id: int, error: str, retry_at: dt.datetime) -> None:
        """Count a failed delivery and set its next attempt."""

        def go() -> None:
            with self._write() as conn:
                conn.execute(
                    update(OutboxItem)
                    .where(OutboxItem.id == item_id)
                    .values(attempts=OutboxItem.attempts + 1, next_attempt_at=retry_at, last_error=error[:2000])
                )

        self._retry(go)

    # ------------------------------------------------------------------ reads
    @staticmethod
    def _run_dict(r: Any, stale_after: float) -> dict[str, Any]:
        d = dict(r)
        d["stored_status"] = d["status"]
        d["status"] = effective_status(d["status"], d.get("heartbeat_at"), stale_after=stale_after)
        for k in ("created_at", "heartbeat_at", "completed_at"):
            d[k] = iso(d.get(k))
        return d

    def list_runs(
        self,
        *,
        status: str | None = None,
        mode: str | None = None,
        group_name: str | None = None,
        account_id: int | None = None,
        limit: int | None = None,
        offset: int = 0,
        stale_after: float = STALE_AFTER_S,
    ) -> list[dict[str, Any]]:
        """Runs, newest first; ``status`` filters on the computed status (``"stale"`` allowed)."""
        q = select(Run.__table__)
        if mode is not None:
            q = q.where(Run.mode == mode)
        if group_name is not None:
            q = q.where(Run.group_name == group_name)
        if account_id is not None:
            q = q.where(Run.account_id == account_id)
        q = q.order_by(Run.created_at.desc(), Run.id)
        if status is None:
            q = q.offset(offset)
            if limit is not None:
                q = q.limit(limit)
        with self._read() as conn:
            rows = [self._run_dict(r, stale_after) for r in conn.execute(q).mappings().all()]
        if status is not None:
            rows = [r for r in rows if r["status"] == status]
            rows = rows[offset:] if limit is None else rows[offset : offset + limit]
        return rows

    def get_run(self, run_id: str, *, stale_after: float = STALE_AFTER_S) -> dict[str, Any] | None:
        """One run as a dict, or None."""
        with self._read() as conn:
            r = conn.execute(select(Run.__table__).where(Run.id == run_id)).mappings().first()
        return None if r is None else self._run_dict(r, stale_after)

    def find_runs(self, prefix: str) -> list[str]:
        """Ids of the runs whose id starts with ``prefix``."""
        with self._read() as conn:
            return [str(x) for x in conn.execute(select(Run.id).where(Run.id.like(prefix + "%"))).scalars()]

    def episodes(
        self, run_id: str, *, after: int | None = None, limit: int | None = None, offset: int = 0
    ) -> list[dict[str, Any]]:
        """A run's episodes in episode order (``after``: only episodes with a larger number)."""
        q = select(Episode.__table__).where(Episode.run_id == run_id)
        if after is not None:
            q = q.where(Episode.episode > after)
        q = q.order_by(Episode.episode).offset(offset)
        if limit is not None:
            q = q.limit(limit)
        with self._read() as conn:
            out = []
            for r in conn.execute(q).mappings().all():
                d = dict(r)
                d["finished_at"] = iso(d.get("finished_at"))
                out.append(d)
        return out

    def scalars(self, run_id: str, key: str | None = None) -> list[dict[str, Any]]:
        """A run's scalars ordered by key, then step."""
        q = select(Scalar.__table__).where(Scalar.run_id == run_id)
        if key is not None:
            q = q.where(Scalar.key == key)
        q = q.order_by(Scalar.key, Scalar.step)
        with self._read() as conn:
            return [dict(r) for r in conn.execute(q).mappings().all()]

    def traces(self, run_id: str) -> list[dict[str, Any]]:
        """The traced episodes of a run: ``[{"episode", "reasons", "size"}]``."""
        q = (
            select(Trace.episode, Trace.reasons, func.length(Trace.data).label("size"))
            .where(Trace.run_id == run_id)
            .order_by(Trace.episode)
        )
        with self._read() as conn:
            return [dict(r) for r in conn.execute(q).mappings().all()]

    def trace(self, run_id: str, episode: int) -> dict[str, Any] | None:
        """One episode's decoded trace (`tradeready_gym.tracking.traces.decode_trace`), or None."""
        from tradeready_gym.tracking.traces import decode_trace

        with self._read() as conn:
            row = conn.execute(
                select(Trace.data, Trace.reasons).where(and_(Trace.run_id == run_id, Trace.episode == int(episode)))
            ).first()
        if row is None:
            return None
        out = decode_trace(bytes(row[0]))
        out["reasons"] = row[1]
        return out

    def __repr__(self) -> str:
        return f"Store({self.url!r})"
