"""``tradeready data download|import|list``, invoked as a user would (CliRunner and the installed script)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import rest_market
from tradeready_gym import _cli_data
from tradeready_gym.data import load_market_data
from tradeready_gym.errors import DataNotFoundError

from .servers import KlinesServer
from .test_readers import assert_same

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    res = runner.invoke(_cli_data.app, list(args))
    return res.exit_code, res.stdout, res.stderr


def test_the_command_in_a_not_found_error_fetches_the_data(
    vision_server: tuple[str, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRADEREADY_BINANCE_VISION_URL", vision_server[0])
    with pytest.raises(DataNotFoundError) as err:
        load_market_data(["ETHUSDT"], "4h", "2024-02-01", "2024-04-01", data_dir=tmp_path)
    command = re.search(r"Fetch it with: (tradeready data download .*?)  \(", str(err.value))
    assert command is not None
    argv = shlex.split(command.group(1))
    assert argv[:3] == ["tradeready", "data", "download"]
    code, out, _ = run(*argv[2:], "--no-progress")
    assert code == 0, out
    assert "ETHUSDT 4h: 360 new bars from 2 requests" in out
    md = load_market_data(["ETHUSDT"], "4h", "2024-02-01", "2024-04-01", data_dir=tmp_path)
    assert_same(md, rest_market("ETHUSDT", "4h", "2024-02-01", "2024-04-01"))


def test_download_list_and_import(
    vision_server: tuple[str, list[str]], klines_server: KlinesServer, shared_data: Path, tmp_path: Path
) -> None:
    d = str(tmp_path)
    code, out, err = run(
        "download",
        "BTCUSDT",
        "SOLUSDT",
        "-t",
        "1h",
        "--start",
        "2023-03-01",
        "--end",
        "2023-04-01",
        "--data-dir",
        d,
        "--vision-url",
        vision_server[0],
        "--api-url",
        klines_server.url,
        "--no-progress",
    )
    assert code == 0, out + err
    # 744 hours minus the 2023-03-24 13:00 outage (from REST: the local dumps start in 2024)
    assert out.count("743 new bars") == 2
    freqtrade = shared_data / "raw" / "freqtrade_binance_spot_2021" / "ETH_USDT-5m.json.gz"
    code, out, _ = run("import", str(freqtrade), "--data-dir", d)
    assert code == 0 and "ETHUSDT 5m 65742 bars, 2020-12-01T00:00:00Z .. 2021-07-17T21:10:00Z" in out

    code, out, _ = run("list", "--data-dir", d)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"cache: {d}"
    assert re.search(r"BTCUSDT\s+1h\s+743\s+2023-03-01T00:00:00Z\s+2023-03-31T23:00:00Z\s+1$", out, re.M)
    assert "gap 2023-03-24T13:00:00Z .. 2023-03-24T14:00:00Z (1 bars missing)" in out
    assert re.search(r"ETHUSDT\s+5m\s+65742 .* 6$", out, re.M)  # the 2021 outages of the 5m file

    code, out, _ = run("list", "--data-dir", d, "--json")
    rows = json.loads(out)
    assert [(r["symbol"], r["timeframe"]) for r in rows] == [
        ("BTCUSDT", "1h"),
        ("ETHUSDT", "5m"),
        ("SOLUSDT", "1h"),
    ]
    assert rows[0]["gaps"] == [
        {
            "start": "2023-03-24T13:00:00Z",
            "end": "2023-03-24T14:00:00Z",
            "missing_bars": 1,
            "symbols": ["BTCUSDT"],
            "filled": False,
        }
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["download", "BTCUSDT", "-t", "7m"], "timeframe='7m' is not supported; allowed: 1m"),
        (
            ["download", "BTCUSDT", "--start", "2024-02-01", "--end", "2024-01-01"],
            "start='2024-02-01' must be before end",
        ),
        (
            ["download", "BTCUSDT", "--source", "ftp"],
            "source='ftp' is not allowed; allowed: auto, vision, rest",
        ),
        (["download", "BTC USDT"], "symbols='BTC USDT' is not allowed; allowed: a Binance spot pair"),
        (["import", "/nonexistent/file.zip"], "path='/nonexistent/file.zip' does not exist"),
    ],
)
def test_bad_input_exits_with_a_clear_message(args: list[str], message: str, tmp_path: Path) -> None:
    code, _, err = run(*args, "--data-dir", str(tmp_path))
    assert code == 1
    assert err.startswith("error: ") and message in err
    assert not list(tmp_path.rglob("*.parquet"))


def test_unknown_symbol_via_cli(klines_server: KlinesServer, tmp_path: Path) -> None:
    code, _, err = run(
        "download",
        "FOOUSDT",
        "--source",
        "rest",
        "--api-url",
        klines_server.url,
        "--start",
        "2024-01-01",
        "--end",
        "2024-01-02",
        "--data-dir",
        str(tmp_path),
        "--no-progress",
    )
    assert code == 1 and "symbol='FOOUSDT' is not known" in err and "Invalid symbol." in err


def test_installed_console_script(tmp_path: Path, shared_data: Path) -> None:
    script = Path(sys.executable).parent / "tradeready"
    zip_file = (
        shared_data
        / "binance-vision"
        / "data"
        / "spot"
        / "daily"
        / "klines"
        / "BTCUSDT"
        / "1h"
        / "BTCUSDT-1h-2025-07-01.zip"
    )
    imp = subprocess.run(
        [str(script), "data", "import", str(zip_file), "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert imp.returncode == 0, imp.stderr
    out = subprocess.run(
        [str(script), "data", "list", "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert re.search(
        r"BTCUSDT\s+1h\s+24\s+2025-07-01T00:00:00Z\s+2025-07-01T23:00:00Z\s+0$", out.stdout, re.M
    )


def test_bad_retry_count(tmp_path: Path) -> None:
    code, _, err = run("download", "BTCUSDT", "--retries", "-1", "--data-dir", str(tmp_path))
    assert code == 1 and "retries=-1 is not allowed; allowed: an integer >= 0" in err
