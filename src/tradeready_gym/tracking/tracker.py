"""`TrainingTracker`: records a training run (one env or one vector env) in the tracking store.

How it works (details and the reasons in ``docs/tracking.md``):

* The env calls `TrainingTracker.on_reset` on every reset (the first one registers the run) and
  hands over every finished episode (`on_single_episode` / `on_vector_episodes`); `close` completes
  the run.
* Nothing is written to the database from the env's thread. A finished episode is appended as one
  fixed-size binary record (`_REC`) to the run's journal (``<home>/tracking-journal/<run_id>.jsonl``:
  a JSON header line, then the records; one ``write`` call, which survives a killed process) and
  queued for a background writer thread that commits the queue about once a second in one short
  transaction per run. A journal left behind by a dead
  process is replayed into the store by the next process that opens it (or by
  ``tradeready runs list|show|sync``); episode rows are keyed by ``(run, episode)``, so replays and
  retries are harmless.
* Traces (replay data) are kept for the first episode, every ``trace_every``-th (written with the
  next commit), the best and the worst by ROI and the last one (written with the heartbeat and at
  completion); the single env's equity curve and fills are already recorded by the env, so
  capturing them costs one array copy per episode. A vector env's sampled episodes are rebuilt
  by the writer from the env's action log (`_VectorReplay`); the env thread keeps references only.
* The writer refreshes each open run's heartbeat every ``heartbeat_interval_s`` (and with every
  commit); a running run without a recent heartbeat is shown as "stale".
* Remote mode (``api_key`` and ``base_url``): every report is also queued in the store's outbox in
  the same transaction, and a background sender ships it to the platform with retries
  (`tradeready_gym.tracking.remote`).
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import datetime as dt
import json
import logging
import math
import os
import struct
import sys
import threading
import time
import uuid
import weakref
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from tradeready_gym.errors import ConfigError

__all__ = [
    "JOURNAL_DIR",
    "TrainingTracker",
    "attach_tracker",
    "recover_journals",
    "redact",
]

log = logging.getLogger(__name__)

#: Folder of the run journals, next to the store file.
JOURNAL_DIR = "tracking-journal"
_SECRET_WORDS = ("api_key", "apikey", "secret", "password", "token")
_REDACTED = "***"
_JOURNAL_ROTATE_BYTES = 1 << 20


# ---------------------------------------------------------------------------------------- helpers
def redact(value: Any) -> Any:
    """A JSON-able copy of ``value`` with secrets (keys named like ``api_key``) replaced by ``"***"``."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            key = str(k)
            if any(w in key.lower() for w in _SECRET_WORDS):
                out[key] = None if v is None else _REDACTED
            else:
                out[key] = redact(v)
        return out
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        x = float(value)
        return x if math.isfinite(x) else None
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, np.ndarray):
        return redact(value.tolist())
    if isinstance(value, Path):
        return str(value)
    return repr(value)


def _num(x: Any) -> float | None:
    if x is None:
        return None
    v = float(x)
    return v if math.isfinite(v) else None


#: One finished episode in the journal: magic, 8 int64, 13 float64 (little-endian, 172 bytes).
_REC = struct.Struct("<4s8q13d")
_REC_MAGIC = b"TREP"
_REC_PACK = _REC.pack
_REC_SIZE = _REC.size
_INT_FIELDS = ("episode", "env_index", "length", "trades", "global_step", "start_ns", "end_ns", "flags")
_FLOAT_FIELDS = ("reward_sum", "roi_pct", "sharpe", "sortino", "max_drawdown_pct", "fees", "buy_hold_roi_pct",
                 "final_equity", "wall_time_s", "finished_ts", "win_rate", "profit_factor", "exposure_pct")


def _row_from_record(rec: tuple[Any, ...], isos: tuple[str | None, str | None] | None = None) -> dict[str, Any]:
    """An ``episodes`` row from a journal record (a tuple of `_INT_FIELDS` then `_FLOAT_FIELDS`);
    ``isos``: the data start and end as ISO strings when known (else formatted from the record)."""
    from tradeready_gym.timeframes import format_iso

    ep, env_index, length, trades, step, start_ns, end_ns, flags = rec[:8]
    (rsum, roi, sharpe, sortino, mdd, fees, bh, feq, wall, ts, win, pf, expo) = rec[8:]
    span = isos if isos is not None else (
        format_iso(start_ns) if start_ns >= 0 else None, format_iso(end_ns) if end_ns >= 0 else None)
    return {
        "episode": int(ep),
        "env_index": int(env_index),
        "data_start": span[0],
        "data_end": span[1],
        "length": int(length),
        "reward_sum": _num(rsum),
        "roi_pct": _num(roi),
        "sharpe": _num(sharpe),
        "sortino": _num(sortino),
        "max_drawdown_pct": _num(mdd),
        "trades": None if trades < 0 else int(trades),
        "fees": _num(fees),
        "buy_hold_roi_pct": _num(bh),
        "final_equity": _num(feq),
        "terminated": bool(flags & 1),
        "truncated": bool(flags & 2),
        "wall_time_s": _num(wall),
        "global_step": int(step),
        "finished_at": dt.datetime.fromtimestamp(ts, dt.UTC),
        "extra": {"win_rate": _num(win), "profit_factor": _num(pf), "exposure_pct": _num(expo)},
    }


def _finite(x: float) -> float | None:
    return x if x - x == 0.0 else None  # NaN and infinities -> None


def _sqlite_params(run_id: str, rec: tuple[Any, ...], isos: tuple[str | None, str | None] | None) -> tuple[Any, ...]:
    """The ``episodes`` row of a record as stored in SQLite (`EPISODE_SQLITE_COLUMNS` order)."""
    if isos is None:
        return tuple(_sqlite_row(run_id, _row_from_record(rec)))
    (ep, env_index, length, trades, step, _s, _e, flags, rsum, roi, sharpe, sortino, mdd, fees, bh, feq, wall,
     ts, win, pf, expo) = rec
    extra = (f'{{"win_rate": {repr(float(win)) if win - win == 0.0 else "null"}, '
             f'"profit_factor": {repr(float(pf)) if pf - pf == 0.0 else "null"}, '
             f'"exposure_pct": {repr(float(expo)) if expo - expo == 0.0 else "null"}}}')
    return (run_id, ep, env_index, isos[0], isos[1], length,
            rsum if rsum - rsum == 0.0 else None, roi if roi - roi == 0.0 else None,
            sharpe if sharpe - sharpe == 0.0 else None, sortino if sortino - sortino == 0.0 else None,
            mdd if mdd - mdd == 0.0 else None, None if trades < 0 else trades, fees if fees - fees == 0.0 else None,
            bh if bh - bh == 0.0 else None, feq if feq - feq == 0.0 else None, flags & 1, (flags >> 1) & 1,
            wall if wall - wall == 0.0 else None, step, _sqlite_datetime()(ts), extra)


def _sqlite_datetime() -> Any:
    """`tradeready_gym.tracking.store.sqlite_datetime` (imported once: the store module loads SQLAlchemy)."""
    global _SQLITE_DATETIME
    if _SQLITE_DATETIME is None:
        from tradeready_gym.tracking.store import sqlite_datetime

        _SQLITE_DATETIME = sqlite_datetime
    return _SQLITE_DATETIME


_SQLITE_DATETIME: Any = None


