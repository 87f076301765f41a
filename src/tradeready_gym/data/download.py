"""Download Binance spot candles into the cache: public dumps first, then the REST API.

Sources (base URLs configurable by argument or environment variable, so tests and mirrors work):

* Binance public data dumps, ``$TRADEREADY_BINANCE_VISION_URL`` (default
  ``https://data.binance.vision``): ``data/spot/monthly/klines/<SYM>/<tf>/<SYM>-<tf>-<YYYY-MM>.zip``
  for every complete month, then ``data/spot/daily/klines/<SYM>/<tf>/<SYM>-<tf>-<YYYY-MM-DD>.zip``
  for the complete days of the current month. Each zip is verified against its ``.CHECKSUM``
  (SHA-256) before it is read.
* The REST endpoint ``/api/v3/klines`` at ``$TRADEREADY_BINANCE_API_URL`` (default
  ``https://api.binance.com``) for whatever the dumps do not have yet (today, files not published yet):
  pages of 1000 rows, the still-open candle dropped.

Robustness: transport errors and 5xx answers are retried with exponential backoff; a 429/418 answer
waits for its ``Retry-After``; a 400 for an unknown symbol becomes a clear `DownloadError`. Only
verified, parsed and validated candles reach the cache, and the cache writes atomically, so an
interrupted download, a corrupt zip or a checksum mismatch never leaves a half-written file, and a
failed file caches nothing (files that completed before it are kept, and their ranges are not
fetched again).
"""

from __future__ import annotations

import calendar
import datetime as _dt
import hashlib
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from tradeready_gym.data.cache import CandleCache, merge_ranges, missing_ranges
from tradeready_gym.data.market import MarketData
from tradeready_gym.data.readers import (
    concat_markets,
    kline_rows_to_market,
    read_binance_zip,
)
from tradeready_gym.data.synthetic import is_synthetic_symbol
from tradeready_gym.errors import ChecksumError, ConfigError, DownloadError
from tradeready_gym.timeframes import NS_PER_MS, format_iso, parse_time, timeframe_ns
from tradeready_gym.validation import check_symbols, check_time_range

__all__ = [
    "API_URL_ENV",
    "DEFAULT_API_URL",
    "DEFAULT_START",
    "DEFAULT_VISION_URL",
    "SOURCES",
    "VISION_URL_ENV",
    "BinanceRestSource",
    "BinanceVisionSource",
    "DownloadResult",
    "RetryPolicy",
    "download",
]

log = logging.getLogger(__name__)

