"""How the library compiles its numba kernels: options, one compile at a time per machine, a log line.

Every compiled function of the engine and the built-in components is made with one of these
decorators:

* `kernel` (``@kernel`` or ``@kernel(parallel=True, nrt=False)``): a function called from Python.
* `kernel_twins`: a serial and a threaded kernel compiled from one Python body (``prange`` loops).
* `helper`: a function called only from other compiled functions (the engine's order path:
  `_trade`, `_apply_fill`, `_pending`). Most serial kernels *call* it: it is compiled once per
  argument-type signature instead of being typed and lowered again inside every caller. Threaded
  kernels (`kernel_twins`), and the serial kernels that ask for it (the env's fused step:
  ``serial_inlines_helpers``), inline it at numba's IR level (numba's per-call-site inline cost
  model, `_inline_into_threaded`): there a call per env per step passes every array argument as a
  struct, which cost a 1,024-env batch step about a fifth of its time (107.9 against 88.3 us) and
  the single env about 3% (2.90 against 2.80 us a step); their compile takes longer (the single
  env's fused step about 25 s instead of 10 s on two cores) and runs in the background or in
  ``tradeready warmup``. Literal argument types (a constant ``0`` or ``True`` at the call
  site) and integer widths are widened to ``int64`` / ``bool`` before the signature is chosen, so a
  constant argument does not make a version of its own. Helpers never allocate, so they run
  without numba's reference-counting runtime.
* `inline`: a small per-env helper inlined into its callers at numba's IR level. Measured: the
  batch drivers run these once per env (view unpacking, the components' per-env rules, the
  account's step and mark), and as calls they cost a 1,024-env step about twice its time (every
  array argument is passed as a struct of pointer, shape and strides); inlined they cost nothing.
  The single env did not measurably care either way.

All are cached (``cache=True``: compiled once per machine, loaded from numba's cache afterwards);
kernels and helpers are *guarded*: a compile that misses the cache takes an inter-process file lock first
(``tradeready-compile.lock`` in ``NUMBA_CACHE_DIR``, else in the temporary directory), then looks in
the cache again. Several processes starting at once on a fresh machine (SubprocVecEnv,
AsyncVectorEnv, Ray workers, a test run with several workers) therefore compile each kernel once:
the others wait for the lock and load what the first one saved.

Compiling in the background. Kernels (not helpers) are compiled for the argument types of their
first call, which takes seconds (about 25 s for the single env's fused step on two cores, about
a minute for the threaded vector step). So that the first ``step()`` does not wait for it, a call whose
compiled code is neither in memory nor in numba's cache queues the compile on one background
thread (``tradeready-compile``) and runs, meanwhile, the *same Python body* uncompiled
(`interpreted`: the compiled functions it calls are interpreted too), or, for a threaded kernel,
the compiled code of its serial twin when that is ready. The results are the same bit for bit
(`tests/envs/test_jit_background.py` runs every env kind both ways); only the speed differs
(a single-env step takes about 0.25 ms uncompiled instead of 3 us). Once the compile is done,
the next call runs the compiled code. At interpreter exit, queued compiles are finished first,
so that the next run loads them from the cache. ``TRADEREADY_JIT`` chooses the behaviour:
``background`` (the default), ``wait`` (every call waits for its compile, as numba does) or
``interpret`` (nothing is compiled: for debugging with pdb, slow). `compiling_in_this_thread`
makes the calls of one block wait (``tradeready warmup`` uses it); `wait_for_compiles` waits
for the queued compiles (benchmarks use it before timing).

The first compile of a process logs one INFO line on the ``tradeready_gym`` logger saying that the
kernels are compiling and roughly how long it takes; each finished compile is logged at DEBUG with
its time. ``tradeready warmup`` compiles every kernel ahead (`tradeready_gym._cli_warmup`).

Stale-cache guard. numba keys the cached machine code of a function by that function's own source
file, but a kernel also contains the code of the helpers it inlines or calls and the constants it
reads from other modules: after one of those changes, numba would load the old code. So when this
module is imported (before any kernel can load), it computes `kernel_fingerprint`: a hash of the
numba version and the source of every module with compiled code, plus the library modules they
import (found from their ``from tradeready_gym.X import`` lines, transitively; a few milliseconds).
The fingerprint is stored in the library's cache folder (``FINGERPRINT_NAME`` beside the cache
files of this module: in ``NUMBA_CACHE_DIR`` when set, else in ``__pycache__``, else numba's
user-wide cache). When the stored one differs (or there is none) the guard takes the compile lock,
deletes the numba cache files (``*.nbi`` index, ``*.nbc`` data) of every one of those modules in
the folders numba uses in this configuration (``NUMBA_CACHE_DIR`` alone when it is set, which has
its own fingerprint; else ``__pycache__`` and numba's user-wide cache), and stores the new
fingerprint; the kernels then compile afresh. An installed, unchanged library never drops its cache.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import os
import queue
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import CodeType, FunctionType, ModuleType
from typing import Any

import numpy as np
from numba import njit

__all__ = [
    "COMPILE_LOG_PREFIX",
    "FINGERPRINT_NAME",
    "JIT_MODES",
    "JIT_MODE_ENV",
    "LOCK_NAME",
    "check_kernel_cache",
    "compile_lock_path",
    "compiling_in_this_thread",
    "helper",
    "inline",
    "interpreted",
    "jit_mode",
    "kernel",
    "kernel_fingerprint",
    "kernel_sources",
    "kernel_twins",
    "pending_compiles",
    "wait_for_compiles",
]

logger = logging.getLogger("tradeready_gym")

#: Name suffix of the threaded twin of a kernel (`kernel_twins`).
THREADED_SUFFIX = "_parallel"
#: The first words of the INFO line logged when a process starts compiling kernels.
COMPILE_LOG_PREFIX = "compiling numba kernels"
#: File name of the inter-process compile lock.
LOCK_NAME = "tradeready-compile.lock"

_NO_NRT: dict[str, Any] = {"_nrt": False}
_state = threading.local()
_process_lock = threading.RLock()
_file_lock: Any = None
_file_lock_pid = -1
_logged_first = False


def compile_lock_path() -> Path:
    """Where the inter-process compile lock lives: ``NUMBA_CACHE_DIR`` when set, else the temp dir."""
    cache_dir = os.environ.get("NUMBA_CACHE_DIR")
    if cache_dir:
        return Path(cache_dir) / LOCK_NAME
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"{LOCK_NAME}.{uid}"


def _get_file_lock() -> Any:
    global _file_lock, _file_lock_pid
    path = compile_lock_path()
    # a forked child (AsyncVectorEnv, SubprocVecEnv with fork) must not use the parent's instance
    if _file_lock is None or _file_lock_pid != os.getpid() or Path(_file_lock.lock_file) != path:
        from filelock import FileLock

        path.parent.mkdir(parents=True, exist_ok=True)
        _file_lock = FileLock(str(path))
        _file_lock_pid = os.getpid()
    return _file_lock


def _acquire_file_lock() -> Any:
    """Take the inter-process compile lock (waiting for another process); None when the lock file
    cannot be created (a read-only folder): the compile then runs without it."""
    try:
        lock = _get_file_lock()
    except OSError as exc:
        logger.debug("no compile lock (%s); compiling without it", exc)
        return None
    from filelock import Timeout

    try:
        lock.acquire(timeout=0)
    except Timeout:
        logger.info("waiting for another process compiling the numba kernels (lock %s)", lock.lock_file)
        lock.acquire()
    except OSError as exc:
        logger.debug("no compile lock (%s); compiling without it", exc)
        return None
    return lock


def _guard(disp: Any, *, background: bool = False, stand_in: Any = None) -> Any:
    """Make ``disp.compile`` take the compile lock before it looks in the cache and compiles.

    With ``background``, a call from Python whose compiled code is neither in memory nor in the
    cache does not wait for the compile (see "Compiling in the background" in the module
    docstring): the compile is queued and the call runs ``stand_in``'s compiled code for the same
    argument types when it has it (the serial twin of a threaded kernel), else the same Python
    body uncompiled (`interpreted`).
    """
    original = disp.compile
    name = disp.py_func.__qualname__

    def compile(sig: Any) -> Any:
        depth = getattr(_state, "depth", 0)
        if depth:  # a callee of a compile in progress: the lock is held already
            return original(sig)
        if background and not getattr(_state, "sync", False):
            mode = jit_mode()
            if mode == "interpret":
                return _interpreted_kernel(disp)
            if mode == "background":
                entry = _ready_entry(disp, sig)
                if entry is not None:
                    return entry
                if _queue_compile(disp, sig):
                    return _stand_in_for(disp, sig, stand_in)
        with _process_lock:
            lock = _acquire_file_lock()
            _state.depth = 1
            misses_before = sum(disp.stats.cache_misses.values())
            t0 = time.perf_counter()
            try:
                return original(sig)
            finally:
                _state.depth = 0
                if lock is not None:
                    lock.release()
                if sum(disp.stats.cache_misses.values()) > misses_before:
                    logger.debug("compiled %s in %.1f s", name, time.perf_counter() - t0)

    disp.compile = compile
    return disp


# ------------------------------------------------------------------ compiling in the background
#: Environment variable choosing what a call does when its kernel is not compiled yet:
#: ``background`` (the default), ``wait`` or ``interpret`` (see the module docstring).
JIT_MODE_ENV = "TRADEREADY_JIT"
JIT_MODES = ("background", "wait", "interpret")
_jobs: queue.Queue[tuple[Any, Any]] = queue.Queue()
_queued: set[tuple[int, Any]] = set()
_failed: set[tuple[int, Any]] = set()
_worker: threading.Thread | None = None
_queue_lock = threading.Lock()
_interp: dict[int, Callable[..., Any]] = {}


def jit_mode() -> str:
    """``TRADEREADY_JIT``: ``background`` (default), ``wait`` or ``interpret``; anything else is an error."""
    mode = os.environ.get(JIT_MODE_ENV, "").strip().lower() or "background"
    if mode not in JIT_MODES:
        from tradeready_gym.errors import ConfigError

        raise ConfigError(f"{JIT_MODE_ENV}={mode!r} is not allowed; allowed: {', '.join(JIT_MODES)}")
    return mode


def _args_of(sig: Any) -> tuple[Any, ...]:
    from numba.core import sigutils

    return tuple(sigutils.normalize_signature(sig)[0])


def _ready_entry(disp: Any, sig: Any) -> Any:
    """The compiled code of ``disp`` for ``sig`` when it is in memory or in numba's cache (loaded
    here), without waiting: None when it is missing or a compile holds numba's lock."""
    from numba.core.compiler_lock import global_compiler_lock

    args = _args_of(sig)
    existing = disp.overloads.get(args)
    if existing is not None:
        return existing.entry_point
    lock = global_compiler_lock._lock  # an RLock; a compile in another thread holds it
    if not lock.acquire(blocking=False):
        return None
    try:
        existing = disp.overloads.get(args)
        if existing is not None:
            return existing.entry_point
        # what numba's Dispatcher.compile does on a cache hit, without compiling on a miss
        cres = disp._cache.load_overload(sig, disp.targetctx)
        if cres is None:
            return None
        disp._cache_hits[sig] += 1
        disp.targetctx.insert_user_function(cres.entry_point, cres.fndesc, [cres.library])
        disp.add_overload(cres)
        return cres.entry_point
    finally:
        lock.release()


