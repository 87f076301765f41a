"""Renderers (human, ansi, rgb_array) and the episode plot."""

from __future__ import annotations

import gymnasium as gym
import numpy as np


def _run(env, actions):
    env.reset(seed=0)
    for a in actions:
        env.step(a)


def test_ansi_and_human_text(btc, capsys):
    env = gym.make("TradeReady-BTC-v0", data=btc, render_mode="ansi")
    _run(env, [1, 0, 2])
    line = env.render()
    info = env.unwrapped.last_state.info
    assert isinstance(line, str)
    assert info["virtual_time"] in line and "step 3/" in line and f"{info['equity']:,.2f}" in line
    env = gym.make("TradeReady-BTC-v0", data=btc, render_mode="human")
    _run(env, [1, 0])
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 2 and "step 2/" in out[-1]


def test_rgb_array_frame(btc):
    env = gym.make("TradeReady-BTC-v0", data=btc, render_mode="rgb_array")
    _run(env, [1, 0, 1, 2, 0])
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    assert frame.shape[:2] == (400, 640)
    assert frame.std() > 0  # something was drawn


def test_plot_price_trades_equity_buy_and_hold_drawdown(market3, tmp_path):
    env = gym.make("TradeReady-Portfolio-v0", data=market3).unwrapped
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(50):
        env.step(rng.uniform(0, 1, 3).astype(np.float32))
    fig = env.plot(path=tmp_path / "episode.png")
    assert (tmp_path / "episode.png").stat().st_size > 0
    price, equity, drawdown = fig.axes
    fills = [f for f in env.history.fills if f["symbol"] == "BTCUSDT"]
    n_markers = sum(len(c.get_offsets()) for c in price.collections)
    assert n_markers == len(fills) > 0
    labels = [line.get_label() for line in equity.get_lines()]
    assert labels == ["equity", "buy and hold"]
    np.testing.assert_allclose(equity.get_lines()[0].get_ydata(), env.history.equity_curve())
    assert drawdown.get_ylabel() == "drawdown %"
    assert len(env.history.bars()) == 51


def test_gymnasium_render_check_for_every_mode(btc):
    import warnings

    from gymnasium.utils.env_checker import check_env

    for mode in ("ansi", "rgb_array"):
        env = gym.make("TradeReady-BTC-v0", data=btc, render_mode=mode, disable_env_checker=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check_env(env.unwrapped)
