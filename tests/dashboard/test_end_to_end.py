"""A real tracked env (TrainingTracker on by default) shows up in the dashboard: run, episodes, replay."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import httpx
import numpy as np
import pytest

import tradeready_gym  # noqa: F401  (registers the envs)

from .browser import launch, screenshot, watch
from .conftest import serve

API = "/api/v1/dashboard"


@pytest.mark.slow
def test_tracked_env_in_the_dashboard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, btc_1h, real_cache):
    from tradeready_gym.tracking.store import default_store_path
    from tradeready_platform.dashboard import create_local_app

    monkeypatch.setenv("TRADEREADY_HOME", str(tmp_path / "home"))
    env = gym.make("TradeReady-BTC-v0", data=btc_1h, start_time="2024-02-01", end_time="2024-02-08")
    rng = np.random.default_rng(7)
    episodes = 0
    env.reset(seed=7)
    while episodes < 3:
        _, _, term, trunc, info = env.step(env.action_space.sample() if rng.random() < 0.2 else 0)
        if term or trunc:
            assert "episode_metrics" in info
            episodes += 1
            env.reset()
    env.close()

    app = create_local_app(default_store_path(), cache_dir=str(real_cache), refresh_s=0.5)
    with serve(app) as url:
        runs = httpx.get(url + API + "/runs", timeout=30).json()["runs"]
        assert len(runs) == 1 and runs[0]["episodes"] == 3 and runs[0]["status"] == "finished"
        rid = runs[0]["id"]
        detail = httpx.get(url + API + f"/runs/{rid}", timeout=30).json()
        assert detail["traced_episodes"], "the tracker keeps traces of the first, best, worst and last episode"
        n = detail["traced_episodes"][0]
        r = httpx.get(url + API + f"/runs/{rid}/episodes/{n}/replay", timeout=30).json()
        row = next(e for e in httpx.get(url + API + f"/runs/{rid}/episodes", timeout=30).json()["rows"]
                   if e["episode"] == n)
        assert r["bars"] == len(r["time"]) >= row["length"]
        assert r["ohlc_source"] == "cache"
        # every fill is drawn on the bar whose position it changed, at a price inside that bar
        for f in r["fills"]:
            k = r["time"].index(f["time"])
            assert r["position"][k] != pytest.approx(r["position"][k - 1])
            assert r["low"][k] * 0.99 <= f["price"] <= r["high"][k] * 1.01
        assert r["equity"][-1] == pytest.approx(row["final_equity"], rel=1e-9)

        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = launch(p)
            try:
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                w = watch(context)
                page = context.new_page()
                page.goto(f"{url}/training/runs/{rid}/episodes/{n}")
                page.wait_for_selector("body[data-ready='1']", timeout=30_000)
                box = page.locator("#price-chart")
                assert int(box.get_attribute("data-candles")) == r["bars"]
                assert int(box.get_attribute("data-markers")) == len(r["fills"])
                screenshot(page, "replay-tracked-env-1280x800")
                page.goto(f"{url}/training/runs/{rid}")
                page.wait_for_selector("body[data-ready='1']", timeout=30_000)
                assert page.evaluate("TR.charts.roi_pct.data[0].length") == 3
                context.close()
                w.check()
            finally:
                browser.close()