def _sqlite_row(run_id: str, row: dict[str, Any]) -> list[Any]:
    from tradeready_gym.tracking.store import EPISODE_SQLITE_COLUMNS

    out: list[Any] = []
    for c in EPISODE_SQLITE_COLUMNS:
        v = run_id if c == "run_id" else row.get(c)
        if c == "finished_at":
            v = v.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, dt.datetime) else v
        elif c == "extra":
            v = json.dumps(v)
        elif c in ("terminated", "truncated"):
            v = int(bool(v))
        out.append(v)
    return out


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


def _store_spec(store: Any) -> str:
    if store is None:
        from tradeready_gym.tracking.store import default_store_path

        return str(default_store_path())
    if hasattr(store, "url") and hasattr(store, "engine"):
        return str(store.url)
    return os.fspath(store)


def _journal_dir(spec: str) -> Path:
    if "://" not in spec:
        return Path(spec).expanduser().resolve().parent / JOURNAL_DIR
    if spec.startswith("sqlite:///") and spec != "sqlite:///:memory:":
        return Path(spec[len("sqlite:///") :]).resolve().parent / JOURNAL_DIR
    from tradeready_gym.tracking.store import default_home

    return default_home() / JOURNAL_DIR


def _episode_payload(run_id: str, row: dict[str, Any]) -> dict[str, Any]:
    """The platform body of one episode: the original's keys plus the store's columns."""
    body: dict[str, Any] = {
        "episode_number": int(row["episode"]),
        "roi_pct": _num(row.get("roi_pct")),
        "sharpe_ratio": _num(row.get("sharpe")),
        "max_drawdown_pct": _num(row.get("max_drawdown_pct")),
        "total_trades": None if row.get("trades") is None else int(row["trades"]),
        "reward_sum": _num(row.get("reward_sum")),
        "sortino_ratio": _num(row.get("sortino")),
        "sortino": _num(row.get("sortino")),
    }
    for k in ("env_index", "length", "global_step"):
        if row.get(k) is not None:
            body[k] = int(row[k])
    for k in ("data_start", "data_end"):
        if row.get(k) is not None:
            body[k] = str(row[k])
    for k in ("fees", "buy_hold_roi_pct", "final_equity", "wall_time_s"):
        body[k] = _num(row.get(k))
    for k in ("terminated", "truncated"):
        if row.get(k) is not None:
            body[k] = bool(row[k])
    extra = {k: (_num(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v)
             for k, v in (row.get("extra") or {}).items()}
    if extra:
        body["extra"] = extra
    return {"method": "POST", "path": f"/api/v1/training/runs/{run_id}/episodes", "body": body}


def _stamp(items: list[dict[str, Any]], base_url: str | None) -> list[dict[str, Any]]:
    """Outbox items with the platform URL they are for (``payload["base_url"]``)."""
    for it in items:
        it["payload"]["base_url"] = base_url
    return items


def _trace_payload(run_id: str, trace: dict[str, Any]) -> dict[str, Any]:
    """The outbox item shipping one stored trace (``PUT .../traces/{episode}``, base64 bytes)."""
    import base64

    ep = int(trace["episode"])
    return {"kind": "trace", "dedup_key": f"trace:{run_id}:{ep}:{trace['reasons']}",
            "payload": {"method": "PUT", "path": f"/api/v1/training/runs/{run_id}/traces/{ep}",
                        "body": {"data_b64": base64.b64encode(trace["data"]).decode(), "reasons": trace["reasons"]}}}


# ---------------------------------------------------------------------------------------- writer
class _RunState:
    """What the writer keeps per run: trace bookkeeping and the running summary."""

    def __init__(self, tracker: TrainingTracker) -> None:
        self.run_id = tracker.run_id
        self.remote = tracker.remote
        self.base_url = tracker.base_url
        self.trace_every = tracker.trace_every
        self.registered = False
        self.completed = False
        self.reasons: dict[int, set[str]] = {}
        self.best: tuple[float, int, Any] | None = None
        self.worst: tuple[float, int, Any] | None = None
        self.written: dict[str, tuple[int, Any]] = {}
        self.last_capture: tuple[int, Any] | None = None
        self.tracker = weakref.ref(tracker)  # weak: a run's state never keeps its tracker (and env) alive
        self.n = 0
        self.roi_sum = 0.0
        self.roi_n = 0
        self.reward_sum = 0.0
        self.reward_n = 0
        self.last_roi: float | None = None
        self.committed = 0
        self.total_steps = 0


class _Writer:
    """The background thread committing one store's queued reports (one per store and process)."""

    def __init__(self, spec: str, flush_interval_s: float, heartbeat_interval_s: float) -> None:
        self.spec = spec
        self.flush_interval_s = flush_interval_s
        self.heartbeat_interval_s = heartbeat_interval_s
        self.queue: deque[tuple[Any, ...]] = deque()
        self.wake = threading.Event()
        self.runs: dict[str, _RunState] = {}
        self.store: Any = None
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._thread_pid = -1
        self._start_lock = threading.RLock()
        self._last_heartbeat = time.monotonic()
        self._last_error_log = -1e9
        self._senders: dict[tuple[str, str], Any] = {}

    def submit(self, op: tuple[Any, ...], *, urgent: bool = False) -> None:
        self.queue.append(op)
        self.ensure_thread()
        if urgent:
            self.wake.set()

    def ensure_thread(self) -> None:
        """Start the writer thread unless it runs (it runs until the process ends; a forked child
        has none, hence the process id)."""
        if self._thread_pid == _PID:
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="tradeready-tracking-writer", daemon=True)
                self._thread.start()
            self._thread_pid = _PID

    def open_store(self) -> Any:
        if self.store is None:
            from tradeready_gym.tracking.store import Store

            self.store = Store(self.spec)
            try:
                recover_journals(self.store)
            except Exception:  # never stop training for a leftover journal
                log.exception("recovering tracking journals failed")
        return self.store

    def _loop(self) -> None:
        while True:
            self.wake.wait(self.flush_interval_s)
            self.wake.clear()
            try:
                self.drain()
                self.error = None
            except Exception as exc:  # keep the thread alive; the journal still holds the episodes
                self.error = exc
                now = time.monotonic()
                if now - self._last_error_log >= 60.0:  # at most one report a minute
                    self._last_error_log = now
                    log.exception("tracking writer: commit failed; retrying every %.1f s", self.flush_interval_s)
                time.sleep(self.flush_interval_s)

    def drain(self) -> None:
        """Commit everything queued (called by the thread, or directly when it cannot run)."""
        queue = self.queue
        ops = [queue.popleft() for _ in range(len(queue))]
        flushes = [op[1] for op in ops if op[0] == "flush"]
        work = [op for op in ops if op[0] != "flush"] if flushes else ops
        if work:
            try:
                self._process(work)
            except BaseException:
                queue.extendleft(reversed(ops))
                raise
        now = time.monotonic()
        if now - self._last_heartbeat >= self.heartbeat_interval_s:
            live = [r for r in self.runs.values() if r.registered and not r.completed]
            if live:
                store = self.open_store()
                store.heartbeat([r.run_id for r in live])
                for r in live:
                    tracker = r.tracker()
                    if tracker is not None:
                        self._last(store, tracker)
            self._last_heartbeat = now
        for ev in flushes:
            ev.set()

    def _process(self, ops: list[tuple[Any, ...]]) -> None:
        store = self.open_store()
        # one pass sorts the ops; then: registrations, episodes per run (in order), run updates,
        # scalars, completions, forgotten runs
        by_kind: dict[str, list[tuple[Any, ...]]] = {}
        episodes: dict[str, list[tuple[tuple[Any, ...], Any, Any]]] = {}
        for op in ops:
            if op[0] == "episode":
                items = episodes.get(op[1])
                if items is None:
                    items = episodes[op[1]] = []
                items.append((op[2], op[3], op[4]))
            else:
                by_kind.setdefault(op[0], []).append(op)
        for op in by_kind.get("register", ()):
            self._register(store, op[1])
        for run_id, run_items in episodes.items():
            self._episodes(store, run_id, run_items)
        for op in by_kind.get("update", ()):
            store.update_run(op[1], **op[2])
        for op in by_kind.get("scalars", ()):
            store.upsert_scalars(op[1], op[2])
            if op[3] is not None:
                store.enqueue(op[1], [op[3]])
        for op in by_kind.get("complete", ()):
            self._complete(store, op[1], op[2], op[3], op[4])
        for op in by_kind.get("done", ()):  # a closed tracker: forget its state
            self.runs.pop(op[1], None)

    def _register(self, store: Any, t: TrainingTracker) -> None:
        st = self.runs.get(t.run_id)
        if st is None:
            st = self.runs[t.run_id] = _RunState(t)
        row = t.run_row()
        store.upsert_run(row)
        if t.remote:
            store.enqueue(t.run_id, _stamp([{"kind": "run", "dedup_key": f"run:{t.run_id}",
                                             "payload": t.register_payload()}], t.base_url))
            self._sender(store, t)
        st.registered = True

    def _sender(self, store: Any, t: TrainingTracker) -> None:
        assert t.base_url is not None and t.api_key is not None
        key = (t.base_url, t.api_key)
        sender = self._senders.get(key)
        if sender is None:
            from tradeready_gym.tracking.remote import OutboxSender

            sender = self._senders[key] = OutboxSender(store, t.base_url, t.api_key, **t.remote_options)
            sender.start()
        sender.poke()

    def _trace(self, st: _RunState, run_id: str, episode: int, capture: Any) -> bytes | None:
        meta = {"run_id": run_id, "episode": episode}
        try:
            return capture.encode(meta)  # type: ignore[no-any-return]
        except Exception:  # a trace that cannot be built never holds up the episodes
            log.warning("tracking run %s: the trace of episode %d could not be built", run_id, episode,
                        exc_info=True)
            return None

    def _episodes(self, store: Any, run_id: str, items: list[tuple[tuple[Any, ...], Any, Any]]) -> None:
        st = self.runs.get(run_id)
        if st is None:
            raise RuntimeError(f"episodes of unregistered run {run_id}")
        changed: dict[int, set[str]] = {}
        captures: dict[int, Any] = {}
        rows: list[dict[str, Any]] = []
        params: list[tuple[Any, ...]] = []
        fast = store.is_sqlite and not st.remote
        st.n += len(items)
        for rec, capture, isos in items:
            if fast:
                params.append(_sqlite_params(run_id, rec, isos))
            else:
                rows.append(_row_from_record(rec, isos))
            ep = rec[0]
            roi = rec[9]
            rs = rec[8]
            if rs - rs == 0.0:
                st.reward_sum += rs
                st.reward_n += 1
            if roi - roi == 0.0:  # finite
                st.roi_sum += roi
                st.roi_n += 1
                st.last_roi = roi
                # the best / worst traces are written at the next tick (heartbeat or close), so a
                # record broken again soon after is never encoded
                if st.best is None or roi > st.best[0]:
                    st.best = (roi, ep, capture)
                if st.worst is None or roi < st.worst[0]:
                    st.worst = (roi, ep, capture)
            if capture is None:
                continue
            want: set[str] = set()
            if ep == 1:
                want.add("first")
            if st.trace_every and ep % st.trace_every == 0:
                want.add("every_k")
            if want:
                st.reasons.setdefault(ep, set()).update(want)
                changed[ep] = st.reasons[ep]
                captures[ep] = capture
        st.total_steps = max(st.total_steps, max(int(item[0][4]) for item in items))
        traces, drops, relabel = [], [], {}
        for ep, reasons in changed.items():
            if not reasons:
                drops.append(ep)
                st.reasons.pop(ep, None)
            elif ep in captures:
                data = self._trace(st, run_id, ep, captures[ep])
                if data is not None:
                    traces.append({"episode": ep, "reasons": ",".join(sorted(reasons)), "data": data})
            else:
                relabel[ep] = ",".join(sorted(reasons))
        outbox = []
        if st.remote:
            outbox = [{"kind": "episode", "dedup_key": f"episode:{run_id}:{int(r['episode'])}",
                       "payload": _episode_payload(run_id, r)} for r in rows]
            outbox += [_trace_payload(run_id, t) for t in traces]
            _stamp(outbox, st.base_url)
        store.record_episodes(run_id, rows, traces=traces, drop_traces=drops, relabel_traces=relabel,
                              total_steps=st.total_steps, outbox=outbox, sqlite_params=params)
        st.committed = max(st.committed, max(int(item[0][0]) for item in items))
        if st.remote:
            for (base, _key), sender in self._senders.items():
                if base == st.base_url:
                    sender.poke()

    @staticmethod
    def _drop_reason(st: _RunState, ep: int, reason: str, changed: dict[int, set[str]]) -> None:
        rs = st.reasons.get(ep)
        if rs is not None and reason in rs:
            rs.discard(reason)
            changed[ep] = rs

    def _last(self, store: Any, t: TrainingTracker) -> None:
        """Write the moving traces: "best" and "worst" (by ROI) and "last" (the newest episode).

        Called with the heartbeat and at completion; a reason moves from its previous episode.
        """
        st = self.runs.get(t.run_id)
        if st is None:
            return
        latest = {
            "best": None if st.best is None else (st.best[1], st.best[2]),
            "worst": None if st.worst is None else (st.worst[1], st.worst[2]),
            "last": t._last_capture,
        }
        changed: dict[int, set[str]] = {}
        captures: dict[int, Any] = {}
        for reason, item in latest.items():
            if item is None or item[1] is None or item[0] > st.committed:
                continue
            if st.written.get(reason) is not None and st.written[reason][0] == item[0]:
                continue
            ep, capture = item
            for old, reasons in list(st.reasons.items()):
                if reason in reasons and old != ep:
                    self._drop_reason(st, old, reason, changed)
            st.reasons.setdefault(ep, set()).add(reason)
            changed[ep] = st.reasons[ep]
            captures[ep] = capture
            st.written[reason] = (ep, None)
            # a written capture is dropped (a vector env's capture holds its action log)
            if reason == "best" and st.best is not None and st.best[1] == ep:
                st.best = (st.best[0], ep, None)
            elif reason == "worst" and st.worst is not None and st.worst[1] == ep:
                st.worst = (st.worst[0], ep, None)
        if not changed:
            return
        traces, drops, relabel = [], [], {}
        for ep, reasons in changed.items():
            if not reasons:
                drops.append(ep)
                st.reasons.pop(ep, None)
            elif ep in captures:
                data = self._trace(st, t.run_id, ep, captures[ep])
                if data is not None:
                    traces.append({"episode": ep, "reasons": ",".join(sorted(reasons)), "data": data})
            else:
                relabel[ep] = ",".join(sorted(reasons))
        outbox = _stamp([_trace_payload(t.run_id, tr) for tr in traces], st.base_url) if st.remote else []
        store.record_episodes(t.run_id, [], traces=traces, drop_traces=drops, relabel_traces=relabel,
                              outbox=outbox, heartbeat=False)

    def _complete(self, store: Any, t: TrainingTracker, status: str, summary: dict[str, Any] | None,
                  done: threading.Event | None) -> None:
        st = self.runs.get(t.run_id)
        if st is None or not st.registered:
            if done is not None:
                done.set()
            return
        self._last(store, t)
        agg = {
            "episodes": st.n,
            "total_steps": st.total_steps,
            "mean_roi_pct": st.roi_sum / st.roi_n if st.roi_n else None,
            "last_roi_pct": st.last_roi,
            "best_roi_pct": st.best[0] if st.best else None,
            "best_episode": st.best[1] if st.best else None,
            "worst_roi_pct": st.worst[0] if st.worst else None,
            "worst_episode": st.worst[1] if st.worst else None,
            "mean_reward_sum": st.reward_sum / st.reward_n if st.reward_n else None,
        }
        full = {**agg, **(summary or {})}
        from tradeready_gym.tracking.models import utcnow

        store.update_run(t.run_id, status=status, completed_at=utcnow(), heartbeat_at=utcnow(),
                         summary=redact(full))
        if t.remote:
            store.enqueue(t.run_id, _stamp([{"kind": "complete", "dedup_key": f"complete:{t.run_id}",
                                             "payload": {"method": "POST",
                                                         "path": f"/api/v1/training/runs/{t.run_id}/complete",
                                                         "body": {"status": status, "summary": redact(full),
                                                                  "total_steps": st.total_steps}}}], t.base_url))
            self._sender(store, t)
        st.completed = True
        if done is not None:
            done.set()
        else:  # completed without anyone waiting (a collected tracker): the journal is no longer needed
            t._close_journal(delete=True)

    def flush(self, timeout: float) -> bool:
        """Wait until everything queued so far is committed; False on timeout."""
        ev = threading.Event()
        self.submit(("flush", ev), urgent=True)
        return ev.wait(timeout)

    def senders(self) -> list[Any]:
        return list(self._senders.values())


