"""``rgb_array`` frames drawn with numpy (what they show), Gymnasium's ``RecordVideo``, ``plot(path)``."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from tradeready_gym.renderers.raster import COLORS, draw_chart

from .conftest import END, START


def _has(frame, color):
    return bool((frame == np.array(color, dtype=np.uint8)).all(axis=2).any())


def test_frame_shows_price_equity_buy_and_hold_and_trades(real_cache):
    env = gym.make("TradeReady-BTC-v0", render_mode="rgb_array", start_time=START, end_time=END)
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (400, 640, 3) and frame.dtype == np.uint8
    assert not _has(frame, COLORS["buy"])  # no trade yet
    for a in (1, 0, 0, 2, 0):
        env.step(a)
    frame = env.render()
    for part in ("price", "equity", "buy_and_hold", "buy", "sell", "grid"):
        assert _has(frame, COLORS[part]), part
    # the frame follows the episode: another step changes it
    env.step(0)
    assert not np.array_equal(env.render(), frame)


def test_price_line_is_continuous_and_inside_its_panel():
    close = np.concatenate([np.linspace(100, 200, 50), np.linspace(200, 100, 50)])
    img = draw_chart(200, 120, close, np.full(100, 1.0))
    grey = (img == np.array(COLORS["price"], dtype=np.uint8)).all(axis=2)
    cols = np.flatnonzero(grey.any(axis=0))
    assert cols.size > 0 and np.all(np.diff(cols) == 1)  # no gap between columns
    rows = np.flatnonzero(grey.any(axis=1))
    assert rows.min() >= 6 and rows.max() < 120 * 3 // 5 + 6  # the top (price) panel
    # the peak is drawn higher (smaller row) than both ends
    top_at = [np.flatnonzero(grey[:, c]).min() for c in (cols[0], cols[len(cols) // 2], cols[-1])]
    assert top_at[1] < top_at[0] and top_at[1] < top_at[2]


def test_record_video_of_an_episode(real_cache, tmp_path):
    env = gym.make("TradeReady-BTC-v0", render_mode="rgb_array", start_time=START, end_time=END, episode_length=30)
    env = gym.wrappers.RecordVideo(env, str(tmp_path / "videos"), episode_trigger=lambda e: True, disable_logger=True)
    env.reset(seed=0)
    done = False
    while not done:
        _, _, term, trunc, _ = env.step(env.action_space.sample())
        done = term or trunc
    env.close()
    videos = list((tmp_path / "videos").glob("*.mp4"))
    assert videos and videos[0].stat().st_size > 1000


def test_plot_path_positional(real_cache, tmp_path):
    env = gym.make("TradeReady-BTC-v0", start_time=START, end_time=END).unwrapped
    env.reset(seed=0)
    for a in (1, 0, 2):
        env.step(a)
    fig = env.plot(tmp_path / "episode.png")
    assert (tmp_path / "episode.png").stat().st_size > 0 and len(fig.axes) == 3
