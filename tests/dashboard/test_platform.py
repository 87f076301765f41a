"""The dashboard inside ``tradeready serve`` (the platform's ``create_app``): pages public, data behind the
account key, every query scoped to the caller's account; the login form in a real browser.
Runs on SQLite and on PostgreSQL, like the platform suite."""

from __future__ import annotations

import datetime as dt
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tradeready_gym.tracking.models import Episode, Run, Scalar

from .browser import launch, screenshot, watch
from .seeding import episode_rows

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "platform"))
from platform_support import DBS, LiveServer, database_url, make_settings

API = "/api/v1/dashboard"


def _account_id(srv: Any, key: str) -> int:
    with srv.client(key) as c:
        r = c.get("/api/v1/account/info")
        assert r.status_code == 200, r.text
        return int(r.json()["account_id"])


def _add_run(srv: Any, account_id: int, name: str, n: int) -> str:
    rid = str(uuid.uuid4())
    with srv.app.state.db.session() as s:
        s.add(Run(id=rid, account_id=account_id, name=name, strategy_label="ppo", status="running",
                  heartbeat_at=dt.datetime.now(dt.UTC), episodes_completed=n, total_steps=n * 500,
                  config={"timeframe": "1h"}))
        s.flush()
        for row in episode_rows(n, 11):
            s.add(Episode(run_id=rid, **row))
        for k in range(1, 6):
            s.add(Scalar(run_id=rid, key="train/loss", step=k * 1000, value=1.0 / k, wall_time=1.7e9 + k))
    return rid


