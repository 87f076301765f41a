"""Renderers (``render()`` frames: text or chart images) and plotters (``plot()`` figures).

matplotlib is imported only when a chart is drawn.
"""

from tradeready_gym.renderers.renderers import (
    RENDER_MODES,
    ChartRenderer,
    Plotter,
    Renderer,
    TextRenderer,
    TradingChartPlotter,
    default_renderer,
)

__all__ = [
    "RENDER_MODES",
    "ChartRenderer",
    "Plotter",
    "Renderer",
    "TextRenderer",
    "TradingChartPlotter",
    "default_renderer",
]