def _queue_compile(disp: Any, sig: Any) -> bool:
    """Queue the compile of ``disp`` for ``sig`` (once); False when an earlier one failed (the
    caller then compiles in its own thread, so the error reaches it)."""
    global _worker
    key = (id(disp), _args_of(sig))
    with _queue_lock:
        if key in _failed:
            return False
        if key not in _queued:
            _queued.add(key)
            _jobs.put((disp, sig))
            _first_compile_log(disp.py_func.__qualname__)
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_compile_jobs, name="tradeready-compile", daemon=True)
            _worker.start()
            atexit.register(_finish_at_exit)
    return True


def _finish_at_exit() -> None:
    """At interpreter exit, let queued compiles finish (so the next run loads them from the cache)."""
    n = pending_compiles()
    if n:
        logger.info("finishing %d kernel compile(s) before exit so that later runs load them from the cache", n)
        try:
            wait_for_compiles()
        except KeyboardInterrupt:
            pass


def _compile_jobs() -> None:
    _state.sync = True
    while True:
        disp, sig = _jobs.get()
        key = (id(disp), _args_of(sig))
        try:
            disp.compile(sig)
        except Exception as exc:  # the next call compiles in the caller's thread and raises it there
            logger.debug("background compile of %s failed: %s", disp.py_func.__qualname__, exc)
            with _queue_lock:
                _failed.add(key)
        finally:
            with _queue_lock:
                _queued.discard(key)
            _jobs.task_done()


