"""The step answered by the auth middleware (``hot_routes``) gives the same bytes, status codes and
headers as the FastAPI route it short-cuts, errors included."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from platform_support import DBS, LiveServer, database_url, make_settings

pytest_plugins = ["platform_support"]

WINDOW = {"start_time": "2024-03-01T00:00:00Z", "end_time": "2024-03-02T00:00:00Z", "candle_interval": 3600}


def _without_hot_routes(srv: LiveServer) -> LiveServer:
    for mw in srv.app.user_middleware:
        if "hot_routes" in mw.kwargs:
            mw.kwargs["hot_routes"] = ()
            return srv
    raise AssertionError("the auth middleware takes no hot_routes")


ANSWERED: list[int] = []


def _counting(srv: LiveServer) -> LiveServer:
    """Count the requests the hot step handler answers itself."""
    for mw in srv.app.user_middleware:
        routes = mw.kwargs.get("hot_routes")
        if routes:
            (method, pattern, handler), = routes

            async def counted(match: Any, ident: Any, handler: Any = handler) -> Any:
                answer = await handler(match, ident)
                ANSWERED.append(0 if answer is None else answer[0])
                return answer

            mw.kwargs["hot_routes"] = [(method, pattern, counted)]
            return srv
    raise AssertionError("the auth middleware has no hot step route")


@pytest.fixture(scope="module", params=DBS)
def servers(request: pytest.FixtureRequest, real_cache: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        tuple[LiveServer, LiveServer]]:
    tmp = tmp_path_factory.mktemp("hot")
    with database_url(request.param, tmp) as u1, database_url(request.param, tmp) as u2:
        with _counting(LiveServer(make_settings(u1, real_cache))) as hot:
            with _without_hot_routes(LiveServer(make_settings(u2, real_cache))) as plain:
                yield hot, plain


def _script(c: httpx.Client) -> list[tuple[int, bytes, dict[str, str]]]:
    """Errors, orders, steps to the end and a step after it; each answer with the session and order ids blanked."""
    sid = c.post("/api/v1/backtest/create", json={**WINDOW, "pairs": ["BTCUSDT", "ETHUSDT"]}).json()["session_id"]
    out = []

    def step(path: str) -> bool:
        r = c.post(path)
        headers = {k: v for k, v in r.headers.items() if k in ("content-type", "content-length", "x-ratelimit-limit",
                                                                  "x-ratelimit-remaining")}
        body = re.sub(rb'"order_id":"[0-9a-f-]{36}"', b'"order_id":"OID"', r.content.replace(sid.encode(), b"SID"))
        out.append((r.status_code, body, headers))
        return b'"is_complete":true' in r.content

    step(f"/api/v1/backtest/{sid}/step")  # not started: 409
    step("/api/v1/backtest/no-such-session/step")  # 404
    assert c.post(f"/api/v1/backtest/{sid}/start").status_code == 200
    for k in range(100):
        if k % 4 == 0:
            r = c.post(f"/api/v1/backtest/{sid}/trade/order",
                       json={"symbol": "ETHUSDT", "side": "buy" if k % 8 == 0 else "sell", "quantity": "0.7"})
            assert r.status_code in (200, 400)
        if k == 3:
            r = c.post(f"/api/v1/backtest/{sid}/trade/order", json={"symbol": "ETHUSDT", "side": "buy",
                                                                    "type": "limit", "quantity": "0.5",
                                                                    "price": "3380"})
            assert r.status_code == 200, r.text
        if step(f"/api/v1/backtest/{sid}/step"):
            break
    step(f"/api/v1/backtest/{sid}/step")  # completed: 409
    return out


def test_hot_step_answers_like_the_route(servers: tuple[LiveServer, LiveServer]) -> None:
    hot, plain = servers
    ANSWERED.clear()
    with hot.client(hot.register()) as a, plain.client(plain.register()) as b:
        got, want = _script(a), _script(b)
    # the in-memory session's steps and errors were answered by the middleware; the unknown session by the route
    n = [s for s, _, _ in want].count(200)
    assert n > 20 and ANSWERED == [409, 0] + [200] * n + [409]
    assert [s for s, _, _ in want][:2] == [409, 404] and want[-1][0] == 409
    assert b'"is_complete":true' in want[-2][1] and b'"type":"limit"' in b"".join(x[1] for x in want)
    assert got == want
