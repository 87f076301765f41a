"""Authentication and rate limiting: one ASGI middleware in front of every ``/api/v1/`` route.

* Public: ``/api/v1/market/...`` (the global market data), ``/api/v1/auth/...`` and
  ``/api/v1/health``; everything else needs ``X-API-Key: ak_live_...`` (or ``Authorization: Bearer
  ak_live_...``), else 401 ``INVALID_API_KEY``.
* Limits: in-process fixed windows of ``Settings.rate_window_s`` seconds, counted per API key and
  tier; the tier is the first prefix of ``Settings.rate_limits`` that the path starts with (the
  original's table by default, plus ``/api/v1/dashboard/`` for the training dashboard). Every
  authenticated response carries ``X-RateLimit-Limit``,
  ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (Unix time the window ends); over the limit the
  answer is 429 ``RATE_LIMIT_EXCEEDED`` with ``Retry-After`` and
  ``details{limit, window_seconds, retry_after_seconds}``.
* ``POST /api/v1/auth/register`` is limited per client IP (``Settings.register_limit`` per window).

The counters live in the server process (several workers would each count separately).
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from anyio import to_thread

from tradeready_platform.errors import error_body
from tradeready_platform.services.accounts import AccountService
from tradeready_platform.settings import Settings

__all__ = ["PUBLIC_PREFIXES", "AuthRateLimitMiddleware", "HotRoute", "RateLimiter"]

PUBLIC_PREFIXES = ("/api/v1/market/", "/api/v1/auth/", "/api/v1/health")


class RateLimiter:
    """Fixed-window counters: ``hit(ident, prefix, limit)`` -> (allowed, remaining, reset, retry_after)."""

    def __init__(self, window_s: int) -> None:
        self.window_s = int(window_s)
        self._counts: dict[tuple[Any, str], tuple[int, int]] = {}

    def hit(self, ident: Any, prefix: str, limit: int, now: float | None = None) -> tuple[bool, int, int, int]:
        now = time.time() if now is None else now
        window = int(now // self.window_s)
        reset = (window + 1) * self.window_s
        k = (ident, prefix)
        w, n = self._counts.get(k, (window, 0))
        if w != window:
            n = 0
            if len(self._counts) > 100_000:
                self._counts = {kk: v for kk, v in self._counts.items() if v[0] == window}
        if n >= limit:
            return False, 0, reset, max(1, math.ceil(reset - now))
        self._counts[k] = (window, n + 1)
        return True, limit - n - 1, reset, 0


def _send_json(status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]]) -> tuple[dict, dict]:
    raw = json.dumps(body, separators=(",", ":")).encode()
    hdrs = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode()), *headers]
    return ({"type": "http.response.start", "status": status, "headers": hdrs},
            {"type": "http.response.body", "body": raw})


#: ``(method, path pattern, handler)`` of a route answered by the middleware itself (see
#: `AuthRateLimitMiddleware`): ``handler(match, identity)`` returns ``(status, JSON body)``, or None to
#: leave the request to the application.
HotRoute = tuple[str, "re.Pattern[str]", Callable[[re.Match[str], Any], Awaitable[tuple[int, bytes] | None]]]


class AuthRateLimitMiddleware:
    """ASGI middleware: resolves the API key, applies the limits, adds the headers.

    The resolved identity is put in ``scope["state"]["identity"]`` as ``(account_id, key_id)``.

    ``hot_routes``: authenticated routes answered right here once the key and the limits passed,
    without the application's routing, dependency solving and request objects (the backtest step,
    whose server time those dominated). A handler answers with the same JSON bytes and headers
    as the application's route would, or returns None to pass the request on to it.
    """

    def __init__(
        self, app: Any, accounts: AccountService, settings: Settings, hot_routes: Sequence[HotRoute] = ()
    ) -> None:
        self.app = app
        self.accounts = accounts
        self.settings = settings
        self.hot_routes = tuple(hot_routes)
        self.tiers = sorted(settings.rate_limits.items(), key=lambda kv: -len(kv[0]))
        self.limiter = RateLimiter(settings.rate_window_s)

    def _tier(self, path: str) -> tuple[str, int] | None:
        for prefix, limit in self.tiers:
            if path.startswith(prefix):
                return prefix, int(limit)
        return None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if not path.startswith("/api/v1/"):
            await self.app(scope, receive, send)
            return
        if path.startswith(PUBLIC_PREFIXES):
            if path == "/api/v1/auth/register" and scope["method"] == "POST":
                ip = (scope.get("client") or ("?", 0))[0]
                ok, _, reset, retry = self.limiter.hit(("ip", ip), "register", self.settings.register_limit)
                if not ok:
                    await self._too_many(send, self.settings.register_limit, reset, retry, [])
                    return
            await self.app(scope, receive, send)
            return
        key = ""
        for name, value in scope["headers"]:
            if name == b"x-api-key":
                key = value.decode("latin-1").strip()
                break
            if name == b"authorization" and not key:
                v = value.decode("latin-1").strip()
                if v.lower().startswith("bearer "):
                    key = v[7:].strip()
        ident = self.accounts.cached(key) if key else None
        if ident is None and key:
            ident = await to_thread.run_sync(self.accounts.authenticate, key)
        if ident is None:
            msg = "missing API key: send it in the X-API-Key header" if not key else "invalid or revoked API key"
            start, body = _send_json(401, error_body("INVALID_API_KEY", msg), [])
            await send(start)
            await send(body)
            return
        scope.setdefault("state", {})["identity"] = ident
        tier = self._tier(path)
        if tier is None:
            await self.app(scope, receive, send)
            return
        prefix, limit = tier
        ok, remaining, reset, retry = self.limiter.hit(ident[1], prefix, limit)
        headers = [
            (b"x-ratelimit-limit", str(limit).encode()),
            (b"x-ratelimit-remaining", str(remaining).encode()),
            (b"x-ratelimit-reset", str(reset).encode()),
        ]
        if not ok:
            await self._too_many(send, limit, reset, retry, headers)
            return
        method = scope["method"]
        for hot_method, pattern, handler in self.hot_routes:
            if hot_method == method:
                match = pattern.fullmatch(path)
                if match is not None:
                    answer = await handler(match, ident)
                    if answer is not None:
                        status, raw = answer
                        hdrs = [(b"content-length", str(len(raw)).encode()), (b"content-type", b"application/json"),
                                *headers]
                        await send({"type": "http.response.start", "status": status, "headers": hdrs})
                        await send({"type": "http.response.body", "body": raw})
                        return
                    break

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _too_many(
        self, send: Any, limit: int, reset: int, retry: int, headers: list[tuple[bytes, bytes]]
    ) -> None:
        details = {"limit": limit, "window_seconds": self.settings.rate_window_s, "retry_after_seconds": retry}
        if not headers:
            headers = [(b"x-ratelimit-limit", str(limit).encode()), (b"x-ratelimit-remaining", b"0"),
                       (b"x-ratelimit-reset", str(reset).encode())]
        start, body = _send_json(
            429,
            error_body("RATE_LIMIT_EXCEEDED", f"rate limit of {limit} requests per "
                       f"{self.settings.rate_window_s} s exceeded; retry in {retry} s", details),
            [*headers, (b"retry-after", str(retry).encode())],
        )
        await send(start)
        await send(body)