@contextmanager
def compiling_in_this_thread() -> Iterator[None]:
    """Within the block, calls in this thread wait for their compile (as ``TRADEREADY_JIT=wait``)."""
    old = getattr(_state, "sync", False)
    _state.sync = True
    try:
        yield
    finally:
        _state.sync = old


def pending_compiles() -> int:
    """How many kernel compiles are queued or running in the background."""
    with _queue_lock:
        return len(_queued)


def wait_for_compiles(timeout: float | None = None) -> bool:
    """Wait until every queued background compile has finished; False when ``timeout`` (seconds)
    passed first."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while pending_compiles():
        if deadline is not None and time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
    return True


def _after_fork() -> None:  # the worker thread does not exist in a forked child
    global _worker, _jobs, _queue_lock
    _worker = None
    _jobs = queue.Queue()
    _queue_lock = threading.Lock()
    _queued.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def _stand_in_for(disp: Any, sig: Any, stand_in: Any) -> Any:
    if stand_in is not None:
        compiled = stand_in.overloads.get(_args_of(sig))
        if compiled is not None:
            return compiled.entry_point
    return _interpreted_kernel(disp)


def _boxed(value: Any) -> Any:
    """A kernel's result as numba returns it to Python: numpy scalars as Python scalars."""
    if isinstance(value, tuple):
        return tuple(_boxed(v) for v in value)
    if isinstance(value, np.generic):
        return value.item()
    return value


