"""The stale-cache guard of `tradeready_gym._jit`: a change to any kernel source drops the library's
numba cache files before anything loads them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from numba.core import config
from numba.core.caching import UserProvidedCacheLocator

from tradeready_gym import _jit
from tradeready_gym._jit import FINGERPRINT_NAME, check_kernel_cache, kernel_fingerprint, kernel_sources


def _package(root: Path) -> Path:
    pkg = root / "pkg"
    (pkg / "engine").mkdir(parents=True)
    (pkg / "_jit.py").write_text("# decorators\n")
    (pkg / "engine" / "__init__.py").write_text("")
    (pkg / "engine" / "_kernel.py").write_text(
        "from tradeready_gym._jit import kernel\nfrom tradeready_gym.engine.consts import LIMIT\n\n"
        "@kernel\ndef f(x):\n    return x + LIMIT\n"
    )
    (pkg / "engine" / "consts.py").write_text("LIMIT = 3\n")
    (pkg / "engine" / "plain.py").write_text("VALUE = 1\n")  # imported by no kernel module
    return pkg


def _cache_files(cache: Path, py_file: Path) -> list[Path]:
    folder = cache / UserProvidedCacheLocator.get_suitable_cache_subpath(str(py_file))
    folder.mkdir(parents=True, exist_ok=True)
    files = [folder / "_kernel.f-4.py311.nbi", folder / "_kernel.f-4.py311.1.nbc", folder / "_kernel.cpython-311.pyc"]
    for f in files:
        f.write_bytes(b"cached")
    return files


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "numba-cache"
    folder.mkdir()
    monkeypatch.setattr(config, "CACHE_DIR", str(folder))
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(folder))
    return folder


def test_sources_are_the_kernel_modules_and_what_they_import(tmp_path):
    pkg = _package(tmp_path)
    names = sorted(p.relative_to(pkg).as_posix() for p in kernel_sources(pkg))
    assert names == ["_jit.py", "engine/_kernel.py", "engine/consts.py"]
    # the real library: the fused step and the modules whose code it inlines or calls are covered
    real = {p.relative_to(_jit._PACKAGE).as_posix() for p in kernel_sources()}
    assert {"envs/_fused.py", "engine/_kernel.py", "observers/_kernels.py", "informers/record.py"} <= real


def test_a_changed_dependency_drops_the_cache_files_once(tmp_path, cache):
    pkg = _package(tmp_path)
    kernel_file = pkg / "engine" / "_kernel.py"
    nbi, nbc, pyc = _cache_files(cache, kernel_file)
    # no stored fingerprint yet: the cache cannot be trusted
    assert check_kernel_cache(pkg) is True
    assert not nbi.exists() and not nbc.exists() and pyc.exists()  # only numba's files are dropped
    stamp = cache / UserProvidedCacheLocator.get_suitable_cache_subpath(str(pkg / "_jit.py")) / FINGERPRINT_NAME
    assert stamp.read_text().strip() == kernel_fingerprint(pkg)

    # unchanged sources: the cache stays
    nbi, nbc, pyc = _cache_files(cache, kernel_file)
    assert check_kernel_cache(pkg) is False
    assert nbi.exists() and nbc.exists()

    # a module the kernel imports a constant from changes (the kernel's own file does not)
    (pkg / "engine" / "consts.py").write_text("LIMIT = 4\n")
    assert check_kernel_cache(pkg) is True
    assert not nbi.exists() and not nbc.exists()
    assert stamp.read_text().strip() == kernel_fingerprint(pkg)

    # a module no kernel imports changes: nothing is dropped
    nbi, nbc, _ = _cache_files(cache, kernel_file)
    (pkg / "engine" / "plain.py").write_text("VALUE = 2\n")
    assert check_kernel_cache(pkg) is False
    assert nbi.exists() and nbc.exists()


def test_a_process_with_its_own_cache_dir_leaves_the_in_tree_cache_alone(tmp_path, cache):
    # NUMBA_CACHE_DIR is set (the fixture): the in-tree cache belongs to processes without it and is
    # guarded by its own fingerprint, so a benchmark or test run on a fresh cache folder keeps it
    pkg = _package(tmp_path)
    in_tree = pkg / "engine" / "__pycache__"
    in_tree.mkdir()
    kept = in_tree / "_kernel.f-4.py311.nbi"
    kept.write_bytes(b"cached")
    assert check_kernel_cache(pkg) is True
    assert kept.exists()


def test_without_a_cache_dir_the_in_tree_cache_is_guarded(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "CACHE_DIR", "")
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    pkg = _package(tmp_path)
    in_tree = pkg / "engine" / "__pycache__"
    in_tree.mkdir()
    stale = in_tree / "_kernel.f-4.py311.nbi"
    stale.write_bytes(b"cached")
    assert check_kernel_cache(pkg) is True  # no fingerprint beside the cache yet
    assert not stale.exists()
    assert (pkg / "__pycache__" / FINGERPRINT_NAME).read_text().strip() == kernel_fingerprint(pkg)
    stale.write_bytes(b"cached")
    assert check_kernel_cache(pkg) is False and stale.exists()  # unchanged sources: kept


_CHILD = r"""
import json, logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s|%(message)s")
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
print(json.dumps({"equity": info["equity"], "rewards": rewards, "obs": obs.tolist()}))
"""


def _run(cache: Path) -> tuple[dict[str, object], str]:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    proc = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, timeout=1500,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


@pytest.mark.slow
def test_a_changed_fingerprint_recompiles_with_the_same_results(tmp_path):
    cache = tmp_path / "numba-cache"
    cache.mkdir()
    first, _ = _run(cache)
    index_files = sorted(cache.rglob("*.nbi"))
    assert index_files
    stamps = list(cache.rglob(FINGERPRINT_NAME))
    assert len(stamps) == 1
    # a warm start loads the cache: nothing is dropped
    warm, err = _run(cache)
    assert warm == first
    assert "dropped" not in err
    # as if a kernel source had changed since the cache was written
    stamps[0].write_text("0" * 64 + "\n")
    again, err = _run(cache)
    assert "kernel sources changed: dropped" in err
    assert again == first
    assert stamps[0].read_text().strip() != "0" * 64
    assert sorted(cache.rglob("*.nbi"))  # compiled and cached afresh