VISION_URL_ENV: Final = "TRADEREADY_BINANCE_VISION_URL"
API_URL_ENV: Final = "TRADEREADY_BINANCE_API_URL"
DEFAULT_VISION_URL: Final = "https://data.binance.vision"
DEFAULT_API_URL: Final = "https://api.binance.com"
#: Start of a download when none is given (Binance spot klines begin in mid-2017).
DEFAULT_START: Final = "2017-07-01T00:00:00Z"
#: Allowed values of ``source=``.
SOURCES: Final = ("auto", "vision", "rest")
_REST_LIMIT: Final = 1000
_DAY_NS: Final = 86_400 * 1_000_000_000
#: Verified bars kept in memory before they are merged into the cache.
_FLUSH_BARS: Final = 1_000_000


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How HTTP requests are retried.

    Attributes:
        retries: retries after the first attempt (>= 0).
        backoff: first wait in seconds; doubled after every failed attempt, capped at ``max_backoff``.
        max_backoff: longest wait between attempts, in seconds.
        timeout: per-request timeout in seconds.
        sleep: the function that waits (``time.sleep``); tests may record the waits.
    """

    retries: int = 4
    backoff: float = 0.5
    max_backoff: float = 30.0
    timeout: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) or self.retries < 0:
            raise ConfigError(f"retries={self.retries!r} is not allowed; allowed: an integer >= 0")
        for name in ("backoff", "max_backoff", "timeout"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not v >= 0 or (name == "timeout" and v == 0):
                raise ConfigError(
                    f"{name}={v!r} is not allowed; allowed: a number {'> 0' if name == 'timeout' else '>= 0'}"
                )


def _base(url: str | None, env: str, default: str, param: str) -> str:
    value = url if url is not None else os.environ.get(env) or default
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise ConfigError(
            f"{param}={value!r} is not allowed; allowed: an http:// or https:// URL (or set {env})"
        )
    return value.rstrip("/")


class _Http:
    """An httpx client with retries, backoff and ``Retry-After``."""

    def __init__(self, retry: RetryPolicy, client: httpx.Client | None = None) -> None:
        self.retry = retry
        self.client = client or httpx.Client(timeout=retry.timeout, follow_redirects=True)
        self._own = client is None
        self.requests = 0

    def close(self) -> None:
        if self._own:
            self.client.close()

    def get(self, url: str, params: dict[str, Any] | None = None) -> httpx.Response:
        """GET with retries; returns the final response (2xx or 4xx), raises `DownloadError` otherwise."""
        r = self.retry
        wait = r.backoff
        last = ""
        for attempt in range(r.retries + 1):
            self.requests += 1
            try:
                resp = self.client.get(url, params=params)
            except httpx.HTTPError as exc:  # connect, timeout, interrupted body, protocol
                last = f"{type(exc).__name__}: {exc}"
                delay = min(wait, r.max_backoff)
            else:
                if resp.status_code in (429, 418):
                    delay = _retry_after(resp, wait)
                    last = f"HTTP {resp.status_code} (rate limited, Retry-After {resp.headers.get('Retry-After')})"
                elif resp.status_code >= 500:
                    delay = min(wait, r.max_backoff)
                    last = f"HTTP {resp.status_code}"
                else:
                    return resp
            if attempt == r.retries:
                break
            log.warning("GET %s failed (%s); retry %d/%d in %.2fs", url, last, attempt + 1, r.retries, delay)
            r.sleep(delay)
            wait *= 2
        raise DownloadError(f"GET {url} failed after {r.retries + 1} attempts: {last}")


def _retry_after(resp: httpx.Response, fallback: float) -> float:
    value = resp.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else fallback
    except ValueError:
        return fallback


def _month_start(t: int) -> int:
    d = _dt.datetime.fromtimestamp(t // 1_000_000_000, tz=_dt.UTC)
    return parse_time(_dt.datetime(d.year, d.month, 1, tzinfo=_dt.UTC))


def _next_month(t: int) -> int:
    d = _dt.datetime.fromtimestamp(t // 1_000_000_000, tz=_dt.UTC)
    days = calendar.monthrange(d.year, d.month)[1]
    return t + days * _DAY_NS


def _ym(t: int) -> str:
    return format_iso(t)[:7]


def _ymd(t: int) -> str:
    return format_iso(t)[:10]


@dataclass(frozen=True)
class _Piece:
    """Candles fetched for one covered range."""

    market: MarketData | None
    coverage: tuple[int, int]
    url: str


class BinanceVisionSource:
    """Binance public dump files (``data.binance.vision`` layout), each verified against its checksum."""

    def __init__(self, base_url: str | None = None, *, http: _Http) -> None:
        self.base_url = _base(base_url, VISION_URL_ENV, DEFAULT_VISION_URL, "vision_url")
        self.http = http

    def monthly_url(self, symbol: str, timeframe: str, month_start: int) -> str:
        name = f"{symbol}-{timeframe}-{_ym(month_start)}.zip"
        return f"{self.base_url}/data/spot/monthly/klines/{symbol}/{timeframe}/{name}"

    def daily_url(self, symbol: str, timeframe: str, day_start: int) -> str:
        name = f"{symbol}-{timeframe}-{_ymd(day_start)}.zip"
        return f"{self.base_url}/data/spot/daily/klines/{symbol}/{timeframe}/{name}"

    def fetch(self, url: str, symbol: str, timeframe: str) -> MarketData | None:
        """One zip, verified and parsed; None when the file is not published (HTTP 404).

        Raises:
            ChecksumError: the zip does not match its ``.CHECKSUM`` (nothing is returned or written).
            DataError: the zip is corrupt or its candles are malformed.
            DownloadError: any other HTTP failure, after retries.
        """
        resp = self.http.get(url)
        if resp.status_code == 404:
            return None
        _raise_for_status(resp, url)
        payload = resp.content
        cresp = self.http.get(url + ".CHECKSUM")
        if cresp.status_code == 404:
            raise ChecksumError(f"{url}.CHECKSUM is not published; refusing to use an unverified file")
        _raise_for_status(cresp, url + ".CHECKSUM")
        expected = cresp.text.split()[0].strip().lower() if cresp.text.strip() else ""
        actual = hashlib.sha256(payload).hexdigest()
        if expected != actual:
            raise ChecksumError(
                f"checksum mismatch for {url}: sha256 is {actual}, the published .CHECKSUM says {expected or '(empty)'}; "
                "nothing was written"
            )
        name = url.rsplit("/", 1)[-1]
        return read_binance_zip(payload, symbol=symbol, timeframe=timeframe, name=name)


class BinanceRestSource:
    """Binance ``/api/v3/klines``: pages of 1000 rows; the still-open candle is dropped."""

    def __init__(self, base_url: str | None = None, *, http: _Http) -> None:
        self.base_url = _base(base_url, API_URL_ENV, DEFAULT_API_URL, "api_url")
        self.http = http

    def fetch(
        self,
        symbol: str,
        timeframe: str,
        start: int,
        end: int,
        *,
        now: int,
        on_page: Callable[[int], None] | None = None,
    ) -> tuple[MarketData | None, int]:
        """Closed candles with ``start <= open_time < end`` (and close time <= ``now``).

        Returns:
            The candles (None when there are none) and the end of the range they stand for
            (``end`` cut at the open time of the still-open candle).

        Raises:
            DownloadError: an unknown symbol (the server's 400) or another HTTP failure after retries.
        """
        iv = timeframe_ns(timeframe)
        cut = min(end, (now // iv) * iv)  # bars opening at or after `cut` are not closed yet
        url = f"{self.base_url}/api/v3/klines"
        rows: list[Any] = []
        cur = start
        while cur < cut:
            params = {
                "symbol": symbol,
                "interval": timeframe,
                "startTime": cur // NS_PER_MS,
                "endTime": (cut - 1) // NS_PER_MS,
                "limit": _REST_LIMIT,
            }
            resp = self.http.get(url, params=params)
            _raise_for_status(resp, url, symbol=symbol, timeframe=timeframe)
            try:
                page = resp.json()
            except ValueError:
                raise DownloadError(
                    f"GET {url} returned a body that is not JSON: {resp.text[:200]!r}"
                ) from None
            if not isinstance(page, list):
                raise DownloadError(
                    f"GET {url} returned {type(page).__name__}; expected a JSON array of klines"
                )
            if on_page is not None:
                on_page(len(page))
            if not page:
                break
            rows.extend(page)
            last_open = int(page[-1][0]) * NS_PER_MS
            if last_open + iv <= cur:
                raise DownloadError(
                    f"GET {url} did not advance past {format_iso(cur)}; the server misbehaves"
                )
            cur = last_open + iv
            if len(page) < _REST_LIMIT:
                break
        if cut <= start:
            return None, start
        if not rows:
            return None, cut
        md = kline_rows_to_market(
            rows, symbol=symbol, timeframe=timeframe, source=f"GET {url} {symbol} {timeframe}"
        )
        keep = (md.open_time >= start) & (md.open_time < cut) & (md.close_time <= now)
        if not keep.all():
            md = md.take(keep)
        return (md if md.n_bars else None), cut



def _raise_for_status(
    resp: httpx.Response, url: str, *, symbol: str | None = None, timeframe: str | None = None
) -> None:
    if resp.status_code < 400:
        return
    code, msg = None, resp.text[:200]
    try:
        body = resp.json()
        if isinstance(body, dict):
            code, msg = body.get("code"), str(body.get("msg", msg))
    except ValueError:
        pass
    if symbol is not None and (code == -1121 or "symbol" in msg.lower()):
        raise DownloadError(
            f"symbol={symbol!r} is not known to {url} (HTTP {resp.status_code}, code {code}: {msg}); "
            "allowed: a Binance spot pair such as 'BTCUSDT'"
        )
    if timeframe is not None and (code == -1120 or "interval" in msg.lower()):
        raise DownloadError(f"timeframe={timeframe!r} is rejected by {url} (HTTP {resp.status_code}: {msg})")
    raise DownloadError(f"GET {url} failed: HTTP {resp.status_code} {msg}")


@dataclass(frozen=True)
class DownloadResult:
    """What `download` did for one symbol.

    Attributes:
        symbol, timeframe: what was fetched.
        start, end: the requested range (int64 ns).
        bars: candles written to the cache by this call.
        urls: files and endpoints fetched (empty when everything was cached already).
        covered: ranges now covered in the cache, as ISO strings.
    """

    symbol: str
    timeframe: str
    start: int
    end: int
    bars: int
    urls: tuple[str, ...]
    covered: tuple[tuple[str, str], ...]

    def describe(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "start": format_iso(self.start),
            "end": format_iso(self.end),
            "bars": self.bars,
            "files": len(self.urls),
            "covered": [list(c) for c in self.covered],
        }


def _vision_tasks(start: int, end: int, now: int) -> list[tuple[str, int, int]]:
    """(kind, period start, period end) of the dump files for ``[start, end)``, complete periods only."""
    tasks: list[tuple[str, int, int]] = []
    this_month = _month_start(now)
    today = (now // _DAY_NS) * _DAY_NS
    m = _month_start(start)
    while m < end:
        m_end = _next_month(m)
        if m_end <= this_month:
            tasks.append(("monthly", m, m_end))
        else:
            d = max(m, (start // _DAY_NS) * _DAY_NS)
            while d < min(m_end, end) and d + _DAY_NS <= today:
                tasks.append(("daily", d, d + _DAY_NS))
                d += _DAY_NS
        m = m_end
    return tasks


def download(
    symbols: str | Sequence[str],
    timeframe: str,
    start: object | None = None,
    end: object | None = None,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    source: str = "auto",
    vision_url: str | None = None,
    api_url: str | None = None,
    retry: RetryPolicy | None = None,
    progress: bool = True,
    now: object | None = None,
    client: httpx.Client | None = None,
    on_progress: Callable[[str, str, int, int], None] | None = None,
) -> list[DownloadResult]:
    """Fetch the candles of ``symbols`` at ``timeframe`` for ``[start, end)`` into the cache.

    Only the parts of the range the cache does not cover yet are fetched. With ``source="auto"``
    complete months come from the monthly dumps, complete days of the current month from the daily
    dumps, and the rest (today, or files not published yet) from the REST API; ``"vision"`` and
    ``"rest"`` use one source only.

    Args:
        symbols: one symbol or a list (``"BTCUSDT"``, ``"BTC/USDT"``).
        timeframe: bar interval, e.g. ``"1h"``.
        start: first open time (default `DEFAULT_START`).
        end: end of the range, exclusive (default: now).
        data_dir: cache root (default ``$TRADEREADY_DATA_DIR`` or the user cache dir).
        source: ``"auto"``, ``"vision"`` or ``"rest"``.
        vision_url: dump base URL (default ``$TRADEREADY_BINANCE_VISION_URL`` or data.binance.vision).
        api_url: REST base URL (default ``$TRADEREADY_BINANCE_API_URL`` or api.binance.com).
        retry: retry policy (`RetryPolicy`).
        progress: show a tqdm progress bar on stderr.
        now: the current time (default: the clock); decides which candles are closed.
        client: an ``httpx.Client`` to use (default: a new one).
        on_progress: called as ``on_progress(symbol, timeframe, done, total)`` whenever the number of
            requests (dump files and REST ranges) of a symbol planned or done changes; lets a caller
            draw its own progress display (the command line passes ``progress=False`` and a rich one).

    Returns:
        One `DownloadResult` per symbol.

    Raises:
        ConfigError: bad arguments (the message names the parameter and what is allowed).
        DownloadError: a failed request after retries, an unknown symbol, no data at all.
        ChecksumError: a dump file does not match its checksum (that file is not cached).
        DataError: a downloaded file is corrupt or its candles are malformed (not cached).

    Example:
        >>> download("BTCUSDT", "1h", "2024-01-01", "2024-02-01")  # doctest: +SKIP
    """
    from tqdm.auto import tqdm

    iv = timeframe_ns(timeframe)
    names = list(check_symbols(symbols, "symbols"))
    for name in names:
        if is_synthetic_symbol(name):
            raise ConfigError(f"symbols contains {name!r}; synthetic symbols cannot be downloaded")
    if source not in SOURCES:
        raise ConfigError(f"source={source!r} is not allowed; allowed: {', '.join(SOURCES)}")
    now_ns = parse_time(now, param="now") if now is not None else time.time_ns()
    s0, e0 = check_time_range(start if start is not None else DEFAULT_START, end)
    s = parse_time(DEFAULT_START) if s0 is None else s0
    e = now_ns if e0 is None else e0
    if s >= e:
        raise ConfigError(
            f"start={start!r} must be before end=None (now, {format_iso(now_ns)}); allowed: start < end"
        )
    retry = retry or RetryPolicy()
    http = _Http(retry, client)
    vision = BinanceVisionSource(vision_url, http=http) if source in ("auto", "vision") else None
    rest = BinanceRestSource(api_url, http=http) if source in ("auto", "rest") else None
    cache = CandleCache(data_dir)
    results: list[DownloadResult] = []
    try:
        for sym in names:
            results.append(
                _download_one(
                    cache, sym, timeframe, iv, s, e, now_ns, vision, rest, progress=progress, tqdm=tqdm,
                    on_progress=on_progress,
                )
            )
    finally:
        http.close()
    return results


def _download_one(
    cache: CandleCache,
    symbol: str,
    timeframe: str,
    iv: int,
    start: int,
    end: int,
    now: int,
    vision: BinanceVisionSource | None,
    rest: BinanceRestSource | None,
    *,
    progress: bool,
    tqdm: Any,
    on_progress: Callable[[str, str, int, int], None] | None = None,
) -> DownloadResult:
    todo = cache.missing(symbol, timeframe, start, end)
    pieces: list[_Piece] = []  # verified, not yet written
    urls: list[str] = []
    written = 0
    any_rows = False
    not_published: list[str] = []
    bar = tqdm(total=0, desc=f"{symbol} {timeframe}", unit="file", disable=not progress, leave=False)
    counts = [0, 0]  # done, total

    def tick(done: int = 0, total: int = 0) -> None:
        bar.total += total
        if total:
            bar.refresh()
        if done:
            bar.update(done)
        counts[0] += done
        counts[1] += total
        if on_progress is not None:
            on_progress(symbol, timeframe, counts[0], counts[1])

    def flush() -> None:
        nonlocal written
        got = [p.market for p in pieces if p.market is not None]
        cov = [p.coverage for p in pieces]
        if cov:
            if got:
                merged = concat_markets(got)
                cache.write(merged, source="binance", coverage=cov)
                written += merged.n_bars
            else:  # ranges without any trading (e.g. before the listing): remember them as covered
                cache.mark_covered(symbol, timeframe, cov, source="binance")
        pieces.clear()

    def add(piece: _Piece) -> None:
        nonlocal any_rows
        pieces.append(piece)
        urls.append(piece.url)
        any_rows = any_rows or piece.market is not None
        if sum(p.market.n_bars for p in pieces if p.market is not None) >= _FLUSH_BARS:
            flush()  # bound the memory of long 1m downloads

    try:
        for a, b in todo:
            rest_ranges: list[tuple[int, int]] = [(a, b)]
            if vision is not None:
                tasks = _vision_tasks(a, b, now)
                tick(total=len(tasks))
                done: list[tuple[int, int]] = []
                for kind, p0, p1 in tasks:
                    url = (vision.monthly_url if kind == "monthly" else vision.daily_url)(
                        symbol, timeframe, p0
                    )
                    md = vision.fetch(url, symbol, timeframe)
                    tick(done=1)
                    if md is None:
                        not_published.append(url)
                        continue
                    add(_Piece(md, (p0, p1), url))
                    done.append((p0, p1))
                rest_ranges = missing_ranges(done, a, b)
            if rest is not None:
                for r0, r1 in rest_ranges:
                    tick(total=1)
                    md, cut = rest.fetch(
                        symbol, timeframe, r0, r1, now=now, on_page=lambda n: bar.set_postfix(rows=n)
                    )
                    tick(done=1)
                    if cut > r0:
                        add(_Piece(md, (r0, cut), f"{rest.base_url}/api/v3/klines"))
    except BaseException:
        try:  # keep what was verified before the failure; the failed file never reached `pieces`
            flush()
        except Exception:
            log.exception("could not cache the files verified before the failure")
        raise
    finally:
        bar.close()
    if todo and not any_rows and not cache.has(symbol, timeframe):
        where = vision.base_url if vision is not None else ""
        detail = (
            f"{len(not_published)} dump files returned 404 (e.g. {not_published[0]})"
            if not_published
            else "no rows"
        )
        raise DownloadError(
            f"no candles for symbol={symbol!r} timeframe={timeframe!r} in [{format_iso(start)}, {format_iso(end)}) "
            f"at {where or (rest.base_url if rest else '')}: {detail}; allowed: a listed Binance spot pair and a "
            "range after its listing"
        )
    flush()
    covered = tuple(
        (format_iso(c0), format_iso(c1))
        for c0, c1 in merge_ranges(cache.coverage(symbol, timeframe))
        if c1 > start and c0 < end
    )
    return DownloadResult(symbol, timeframe, start, end, written, tuple(urls), covered)