_interp_kernels: dict[int, Callable[..., Any]] = {}


def _interpreted_kernel(disp: Any) -> Callable[..., Any]:
    """`interpreted` for a call from Python: results boxed as the compiled kernel boxes them."""
    fn = _interp_kernels.get(id(disp))
    if fn is None:
        body = interpreted(disp)

        def fn(*args: Any) -> Any:
            return _boxed(body(*args))

        _interp_kernels[id(disp)] = fn
    return fn


class _InterpretedModule:
    """A library module seen by `interpreted` code: its compiled functions are interpreted."""

    def __init__(self, module: ModuleType) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        value = _interpreted_value(getattr(self._module, name))
        setattr(self, name, value)
        return value


_interp_modules: dict[str, _InterpretedModule] = {}


def _interpreted_value(value: Any) -> Any:
    from numba.core.dispatcher import Dispatcher

    if isinstance(value, Dispatcher):
        return interpreted(value)
    if isinstance(value, ModuleType) and value.__name__.startswith("tradeready_gym."):
        mod = _interp_modules.get(value.__name__)
        if mod is None:
            mod = _interp_modules[value.__name__] = _InterpretedModule(value)
        return mod
    return value


def _global_names(code: CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, CodeType):
            names |= _global_names(const)
    return names


def interpreted(disp: Any) -> Callable[..., Any]:
    """The Python body of the compiled function ``disp``, run by the interpreter.

    The compiled functions it calls are replaced by their own interpreted bodies (also through
    library modules, as in ``K._trade(...)``), so nothing is compiled; ``prange`` is ``range``.
    The results are those of the compiled code (`tests/test_jit_background.py` runs whole
    episodes both ways and compares them bit for bit), only slower.
    """
    fn = _interp.get(id(disp))
    if fn is None:
        py = disp.py_func
        glb = dict(py.__globals__)
        fn = FunctionType(py.__code__, glb, py.__name__, py.__defaults__, py.__closure__)
        fn.__qualname__ = py.__qualname__
        _interp[id(disp)] = fn  # before the callees: a cycle ends here
        for name in _global_names(py.__code__):
            if name in glb:
                glb[name] = _interpreted_value(glb[name])
    return fn


