"""Real local HTTP servers for the download tests (127.0.0.1, port 0, one thread each).

* `serve_directory`: a static file server (``http.server``) for a ``data.binance.vision`` tree.
* `KlinesServer`: answers ``GET /api/v3/klines`` in Binance's exact format from the shared REST
  files, honouring ``symbol``, ``interval``, ``startTime``, ``endTime`` and ``limit``; it can answer
  429 with ``Retry-After`` once, and answers 400 ``{"code":-1121,"msg":"Invalid symbol."}`` for an
  unknown symbol.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import json
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse


class _QuietHandler(SimpleHTTPRequestHandler):
    log: list[str]

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serve_directory(root: Path) -> Iterator[tuple[str, list[str]]]:
    """Serve ``root`` over HTTP; yields (base URL, list of requested paths)."""
    requested: list[str] = []

    class Handler(_QuietHandler):
        def do_GET(self) -> None:
            requested.append(self.path)
            super().do_GET()

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requested
    finally:
        server.shutdown()
        server.server_close()


@functools.lru_cache(maxsize=32)
def _rest_rows(shared: Path, symbol: str, interval: str) -> tuple[tuple[Any, ...], ...]:
    folder = shared / "raw" / "binance_spot_rest_klines" / symbol / interval
    rows: dict[int, list[Any]] = {}
    for f in sorted(folder.glob("*.json.gz")):
        with gzip.open(f, "rt") as fh:
            for r in json.load(fh):
                rows[int(r[0])] = r
    return tuple(tuple(rows[k]) for k in sorted(rows))


class KlinesServer:
    """A local ``/api/v3/klines`` server over the shared REST files."""

    def __init__(self, shared: Path) -> None:
        self.shared = shared
        self.requests: list[dict[str, str]] = []
        self.rate_limit_once = False
        self.fail_500 = 0  # answer this many requests with HTTP 500 first
        self.retry_after = "1"
        self.symbols = {p.name for p in (shared / "raw" / "binance_spot_rest_klines").iterdir() if p.is_dir()}
        outer = self

        class Handler(_QuietHandler):
            def do_GET(self) -> None:
                outer._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> KlinesServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def _send(
        h: SimpleHTTPRequestHandler, status: int, body: Any, headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(body, separators=(",", ":")).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json;charset=UTF-8")
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    def _handle(self, h: SimpleHTTPRequestHandler) -> None:
        u = urlparse(h.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        self.requests.append(q)
        if u.path != "/api/v3/klines":
            self._send(h, 404, {"code": -1, "msg": "Not found."})
            return
        if self.fail_500 > 0:
            self.fail_500 -= 1
            self._send(
                h, 500, {"code": -1000, "msg": "An unknown error occurred while processing the request."}
            )
            return
        if self.rate_limit_once:
            self.rate_limit_once = False
            self._send(
                h, 429, {"code": -1003, "msg": "Too many requests."}, {"Retry-After": self.retry_after}
            )
            return
        symbol = q.get("symbol", "")
        if symbol not in self.symbols:
            self._send(h, 400, {"code": -1121, "msg": "Invalid symbol."})
            return
        interval = q.get("interval", "")
        folder = self.shared / "raw" / "binance_spot_rest_klines" / symbol / interval
        if not folder.is_dir():
            self._send(h, 400, {"code": -1120, "msg": "Invalid interval."})
            return
        limit = int(q.get("limit", "500"))
        if not 1 <= limit <= 1000:
            self._send(h, 400, {"code": -1130, "msg": "Invalid data sent for a parameter."})
            return
        rows = _rest_rows(self.shared, symbol, interval)
        start = int(q["startTime"]) if "startTime" in q else None
        end = int(q["endTime"]) if "endTime" in q else None
        sel = [r for r in rows if (start is None or r[0] >= start) and (end is None or r[0] <= end)]
        sel = sel[:limit] if start is not None else sel[-limit:]
        self._send(h, 200, [list(r) for r in sel])


@contextlib.contextmanager
def truncating_server(payload: bytes) -> Iterator[str]:
    """A server that announces ``len(payload)`` bytes, sends half of them and hangs up."""

    class Handler(_QuietHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.close_connection = True

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    """A TCP port on 127.0.0.1 where nothing listens (a server that is down)."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port