#: This process's id, kept current across ``fork`` (cheaper than asking the system on every episode).
_PID = os.getpid()


def _after_fork() -> None:
    global _PID
    _PID = os.getpid()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)

_WRITERS: dict[tuple[int, str], _Writer] = {}
_WRITERS_LOCK = threading.Lock()
#: Registered, not yet completed trackers of this process (weak: a tracker never keeps its env alive).
_OPEN: weakref.WeakValueDictionary[str, TrainingTracker] = weakref.WeakValueDictionary()
_UNCAUGHT: list[BaseException] = []


def _writer_for(spec: str, flush_interval_s: float, heartbeat_interval_s: float) -> _Writer:
    key = (os.getpid(), spec)
    w = _WRITERS.get(key)
    if w is None:
        with _WRITERS_LOCK:
            w = _WRITERS.get(key)
            if w is None:
                w = _WRITERS[key] = _Writer(spec, flush_interval_s, heartbeat_interval_s)
    return w


def _excepthook(tp: Any, value: Any, tb: Any) -> None:
    _UNCAUGHT.append(value)
    _PREV_HOOK(tp, value, tb)


_PREV_HOOK = sys.excepthook
_HOOKED = False


def _install_exit_handlers() -> None:
    global _HOOKED, _PREV_HOOK
    if _HOOKED:
        return
    _HOOKED = True
    _PREV_HOOK = sys.excepthook
    sys.excepthook = _excepthook
    atexit.register(_at_exit)


