"""`PaperStore`: the live paper accounts in SQLite, written after every candle.

One database file (default ``$TRADEREADY_HOME/live.sqlite``) holds, per session name:

* ``live_sessions``: the env settings the session was started with, its first decision bar and status;
* ``live_candles``: every final candle the session used (history included), one row per bar;
* ``live_steps``: one row per candle stepped: the action (JSON), how it was decided (``agent``,
  ``offline`` for candles that closed while the process was down, ``late`` for an action that came
  after the next candle had already closed), and the account after the step (equity, cash,
  positions, fees, realised PnL, fills).

A step and its candle are written in one transaction (WAL journal, ``synchronous=FULL``), so a
process killed at any moment leaves either the step fully stored or not at all. The engine is
deterministic, so candles + actions rebuild the account exactly; the stored equity checks it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from tradeready_gym.errors import ConfigError, DataError

__all__ = ["PaperStore", "default_home"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS live_sessions (
    name TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    start_bar INTEGER NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS live_candles (
    name TEXT NOT NULL,
    open_ms INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (name, open_ms)
);
CREATE TABLE IF NOT EXISTS live_steps (
    name TEXT NOT NULL,
    step INTEGER NOT NULL,
    open_ms INTEGER NOT NULL,
    action TEXT NOT NULL,
    kind TEXT NOT NULL,
    equity REAL NOT NULL,
    cash REAL NOT NULL,
    position_value REAL NOT NULL,
    positions TEXT NOT NULL,
    fees REAL NOT NULL,
    realized_pnl REAL NOT NULL,
    fills TEXT NOT NULL,
    wall_time REAL NOT NULL,
    PRIMARY KEY (name, step)
);
"""


def default_home() -> Path:
    """``$TRADEREADY_HOME``, else the user data folder of ``tradeready``."""
    env = os.environ.get("TRADEREADY_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("tradeready", appauthor=False))


class PaperStore:
    """SQLite store of live paper sessions (see the module doc).

    Args:
        path: the database file (created with its folder); default ``default_home() / "live.sqlite"``.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        p = Path(path) if path is not None else default_home() / "live.sqlite"
        p.parent.mkdir(parents=True, exist_ok=True)
        self.path = p
        self._db = sqlite3.connect(str(p), timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    # ------------------------------------------------------------------ sessions
    def session(self, name: str) -> dict[str, Any] | None:
        """The session row (config decoded), or None."""
        row = self._db.execute(
            "SELECT name, config, start_bar, created_at, updated_at, status FROM live_sessions WHERE name=?", (name,)
        ).fetchone()
        if row is None:
            return None
        return {"name": row[0], "config": json.loads(row[1]), "start_bar": row[2], "created_at": row[3],
                "updated_at": row[4], "status": row[5]}

    def sessions(self) -> list[dict[str, Any]]:
        """Every session, newest first."""
        names = [r[0] for r in self._db.execute("SELECT name FROM live_sessions ORDER BY updated_at DESC")]
        return [s for s in (self.session(n) for n in names) if s is not None]

    def create(self, name: str, config: dict[str, Any], start_bar: int, candles: list[tuple[int, list[float]]]) -> None:
        """A new session with its history candles (fails if ``name`` exists)."""
        now = time.time()
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("SELECT 1 FROM live_sessions WHERE name=?", (name,)).fetchone():
                raise ConfigError(f"session={name!r} already exists in {str(self.path)!r}")
            db.execute(
                "INSERT INTO live_sessions VALUES (?, ?, ?, ?, ?, ?)",
                (name, json.dumps(config, sort_keys=True), int(start_bar), now, now, "running"),
            )
            db.executemany(
                "INSERT INTO live_candles VALUES (?, ?, ?)", [(name, int(t), json.dumps(v)) for t, v in candles]
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def archive(self, name: str) -> str | None:
        """Rename session ``name`` (its candles and steps) to ``name@<unix time>``; returns the new name."""
        if self.session(name) is None:
            return None
        new = f"{name}@{int(time.time() * 1000)}"
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for table in ("live_sessions", "live_candles", "live_steps"):
                db.execute(f"UPDATE {table} SET name=? WHERE name=?", (new, name))
            db.execute("UPDATE live_sessions SET status='archived' WHERE name=?", (new,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return new

    def set_status(self, name: str, status: str) -> None:
        self._db.execute("UPDATE live_sessions SET status=?, updated_at=? WHERE name=?", (status, time.time(), name))

    # ------------------------------------------------------------------ candles and steps
    def candles(self, name: str) -> list[tuple[int, list[float]]]:
        """``(open_ms, values)`` of every stored candle, oldest first."""
        rows = self._db.execute("SELECT open_ms, data FROM live_candles WHERE name=? ORDER BY open_ms", (name,))
        return [(int(t), json.loads(d)) for t, d in rows]

    def steps(self, name: str) -> list[dict[str, Any]]:
        """Every stored step, oldest first (JSON columns decoded)."""
        cols = ("step", "open_ms", "action", "kind", "equity", "cash", "position_value", "positions", "fees",
                "realized_pnl", "fills", "wall_time")
        rows = self._db.execute(
            f"SELECT {', '.join(cols)} FROM live_steps WHERE name=? ORDER BY step", (name,)
        )
        out = []
        for r in rows:
            d = dict(zip(cols, r, strict=True))
            for k in ("action", "positions", "fills"):
                d[k] = json.loads(d[k])
            out.append(d)
        return out

    def save_steps(self, name: str, candles: list[tuple[int, list[float]]], steps: list[dict[str, Any]]) -> None:
        """Store new candles and the steps taken on them in one transaction."""
        db = self._db
        now = time.time()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "INSERT OR IGNORE INTO live_candles VALUES (?, ?, ?)",
                [(name, int(t), json.dumps(v)) for t, v in candles],
            )
            for s in steps:
                db.execute(
                    "INSERT INTO live_steps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (name, int(s["step"]), int(s["open_ms"]), json.dumps(s["action"]), s["kind"], float(s["equity"]),
                     float(s["cash"]), float(s["position_value"]), json.dumps(s["positions"]), float(s["fees"]),
                     float(s["realized_pnl"]), json.dumps(s["fills"]), now),
                )
            db.execute("UPDATE live_sessions SET updated_at=? WHERE name=?", (now, name))
            db.execute("COMMIT")
        except sqlite3.IntegrityError as exc:
            db.execute("ROLLBACK")
            raise DataError(f"session {name!r}: step already stored ({exc}); is another process running it?") from None
        except BaseException:
            db.execute("ROLLBACK")
            raise
