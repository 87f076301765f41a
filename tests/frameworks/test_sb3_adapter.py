"""The SB3 adapter of the native vector env: every autoreset mode left as the caller set it and
giving SB3's semantics, ``indices`` honoured, and frames for ``VecVideoRecorder``."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.vec_env import DummyVecEnv, VecVideoRecorder

from tradeready_gym.envs.sb3 import SB3VecEnvAdapter, make_sb3_vec_env
from tradeready_gym.errors import ConfigError

from .conftest import END, START

KW = {"start_time": START, "end_time": END, "episode_length": 6, "random_start": True}


def _run(venv, actions):
    venv.seed(5)
    out = [venv.reset().copy()]
    for a in actions:
        obs, rew, done, infos = venv.step(a)
        out.append((obs.copy(), rew.copy(), done.copy(),
                    [(i.get("terminal_observation"), i.get("TimeLimit.truncated")) for i in infos]))
    return out


def _assert_same(a, b):
    np.testing.assert_array_equal(a[0], b[0])
    for x, y in zip(a[1:], b[1:], strict=True):
        for u, v in zip(x[:3], y[:3], strict=True):
            np.testing.assert_array_equal(u, v)
        for (to1, tl1), (to2, tl2) in zip(x[3], y[3], strict=True):
            assert bool(tl1) == bool(tl2)  # DummyVecEnv sets the key on every step
            if to1 is None:
                assert to2 is None
            else:
                np.testing.assert_array_equal(to1, to2)


def test_every_autoreset_mode_gives_sb3_semantics_and_stays_as_set(real_cache):
    rng = np.random.default_rng(0)
    actions = [rng.integers(0, 3, 3) for _ in range(20)]
    runs = {}
    for mode in ("same_step", "next_step", "disabled"):
        venv = gym.make_vec("TradeReady-BTC-v0", num_envs=3, autoreset_mode=mode, **KW)
        before = venv.autoreset_mode
        runs[mode] = _run(SB3VecEnvAdapter(venv), actions)
        assert venv.autoreset_mode == before and venv.metadata["autoreset_mode"] == before
    # the reference: SB3's own DummyVecEnv over single envs (env i seeded with seed + i)
    dummy = DummyVecEnv([lambda: gym.make("TradeReady-BTC-v0", **KW) for _ in range(3)])
    runs["dummy"] = _run(dummy, actions)
    assert sum(int(step[2].sum()) for step in runs["dummy"][1:]) >= 6  # several episodes ended
    for mode in ("same_step", "next_step", "disabled"):
        _assert_same(runs[mode], runs["dummy"])


def test_indices_are_honoured(real_cache):
    venv = make_sb3_vec_env("TradeReady-BTC-v0", num_envs=3, **KW)
    venv.seed(1)
    venv.reset()
    for _ in range(3):
        venv.step(np.array([1, 1, 1]))
    clocks = venv.get_attr("clock")
    assert len(clocks) == 3 and venv.get_attr("clock", indices=[2]) == [clocks[2]]
    out = venv.env_method("reset", indices=[1])
    assert len(out) == 1 and out[0][0].shape == (153,)
    after = venv.get_attr("clock")
    assert after[0] == clocks[0] and after[2] == clocks[2]  # only env 1 was reset
    assert venv.venv.broker.qty[1, 0] == 0.0 and venv.venv.broker.qty[0, 0] > 0.0
    m = venv.env_method("metrics", indices=[0, 2])
    assert len(m) == 2 and m[0].n_trades >= 1
    assert venv.env_method("price_history", 4, indices=1)[0].shape == (4, 1)
    assert venv.get_attr("num_envs", indices=[0, 1]) == [3, 3]
    with pytest.raises(ConfigError, match="shared by all 3 envs"):
        venv.set_attr("info_details", True, indices=[0])
    venv.set_attr("info_details", True)
    assert venv.venv.info_details is True
    with pytest.raises(ConfigError, match="indices"):
        venv.get_attr("clock", indices=[5])


def test_vec_video_recorder_records_frames(real_cache, tmp_path):
    venv = make_sb3_vec_env("TradeReady-BTC-v0", num_envs=2, render_mode="rgb_array", **KW)
    frames = []
    rec = VecVideoRecorder(venv, str(tmp_path), record_video_trigger=lambda step: step == 0, video_length=10)
    rec.reset()
    for _ in range(12):
        rec.step(np.array([1, 2]))
        frames.append(venv.get_images()[0])
    rec.close()
    videos = list(tmp_path.glob("*.mp4"))
    assert videos and videos[0].stat().st_size > 1000
    assert frames[-1].shape == (400, 640, 3) and frames[-1].dtype == np.uint8
    with pytest.raises(ConfigError, match="render_mode='rgb_array'"):
        make_sb3_vec_env("TradeReady-BTC-v0", num_envs=1, **KW).get_images()


def test_finished_episodes_carry_their_metrics_in_every_mode(real_cache):
    for mode in ("same_step", "next_step", "disabled"):
        venv = SB3VecEnvAdapter(gym.make_vec("TradeReady-BTC-v0", num_envs=2, autoreset_mode=mode, **KW))
        venv.reset()
        ended = []
        for _ in range(13):
            _, _, dones, infos = venv.step(np.array([1, 0]))
            ended += [infos[i] for i in np.flatnonzero(dones)]
        assert len(ended) == 4, mode  # two 6-step episodes per env
        for info in ended:
            m = info["episode_metrics"]
            assert m["length"] == 6 and m["final_equity"] == pytest.approx(info["final_equity"])
