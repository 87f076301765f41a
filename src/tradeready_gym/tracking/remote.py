"""Remote mode: the outbox sender that ships committed reports to the platform.

Every report of a remote run is committed to the local store together with an ``outbox`` row
(``{"method", "path", "body"}``). `OutboxSender` (a daemon thread per platform URL and key) and
`sync_outbox` (``tradeready runs sync``) POST the undelivered rows in id order with the header
``X-API-Key``, mark each one delivered after a 2xx answer and reschedule a failed one with
exponential backoff (``backoff_s * 2**attempts``, capped at ``max_backoff_s``, with jitter). A
run's later rows wait while one of its earlier rows fails (the platform must know the run before its
episodes). The server stores episodes by ``(run, episode)``, so a row sent twice (a crash between
the answer and the mark) is still stored once.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
from typing import Any

__all__ = ["OutboxSender", "deliver_pending", "sync_outbox"]

log = logging.getLogger(__name__)


def _client(base_url: str, api_key: str, timeout_s: float) -> Any:
    import httpx

    return httpx.Client(base_url=base_url, headers={"X-API-Key": api_key}, timeout=timeout_s)


def deliver_pending(
    store: Any,
    base_url: str,
    api_key: str,
    *,
    due_only: bool = True,
    limit: int = 500,
    timeout_s: float = 15.0,
    backoff_s: float = 1.0,
    max_backoff_s: float = 60.0,
    client: Any = None,
    stop: threading.Event | None = None,
) -> dict[str, int]:
    """One pass over the undelivered outbox rows; returns ``{"delivered", "failed", "skipped"}``.

    Rows queued for another platform URL are left alone.
    """
    from tradeready_gym.tracking.models import utcnow

    base = base_url.rstrip("/")
    items = store.pending(limit=limit, due_only=due_only)
    counts = {"delivered": 0, "failed": 0, "skipped": 0}
    if not items:
        return counts
    own = client is None
    http = client if client is not None else _client(base, api_key, timeout_s)
    blocked: set[str] = set()
    try:
        for it in items:
            if stop is not None and stop.is_set():
                break
            payload = it["payload"] or {}
            if payload.get("base_url") not in (None, base):
                continue
            if it["run_id"] in blocked:
                counts["skipped"] += 1
                continue
            err: str | None = None
            try:
                resp = http.request(payload.get("method", "POST"), payload["path"], json=payload.get("body"))
                if 200 <= resp.status_code < 300:
                    store.mark_delivered([it["id"]])
                    counts["delivered"] += 1
                    continue
                err = f"HTTP {resp.status_code}: {resp.text[:500]}"
            except Exception as exc:  # transport errors: the platform is down or unreachable
                err = f"{type(exc).__name__}: {exc}"
            attempts = int(it["attempts"]) + 1
            delay = min(max_backoff_s, backoff_s * 2 ** min(attempts - 1, 20)) * (0.5 + random.random() / 2)
            store.mark_failed(it["id"], err, utcnow() + dt.timedelta(seconds=delay))
            counts["failed"] += 1
            blocked.add(it["run_id"])
            log.debug("outbox item %s (%s) not delivered: %s", it["id"], it["kind"], err)
    finally:
        if own:
            http.close()
    return counts


def sync_outbox(store: Any, base_url: str, api_key: str, *, timeout_s: float = 15.0, max_passes: int = 100) -> dict[str, int]:
    """Deliver every undelivered row now, ignoring backoff (``tradeready runs sync``).

    Passes repeat while rows get delivered (a run's episodes wait for its registration); returns
    the totals and the rows still pending.
    """
    total = {"delivered": 0, "failed": 0, "skipped": 0}
    http = _client(base_url.rstrip("/"), api_key, timeout_s)
    try:
        for _ in range(max_passes):
            c = deliver_pending(store, base_url, api_key, due_only=False, client=http, timeout_s=timeout_s)
            for k in total:
                total[k] += c[k]
            if c["delivered"] == 0 or (c["failed"] == 0 and c["skipped"] == 0 and not store.pending(limit=1, due_only=False)):
                break
    finally:
        http.close()
    total["pending"] = store.outbox_counts()["pending"]
    return total


class OutboxSender:
    """Background thread delivering a store's outbox to one platform (see the module doc).

    Args:
        store: the `Store`.
        base_url: the platform's URL.
        api_key: the platform API key (kept in memory only).
        poll_s: how often due rows are looked for.
        timeout_s: HTTP timeout per request.
        backoff_s, max_backoff_s: retry delays.
        exit_timeout_s: how long the interpreter's exit waits for a last delivery pass.
    """

    def __init__(self, store: Any, base_url: str, api_key: str, *, poll_s: float = 0.5, timeout_s: float = 15.0,
                 backoff_s: float = 1.0, max_backoff_s: float = 60.0, exit_timeout_s: float = 3.0) -> None:
        self.store = store
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.poll_s = float(poll_s)
        self.timeout_s = float(timeout_s)
        self.backoff_s = float(backoff_s)
        self.max_backoff_s = float(max_backoff_s)
        self.exit_timeout_s = float(exit_timeout_s)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.totals = {"delivered": 0, "failed": 0, "skipped": 0}

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="tradeready-outbox", daemon=True)
            self._thread.start()

    def poke(self) -> None:
        """Look for due rows now."""
        self._wake.set()

    def _loop(self) -> None:
        http = _client(self.base_url, self.api_key, self.timeout_s)
        try:
            while not self._stop.is_set():
                self._wake.wait(self.poll_s)
                self._wake.clear()
                try:
                    c = deliver_pending(self.store, self.base_url, self.api_key, client=http, timeout_s=self.timeout_s,
                                        backoff_s=self.backoff_s, max_backoff_s=self.max_backoff_s, stop=self._stop)
                    for k in self.totals:
                        self.totals[k] += c[k]
                except Exception:
                    log.exception("outbox delivery pass failed")
        finally:
            http.close()

    def stop(self, timeout: float = 3.0, *, final_pass: bool = True) -> None:
        """Stop the thread, then (``final_pass``) make one last delivery pass bounded by ``timeout`` per request."""
        self._stop.set()
        self._wake.set()
        t = self._thread
        if t is not None:
            t.join(timeout)
        if final_pass:
            try:
                deliver_pending(self.store, self.base_url, self.api_key, timeout_s=timeout, backoff_s=self.backoff_s,
                                max_backoff_s=self.max_backoff_s)
            except Exception:
                log.debug("last outbox pass failed", exc_info=True)
