"""Renderers draw the current state of one env; plotters draw its whole episode.

Both read the env's `EpisodeHistory` (``env.history``): decision bars, equity after each step and
the fills. ``"human"`` and ``"ansi"`` are one text line per step; ``"rgb_array"`` is a chart frame
drawn with numpy (`tradeready_gym.renderers.raster`); ``plot()`` draws with matplotlib's Agg backend
(imported lazily, never by ``import tradeready_gym``).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import numpy as np

from tradeready_gym.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = [
    "RENDER_MODES",
    "ChartRenderer",
    "Plotter",
    "Renderer",
    "TextRenderer",
    "TradingChartPlotter",
    "default_renderer",
]

RENDER_MODES: tuple[str, ...] = ("human", "ansi", "rgb_array")


class Renderer:
    """Base class: `render` returns a frame of ``env`` for ``mode`` (or None for ``"human"``)."""

    registered_name = "renderer"
    modes: tuple[str, ...] = ()

    def render(self, env: Any, mode: str) -> Any:
        raise NotImplementedError

    def reset(self) -> None:
        """Called when the env resets (default: nothing)."""

    def close(self) -> None:
        """Release resources (default: nothing)."""


def _status_line(env: Any) -> str:
    info = env.last_info
    prices = ", ".join(f"{s}={p:,.2f}" for s, p in info["prices"].items())
    pos = ", ".join(f"{s}={q:.6g}" for s, q in info["positions"].items())
    return (
        f"{info['virtual_time']}  step {info['step']}/{info['total_steps']}  equity {info['equity']:,.2f}  "
        f"cash {info['available_cash']:,.2f}  positions [{pos}]  prices [{prices}]  "
        f"fills {len(info['filled_orders'])}"
    )


class TextRenderer(Renderer):
    """One line per call: time, step, equity, cash, positions, prices, fills.

    ``"ansi"`` returns the line; ``"human"`` writes it to ``stream`` (default ``sys.stdout``).
    """

    modes = ("human", "ansi")

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream

    def render(self, env: Any, mode: str) -> str | None:
        line = _status_line(env)
        if mode == "ansi":
            return line
        stream = self.stream if self.stream is not None else sys.stdout
        stream.write(line + "\n")
        stream.flush()
        return None


class ChartRenderer(Renderer):
    """``"rgb_array"``: an ``(H, W, 3)`` uint8 chart of price (with trades) and equity so far.

    Drawn with numpy into the array (`tradeready_gym.renderers.raster.draw_chart`, about a
    millisecond per frame), not with matplotlib, so ``RecordVideo`` can record every step.

    Args:
        width, height: frame size in pixels (default 640 x 400, each >= 64).
        dpi: kept for compatibility; not used.
    """

    modes = ("rgb_array",)

    def __init__(self, width: int = 640, height: int = 400, dpi: int = 80) -> None:
        if width < 64 or height < 64:
            raise ConfigError(f"width={width!r}, height={height!r} are too small; allowed: >= 64 pixels")
        self.width, self.height, self.dpi = int(width), int(height), int(dpi)
        self._key: tuple[int, int] | None = None
        self._seen = 0
        self._cache: dict[str, list[int]] = {"buy": [], "sell": []}

    def render(self, env: Any, mode: str) -> np.ndarray:
        from tradeready_gym.renderers.raster import draw_chart

        hist = env.history
        bars = hist.bars()
        close = env.feed.close[bars, 0]
        marks = self._marks(env, hist.fills, int(bars[0]))
        return draw_chart(
            self.width, self.height, close, hist.equity_curve(), _buy_and_hold(env, bars), marks["buy"], marks["sell"]
        )

    def _marks(self, env: Any, fills: list[dict[str, Any]], first_bar: int) -> dict[str, list[int]]:
        """Positions of the buy / sell fills of the first symbol, converted once per fill."""
        key = (id(fills), first_bar)
        if self._key != key:
            self._key, self._seen, self._cache = key, 0, {"buy": [], "sell": []}
        new = fills[self._seen :]
        if new:
            sym = env.feed.symbols[0]
            picked = [f for f in new if f["symbol"] == sym and f["side"] in self._cache]
            if picked:
                times = np.array([str(f["time"]).rstrip("Z") for f in picked], dtype="datetime64[ns]").astype(np.int64)
                # a fill at the open of bar b shows at the decision bar b (the step's new clock)
                pos = np.searchsorted(env.feed.market.open_time, times) - first_bar
                for f, k in zip(picked, pos.tolist(), strict=True):
                    self._cache[f["side"]].append(int(k))
            self._seen = len(fills)
        return self._cache

    def reset(self) -> None:
        self._key = None


def _episode(env: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
    hist = env.history
    bars = hist.bars()
    times = env.feed.market.close_time[bars].astype("datetime64[ns]")
    return bars, times, hist.equity_curve(), hist.fills


def _draw_price(ax: Any, env: Any, symbol_index: int = 0) -> None:
    bars, times, _, fills = _episode(env)
    sym = env.feed.symbols[symbol_index]
    close = env.feed.close[bars, symbol_index]
    ax.plot(times, close, color="tab:gray", linewidth=1.0, label=f"{sym} close")
    for side, marker, color in (("buy", "^", "tab:green"), ("sell", "v", "tab:red")):
        pts = [f for f in fills if f["symbol"] == sym and f["side"] == side]
        if pts:
            ax.scatter(
                np.array([np.datetime64(f["time"].rstrip("Z")) for f in pts]),
                [f["price"] for f in pts],
                marker=marker,
                color=color,
                s=30,
                label=side,
                zorder=3,
            )
    ax.set_ylabel("price")
    ax.legend(loc="upper left", fontsize="small")


def _buy_and_hold(env: Any, bars: np.ndarray) -> np.ndarray:
    close = env.feed.close[bars]
    return float(env.portfolio.starting_balance) * (close / close[0]).mean(axis=1)


def _draw_equity(ax: Any, env: Any) -> None:
    bars, times, equity, _ = _episode(env)
    ax.plot(times, equity, color="tab:blue", label="equity")
    ax.plot(times, _buy_and_hold(env, bars), color="tab:orange", linestyle="--", label="buy and hold")
    ax.set_ylabel("equity")
    ax.legend(loc="upper left", fontsize="small")


def _draw_drawdown(ax: Any, env: Any) -> None:
    _, times, equity, _ = _episode(env)
    peak = np.maximum.accumulate(equity)
    dd = np.where(peak > 0, equity / peak - 1.0, 0.0) * 100.0
    ax.fill_between(times, dd, 0.0, color="tab:red", alpha=0.4)
    ax.set_ylabel("drawdown %")


class Plotter:
    """Base class: `plot` draws the episode of ``env`` and returns a matplotlib figure."""

    registered_name = "plotter"

    def plot(self, env: Any, path: Any = None, **kwargs: Any) -> Figure:
        raise NotImplementedError


class TradingChartPlotter(Plotter):
    """Three panels: price with buy/sell markers, equity vs buy-and-hold, drawdown.

    Args:
        symbol: symbol whose price is drawn (default: the first).
        figsize: figure size in inches.
    """

    def __init__(self, symbol: str | None = None, figsize: tuple[float, float] = (10.0, 8.0)) -> None:
        self.symbol = symbol
        self.figsize = figsize

    def plot(self, env: Any, path: Any = None, **kwargs: Any) -> Figure:
        """Draw the current episode; ``path`` (positional or keyword) also saves the figure to that file."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        j = 0 if self.symbol is None else env.feed.market.symbol_index(self.symbol)
        fig = Figure(figsize=self.figsize)
        FigureCanvasAgg(fig)
        ax_price, ax_eq, ax_dd = fig.subplots(3, 1, sharex=True, height_ratios=(3, 2, 1))
        _draw_price(ax_price, env, j)
        _draw_equity(ax_eq, env)
        _draw_drawdown(ax_dd, env)
        ax_price.set_title(f"{', '.join(env.feed.symbols)} {env.feed.market.timeframe}")
        fig.tight_layout()
        if path is not None:
            fig.savefig(path)
        return fig


def default_renderer(render_mode: str | None) -> Renderer | None:
    """The built-in renderer for ``render_mode`` (None when no mode is set)."""
    if render_mode is None:
        return None
    if render_mode in ("human", "ansi"):
        return TextRenderer()
    if render_mode == "rgb_array":
        return ChartRenderer()
    raise ConfigError(f"render_mode={render_mode!r} is not supported; allowed: {', '.join(RENDER_MODES)} or None")
