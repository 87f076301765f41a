"""Platform server throughput, side by side: REST single steps, the original client's step pattern, and
batch steps, over a real ``tradeready serve`` process on 127.0.0.1 with a keep-alive connection.

Prints one JSON document. Not a test: numbers depend on the machine.

    python benchmarks/bench_platform.py [--data DIR] [--steps 3000] [--database-url URL] [--out FILE]

Cases:
* ``rest_single_step``: ``POST /backtest/{id}/step`` in a loop on one session from a minimal keep-alive
  client (stdlib ``http.client``), goal >= 1,000/s; ``rest_single_step_httpx_client``: the same from
  ``httpx.Client`` (the original client's transport, whose own cost is part of the figure).
* ``original_client_step``: per step an order every 10th step, the step, and the candles of the pair
  (what the original HTTP env sends); reported as env steps/s and requests/s.
* ``rest_batch_step``: one ``POST /backtest/{id}/step/batch`` of a year of 1h bars (8,760) of two pairs
  inside a 23-month session (the engine advances them in one compiled call, `Engine.advance`);
  bar-steps/s (goal >= 1,000,000) including the HTTP round trip.
  ``rest_batch_step_to_completion``: one batch over a whole one-year session, which completes it, so
  the figure also holds storing the results (equity curve of every bar) in the database.
* ``service_step_in_process``: the same session code without HTTP (the floor the server adds to).
The tracker's cost is measured by ``benchmarks/bench_tracking.py``. The JSON holds the machine's load
average (``os.getloadavg``) before and after the run: wall-clock rates on a loaded machine are lower,
the CPU time per step is not. ``--out FILE`` also writes the JSON to FILE.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

os.environ.setdefault("TRADEREADY_JIT", "wait")  # time compiled code: a missing kernel compiles before its call returns

REPO = Path(__file__).resolve().parents[1]
YEAR = {"start_time": "2023-01-01T00:00:00Z", "end_time": "2024-01-01T00:00:00Z", "candle_interval": 3600}
LONG_WINDOW = {"start_time": "2022-02-01T00:00:00Z", "end_time": "2024-01-01T00:00:00Z", "candle_interval": 3600}
BARS_PER_YEAR = 8760


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_cache(data: Path, root: Path) -> None:
    from tradeready_gym.data import import_data

    for sym in ("BTCUSDT", "ETHUSDT"):
        import_data(data / "raw" / "binance_spot_rest_klines" / sym / "1h", data_dir=root)


def start_server(db_url: str, cache: Path, home: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _port()
    exe = str(Path(sys.executable).parent / "tradeready")
    env = {**os.environ, "TRADEREADY_HOME": str(home), "TRADEREADY_REGISTER_LIMIT": "100"}
    proc = subprocess.Popen([exe, "serve", "--port", str(port), "--database-url", db_url, "--data-dir", str(cache),
                             "--log-level", "warning"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


def new_session(c: httpx.Client, pairs: list[str], window: dict[str, Any] | None = None) -> str:
    r = c.post("/api/v1/backtest/create", json={**(window or YEAR), "pairs": pairs})
    r.raise_for_status()
    sid = str(r.json()["session_id"])
    c.post(f"/api/v1/backtest/{sid}/start").raise_for_status()
    return sid


def bench_single(c: httpx.Client, steps: int) -> dict[str, Any]:
    sid = new_session(c, ["BTCUSDT"])
    for _ in range(50):  # warm-up
        c.post(f"/api/v1/backtest/{sid}/step")
    lat = []
    t0 = time.perf_counter()
    for _ in range(steps):
        a = time.perf_counter()
        r = c.post(f"/api/v1/backtest/{sid}/step")
        lat.append(time.perf_counter() - a)
        if r.status_code != 200:
            raise SystemExit(f"step failed: {r.status_code} {r.text}")
    dt = time.perf_counter() - t0
    q = statistics.quantiles(lat, n=100)
    return {"steps": steps, "steps_per_s": round(steps / dt, 1), "p50_ms": round(q[49] * 1e3, 3),
            "p95_ms": round(q[94] * 1e3, 3), "goal_steps_per_s": 1000, "met": steps / dt >= 1000}


def proc_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` (Linux /proc), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def bench_single_raw(url: str, key: str, c: httpx.Client, steps: int, server_pid: int) -> dict[str, Any]:
    """Single steps from a minimal keep-alive HTTP/1.1 client (stdlib http.client): the server's own rate.

    Besides wall-clock rates it reports the CPU time the server process and this client spent per
    step, which do not depend on what else the machine runs: ``1e6 / (server + client µs)`` is the
    rate one dedicated core would sustain.
    """
    import http.client
    from urllib.parse import urlparse

    sid = new_session(c, ["BTCUSDT"])
    u = urlparse(url)
    conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port)
    headers = {"X-API-Key": key, "Content-Length": "0"}
    path = f"/api/v1/backtest/{sid}/step"
    for _ in range(50):  # warm-up (the server loads the compiled step on the first one)
        conn.request("POST", path, headers=headers)
        conn.getresponse().read()
    lat = []
    cpu0, ccpu0 = proc_cpu_s(server_pid), time.process_time()
    t0 = time.perf_counter()
    for _ in range(steps):
        a = time.perf_counter()
        conn.request("POST", path, headers=headers)
        r = conn.getresponse()
        r.read()
        lat.append(time.perf_counter() - a)
        if r.status != 200:
            raise SystemExit(f"step failed: {r.status}")
    dt = time.perf_counter() - t0
    cpu1, ccpu1 = proc_cpu_s(server_pid), time.process_time()
    conn.close()
    q = statistics.quantiles(lat, n=100)
    out: dict[str, Any] = {"steps": steps, "steps_per_s": round(steps / dt, 1), "p50_ms": round(q[49] * 1e3, 3),
                           "p95_ms": round(q[94] * 1e3, 3), "goal_steps_per_s": 1000, "met": steps / dt >= 1000}
    if cpu0 is not None and cpu1 is not None:
        server_us = (cpu1 - cpu0) / steps * 1e6
        client_us = (ccpu1 - ccpu0) / steps * 1e6
        out.update({"server_cpu_us_per_step": round(server_us, 1), "client_cpu_us_per_step": round(client_us, 1),
                    "steps_per_s_one_dedicated_core": round(1e6 / max(server_us + client_us, 1e-9), 1)})
    return out


def bench_original_client(c: httpx.Client, steps: int) -> dict[str, Any]:
    sid = new_session(c, ["BTCUSDT"])
    requests = 0
    t0 = time.perf_counter()
    last = c.post(f"/api/v1/backtest/{sid}/step").json()
    requests += 1
    for k in range(steps):
        if k % 10 == 0:
            qty = float(last["portfolio"]["total_equity"]) * 0.1 / float(last["prices"]["BTCUSDT"])
            c.post(f"/api/v1/backtest/{sid}/trade/order",
                   json={"symbol": "BTCUSDT", "side": "buy", "type": "market", "quantity": str(qty)})
            requests += 1
        last = c.post(f"/api/v1/backtest/{sid}/step").json()
        c.get(f"/api/v1/backtest/{sid}/market/candles/BTCUSDT", params={"interval": "1h", "limit": 30})
        requests += 2
    dt = time.perf_counter() - t0
    return {"env_steps": steps, "env_steps_per_s": round(steps / dt, 1), "requests_per_s": round(requests / dt, 1),
            "original_platform_limit_env_steps_per_s": round(6000 / 60 / 3, 1)}


def bench_batch(c: httpx.Client, repeats: int = 5) -> dict[str, Any]:
    """Best of ``repeats``: one batch of a year of bars inside a 23-month session (it stays running)."""
    best = 0.0
    bars = 0
    for _ in range(repeats):
        sid = new_session(c, ["BTCUSDT", "ETHUSDT"], LONG_WINDOW)
        t0 = time.perf_counter()
        r = c.post(f"/api/v1/backtest/{sid}/step/batch", json={"steps": BARS_PER_YEAR})
        dt = time.perf_counter() - t0
        r.raise_for_status()
        assert r.json()["status"] == "running"
        bars = int(r.json()["steps_executed"])
        best = max(best, bars / dt)
    return {"bars_per_call": bars, "bar_steps_per_s": round(best, 1), "goal_bar_steps_per_s": 1_000_000,
            "met": best >= 1_000_000}


def bench_batch_to_completion(c: httpx.Client, repeats: int = 5) -> dict[str, Any]:
    """Best of ``repeats``: one batch over a whole one-year session, which completes it (the results,
    with the equity curve of every bar, are stored in the database before the answer)."""
    best = 0.0
    bars = 0
    for _ in range(repeats):
        sid = new_session(c, ["BTCUSDT", "ETHUSDT"])
        t0 = time.perf_counter()
        r = c.post(f"/api/v1/backtest/{sid}/step/batch", json={"steps": 1_000_000})
        dt = time.perf_counter() - t0
        r.raise_for_status()
        assert r.json()["status"] == "completed"
        bars = int(r.json()["steps_executed"])
        best = max(best, bars / dt)
    return {"bars_per_call": bars, "bar_steps_per_s": round(best, 1)}


def bench_in_process(cache: Path, home: Path, steps: int) -> dict[str, Any]:
    from tradeready_platform.db import Database
    from tradeready_platform.services.accounts import AccountService
    from tradeready_platform.services.backtests import BacktestService
    from tradeready_platform.settings import Settings

    settings = Settings(database_url=f"sqlite:///{home}/inproc.sqlite", data_dir=cache, home=home)
    db = Database(settings.resolved_database_url)
    acct = AccountService(db).register("bench")["account_id"]
    svc = BacktestService(db, settings)
    sid = svc.create(acct, None, {**YEAR, "pairs": ["BTCUSDT"], "starting_balance": 10_000})["session_id"]
    svc.start(acct, sid)
    for _ in range(50):  # warm-up (loads the compiled step)
        svc.step(acct, sid)
    t0 = time.perf_counter()
    for _ in range(steps):
        svc.step(acct, sid)
    dt = time.perf_counter() - t0
    bdt = math.inf
    for _ in range(3):  # best of three (the first also loads the compiled several-bars step)
        sid2 = svc.create(acct, None, {**YEAR, "pairs": ["BTCUSDT", "ETHUSDT"], "starting_balance": 10_000})
        svc.start(acct, sid2["session_id"])
        t0 = time.perf_counter()
        out = svc.step_batch(acct, sid2["session_id"], 1_000_000)
        bdt = min(bdt, time.perf_counter() - t0)
    db.dispose()
    return {"step_calls_per_s": round(steps / dt, 1),
            "batch_bar_steps_per_s": round(out["steps_executed"] / bdt, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("TRADEREADY_SHARED_DATA", REPO.parent / "shared" / "data")))
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--database-url", default=None, help="default: a SQLite file in a temporary folder")
    ap.add_argument("--out", type=Path, default=None, help="also write the JSON document to this file")
    args = ap.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cache = root / "cache"
        build_cache(args.data, cache)
        db_url = args.database_url or f"sqlite:///{root}/platform.sqlite"
        proc, url = start_server(db_url, cache, root)
        try:
            def fresh_key() -> str:  # one account per case: the per-key rate limits stay out of the way
                return str(httpx.post(f"{url}/api/v1/auth/register", json={"display_name": "bench"}).json()["api_key"])

            def client(key: str) -> httpx.Client:  # one keep-alive connection
                return httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=120)

            results = {}
            key = fresh_key()
            with client(key) as c:
                results["rest_single_step"] = bench_single_raw(url, key, c, args.steps, proc.pid)
            with client(fresh_key()) as c:
                results["rest_single_step_httpx_client"] = bench_single(c, args.steps)
            with client(fresh_key()) as c:
                results["original_client_step"] = bench_original_client(c, min(args.steps, 1500))
            with client(fresh_key()) as c:
                results["rest_batch_step"] = bench_batch(c)
            with client(fresh_key()) as c:
                results["rest_batch_step_to_completion"] = bench_batch_to_completion(c)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        results["service_step_in_process"] = bench_in_process(cache, root, args.steps)
    doc = {
        "benchmark": "platform",
        "database": db_url.split(":", 1)[0] if args.database_url else "sqlite",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_1_5_15_min": {"before": [round(x, 2) for x in load_before],
                                    "after": [round(x, 2) for x in os.getloadavg()]},
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "results": results,
    }
    text = json.dumps(doc, indent=2)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
