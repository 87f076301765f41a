"""Chart frames drawn with numpy straight into an ``(H, W, 3)`` uint8 array (no matplotlib).

`draw_chart` is what ``render_mode="rgb_array"`` returns: a price panel (close in grey, buys as green
and sells as red markers) above an equity panel (equity in blue, buy-and-hold dashed in orange),
light grid lines, no text. Each series is scaled to its panel; with more points than pixel columns
every column shows the min-max range of its points, so no spike is lost. A 640 x 400 frame takes
about a millisecond (``benchmarks/bench_render.py``), fast enough for Gymnasium's ``RecordVideo``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tradeready_gym.errors import ConfigError

__all__ = ["COLORS", "draw_chart"]

#: RGB colours of the frame's parts.
COLORS: dict[str, tuple[int, int, int]] = {
    "background": (255, 255, 255),
    "grid": (232, 232, 232),
    "axis": (170, 170, 170),
    "price": (110, 110, 110),
    "buy": (44, 160, 44),
    "sell": (214, 39, 40),
    "equity": (31, 119, 180),
    "buy_and_hold": (255, 127, 14),
}

_MARGIN = 6
_GAP = 8


def _columns(values: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x, lo, hi)``: pixel column and the value range drawn there for every used column."""
    n = values.shape[0]
    if n == 1:
        return np.array([0]), values.copy(), values.copy()
    if n <= width:
        x = np.round(np.arange(n) * ((width - 1) / (n - 1))).astype(np.int64)
        return x, values, values
    col = (np.arange(n) * width) // n  # non-decreasing, every column hit
    starts = np.flatnonzero(np.r_[True, col[1:] != col[:-1]])
    return col[starts], np.minimum.reduceat(values, starts), np.maximum.reduceat(values, starts)