@pytest.fixture(scope="module", params=DBS)
def platform(request: pytest.FixtureRequest, real_cache: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("dash-platform")
    with database_url(request.param, tmp) as url, LiveServer(make_settings(url, real_cache)) as srv:
        key_a, key_b = srv.register("alice"), srv.register("bob")
        run_a = _add_run(srv, _account_id(srv, key_a), "alice-run", 2500)
        run_b = _add_run(srv, _account_id(srv, key_b), "bob-run", 10)
        yield {"srv": srv, "url": srv.url, "key_a": key_a, "key_b": key_b, "run_a": run_a, "run_b": run_b}


def test_pages_are_public_and_data_needs_the_key(platform):
    url = platform["url"]
    page = httpx.get(url + "/training", timeout=10)
    assert page.status_code == 200 and 'data-auth="key"' in page.text
    r = httpx.get(url + API + "/runs", timeout=10)
    assert r.status_code == 401 and r.json()["error"]["code"] == "INVALID_API_KEY"
    r = httpx.get(url + API + "/runs", headers={"X-API-Key": "ak_live_wrong"}, timeout=10)
    assert r.status_code == 401


def test_queries_are_scoped_to_the_account(platform):
    url, a, b = platform["url"], {"X-API-Key": platform["key_a"]}, {"X-API-Key": platform["key_b"]}
    runs = httpx.get(url + API + "/runs", headers=a, timeout=30).json()["runs"]
    assert [r["id"] for r in runs] == [platform["run_a"]]
    assert runs[0]["episodes"] == 2500 and len(runs[0]["sparkline"]) == 40
    rid_b = platform["run_b"]
    for path in (f"/runs/{rid_b}", f"/runs/{rid_b}/curves", f"/runs/{rid_b}/episodes", f"/runs/{rid_b}/updates"):
        r = httpx.get(url + API + path, headers=a, timeout=30)
        assert r.status_code == 404, (path, r.text)
    r = httpx.get(url + API + "/compare", params={"ids": f"{platform['run_a']},{rid_b}"}, headers=a, timeout=30)
    assert r.status_code == 404
    assert httpx.get(url + API + f"/runs/{rid_b}", headers=b, timeout=30).status_code == 200


def test_curves_and_tables_on_this_database(platform):
    url, a, rid = platform["url"], {"X-API-Key": platform["key_a"]}, platform["run_a"]
    c = httpx.get(url + API + f"/runs/{rid}/curves", params={"metrics": "roi_pct,scalar:train/loss", "x": "time"},
                  headers=a, timeout=30).json()
    assert len(c["series"]["roi_pct"]["x"]) == 2000 and c["series"]["scalar:train/loss"]["n"] == 5
    # the database's min/max buckets (same SQL on SQLite and PostgreSQL): real points, ends kept
    rows = episode_rows(2500, 11)
    by_time = {round(r["finished_at"].timestamp(), 3): r["roi_pct"] for r in rows}
    roi = c["series"]["roi_pct"]
    assert all(by_time[round(xv, 3)] == pytest.approx(yv) for xv, yv in zip(roi["x"], roi["y"], strict=True))
    assert roi["y"][-1] == pytest.approx(rows[-1]["roi_pct"]) and roi["y"][0] == pytest.approx(rows[0]["roi_pct"])
    assert max(roi["y"]) == pytest.approx(max(r["roi_pct"] for r in rows))
    p = httpx.get(url + API + f"/runs/{rid}/episodes", params={"q": "2024-02", "sort": "sharpe", "page_size": 500},
                  headers=a, timeout=30).json()
    assert p["total"] > 0 and all("2024-02" in r["data_start"] or "2024-02" in r["data_end"] for r in p["rows"])
    sharpe = [r["sharpe"] for r in p["rows"] if r["sharpe"] is not None]
    assert sharpe == sorted(sharpe, reverse=True)
    d = httpx.get(url + API + f"/runs/{rid}", headers=a, timeout=30).json()
    assert d["cards"]["episodes"] == 2500


def test_login_form_in_the_browser(platform):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            w = watch(context)
            page = context.new_page()
            page.goto(platform["url"] + "/training")
            page.wait_for_selector("dialog#tr-login[open]", timeout=30_000)
            screenshot(page, "login-1280x800")
            page.fill("#tr-login-key", platform["key_a"])
            page.keyboard.press("Enter")
            page.wait_for_selector("body[data-ready='1']", timeout=30_000)
            assert page.locator("#runs-table tbody tr").count() == 1
            assert page.evaluate("sessionStorage.getItem('tradeready_api_key')") == platform["key_a"]
            page.goto(platform["url"] + f"/training/runs/{platform['run_a']}")
            page.wait_for_selector("body[data-ready='1']", timeout=30_000)
            assert page.locator("dialog#tr-login[open]").count() == 0
            assert len(page.evaluate("TR.charts.roi_pct.data[0]")) == 2000
            # signing out forgets the key: the form comes back
            page.click("#sign-out")
            page.wait_for_selector("dialog#tr-login[open]", timeout=30_000)
            assert page.evaluate("sessionStorage.getItem('tradeready_api_key')") is None
            context.close()
            # the 401s before signing in are expected; anything else is not
            w.errors = [e for e in w.errors if "401" not in e]
            w.check()
        finally:
            browser.close()


def test_dashboard_has_its_own_rate_limit_tier(platform, real_cache, tmp_path):
    from tradeready_platform.settings import DEFAULT_RATE_LIMITS

    # the default: 1,200 a minute for the dashboard's JSON, apart from the general /api/v1/ tier (600)
    assert DEFAULT_RATE_LIMITS["/api/v1/dashboard/"] == 1200 and DEFAULT_RATE_LIMITS["/api/v1/"] == 600
    a = {"X-API-Key": platform["key_a"]}
    r = httpx.get(platform["url"] + API + "/runs", headers=a, timeout=30)
    assert r.status_code == 200 and r.headers["x-ratelimit-limit"] == "1200"
    r = httpx.get(platform["url"] + "/api/v1/account/info", headers=a, timeout=30)
    assert r.headers["x-ratelimit-limit"] == "600"
    # counted apart: the dashboard's budget spent leaves the general tier untouched, and the other way round
    limits = {"/api/v1/dashboard/": 3, "/api/v1/": 2}
    with database_url("sqlite", tmp_path) as url, LiveServer(make_settings(url, real_cache, rate_limits=limits)) as srv:
        with srv.client(srv.register()) as c:
            assert [c.get(API + "/runs").headers["x-ratelimit-remaining"] for _ in range(3)] == ["2", "1", "0"]
            over = c.get(API + "/runs")
            assert over.status_code == 429 and over.json()["error"]["details"]["limit"] == 3
            for _ in range(2):
                r = c.get("/api/v1/account/info")
                assert r.status_code == 200 and r.headers["x-ratelimit-limit"] == "2"
            assert c.get("/api/v1/account/info").status_code == 429
            assert c.get(API + "/config").status_code == 429  # every dashboard route shares the tier
