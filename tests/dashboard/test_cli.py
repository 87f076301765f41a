"""``tradeready dashboard``: serves the local store on loopback, refuses any other address."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tradeready_gym.errors import ConfigError
from tradeready_platform.dashboard.cli import serve_local
from tradeready_platform.dashboard.local import is_loopback

TRADEREADY = str(Path(sys.executable).with_name("tradeready"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_command_serves_the_local_store(seeded):
    port = _free_port()
    env = dict(os.environ)
    proc = subprocess.Popen(
        [TRADEREADY, "dashboard", "--store", str(seeded["path"]), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(base + "/api/v1/dashboard/runs", timeout=5)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"dashboard did not start: {proc.stdout.read() if proc.stdout else ''}") from None
                time.sleep(0.2)
        assert r.status_code == 200
        assert {x["id"] for x in r.json()["runs"]} >= set(seeded["ids"].values())
        page = httpx.get(base + "/training", timeout=5)
        assert page.status_code == 200 and 'data-auth="none"' in page.text
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert f"http://127.0.0.1:{port}/training" in out


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::"])
def test_non_loopback_host_is_refused(host, tmp_path):
    with pytest.raises(ConfigError, match=f"host={host!r} is not allowed"):
        serve_local(tmp_path / "t.sqlite", host=host)
    r = subprocess.run([TRADEREADY, "dashboard", "--store", str(tmp_path / "t.sqlite"), "--host", host],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "loopback only" in r.stderr


def test_bad_port_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="port=70000"):
        serve_local(tmp_path / "t.sqlite", port=70000)


def test_is_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("127.3.2.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("10.0.0.1") and not is_loopback("") and not is_loopback(None) and not is_loopback("evil")


def test_start_up_precomputes_the_newest_runs(seeded):
    from tradeready_platform.dashboard import cli, service
    from tradeready_platform.dashboard.local import create_local_app

    app = create_local_app(seeded["path"])
    service.clear_cache()
    assert not getattr(app.state, "precomputed", False)
    cli._warm(app)
    assert app.state.precomputed is True
    kinds = {(k[2], k[3]) for k in [*service._CACHE._data, *service._SERIES_CACHE._data]}
    big = seeded["ids"]["big"]
    assert ("stats", big) in kinds and ("summary", big) in kinds and ("series", big) in kinds
    # the cached curves are the ones the run page asks for first
    series_keys = [k for k in service._SERIES_CACHE._data if k[2] == "series" and k[3] == big]
    assert series_keys[0][5] == (("roi_pct", "sharpe", "reward_sum", "max_drawdown_pct"), "episode", 2000)
