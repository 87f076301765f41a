"""Dashboard scale benchmark, measured in headless Chromium (Debian's ``chromium``) against real uvicorn
(the server in its own process).

Two stores are written through `tradeready_gym.tracking.store.Store`:

* 200 runs x 1,000 episodes: the run list (``/training``) must be ready in < 2 s;
* one run with 100,000 episodes (+ SB3-like scalars): its page (``/training/runs/{id}``) must be ready
  in < 1 s.

"Ready" is the page's own ``tr-ready`` performance mark (all data fetched and every chart and table
drawn), read as milliseconds since navigation start; ``last_api_response_ms`` is when the last API
answer arrived (the rest is the page's own drawing). Each page is loaded ``--repeat`` times in fresh
browser contexts; the first load is reported apart (cold server caches), and so is the first load
after the start-up pre-computation that ``tradeready dashboard`` runs (``first_after_startup_ms``). Also reported: the API times
of the requests behind each page (warm), the run page's three first requests sent together to a freshly
started server without a browser (``cold_server_api_ms``), the largest chart series (must be <= 2,000
points), and the load average (as ``uptime`` shows it) at the start and the end.

Usage::

    python benchmarks/bench_dashboard.py [--repeat 5] [--runs 200] [--episodes 1000] [--big 100000]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import numpy as np

os.environ.setdefault("TRADEREADY_JIT", "wait")  # time compiled code: a missing kernel compiles before its call returns

CHROMIUM = os.environ.get("TRADEREADY_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def episodes(n: int, seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    roi = -2 + 4 * (1 - np.exp(-np.arange(1, n + 1) / 300)) + rng.normal(0, 3, n)
    bh = rng.normal(1, 4, n)
    sh = roi / 3 + rng.normal(0, 0.3, n)
    dd = np.abs(rng.normal(5, 2, n))
    trades = rng.integers(0, 40, n)
    rows = []
    for k in range(n):
        ep = k + 1
        rows.append({
            "episode": ep, "env_index": ep % 8, "data_start": f"2024-{1 + ep % 12:02d}-01T00:00:00Z",
            "data_end": f"2024-{1 + ep % 12:02d}-21T00:00:00Z", "length": 500,
            "reward_sum": float(roi[k] / 20), "roi_pct": float(roi[k]), "sharpe": float(sh[k]),
            "sortino": float(roi[k] / 2), "max_drawdown_pct": float(dd[k]), "trades": int(trades[k]),
            "fees": 10.0, "buy_hold_roi_pct": float(bh[k]), "final_equity": float(10_000 * (1 + roi[k] / 100)),
            "terminated": False, "truncated": True, "wall_time_s": 0.5, "global_step": ep * 500,
            "finished_at": t0 + dt.timedelta(seconds=ep * 3),
        })
    return rows


def seed(store: Any, name: str, n: int, s: int, *, scalars: int = 0) -> str:
    rid = str(uuid.UUID(int=s + 1))
    store.upsert_run({"id": rid, "name": name, "strategy_label": ["ppo", "a2c", "dqn"][s % 3], "seed": s,
                      "status": "running", "env_id": "TradeReady-BTC-v0", "algorithm": "PPO",
                      "config": {"timeframe": "1h"}, "hyperparams": {"total_timesteps": n * 500},
                      "created_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=s)})
    rows = episodes(n, s)
    for i in range(0, n, 10_000):
        store.record_episodes(rid, rows[i : i + 10_000], total_steps=rows[min(i + 10_000, n) - 1]["global_step"])
    if scalars:
        srows = [{"key": key, "step": k * 2048, "value": float(v), "wall_time": 1.767e9 + k}
                 for key in ("train/loss", "train/entropy_loss")
                 for k, v in enumerate(np.random.default_rng(s).normal(size=scalars), start=1)]
        store.upsert_scalars(rid, srows)
    store.update_run(rid, status="finished" if s % 5 else "running", heartbeat_at=dt.datetime.now(dt.UTC))
    return rid


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """The dashboard in its own process on 127.0.0.1 (so the browser driver and the server do not share a GIL).

    ``cli=True`` runs ``tradeready dashboard`` (with its start-up pre-computation, waited for);
    otherwise a plain uvicorn over `create_local_app` (cold caches).
    """

    def __init__(self, store: Path, *, cli: bool) -> None:
        self.port = _free_port()
        self.cli = cli
        if cli:
            exe = str(Path(sys.executable).with_name("tradeready"))
            self.cmd = [exe, "dashboard", "--store", str(store), "--port", str(self.port), "--refresh", "3600"]
        else:
            code = ("import uvicorn; from tradeready_platform.dashboard import create_local_app; "
                    f"uvicorn.run(create_local_app({str(store)!r}, refresh_s=3600), host='127.0.0.1', "
                    f"port={self.port}, log_level='warning')")
            self.cmd = [sys.executable, "-c", code]
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> str:
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.cmd}")
            try:
                cfg = httpx.get(url + "/api/v1/dashboard/config", timeout=5).json()
                if not self.cli or cfg.get("precomputed"):
                    return url
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server not ready")

    def __exit__(self, *exc: Any) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def measure(browser: Any, url: str, repeat: int) -> dict[str, Any]:
    times, api, points, external, errors = [], [], 0, [], []
    for _ in range(repeat + 1):
        ctx = browser.new_context(viewport={"width": 1280, "height": 800})
        page = ctx.new_page()
        # watched, not intercepted: routing every request through the driver would slow the page down
        page.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1", "data:")) else external.append(r.url))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(url)
        page.wait_for_selector("body[data-ready='1']", timeout=60_000)
        times.append(page.evaluate("performance.getEntriesByName('tr-ready')[0].startTime"))
        api.append(page.evaluate(
            "Math.max(0, ...performance.getEntriesByType('resource').filter(e => e.name.includes('/api/'))"
            ".map(e => e.responseEnd))"))
        points = max(points, page.evaluate(
            "Math.max(0, ...Object.values(TR.charts).map(u => u.data[0].length))"))
        ctx.close()
    warm = times[1:] or times
    return {"cold_ms": round(times[0], 1), "ready_ms": [round(t, 1) for t in warm],
            "median_ms": round(statistics.median(warm), 1), "max_ms": round(max(warm), 1),
            "last_api_response_ms": [round(t, 1) for t in api[1:]],
            "max_series_points": points, "external_requests": external, "console_errors": errors}


def api_times(url: str, paths: list[str], repeat: int = 3) -> dict[str, float]:
    out = {}
    with httpx.Client(base_url=url, timeout=60) as c:
        for p in paths:
            ts = []
            for _ in range(repeat):
                t = time.perf_counter()
                c.get(p).raise_for_status()
                ts.append((time.perf_counter() - t) * 1000)
            out[p.split("?")[0].rsplit("/", 1)[-1] or p] = round(statistics.median(ts), 1)
    return out


def cold_api_ms(url: str, paths: list[str]) -> dict[str, Any]:
    """The page's first requests sent together to a freshly started server (no browser): ms each and all."""
    from concurrent.futures import ThreadPoolExecutor

    with httpx.Client(base_url=url, timeout=60) as c:
        c.get("/training/static/common.js").raise_for_status()  # the connection and the app are up

        def one(p: str) -> float:
            t = time.perf_counter()
            c.get(p).raise_for_status()
            return round((time.perf_counter() - t) * 1000, 1)

        t0 = time.perf_counter()
        with ThreadPoolExecutor(len(paths)) as ex:
            each = list(ex.map(one, paths))
        total = round((time.perf_counter() - t0) * 1000, 1)
    return {"each": {p.split("?")[0].rsplit("/", 1)[-1]: v for p, v in zip(paths, each, strict=True)}, "all": total}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--episodes", type=int, default=1000)
    ap.add_argument("--big", type=int, default=100_000)
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    from tradeready_gym.tracking.store import Store

    result: dict[str, Any] = {"benchmark": "dashboard", "python": sys.version.split()[0], "cpus": os.cpu_count(),
                              "load_average_start": [round(v, 2) for v in os.getloadavg()]}
    with tempfile.TemporaryDirectory() as tmp:
        many_path, big_path = Path(tmp) / "many.sqlite", Path(tmp) / "big.sqlite"
        t = time.perf_counter()
        many = Store(many_path)
        for s in range(args.runs):
            seed(many, f"run-{s:03d}", args.episodes, s)
        many.close()
        result["seed_many_s"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        big = Store(big_path)
        big_id = seed(big, "big-run", args.big, 1, scalars=2000)
        big.close()
        result["seed_big_s"] = round(time.perf_counter() - t, 2)

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                with Server(many_path, cli=True) as url:
                    first_after_start = measure(browser, url + "/training", 0)["cold_ms"]
                with Server(many_path, cli=False) as url:
                    r = measure(browser, url + "/training", args.repeat)
                    r.update(runs=args.runs, episodes_per_run=args.episodes, target_ms=2000)
                    r["first_after_startup_ms"] = first_after_start
                    r["met"] = r["max_ms"] < 2000 and r["cold_ms"] < 2000
                    r["api_ms"] = api_times(url, ["/api/v1/dashboard/runs"])
                    result["run_list"] = r
                page = f"/training/runs/{big_id}"
                base = f"/api/v1/dashboard/runs/{big_id}"
                first_requests = [
                    base,
                    base + "/curves?metrics=roi_pct,sharpe,reward_sum,max_drawdown_pct,scalar:*&x=episode",
                    base + "/episodes?page=1&page_size=50&q=&sort=episode&order=desc",
                ]
                with Server(big_path, cli=False) as url:
                    cold_api = cold_api_ms(url, first_requests)
                with Server(big_path, cli=True) as url:
                    first_after_start = measure(browser, url + page, 0)["cold_ms"]
                with Server(big_path, cli=False) as url:
                    r = measure(browser, url + page, args.repeat)
                    r.update(episodes=args.big, target_ms=1000)
                    r["first_after_startup_ms"] = first_after_start
                    r["cold_server_api_ms"] = cold_api
                    r["met"] = r["max_ms"] < 1000 and r["cold_ms"] < 1000
                    r["api_ms"] = api_times(url, first_requests)
                    result["run_page"] = r
            finally:
                browser.close()
        result["load_average_end"] = [round(v, 2) for v in os.getloadavg()]  # `uptime`'s 1/5/15-minute load
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
