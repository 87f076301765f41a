"""A paper-trading process for the kill -9 test: ``python paper_child.py WS REST STORE SPEED STEPS``.

Prints one JSON line after reset and after every step (flushed), then exits.
"""

from __future__ import annotations

import json
import sys

from tradeready_gym.live.env import LiveTradingEnv
from tradeready_gym.live.feed import FeedConfig


def main() -> None:
    ws, rest, store, speed, steps = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
    cfg = FeedConfig(speed=speed, final_grace_s=90.0, liveness_s=540.0, stale_after_s=720.0,
                     reconnect_min_s=0.02, reconnect_max_s=0.2, clock_sync_s=1800.0)
    env = LiveTradingEnv("BTCUSDT", timeframe="15m", lookback_window=6, observation_features=["ohlcv", "rsi_14"],
                         binance_ws_url=ws, binance_rest_url=rest, feed_config=cfg, store=store, session="kill-test",
                         step_timeout_s=20)
    _, info = env.reset()
    print(json.dumps({"event": "reset", "equity": info["equity"], "live": info["live"]}), flush=True)
    for i in range(steps):
        action = 1 if i % 3 == 0 else (2 if i % 3 == 2 else 0)
        _, _, _, _, info = env.step(action)
        print(json.dumps({"event": "step", "equity": info["equity"], "live": info["live"],
                          "fills": info["filled_orders"]}), flush=True)
    env.close()


if __name__ == "__main__":
    main()