def _at_exit() -> None:
    """Complete the trackers nobody closed: "failed" after an uncaught exception, else "finished"."""
    status = "failed" if _UNCAUGHT else "finished"
    for t in list(_OPEN.values()):
        if t.pid != os.getpid():
            continue
        with contextlib.suppress(Exception):
            summary = {"error": repr(_UNCAUGHT[-1])} if _UNCAUGHT else {"closed_by": "interpreter exit"}
            t.complete_run(status=status, summary=summary, timeout=10.0)
    for (pid, _spec), w in list(_WRITERS.items()):
        if pid != os.getpid():
            continue
        for s in w.senders():
            with contextlib.suppress(Exception):
                s.stop(timeout=s.exit_timeout_s)


# ---------------------------------------------------------------------------------------- captures
class _SingleCapture:
    """What a single env's episode trace is made of, captured at the terminal step (cheap)."""

    __slots__ = ("equity", "fills", "market", "start")

    def __init__(self, market: Any, start: int, equity: np.ndarray, fills: list[dict[str, Any]]) -> None:
        self.market = market
        self.start = start
        self.equity = equity
        self.fills = fills

    def encode(self, meta: dict[str, Any]) -> bytes:
        from tradeready_gym.timeframes import parse_time
        from tradeready_gym.tracking.traces import encode_trace, fill_columns, positions_from_fills

        m = self.market
        n = self.equity.shape[0]
        bars = np.arange(self.start, self.start + n, dtype=np.int64)
        bars = np.minimum(bars, m.n_bars - 1)
        times = np.asarray(m.open_time, dtype=np.int64)[bars] + int(m.interval_ns)
        closes = np.asarray(m.close)[bars]

        fills = self.fills

        def to_ns(v: Any) -> int:  # for fills that are not env fill records (the columns cover those)
            return int(v) if isinstance(v, (int, np.integer)) else int(parse_time(v, param="time"))

        symbols = list(m.symbols)
        cols = fill_columns(fills, symbols) if fills else None
        pos = positions_from_fills(times, fills, symbols, to_ns, side="right", columns=cols)
        return encode_trace(times=times, closes=closes, equity=self.equity, position=pos, fills=fills,
                            symbols=symbols, meta=meta, columns=cols)


class _VectorReplay:
    """Rebuilds the episodes of one vector env for their traces (on the writer thread).

    A vector env keeps no equity curve or fills per env, but a preset vector env logs every action
    since its last full reset (``_tr_log``, for copying; `tradeready_gym.envs._snapshot`). Env ``i``
    of the batch behaves exactly like a one-env batch built from the same recipe on the same
    candles, so an episode is rebuilt by resetting that one-env copy at the episode's start bar and
    stepping it with env ``i``'s logged actions, recording equity and fills as the single env does.
    """

    def __init__(self, recipe: Any, market: Any, n_envs: int) -> None:
        self.recipe = recipe
        self.market = market
        self.n_envs = n_envs
        self._env: Any = None
        self._lock = threading.Lock()

    @classmethod
    def of(cls, venv: Any) -> _VectorReplay | bool:
        """The replayer of ``venv``, or False when it has no recipe or action log (hand-built envs)."""
        recipe = getattr(venv, "_tr_recipe", None)
        if recipe is None or not hasattr(venv, "_tr_log"):
            return False
        n = int(venv.num_envs)
        if "num_envs" not in recipe.kwargs and not (recipe.args and recipe.args[0] == n):
            return False
        return cls(recipe, venv.feed.market, n)

    def _one_env(self) -> Any:
        if self._env is None:
            r = self.recipe
            kwargs = {**r.kwargs, "data": self.market, "track_training": False, "download": False}
            args = r.args
            if "num_envs" in kwargs:
                kwargs["num_envs"] = 1
            else:
                args = (1, *args[1:])
            self._env = r.factory(*args, **kwargs)
        return self._env

    def run(self, start: int, actions: list[Any]) -> tuple[np.ndarray, list[dict[str, Any]]]:
        """Equity after each step (reset first) and the fills of one episode starting at bar ``start``
        (the fills as in the single env's ``info["filled_orders"]``)."""
        from tradeready_gym.engine.core import decode_fill_row

        with self._lock:
            env = self._one_env()
            core = env._core
            eng = core.engine
            core.reset_envs(np.ones(1, dtype=bool), np.array([start], dtype=np.int64))
            equity = np.empty(len(actions) + 1, dtype=np.float64)
            eq, n_fills = eng.equity, eng.step_fill_count
            equity[0] = eq.item(0)
            fills: list[dict[str, Any]] = []
            feed = core.feed
            symbols = tuple(feed.symbols)
            close_iso, open_iso, _ = feed.lists()
            table = eng.fill_table[0]
            fused = core._fused
            validate = core.action_scheme.validate
            obs = np.empty(core._obs_shape, dtype=np.float32)
            for k, a in enumerate(actions, 1):
                batch = np.asarray(a)[None, ...]
                if fused is not None:  # the compiled step, without the batch step's fresh arrays
                    code = fused.step(validate(batch), obs, None)
                    if code:
                        core._raise_step(code, None)
                else:
                    core.step(batch, None, with_infos=False)
                equity[k] = eq.item(0)
                nf = int(n_fills.item(0))
                for r in range(nf):
                    sym, side, qty, price, fee, kind, bar, at_close, _, _ = decode_fill_row(table[r].tolist())
                    fills.append({"symbol": symbols[sym], "side": side, "quantity": qty, "price": price, "fee": fee,
                                  "time": (close_iso if at_close else open_iso)[bar], "kind": kind})
            return equity, fills


