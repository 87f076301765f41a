"""Market data: the `MarketData` object, readers, downloader, cache, resampling, checks, synthetic."""

from tradeready_gym.data.market import MarketData

__all__ = ["MarketData"]
