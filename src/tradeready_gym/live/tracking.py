"""`PaperRun`: a live paper session recorded as a tracked run (mode ``"paper"``) in the tracking store.

The run id is derived from the paper store's file and the session name (UUID 5), so a session
resumed after a restart continues the same run. Writes happen on a background thread (a queue
coalesced to the newest state), so tracking adds nothing to a step's latency, and a tracking
failure is logged, never raised into trading.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import uuid
from typing import Any

__all__ = ["PaperRun", "paper_run_id"]

log = logging.getLogger(__name__)


def paper_run_id(store_path: str, session: str) -> str:
    """The tracked run id of paper session ``session`` stored in ``store_path``."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"tradeready-paper:{store_path}#{session}"))


class PaperRun:
    """Records one paper session as a run with mode ``paper`` (see the module doc).

    Args:
        run_id: the run id (see `paper_run_id`).
        name: run name, e.g. ``"paper/BTCUSDT-1m-discrete"``.
        config: JSON-able settings (secrets already redacted).
        store: a `tradeready_gym.tracking.Store` (default: the default tracking store).
        strategy_label: optional label.
    """

    def __init__(self, run_id: str, name: str, config: dict[str, Any], *, store: Any = None,
                 strategy_label: str | None = None, algorithm: str | None = None) -> None:
        from tradeready_gym import __version__
        from tradeready_gym.tracking.store import Store, default_store_path

        self.run_id = run_id
        self.store = store if store is not None else Store(default_store_path())
        self.store.upsert_run({
            "id": run_id, "name": name, "strategy_label": strategy_label, "mode": "paper", "status": "running",
            "env_id": "TradeReady-Live-v0", "config": config, "algorithm": algorithm, "library_version": __version__,
            "completed_at": None,
        })
        self._q: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._writer, name="tradeready-paper-run", daemon=True)
        self._thread.start()

    def update(self, total_steps: int, summary: dict[str, Any]) -> None:
        """Queue the session's step count and account summary (written in the background)."""
        self._q.put({"total_steps": int(total_steps), "summary": summary})

    def close(self, reason: str = "closed") -> None:
        """Write what is queued, mark the run finished and stop the writer."""
        self._q.put(None)
        self._thread.join(30)
        try:
            now = dt.datetime.now(dt.UTC)
            self.store.update_run(self.run_id, status="finished", completed_at=now, heartbeat_at=now)
        except Exception as exc:  # tracking never breaks trading
            log.warning("could not finish tracked run %s: %s", self.run_id, exc)

    def _writer(self) -> None:
        while True:
            item = self._q.get()
            latest = item
            while latest is not None:  # coalesce: only the newest state matters
                try:
                    nxt = self._q.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._write(latest)
                    return
                latest = nxt
            if latest is None:
                return
            self._write(latest)

    def _write(self, fields: dict[str, Any]) -> None:
        try:
            self.store.update_run(self.run_id, heartbeat_at=dt.datetime.now(dt.UTC), status="running", **fields)
        except Exception as exc:  # tracking never breaks trading
            log.warning("could not update tracked run %s: %s", self.run_id, exc)