class _VectorCapture:
    """A vector env's finished episode, captured by reference (the env's action log, the position its
    terminal step is logged at, the env index, the length and the start bar); encoded by replay."""

    __slots__ = ("end", "env_index", "length", "log", "replay", "start")

    def __init__(self, replay: _VectorReplay, log: list[Any], end: int, env_index: int, length: int,
                 start: int) -> None:
        self.replay = replay
        self.log = log
        self.end = end
        self.env_index = env_index
        self.length = length
        self.start = start

    def actions(self) -> list[Any] | None:
        """Env ``env_index``'s actions of the episode, oldest first; None when the log no longer has them
        (it stopped at its size limit before the episode's terminal step was logged)."""
        log, i = self.log, self.env_index
        if len(log) <= self.end or self.length <= 0:
            return None
        out: list[Any] = []
        k = self.end
        while len(out) < self.length and k >= 0:
            op = log[k]
            if op[0] == "step":
                out.append(op[1][i])
            k -= 1
        if len(out) < self.length:
            return None
        out.reverse()
        return out

    def encode(self, meta: dict[str, Any]) -> bytes | None:
        acts = self.actions()
        if acts is None:
            return None
        equity, fills = self.replay.run(self.start, acts)
        meta = {**meta, "env_index": self.env_index}
        return _SingleCapture(self.replay.market, self.start, equity, fills).encode(meta)


