"""Kernels compile once per machine: processes starting together share one compile through the lock.

These tests start real subprocesses on an EMPTY numba cache (``NUMBA_CACHE_DIR`` = a new folder), so
they compile the engine's step kernels from scratch: slow on a busy machine, hence ``slow``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tradeready_gym._jit import COMPILE_LOG_PREFIX, LOCK_NAME

pytestmark = pytest.mark.slow

_CHILD = r"""
import json, logging, sys
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="%(name)s|%(message)s")
for name in ("numba", "numba.core"):
    logging.getLogger(name).setLevel(logging.WARNING)
from tradeready_gym.data.synthetic import generate_synthetic
from tradeready_gym.actions import DiscreteActions
from tradeready_gym.envs import DataFeed, Portfolio, TradingEnv
from tradeready_gym.observers import WindowObserver
from tradeready_gym.rewards import PnLReward

env = TradingEnv(Portfolio(10_000), DataFeed(generate_synthetic(300, seed=4)), DiscreteActions(), PnLReward(),
                 WindowObserver(lookback=5))
obs, info = env.reset(seed=0)
rewards = []
for a in [1, 0, 2, 1, 1, 2]:
    obs, r, term, trunc, info = env.step(a)
    rewards.append(r)
print(json.dumps({"equity": info["equity"], "rewards": rewards}))
"""


def _start(cache: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    return subprocess.Popen([sys.executable, "-c", _CHILD], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_processes_starting_together_compile_each_kernel_once(tmp_path):
    cache = tmp_path / "numba-cache"
    cache.mkdir()
    procs = [_start(cache) for _ in range(3)]
    # read every child's pipes at once: a child blocked on a full pipe while holding the compile lock
    # would otherwise stall the others waiting for that lock
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(procs)) as pool:
        outs = list(pool.map(lambda p: p.communicate(timeout=1500), procs))
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-3000:]
    results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]
    assert results[0] == results[1] == results[2]  # same env, same actions: same numbers
    compiled: Counter[str] = Counter()
    started = 0
    for _, err in outs:
        lines = [ln for ln in err.splitlines() if ln.startswith("tradeready_gym|")]
        compiled.update(m.group(1) for ln in lines if (m := re.match(r"tradeready_gym\|compiled (\S+) in ", ln)))
        started += sum(COMPILE_LOG_PREFIX in ln for ln in lines)
    # every kernel was compiled by exactly one of the three processes; the others loaded it from the cache
    assert compiled, "no compile was logged although the cache was empty"
    assert max(compiled.values()) == 1, compiled
    assert "reset_kernel" in compiled
    assert 1 <= started <= 3
    assert (cache / LOCK_NAME).exists()


def test_a_process_on_a_filled_cache_compiles_nothing(tmp_path):
    cache = tmp_path / "numba-cache"
    cache.mkdir()
    first = _start(cache)
    out1, err1 = first.communicate(timeout=1500)
    assert first.returncode == 0, err1[-3000:]
    assert COMPILE_LOG_PREFIX in err1
    second = _start(cache)
    out2, err2 = second.communicate(timeout=600)
    assert second.returncode == 0, err2[-3000:]
    assert COMPILE_LOG_PREFIX not in err2 and "compiled " not in err2
    assert json.loads(out1.strip().splitlines()[-1]) == json.loads(out2.strip().splitlines()[-1])
