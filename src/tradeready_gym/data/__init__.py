"""Market data: the `MarketData` object, readers, downloader, cache, resampling, gaps, synthetic.

The entry point is `load_market_data`; see ``docs/data.md`` for sources, cache layout and policies.
"""

from tradeready_gym.data.cache import DATA_DIR_ENV, CacheEntry, CandleCache, default_data_dir
from tradeready_gym.data.gaps import GAP_POLICIES, Gap, apply_gap_policy, fill_gaps, find_gaps, missing_bars
from tradeready_gym.data.load import align_markets, download_command, import_data, load_market_data
from tradeready_gym.data.market import DataQualityWarning, MarketData
from tradeready_gym.data.readers import (
    concat_markets,
    normalize_symbol,
    read_binance_zip,
    read_freqtrade_json,
    read_path,
    read_rest_json,
    read_table,
)
from tradeready_gym.data.resample import INCOMPLETE_POLICIES, resample
from tradeready_gym.data.synthetic import SYNTHETIC_PREFIX, generate_synthetic, is_synthetic_symbol

__all__ = [
    "DATA_DIR_ENV",
    "GAP_POLICIES",
    "INCOMPLETE_POLICIES",
    "SYNTHETIC_PREFIX",
    "CacheEntry",
    "CandleCache",
    "DataQualityWarning",
    "Gap",
    "MarketData",
    "align_markets",
    "apply_gap_policy",
    "concat_markets",
    "default_data_dir",
    "download_command",
    "fill_gaps",
    "find_gaps",
    "generate_synthetic",
    "import_data",
    "is_synthetic_symbol",
    "load_market_data",
    "missing_bars",
    "normalize_symbol",
    "read_binance_zip",
    "read_freqtrade_json",
    "read_path",
    "read_rest_json",
    "read_table",
    "resample",
]