# ---------------------------------------------------------------------------------------- tracker
class TrainingTracker:
    """Records one training run: registration, every finished episode, traces, completion.

    Envs built by the presets (every registered id, single or vector) get one automatically with
    ``track_training=True`` (the default); ``track_training=False`` turns it off. It can also be used
    by hand (``tracker.report_episode(...)``) or attached to any `TradingEnv` / `TradeReadyVectorEnv`
    with `attach_tracker`.

    Args:
        api_key: platform API key; with ``base_url`` turns on remote mode (reports are shipped to the
            platform after being committed locally). Never stored (the config keeps ``"***"``).
        base_url: the platform's URL, e.g. ``"http://127.0.0.1:8000"``.
        strategy_label: a label for the run (the original's field).
        name: run name (default: the strategy label, else the env id).
        store: a `Store`, a path or a SQLAlchemy URL (default ``$TRADEREADY_HOME/tracking.sqlite``).
        mode: ``"train"`` (default), ``"eval"``, ``"paper"`` or ``"backtest"``.
        group_name, seed, algorithm, hyperparams: stored with the run (seed groups, what trained it).
        env_id: the Gymnasium id (default: read from the env's spec at the first reset).
        config: extra configuration stored with the run (merged over the env's settings).
        trace_every: keep the trace of every k-th episode (default 500; 0: only first, best, worst and last).
        flush_interval_s: how often the background writer commits (seconds).
        heartbeat_interval_s: how often an open run's heartbeat is refreshed (seconds).
        run_id: the run's id (default: a new UUID4).
        remote_options: options of the outbox sender (`tradeready_gym.tracking.remote.OutboxSender`).

    Raises:
        ConfigError: for a bad mode, ``trace_every`` or interval, or only one of api_key / base_url.
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        strategy_label: str | None = None,
        *,
        name: str | None = None,
        store: Any = None,
        mode: str = "train",
        group_name: str | None = None,
        seed: int | None = None,
        algorithm: str | None = None,
        hyperparams: dict[str, Any] | None = None,
        env_id: str | None = None,
        config: dict[str, Any] | None = None,
        trace_every: int = 500,
        flush_interval_s: float = 1.0,
        heartbeat_interval_s: float = 30.0,
        run_id: str | None = None,
        remote_options: dict[str, Any] | None = None,
    ) -> None:
        from tradeready_gym.tracking.models import RUN_MODES

        if mode not in RUN_MODES:
            raise ConfigError(f"mode={mode!r} is not allowed; allowed: {', '.join(RUN_MODES)}")
        if isinstance(trace_every, bool) or not isinstance(trace_every, (int, np.integer)) or trace_every < 0:
            raise ConfigError(f"trace_every={trace_every!r} is not allowed; allowed: an integer >= 0 (0: none)")
        for pname, v in (("flush_interval_s", flush_interval_s), ("heartbeat_interval_s", heartbeat_interval_s)):
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not (0 < float(v) < 86_400):
                raise ConfigError(f"{pname}={v!r} is not allowed; allowed: seconds > 0")
        if bool(api_key) != bool(base_url) and base_url is not None and api_key is not None:
            raise ConfigError("remote tracking needs both api_key and base_url (or neither)")
        if run_id is not None:
            try:
                run_id = str(uuid.UUID(str(run_id)))
            except ValueError:
                raise ConfigError(f"run_id={run_id!r} is not allowed; allowed: a UUID string") from None
        self.api_key = api_key or None
        self.base_url = base_url.rstrip("/") if base_url else None
        self.remote = bool(self.api_key and self.base_url)
        self.strategy_label = strategy_label
        self.name = name
        self.mode = mode
        self.group_name = group_name
        self.seed = seed
        self.algorithm = algorithm
        self.hyperparams = hyperparams
        self.env_id = env_id
        self.extra_config = dict(config or {})
        self.trace_every = int(trace_every)
        self.flush_interval_s = float(flush_interval_s)
        self.heartbeat_interval_s = float(heartbeat_interval_s)
        self.remote_options = dict(remote_options or {})
        self.store_spec = _store_spec(store)
        self.run_id = run_id or str(uuid.uuid4())
        self._init_runtime()

    def _init_runtime(self) -> None:
        self.pid = os.getpid()
        self.failures = 0
        self.registered = False
        self.completed = False
        self.episodes = 0
        self.total_steps = 0
        self._env_config: dict[str, Any] = {}
        self._t_start: list[float] = [0.0]  # when each env's current episode started (perf_counter)
        self._decision_ns: np.ndarray = np.zeros(0, dtype=np.int64)
        self._best = -math.inf
        self._worst = math.inf
        self._last_capture: tuple[int, Any] | None = None
        self._vector_replay: Any = None  # a vector env's `_VectorReplay` (False: its episodes cannot be replayed)
        self._journal_fd: int | None = None
        self._journal_lock: Any = None
        self._journal_path: Path | None = None
        self._journal_head = b""
        self._journal_bytes = 0
        self._writer: _Writer | None = None

    # ------------------------------------------------------------------ copying
    def __getstate__(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if not k.startswith("_") and k not in (
            "pid", "registered", "completed", "episodes", "total_steps", "failures")}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.run_id = str(uuid.uuid4())  # a copy of an env is a new run
        self._init_runtime()

    def __deepcopy__(self, memo: dict[int, Any]) -> TrainingTracker:
        new = TrainingTracker.__new__(TrainingTracker)
        new.__setstate__(copy.deepcopy(self.__getstate__(), memo))
        return new

    # ------------------------------------------------------------------ registration
    def _configure_from_env(self, env: Any) -> None:
        settings = dict(getattr(env, "settings", None) or {})
        spec = getattr(env, "spec", None)
        if self.env_id is None and spec is not None:
            self.env_id = getattr(spec, "id", None)
        n_envs = int(getattr(env, "num_envs", 1))
        cfg: dict[str, Any] = {
            "env_class": type(env).__name__,
            "num_envs": n_envs,
            **settings,
        }
        try:
            feed = env.feed
            m = feed.market
            cfg.setdefault("symbols", list(m.symbols))
            cfg.setdefault("timeframe", m.timeframe)
            cfg["data_range"] = [feed.time_iso(int(feed.start_index)), feed.time_iso(int(feed.end_index))]
            self._decision_ns = np.asarray(m.open_time, dtype=np.int64) + int(m.interval_ns)
            comps = env.components
            cfg["components"] = {k: type(v).__name__ for k, v in comps.items() if v is not None}
            single_obs = getattr(env, "single_observation_space", None) or env.observation_space
            single_act = getattr(env, "single_action_space", None) or env.action_space
            cfg["observation_space"] = repr(single_obs)
            cfg["action_space"] = repr(single_act)
        except Exception:  # a custom env without these parts: keep what is known
            log.debug("tracking: env config partly unavailable", exc_info=True)
        cfg.update(self.extra_config)
        self._env_config = redact(cfg)
        if self.strategy_label is None and settings.get("strategy_label"):
            self.strategy_label = str(settings["strategy_label"])
        self._t_start = [time.perf_counter()] * n_envs

    def run_row(self) -> dict[str, Any]:
        """The ``runs`` row of this run (registration)."""
        from tradeready_gym import __version__
        from tradeready_gym.tracking.models import utcnow

        now = utcnow()
        return {
            "id": self.run_id,
            "name": self.name or self.strategy_label or self.env_id,
            "strategy_label": self.strategy_label,
            "group_name": self.group_name,
            "seed": self.seed,
            "mode": self.mode,
            "status": "running",
            "env_id": self.env_id,
            "config": self._env_config,
            "algorithm": self.algorithm,
            "hyperparams": redact(self.hyperparams) if self.hyperparams is not None else None,
            "library_version": __version__,
            "created_at": now,
            "heartbeat_at": now,
        }

    def register_payload(self) -> dict[str, Any]:
        """The platform body of ``POST /api/v1/training/runs`` (the original's fields plus ours)."""
        from tradeready_gym import __version__

        body = {
            "run_id": self.run_id,
            "config": {"strategy_label": self.strategy_label, **self._env_config},
            "name": self.name or self.strategy_label or self.env_id,
            "strategy_label": self.strategy_label,
            "group_name": self.group_name,
            "seed": self.seed,
            "mode": self.mode,
            "env_id": self.env_id,
            "algorithm": self.algorithm,
            "hyperparams": redact(self.hyperparams) if self.hyperparams is not None else None,
            "library_version": __version__,
        }
        return {"method": "POST", "path": "/api/v1/training/runs", "body": {k: v for k, v in body.items() if v is not None}}

    def register_run(self, env: Any = None) -> str:
        """Register the run (done by the first reset); returns the run id. Idempotent."""
        if self.pid != os.getpid():  # a forked copy of an env is a new run
            self.run_id = str(uuid.uuid4())
            self._init_runtime()
        if self.registered:
            return self.run_id
        if env is not None:
            self._configure_from_env(env)
        elif not self._env_config:
            self._env_config = redact(dict(self.extra_config))
        self._writer = _writer_for(self.store_spec, self.flush_interval_s, self.heartbeat_interval_s)
        try:
            self._open_journal()
        except OSError as exc:  # the episodes still go to the store; only kill -9 safety is lost
            log.warning("tracking run %s: no journal (%s); a killed process may lose its last episodes",
                        self.run_id, exc)
        self._writer.submit(("register", self))
        self.registered = True
        _install_exit_handlers()
        _OPEN[self.run_id] = self
        return self.run_id

    # ------------------------------------------------------------------ journal
    def _open_journal(self) -> None:
        from filelock import FileLock

        d = _journal_dir(self.store_spec)
        d.mkdir(parents=True, exist_ok=True)
        path = d / f"{self.run_id}.jsonl"
        lock = FileLock(str(path) + ".lock", timeout=5)
        lock.acquire()
        self._journal_lock = lock
        self._journal_path = path
        head = {"type": "run", "row": {**self.run_row(), "created_at": _now_iso(), "heartbeat_at": _now_iso()},
                "remote": self.remote, "base_url": self.base_url,
                "register": self.register_payload() if self.remote else None}
        self._journal_head = (json.dumps(head, separators=(",", ":"), default=str) + "\n").encode()
        self._journal_fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.write(self._journal_fd, self._journal_head)
        self._journal_bytes = len(self._journal_head)

    def _rotate_journal(self, fd: int) -> None:
        st = self._writer.runs.get(self.run_id) if self._writer is not None else None
        if st is not None and st.committed >= self.episodes - 1:
            # every earlier record is committed: start the journal over
            os.ftruncate(fd, 0)
            os.write(fd, self._journal_head)
            self._journal_bytes = len(self._journal_head)

    def _close_journal(self, delete: bool) -> None:
        fd, self._journal_fd = self._journal_fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
        if delete and self._journal_path is not None:
            with contextlib.suppress(OSError):
                self._journal_path.unlink()
        lock, self._journal_lock = self._journal_lock, None
        if lock is not None:
            with contextlib.suppress(Exception):
                lock.release()
            if delete:
                with contextlib.suppress(OSError):
                    Path(str(self._journal_path) + ".lock").unlink()

    # ------------------------------------------------------------------ env hooks
    # the env's hooks: a tracking failure (unwritable home, full disk, ...) is logged, never raised
    def on_reset(self, env: Any, mask: np.ndarray | None = None) -> None:
        """Called by the env on every reset (the first registers the run)."""
        try:
            self._on_reset(env, mask)
        except Exception as exc:
            self._hook_failed(exc)

    def on_single_episode(self, env: Any, metrics: dict[str, Any], terminated: bool, truncated: bool) -> None:
        """Called by a single env at the terminal step with ``info["episode_metrics"]``."""
        try:
            self._on_single_episode(env, metrics, terminated, truncated)
        except Exception as exc:
            self._hook_failed(exc)

    def on_vector_episodes(self, venv: Any, idx: np.ndarray, metrics: dict[str, np.ndarray],
                           terminated: np.ndarray, truncated: np.ndarray) -> None:
        """Called by a vector env when envs ``idx`` finish (``metrics`` are `idx`-aligned arrays)."""
        try:
            self._on_vector_episodes(venv, idx, metrics, terminated, truncated)
        except Exception as exc:
            self._hook_failed(exc)

    def _hook_failed(self, exc: Exception) -> None:
        self.failures += 1
        if self.failures == 1:
            log.warning("training tracking of run %s failed (training goes on): %s", self.run_id, exc, exc_info=True)

    def _on_reset(self, env: Any, mask: np.ndarray | None = None) -> None:
        """Called by the env on every reset (the first registers the run)."""
        if not self.registered or self.pid != os.getpid():
            self.register_run(env)
        now = time.perf_counter()
        if mask is None:
            self._t_start = [now] * len(self._t_start)
        else:
            t_start = self._t_start
            for i in np.flatnonzero(mask).tolist():
                t_start[i] = now

    def _on_single_episode(self, env: Any, metrics: dict[str, Any], terminated: bool, truncated: bool) -> None:
        """Called by a single env at the terminal step with ``info["episode_metrics"]``."""
        if not self.registered or self.completed:
            return
        core = env._core
        start = int(core.state.start[0])
        times = self._decision_ns
        capture = None
        history = getattr(env, "history", None)
        if history is not None:
            capture = _SingleCapture(core.feed.market, start, history.equity_curve(), history.fills)
            ep = self.episodes + 1
            self._last_capture = (ep, capture)
            if not self._trace_candidate(ep, metrics.get("roi_pct")):
                capture = None
        end = int(core.engine.t[0])
        feed = core.feed
        self._report(0, metrics, int(times[start]), int(times[end]), terminated, truncated, capture,
                     (feed.time_iso(start), feed.time_iso(end)))

    def _trace_candidate(self, ep: int, roi: Any) -> bool:
        """Whether episode ``ep`` may be a sampled trace ("first", "every_k", "best" or "worst").

        Only candidates go to the writer (which applies the same rule); the newest episode is kept
        apart for the "last" trace. Updates the best and worst ROI seen so far.
        """
        keep = ep == 1 or (self.trace_every > 0 and ep % self.trace_every == 0)
        if roi is not None and roi == roi:
            if roi > self._best:
                self._best = roi
                keep = True
            if roi < self._worst:
                self._worst = roi
                keep = True
        return keep

    def _on_vector_episodes(self, venv: Any, idx: np.ndarray, metrics: dict[str, np.ndarray],
                           terminated: np.ndarray, truncated: np.ndarray) -> None:
        """Called by a vector env when envs ``idx`` finish (``metrics`` are `idx`-aligned arrays)."""
        if not self.registered or self.completed:
            return
        core = venv._core
        starts = core.state.start
        clock = core.engine.t
        times = self._decision_ns
        replay = self._vector_replay
        if replay is None:
            replay = self._vector_replay = _VectorReplay.of(venv)
        action_log = getattr(venv, "_tr_log", None) if replay else None
        # one conversion per array for all finished envs (not one per value)
        names = list(metrics)
        cols = [v.tolist() for v in metrics.values()]
        firsts, lasts = starts[idx].tolist(), clock[idx].tolist()
        terms, truncs = terminated[idx].tolist(), truncated[idx].tolist()
        feed = core.feed
        for j, i in enumerate(idx.tolist()):
            row = dict(zip(names, [c[j] for c in cols], strict=True))
            a, b = firsts[j], lasts[j]
            capture = None
            if action_log is not None:
                # references only: the actions are read from the env's log when a trace is encoded
                capture = _VectorCapture(replay, action_log, len(action_log), i, int(row.get("length", 0)), a)
                ep = self.episodes + 1
                self._last_capture = (ep, capture)
                if not self._trace_candidate(ep, row.get("roi_pct")):
                    capture = None
            self._report(i, row, int(times[a]), int(times[b]), terms[j], truncs[j], capture,
                         (feed.time_iso(a), feed.time_iso(b)))

    def _report(self, env_index: int, metrics: dict[str, Any], start_ns: int, end_ns: int,
                terminated: bool, truncated: bool, capture: Any, isos: tuple[str, str] | None = None) -> None:
        """Journal the episode (one write) and queue it for the writer; the env thread does nothing else."""
        now = time.perf_counter()
        self.episodes += 1
        get = metrics.get
        length = int(get("length", 0))
        self.total_steps += length
        t_start = self._t_start
        if env_index < len(t_start):
            t0 = t_start[env_index]
            t_start[env_index] = now  # the next episode of this env starts now (autoreset)
        else:
            t0 = now
        trades = get("trades")
        nan = math.nan
        rec: tuple[Any, ...] = (
            self.episodes, env_index, length, -1 if trades is None else int(trades), self.total_steps,
            start_ns, end_ns, (1 if terminated else 0) | (2 if truncated else 0),
            get("reward_sum", nan), get("roi_pct", nan), get("sharpe", nan), get("sortino", nan),
            get("max_drawdown_pct", nan), get("fees", nan), get("buy_hold_roi_pct", nan), get("final_equity", nan),
            now - t0, time.time(), get("win_rate", nan), get("profit_factor", nan), get("exposure_pct", nan),
        )
        try:
            data = _REC_PACK(_REC_MAGIC, *rec)
        except struct.error:  # a metric given as None: stored as NULL
            rec = tuple(nan if x is None else x for x in rec)
            data = _REC_PACK(_REC_MAGIC, *rec)
        # the journal record: one write, in the file before the env's step returns
        fd = self._journal_fd
        if fd is not None:
            if self._journal_bytes > _JOURNAL_ROTATE_BYTES:
                self._rotate_journal(fd)
            os.write(fd, data)
            self._journal_bytes += _REC_SIZE
        writer = self._writer
        assert writer is not None
        writer.queue.append(("episode", self.run_id, rec, capture, isos))
        writer.ensure_thread()

    # ------------------------------------------------------------------ manual use
    def report_episode(self, episode_number: int | None = None, metrics: dict[str, Any] | None = None,
                       **fields: Any) -> int:
        """Report an episode by hand (the env does this itself); returns its episode number.

        ``metrics`` uses the keys of ``info["episode_metrics"]`` (the original's ``sharpe_ratio``,
        ``total_trades`` are accepted too).
        """
        if not self.registered:
            self.register_run()
        m = dict(metrics or {})
        m.update(fields)
        m = {k: v for k, v in m.items() if v is not None}  # a metric left out (None) is stored as NULL
        if "sharpe_ratio" in m and "sharpe" not in m:
            m["sharpe"] = m.pop("sharpe_ratio")
        if "total_trades" in m and "trades" not in m:
            m["trades"] = m.pop("total_trades")
        if episode_number is not None:
            if isinstance(episode_number, bool) or not isinstance(episode_number, (int, np.integer)) or episode_number < 1:
                raise ConfigError(f"episode_number={episode_number!r} is not allowed; allowed: an integer >= 1")
            self.episodes = int(episode_number) - 1
        from tradeready_gym.timeframes import parse_time

        span = [m.pop("data_start", None), m.pop("data_end", None)]
        ns = [-1 if v is None else int(parse_time(v, param=name)) for v, name in zip(span, ("data_start", "data_end"),
                                                                                     strict=True)]
        self._report(int(m.pop("env_index", 0)), m, ns[0], ns[1],
                     bool(m.pop("terminated", False)), bool(m.pop("truncated", False)), None)
        return self.episodes

    def log_scalars(self, rows: list[dict[str, Any]]) -> None:
        """Queue training scalars ``{"key", "step", "value", "wall_time"}`` for the run's ``scalars`` table."""
        if not rows:
            return
        if not self.registered:
            self.register_run()
        assert self._writer is not None
        clean = [{"key": str(r["key"]), "step": int(r["step"]), "value": _num(r.get("value")),
                  "wall_time": r.get("wall_time")} for r in rows]
        item = None
        if self.remote:
            item = {"kind": "scalars", "dedup_key": f"scalars:{uuid.uuid4()}",
                    "payload": {"method": "POST", "path": f"/api/v1/training/runs/{self.run_id}/scalars",
                                "body": clean}}
        if item is not None:
            _stamp([item], self.base_url)
        self._writer.submit(("scalars", self.run_id, clean, item))

    def set_run_info(self, **fields: Any) -> None:
        """Set ``name``, ``strategy_label``, ``group_name``, ``seed``, ``algorithm`` or ``hyperparams`` of the
        run (stored now if the run is registered, else at registration)."""
        allowed = ("name", "strategy_label", "group_name", "seed", "algorithm", "hyperparams")
        bad = set(fields) - set(allowed)
        if bad:
            raise ConfigError(f"unknown run field(s) {sorted(bad)}; allowed: {', '.join(allowed)}")
        for k, v in fields.items():
            setattr(self, k, v)
        if self.registered and not self.completed and self._writer is not None:
            values = {k: (redact(v) if k == "hyperparams" and v is not None else v) for k, v in fields.items()}
            self._writer.submit(("update", self.run_id, values))

    def flush(self, timeout: float = 30.0) -> bool:
        """Commit everything reported so far; False if it did not finish within ``timeout`` seconds."""
        if self._writer is None:
            return True
        return self._writer.flush(timeout)

    def complete_run(self, status: str = "finished", summary: dict[str, Any] | None = None,
                     timeout: float = 30.0) -> None:
        """Complete the run (``"finished"`` or ``"failed"``), commit everything and release the journal."""
        if status not in ("finished", "failed"):
            raise ConfigError(f"status={status!r} is not allowed; allowed: finished, failed")
        if not self.registered or self.completed or self.pid != os.getpid():
            self.completed = self.completed or self.registered
            return
        self.completed = True
        _OPEN.pop(self.run_id, None)
        assert self._writer is not None
        done = threading.Event()
        writer = self._writer
        writer.submit(("complete", self, status, summary, done), urgent=True)
        deadline = time.monotonic() + timeout
        while not done.wait(0.05):
            # a store that cannot be written (the writer reports an error) does not hold up close()
            if writer.error is not None or time.monotonic() > deadline:
                break
        ok = done.is_set() and writer.flush(max(0.0, deadline - time.monotonic()))
        self._writer.submit(("done", self.run_id))
        self._close_journal(delete=ok)
        if not ok:
            log.warning("tracking run %s: not every report was committed within %.0f s; the journal keeps them",
                        self.run_id, timeout)

    def __del__(self) -> None:
        # an env dropped without close(): complete its run in the background ("finished")
        try:
            if self.registered and not self.completed and self.pid == os.getpid() and self._writer is not None:
                self.completed = True
                self._writer.submit(("complete", self, "finished", {"closed_by": "garbage collection"}, None),
                                    urgent=True)
                self._writer.submit(("done", self.run_id))
        except Exception:  # never raise from a finalizer (e.g. at interpreter shutdown)
            pass

    def close(self, error: BaseException | None = None) -> None:
        """Complete the run: ``"failed"`` (with the error in the summary) when an exception is passing
        through (``error`` given, or ``close`` called from an ``except`` / ``finally`` / ``with`` block
        while an exception propagates), else ``"finished"``."""
        if error is None:
            error = sys.exc_info()[1]
            if isinstance(error, (StopIteration, GeneratorExit)):
                error = None
        if error is not None:
            self.complete_run("failed", {"error": repr(error)[:2000]})
        else:
            self.complete_run("finished")

    def fail(self, error: BaseException | str) -> None:
        """Complete the run as ``"failed"``."""
        self.complete_run("failed", {"error": (error if isinstance(error, str) else repr(error))[:2000]})

    def __repr__(self) -> str:
        state = "completed" if self.completed else ("running" if self.registered else "not registered")
        return f"TrainingTracker(run_id={self.run_id!r}, {state}, episodes={self.episodes}, store={self.store_spec!r})"


def attach_tracker(env: Any, tracker: TrainingTracker | None = None, **kwargs: Any) -> TrainingTracker:
    """Attach a tracker to a `TradingEnv` or `TradeReadyVectorEnv` (what ``track_training=True`` does).

    Without ``tracker`` one is made from ``kwargs`` and from ``env.settings`` (``api_key``,
    ``base_url``, ``strategy_label``).
    """
    if tracker is None:
        settings = dict(getattr(env, "settings", None) or {})
        opts: dict[str, Any] = {"api_key": settings.get("api_key"), "base_url": settings.get("base_url"),
                "strategy_label": settings.get("strategy_label")}
        opts.update(kwargs)
        if not (opts.get("api_key") and opts.get("base_url")):
            opts["api_key"] = opts["base_url"] = None
        tracker = TrainingTracker(**opts)
    env._tracking = tracker
    return tracker


# ---------------------------------------------------------------------------------------- recovery
def recover_journals(store: Any) -> int:
    """Replay the journals of dead processes into ``store``; returns the number of episodes replayed.

    A journal is replayed only when its lock can be taken (its process is gone); then it is removed.
    """
    from filelock import FileLock, Timeout

    d = _journal_dir(str(store.url))
    if not d.is_dir():
        return 0
    total = 0
    for path in sorted(d.glob("*.jsonl")):
        lock = FileLock(str(path) + ".lock", timeout=0)
        try:
            lock.acquire()
        except Timeout:
            continue
        try:
            total += _replay(store, path)
            path.unlink()
        except Exception:
            log.exception("tracking journal %s could not be replayed; kept", path)
            continue
        finally:
            lock.release()
        with contextlib.suppress(OSError):
            Path(str(path) + ".lock").unlink()
    return total


def _read_journal(path: Path) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The header and the complete episode records of a journal (a record torn by a kill is ignored)."""
    data = path.read_bytes()
    cut = data.find(b"\n")
    if cut < 0:
        return None, []
    try:
        head = json.loads(data[:cut])
    except ValueError:
        return None, []
    rows: list[dict[str, Any]] = []
    body = memoryview(data)[cut + 1 :]
    size = _REC.size
    by_episode: dict[int, dict[str, Any]] = {}
    for off in range(0, len(body) - size + 1, size):
        rec = _REC.unpack_from(body, off)
        if rec[0] != _REC_MAGIC:
            break
        row = _row_from_record(rec[1:])
        by_episode[row["episode"]] = row
    rows = [by_episode[k] for k in sorted(by_episode)]
    return head, rows


def _replay(store: Any, path: Path) -> int:
    head, rows = _read_journal(path)
    if head is None:
        return 0
    run = dict(head["row"])
    run_id = str(run["id"])
    for k in ("created_at", "heartbeat_at"):
        if isinstance(run.get(k), str):
            run[k] = dt.datetime.fromisoformat(run[k].replace("Z", "+00:00"))
    if store.get_run(run_id) is None:
        store.upsert_run(run)
    if head.get("remote") and head.get("register"):
        store.enqueue(run_id, _stamp([{"kind": "run", "dedup_key": f"run:{run_id}", "payload": head["register"]}],
                                     head.get("base_url")))
    if rows:
        steps = max(int(r.get("global_step") or 0) for r in rows)
        outbox = []
        if head.get("remote"):
            outbox = _stamp([{"kind": "episode", "dedup_key": f"episode:{run_id}:{int(r['episode'])}",
                              "payload": _episode_payload(run_id, r)} for r in rows], head.get("base_url"))
        store.record_episodes(run_id, rows, total_steps=steps, outbox=outbox, heartbeat=False)
    log.info("tracking: replayed %d episode(s) of run %s from %s", len(rows), run_id, path)
    return len(rows)