# ------------------------------------------------------------------------ stale-cache guard
#: File name of the stored fingerprint of the kernel sources (beside this module's cache files).
FINGERPRINT_NAME = "tradeready-kernels.fingerprint"
_PACKAGE = Path(__file__).resolve().parent
_USES_NUMBA_RE = re.compile(
    rb"^\s*(?:from\s+numba\s+import\s+[^\n]*\b(?:njit|jit|prange)\b|from\s+tradeready_gym\._jit\s+import)",
    re.MULTILINE,
)
_IMPORT_RE = re.compile(
    rb"^\s*(?:from\s+tradeready_gym\.([\w.]+)\s+import\s+(\([^)]*\)|[^\n]*)|import\s+tradeready_gym\.([\w.]+))",
    re.MULTILINE,
)


def _module_file(package: Path, dotted: str) -> Path | None:
    base = package.joinpath(*dotted.split("."))
    for cand in (base.with_suffix(".py"), base / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def kernel_sources(package: Path | None = None) -> dict[Path, bytes]:
    """The source files whose change can change compiled code: every module of the library that
    compiles functions (imports numba's ``njit`` / ``jit`` / ``prange`` or this module's decorators),
    plus the library modules they import (transitively), with their bytes."""
    package = package or _PACKAGE
    texts: dict[Path, bytes] = {}
    todo: list[Path] = []
    for path in sorted(package.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        data = path.read_bytes()
        if _USES_NUMBA_RE.search(data) or path.name == "_jit.py":
            texts[path] = data
            todo.append(path)
    while todo:
        for m in _IMPORT_RE.finditer(texts[todo.pop()]):
            if m.group(3):
                names = [m.group(3).decode()]
            else:
                mod = m.group(1).decode()
                names = [mod] + [f"{mod}.{n}" for n in re.findall(r"\w+", m.group(2).decode())]
            for dotted in names:
                f = _module_file(package, dotted)
                if f is not None and f not in texts:
                    texts[f] = f.read_bytes()
                    todo.append(f)
    return texts


def kernel_fingerprint(package: Path | None = None, sources: dict[Path, bytes] | None = None) -> str:
    """Hash of the numba version and of `kernel_sources` (paths relative to the package)."""
    import numba

    package = package or _PACKAGE
    if sources is None:
        sources = kernel_sources(package)
    h = hashlib.sha256(f"numba {numba.__version__}\n".encode())
    for path, data in sorted(sources.items()):
        h.update(path.relative_to(package).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(data).digest())
    return h.hexdigest()


def _cache_dirs(py_file: Path) -> list[Path]:
    """The folders numba keeps the cache files of ``py_file`` in, in this process's configuration
    (the first: where it writes). With ``NUMBA_CACHE_DIR`` that folder only: the in-tree and
    user-wide caches belong to processes without it, and carry their own fingerprint."""
    from numba.core import config
    from numba.core.caching import UserProvidedCacheLocator
    from numba.misc.appdirs import AppDirs

    sub = UserProvidedCacheLocator.get_suitable_cache_subpath(str(py_file))
    user_wide = Path(AppDirs(appname="numba", appauthor=False).user_cache_dir) / sub
    in_tree = py_file.parent / "__pycache__"
    cache_dir = getattr(config, "CACHE_DIR", "")  # numba reads NUMBA_CACHE_DIR into it at import
    if cache_dir:
        return [Path(cache_dir) / sub]
    writable = os.access(in_tree if in_tree.exists() else py_file.parent, os.W_OK)
    return [in_tree, user_wide] if writable else [user_wide, in_tree]


def _drop_cache_files(files: list[Path]) -> int:
    dropped = 0
    for py_file in files:
        prefix = py_file.stem + "."
        for folder in _cache_dirs(py_file):
            if not folder.is_dir():
                continue
            for f in folder.iterdir():
                if f.name.startswith(prefix) and f.suffix in (".nbi", ".nbc"):
                    try:
                        f.unlink()
                        dropped += 1
                    except FileNotFoundError:
                        pass
    return dropped


def check_kernel_cache(package: Path | None = None) -> bool:
    """The stale-cache guard (see the module docstring). Returns True when it dropped the cache.

    Failures to read or write the cache folder are logged at DEBUG and leave the cache as it is.
    """
    package = package or _PACKAGE
    try:
        texts = kernel_sources(package)
        sources = sorted(texts)
        fingerprint = kernel_fingerprint(package, texts)
        stamp = _cache_dirs(package / "_jit.py")[0] / FINGERPRINT_NAME
        if stamp.is_file() and stamp.read_text(encoding="utf-8").strip() == fingerprint:
            return False
    except OSError as exc:
        logger.debug("kernel cache guard skipped (%s)", exc)
        return False
    with _process_lock:
        lock = _acquire_file_lock()
        try:
            if stamp.is_file() and stamp.read_text(encoding="utf-8").strip() == fingerprint:
                return False  # another process refreshed it while this one waited for the lock
            dropped = _drop_cache_files(sources)
            stamp.parent.mkdir(parents=True, exist_ok=True)
            tmp = stamp.with_name(f"{stamp.name}.{os.getpid()}.tmp")
            tmp.write_text(fingerprint + "\n", encoding="utf-8")
            os.replace(tmp, stamp)
            if dropped:
                logger.info("kernel sources changed: dropped %d numba cache files; kernels compile afresh", dropped)
            return True
        except OSError as exc:
            logger.debug("kernel cache guard could not update the cache (%s)", exc)
            return False
        finally:
            if lock is not None:
                lock.release()


def _first_compile_log(event_name: str) -> None:
    global _logged_first
    if not _logged_first:
        _logged_first = True
        logger.info(
            "%s (%s): first use with an empty numba cache, roughly 5-30 s per environment kind on two "
            "cores; %s; cached afterwards (`tradeready warmup` compiles them all ahead)",
            COMPILE_LOG_PREFIX,
            event_name,
            "meanwhile the same code runs uncompiled (slower)"
            if jit_mode() == "background" and not getattr(_state, "sync", False)
            else "calls wait for it",
        )


def _install_listener() -> None:
    from numba.core import event

    class _Listener(event.Listener):
        def on_start(self, ev: Any) -> None:
            disp = ev.data.get("dispatcher")
            py_func = getattr(disp, "py_func", None)
            if py_func is not None and str(getattr(py_func, "__module__", "")).startswith("tradeready_gym"):
                _first_compile_log(py_func.__qualname__)

        def on_end(self, ev: Any) -> None:
            pass

    event.register("numba:compile", _Listener())


_install_listener()
check_kernel_cache()


def kernel(fn: Callable[..., Any] | None = None, *, parallel: bool = False, nrt: bool = True,
           nogil: bool = False, stand_in: Any = None) -> Any:
    """Compile a kernel called from Python (cached, guarded by the compile lock).

    Args:
        parallel: split ``prange`` loops over threads.
        nrt: False for kernels that never allocate (no reference-counting runtime).
        nogil: release the GIL while running.
        stand_in: a kernel with the same results whose compiled code a call may run while this
            one compiles in the background (the serial twin of a threaded kernel).
    """
    opts: dict[str, Any] = {"cache": True}
    if parallel:
        opts["parallel"] = True
    if nogil:
        opts["nogil"] = True
    if not nrt:
        opts.update(_NO_NRT)

    def wrap(f: Callable[..., Any]) -> Any:
        return _guard(njit(**opts)(f), background=True, stand_in=stand_in)

    return wrap if fn is None else wrap(fn)


def kernel_twins(fn: Callable[..., Any], *, nrt: bool = True, nogil: bool = False,
                 serial_inlines_helpers: bool = False) -> tuple[Any, Any]:
    """``(serial, threaded)`` kernels compiled from ONE Python body.

    The body loops over the envs / accounts with ``prange``: the serial kernel runs those loops
    in order on the calling thread, the threaded one splits them over numba's threads. Use it for
    loops whose iterations are independent (each writes its own rows), so both give the same values.
    The threaded copy is compiled from a clone of the function named ``<name>_parallel`` (numba's
    cache names its files after the function, and the two must not share them). The threaded
    kernel inlines the `helper` functions it calls; with ``serial_inlines_helpers`` the serial one
    does too (a faster kernel that takes longer to compile).
    """
    import types as pytypes

    if serial_inlines_helpers:
        _HELPER_INLINING_CALLERS.add(fn.__qualname__)
    serial = kernel(fn, nrt=nrt, nogil=nogil)
    clone = pytypes.FunctionType(
        fn.__code__, fn.__globals__, fn.__name__ + THREADED_SUFFIX, fn.__defaults__, fn.__closure__
    )
    clone.__qualname__ = fn.__qualname__ + THREADED_SUFFIX
    clone.__module__ = fn.__module__
    clone.__doc__ = fn.__doc__
    clone.__kwdefaults__ = fn.__kwdefaults__
    threaded = kernel(clone, parallel=True, nrt=nrt, nogil=nogil, stand_in=serial)
    return serial, threaded


def inline(fn: Callable[..., Any]) -> Any:
    """A small per-account / per-env helper inlined into its callers at numba's IR level.

    Used for the glue that runs once per env in the batch drivers (view unpacking, the per-env
    rules of the components, the account's mark): a call there passes every array argument as a
    struct of its pointers, shape and strides, which for a 1,024-env batch costs more than the
    work itself. Each caller types the inlined body again, so only small functions are inlined.
    """
    return njit(cache=True, inline="always")(fn)


#: Serial kernels that inline the `helper` functions they call (`kernel_twins`'s ``serial_inlines_helpers``).
_HELPER_INLINING_CALLERS: set[str] = set()


def _inline_into_threaded(expr: Any, caller_ir: Any, callee_ir: Any) -> bool:
    """numba's inlining decision for a `helper` call site: inline it into threaded kernels (and
    the serial kernels that asked for it), call it from the others."""
    name = str(caller_ir.func_id.func_qualname)
    return name.endswith(THREADED_SUFFIX) or name in _HELPER_INLINING_CALLERS


def helper(fn: Callable[..., Any]) -> Any:
    """Compile a helper called only from compiled code (see the module docstring)."""
    from numba.core import types

    disp = njit(cache=True, inline=_inline_into_threaded, **_NO_NRT)(fn)
    template = disp.get_call_template

    def widen(a: Any) -> Any:
        a = types.unliteral(a)
        return types.int64 if isinstance(a, types.Integer) else a

    def get_call_template(args: Any, kws: Any) -> Any:
        return template(tuple(widen(a) for a in args), {k: widen(v) for k, v in kws.items()})

    disp.get_call_template = get_call_template
    return _guard(disp)