def _rows(v: np.ndarray, vmin: float, vmax: float, top: int, height: int) -> np.ndarray:
    span = vmax - vmin
    if not np.isfinite(span) or span <= 0:
        return np.full(v.shape, top + height // 2, dtype=np.int64)
    r = top + (height - 1) - np.round((v - vmin) * ((height - 1) / span))
    return np.clip(r, top, top + height - 1).astype(np.int64)


def _line(
    img: np.ndarray,
    values: np.ndarray,
    vmin: float,
    vmax: float,
    box: tuple[int, int, int, int],
    color: tuple[int, int, int],
    *,
    dashed: bool = False,
) -> None:
    """Draw ``values`` as a connected line inside ``box`` = (top, left, height, width)."""
    top, left, height, width = box
    x, lo, hi = _columns(values, width)
    r_top, r_bot = _rows(hi, vmin, vmax, top, height), _rows(lo, vmin, vmax, top, height)  # rows grow downward
    cols = np.arange(x[0], x[-1] + 1)
    centre = (r_top + r_bot) / 2.0
    here = np.interp(cols, x, centre)
    there = np.interp(np.minimum(cols + 1, x[-1]), x, centre)
    upper = np.floor(np.minimum(here, there)).astype(np.int64)  # joins this column to the next one
    lower = np.ceil(np.maximum(here, there)).astype(np.int64)
    k = x - x[0]
    upper[k] = np.minimum(upper[k], r_top)  # a column's own min-max range
    lower[k] = np.maximum(lower[k], r_bot)
    if dashed:
        keep = ((cols - x[0]) // 6) % 2 == 0
        cols, upper, lower = cols[keep], upper[keep], lower[keep]
    _spans(img, left + cols, upper, lower, color)


def _spans(img: np.ndarray, cols: np.ndarray, upper: np.ndarray, lower: np.ndarray, color: tuple[int, int, int]) -> None:
    """Colour the pixels ``upper[k] .. lower[k]`` of column ``cols[k]`` (only the pixels drawn are touched)."""
    lens = np.maximum(lower - upper + 1, 0)
    total = int(lens.sum())
    if total == 0:
        return
    starts = np.repeat(np.cumsum(lens) - lens, lens)
    rows = np.repeat(upper, lens) + (np.arange(total) - starts)
    img[rows, np.repeat(cols, lens)] = color


def _markers(
    img: np.ndarray,
    idx: np.ndarray,
    price: np.ndarray,
    n: int,
    vmin: float,
    vmax: float,
    box: tuple[int, int, int, int],
    color: tuple[int, int, int],
    up: bool,
) -> None:
    top, left, height, width = box
    if idx.size == 0:
        return
    x = left + (np.round(idx * ((width - 1) / max(n - 1, 1))).astype(np.int64) if n <= width else (idx * width) // n)
    y = _rows(price, vmin, vmax, top, height)
    dy, dx = _TRIANGLE_UP if up else _TRIANGLE_DOWN
    h, w = img.shape[:2]
    yy = np.clip(y[:, None] + dy[None, :], 0, h - 1)
    xx = np.clip(x[:, None] + dx[None, :], 0, w - 1)
    img[yy.ravel(), xx.ravel()] = color


def _triangle(up: bool) -> tuple[np.ndarray, np.ndarray]:
    pts = [(dy, dx) for dy in range(-3, 4) for dx in range(-3, 4) if abs(dx) <= ((dy + 3) // 2 if up else (3 - dy) // 2)]
    return np.array([p[0] for p in pts]), np.array([p[1] for p in pts])


_TRIANGLE_UP = _triangle(True)
_TRIANGLE_DOWN = _triangle(False)
_TEMPLATES: dict[tuple[int, int], tuple[np.ndarray, tuple[int, int, int, int], tuple[int, int, int, int]]] = {}


def _template(width: int, height: int) -> tuple[np.ndarray, tuple[int, int, int, int], tuple[int, int, int, int]]:
    """The empty frame (background and grids) of a size, drawn once and copied per frame."""
    key = (width, height)
    if key not in _TEMPLATES:
        img = np.empty((height, width, 3), dtype=np.uint8)
        img[:] = COLORS["background"]
        inner_w = width - 2 * _MARGIN
        usable = height - 2 * _MARGIN - _GAP
        h_price = (usable * 3) // 5
        price_box = (_MARGIN, _MARGIN, h_price, inner_w)
        eq_box = (_MARGIN + h_price + _GAP, _MARGIN, usable - h_price, inner_w)
        _grid(img, price_box)
        _grid(img, eq_box)
        img.flags.writeable = False
        _TEMPLATES[key] = (img, price_box, eq_box)
    return _TEMPLATES[key]


def _grid(img: np.ndarray, box: tuple[int, int, int, int]) -> None:
    top, left, height, width = box
    for k in range(1, 4):
        img[top + (height * k) // 4, left : left + width] = COLORS["grid"]
    for k in range(1, 6):
        img[top : top + height, left + (width * k) // 6] = COLORS["grid"]
    img[top + height - 1, left : left + width] = COLORS["axis"]
    img[top : top + height, left] = COLORS["axis"]


def draw_chart(
    width: int,
    height: int,
    close: Sequence[float] | np.ndarray,
    equity: Sequence[float] | np.ndarray,
    buy_and_hold: Sequence[float] | np.ndarray | None = None,
    buys: Sequence[int] | np.ndarray = (),
    sells: Sequence[int] | np.ndarray = (),
) -> np.ndarray:
    """An ``(height, width, 3)`` uint8 frame: price with trades above, equity vs buy-and-hold below.

    Args:
        width, height: frame size in pixels (>= 64 each).
        close: closes at the episode's decision bars so far (oldest first).
        equity: equity at the same bars.
        buy_and_hold: the buy-and-hold equity at the same bars (optional).
        buys, sells: positions (indices into ``close``) of the bars with a buy / sell fill.
    """
    if width < 64 or height < 64:
        raise ConfigError(f"width={width!r}, height={height!r} are too small; allowed: >= 64 pixels")
    template, price_box, eq_box = _template(int(width), int(height))
    img = template.copy()
    c = np.asarray(close, dtype=np.float64)
    e = np.asarray(equity, dtype=np.float64)
    if c.size == 0 or e.size == 0:
        return img
    pmin, pmax = float(np.nanmin(c)), float(np.nanmax(c))
    pad = (pmax - pmin) * 0.05 or abs(pmax) * 0.01 or 1.0
    _line(img, c, pmin - pad, pmax + pad, price_box, COLORS["price"])
    for idx, color, up in ((buys, COLORS["buy"], True), (sells, COLORS["sell"], False)):
        i = np.asarray(idx, dtype=np.int64)
        i = i[(i >= 0) & (i < c.size)]
        _markers(img, i, c[i], c.size, pmin - pad, pmax + pad, price_box, color, up)
    series = [e] if buy_and_hold is None else [e, np.asarray(buy_and_hold, dtype=np.float64)]
    emin = float(min(np.nanmin(s) for s in series))
    emax = float(max(np.nanmax(s) for s in series))
    pad = (emax - emin) * 0.05 or abs(emax) * 0.01 or 1.0
    if buy_and_hold is not None:
        _line(img, series[1], emin - pad, emax + pad, eq_box, COLORS["buy_and_hold"], dashed=True)
    _line(img, e, emin - pad, emax + pad, eq_box, COLORS["equity"])
    return img
