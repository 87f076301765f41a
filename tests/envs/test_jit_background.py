"""Kernels that are not compiled yet: the same Python body runs uncompiled while they compile.

* Bit for bit: every env kind that ``tradeready warmup`` compiles (fused single env, component path,
  Portfolio, vector envs below and above the threaded size, pending orders, the several-bars
  kernel) gives exactly the same observations, rewards, flags and infos with every kernel run by
  the interpreter (``TRADEREADY_JIT=interpret``) as compiled.
* On an empty numba cache (``slow``): the first step does not wait for the compile, the compile
  finishes in the background, the single env then binds the compiled code, a threaded kernel
  runs its compiled serial twin meanwhile, and the numbers equal those of a waiting run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tradeready_gym import _jit
from tradeready_gym.errors import ConfigError

_EPISODES = r"""
import json, sys
import numpy as np
from tradeready_gym._cli_warmup import _envs

def run(env, n_steps):
    space = env.action_space
    space.seed(3)
    obs, info = env.reset(seed=7)
    out = {"obs": [np.asarray(obs, np.float64).ravel().tolist()], "reward": [], "flags": [], "info": []}
    for k in range(n_steps):
        if k == n_steps // 2:
            engine = env.unwrapped.broker
            engine.place_order(0, 0, "buy", "limit", 0.01, float(engine.clock_close()[0, 0]) * 0.999)
            engine.place_order(0, 0, "sell", "stop", 0.01, float(engine.clock_close()[0, 0]) * 0.99)
        obs, reward, term, trunc, info = env.step(space.sample())
        out["obs"].append(np.asarray(obs, np.float64).ravel().tolist())
        out["reward"].append(np.asarray(reward, np.float64).ravel().tolist())
        out["flags"].append(np.asarray(term).ravel().tolist() + np.asarray(trunc).ravel().tolist())
        out["info"].append(repr(sorted((k2, repr(v)) for k2, v in info.items())))
    env.unwrapped.broker.advance(3)
    engine = env.unwrapped.broker
    out["equity"] = np.concatenate([engine.equity, engine.cash, engine.qty.ravel(), engine.fees_paid]).tolist()
    return out

result = {}
for name, build in _envs():
    env = build()
    result[name] = run(env, 8 if "threaded" in name else 40)
    env.close()
print(json.dumps(result))
"""


def _episodes(mode: str) -> dict:
    env = dict(os.environ, TRADEREADY_JIT=mode)
    proc = subprocess.run([sys.executable, "-c", _EPISODES], env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_interpreted_kernels_give_the_compiled_numbers_bit_for_bit():
    compiled = _episodes("wait")
    interpreted = _episodes("interpret")
    assert compiled.keys() == interpreted.keys()
    assert len(compiled) >= 10
    for name in compiled:
        a, b = compiled[name], interpreted[name]
        for key in ("obs", "reward", "flags", "equity"):
            np.testing.assert_array_equal(np.array(a[key], dtype=float), np.array(b[key], dtype=float), err_msg=name)
        assert a["info"] == b["info"], name


def test_the_mode_is_checked(monkeypatch):
    monkeypatch.setenv(_jit.JIT_MODE_ENV, "later")
    with pytest.raises(ConfigError, match=r"TRADEREADY_JIT='later'.*background, wait, interpret"):
        _jit.jit_mode()
    monkeypatch.setenv(_jit.JIT_MODE_ENV, "")
    assert _jit.jit_mode() == "background"


def test_interpreted_bodies_call_interpreted_callees():
    from numba.core.dispatcher import Dispatcher

    from tradeready_gym.envs._fused import fused_step

    fn = _jit.interpreted(fused_step)
    assert fn is _jit.interpreted(fused_step)  # one per kernel
    assert not isinstance(fn, Dispatcher) and fn.__code__ is fused_step.py_func.__code__
    called = fn.__globals__
    assert not isinstance(called["_env_outcome"], Dispatcher)  # an inline helper
    assert not isinstance(called["K"]._step_account, Dispatcher)  # through the engine's module
    assert not isinstance(called["K"].unpack, Dispatcher)
    assert called["K"].M_CLOSE == called["K"]._module.M_CLOSE  # plain values pass through


_COLD = r"""
import json, time
import numpy as np
from tradeready_gym import _jit
from tradeready_gym.data.synthetic import generate_synthetic
from tradeready_gym.actions import DiscreteActions
from tradeready_gym.envs import DataFeed, Portfolio, TradingEnv
from tradeready_gym.envs.vector_env import TradeReadyVectorEnv
from tradeready_gym.envs._fused import fused_step, fused_step_parallel
from tradeready_gym.engine import _kernel as K
from tradeready_gym.observers import WindowObserver
from tradeready_gym.rewards import PnLReward

market = generate_synthetic(600, seed=5)
env = TradingEnv(Portfolio(10_000), DataFeed(market), DiscreteActions(), PnLReward(), WindowObserver(lookback=5))
env.reset(seed=0)
actions = [int(a) for a in np.random.default_rng(1).integers(0, 3, 300)]
rewards = []
env.step(actions[0])
pending_after_first = _jit.pending_compiles()
for a in actions[1:150]:
    rewards.append(env.step(a)[1])
done = _jit.wait_for_compiles(timeout=900)
for a in actions[150:]:
    rewards.append(env.step(a)[1])
single = env.unwrapped._core._single
bound = getattr(single, "__name__", "")
vec = TradeReadyVectorEnv(K.PARALLEL_MIN_ACCOUNTS, Portfolio(10_000), DataFeed(market), DiscreteActions(), PnLReward(),
                          WindowObserver(lookback=5))
vec.reset(seed=0)
vec.step(np.ones(K.PARALLEL_MIN_ACCOUNTS, dtype=np.int64))
fused = vec._core._fused
sig = tuple(fused_step_parallel.typeof_pyval(a) for a in (np.empty(1, np.float32), *fused.args))
stand_in = _jit._stand_in_for(fused_step_parallel, sig, fused_step)
print(json.dumps({
    "pending_after_first": pending_after_first,
    "done": done,
    "bound": bound,
    "threaded_compiled": sig in fused_step_parallel.overloads,
    "stand_in_is_serial_code": stand_in is fused_step.overloads[sig].entry_point,
    "rewards": rewards,
}))
"""


@pytest.mark.slow
def test_on_an_empty_cache_the_first_step_does_not_wait_for_the_compile(tmp_path):
    def run(mode: str) -> dict:
        cache = tmp_path / f"numba-{mode}"
        cache.mkdir()
        env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), TRADEREADY_JIT=mode)
        proc = subprocess.run([sys.executable, "-c", _COLD], env=env, capture_output=True, text=True, timeout=2400)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return json.loads(proc.stdout.strip().splitlines()[-1])

    background = run("background")
    assert background["pending_after_first"] >= 1  # the step ran while its kernel was compiling
    assert background["done"]
    assert background["bound"] == "single"  # after the compile, the single env calls the compiled code
    # the threaded kernel is not compiled at its first step: its serial twin's compiled code stands in
    assert not background["threaded_compiled"] and background["stand_in_is_serial_code"]
    waited = run("wait")
    assert waited["pending_after_first"] == 0
    assert background["rewards"] == waited["rewards"]
