"""One compiled call for a whole step of the standard pipeline.

`BatchCore` uses it when every component is a built-in with a compiled rule: `DiscreteActions` or
`ContinuousActions`, the engine, `PnLReward`, `WindowObserver`, `StandardStopper` and
`DefaultInformer`. The step is made of the per-env rules the components' own batch kernels loop
over (`discrete_env` / `continuous_env`, the engine's `_step_account`, `pnl_env`, `_observe_env`,
`_stop_env`, `_env_numbers`), in the components' order, so both paths give identical results
(`tests/envs/test_fused.py`); it only saves the Python work between them. Any other component
makes the env use the component-by-component path.

Three drivers run the same per-env body (`_env_orders`, then `_env_outcome`):

- `fused_step`: a batch, env by env;
- `fused_step_parallel`: a large batch, the envs split over threads;
- `fused_step_single`: the single env. Its arrays are views of the engine's two blocks (float64:
  market | engine state | the env's small arrays; int64: clock | the env's small arrays), so the
  call takes five arguments: the dispatcher spends about 60-100 ns on each array argument, a large
  share of a one-env step.

None of them allocates, so they are compiled without the reference-counting runtime.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from numba import njit, prange

from tradeready_gym.actions._kernels import continuous_env, discrete_env
from tradeready_gym.engine import _kernel as K
from tradeready_gym.informers._kernels import N_INFO_FLOATS, N_INFO_INTS, _env_numbers
from tradeready_gym.observers._kernels import _observe_env
from tradeready_gym.rewards._kernels import pnl_env
from tradeready_gym.stoppers.stoppers import _stop_env

__all__ = [
    "AT_END",
    "C_ASSET",
    "C_DEAD_ZONE",
    "C_FLOOR",
    "C_FRACTION",
    "C_INV_START",
    "C_KIND",
    "C_LOOKBACK",
    "C_MAX_STEPS",
    "C_PARALLEL",
    "N_CFG",
    "OUT_INFO",
    "OUT_PRICES",
    "OUT_REWARD",
    "SingleLayout",
    "compiled_entry",
    "fused_step",
    "fused_step_parallel",
    "fused_step_single",
]

#: Return code: an active env is already at its final bar (nothing was changed).
AT_END = 1 << 62

# slots of the float64 settings vector ``cfg``
C_KIND, C_ASSET, C_FRACTION, C_DEAD_ZONE, C_LOOKBACK, C_INV_START, C_FLOOR, C_MAX_STEPS, C_PARALLEL = range(9)
N_CFG = 9

#: Slots of the single env's ``out`` vector: the reward, the info floats, then prices and positions.
OUT_REWARD = 0
OUT_INFO = 1
OUT_PRICES = 1 + N_INFO_FLOATS


# ---------------------------------------------------------------------------------- per-env body
@njit(cache=True, inline="always")
def _env_orders(cfg, actions_i, actions_f, clock, close, equity, cash, qty, oq, active, masked, i):  # type: ignore[no-untyped-def]
    """The action scheme's orders of env ``i`` into ``oq[i]`` (none for an inactive env)."""
    for s in range(oq.shape[1]):
        oq[i, s] = 0.0
    if masked and not active[i]:
        return
    if cfg[C_KIND] == 0.0:
        discrete_env(actions_i, int(cfg[C_ASSET]), cfg[C_FRACTION], clock, close, equity, cash, qty, oq, i)
    else:
        continuous_env(
            actions_f, int(cfg[C_ASSET]), cfg[C_FRACTION], cfg[C_DEAD_ZONE], clock, close, equity, cash, qty, oq, i
        )


@njit(cache=True, inline="always")
def _at_end(clock, end, active, masked):  # type: ignore[no-untyped-def]
    """True when an env that steps is already at its final bar."""
    for i in range(clock.shape[0]):
        if clock[i] >= end[i] and (active[i] or not masked):
            return True
    return False


@njit(cache=True, inline="always")
def _env_outcome(  # type: ignore[no-untyped-def]
    cfg, mkt, prm, symtab, acct, pos, orders, fills, clock, close, oq, active, masked, steps, prev_equity, end,
    rows, flat, codes, obs, dst, reward, term, trunc, i,
):
    """Env ``i`` after its orders: engine step, step count, reward, observation, stop flags."""
    equity = acct[:, K.A_EQUITY]
    on = active[i] or not masked
    if on:
        K._step_account(mkt, acct, pos, orders, fills, prm, symtab, clock, oq, i, prm[K.X_FILL_CLOSE] != 0.0)
        steps[i] += 1
    pnl_env(prev_equity, equity, reward, i)
    prev_equity[i] = equity[i]
    _observe_env(
        rows, flat, dst, int(cfg[C_LOOKBACK]), clock, acct[:, K.A_CASH], equity, pos[:, :, K.P_QTY], close,
        acct[:, K.A_UPNL], cfg[C_INV_START], codes, obs, i,
    )
    _stop_env(clock, end, equity, cfg[C_FLOOR], steps, int(cfg[C_MAX_STEPS]), term, trunc, i)
    if not on:
        reward[i] = 0.0
        term[i] = False
        trunc[i] = False


# ------------------------------------------------------------------------------------- drivers
@njit(cache=True, **K.NO_NRT)
def fused_step(
    cfg: np.ndarray,
    actions_i: np.ndarray,
    actions_f: np.ndarray,
    mkt: np.ndarray,
    state: np.ndarray,
    clock: np.ndarray,
    close: np.ndarray,
    oq: np.ndarray,
    active: np.ndarray,
    masked: bool,
    steps: np.ndarray,
    prev_equity: np.ndarray,
    end: np.ndarray,
    rows: np.ndarray,
    codes: np.ndarray,
    obs: np.ndarray,
    reward: np.ndarray,
    term: np.ndarray,
    trunc: np.ndarray,
) -> int:
    """Actions -> orders -> engine step -> reward -> observation -> stopper, for every env.

    ``cfg`` holds the settings (slots ``C_*``); ``actions_i`` are the validated discrete actions
    (``C_KIND`` 0) and ``actions_f`` the validated continuous ones (``C_KIND`` 1). ``active`` with
    ``masked`` True restricts the step to some envs (the others place no order, keep their clock
    and get reward 0). Returns 0, `AT_END`, or the engine's error code (then nothing changed):
    every env's orders are computed and checked before any env changes, as the engine does.
    """
    n, n_sym = oq.shape
    if _at_end(clock, end, active, masked):
        return AT_END
    prm, symtab, acct, pos, orders, fills = K.unpack(state, n, n_sym)
    equity = acct[:, K.A_EQUITY]
    cash = acct[:, K.A_CASH]
    qty = pos[:, :, K.P_QTY]
    for i in range(n):
        _env_orders(cfg, actions_i, actions_f, clock, close, equity, cash, qty, oq, active, masked, i)
    code = K._check_step(mkt, clock, oq, active)
    if code != K.ERR_OK:
        return code
    flat = rows.reshape(rows.size)
    dst = obs.reshape(obs.size)
    for i in range(n):
        _env_outcome(
            cfg, mkt, prm, symtab, acct, pos, orders, fills, clock, close, oq, active, masked, steps, prev_equity,
            end, rows, flat, codes, obs, dst, reward, term, trunc, i,
        )
    return 0


@njit(cache=True, parallel=True, **K.NO_NRT)
def fused_step_parallel(
    cfg: np.ndarray,
    actions_i: np.ndarray,
    actions_f: np.ndarray,
    mkt: np.ndarray,
    state: np.ndarray,
    clock: np.ndarray,
    close: np.ndarray,
    oq: np.ndarray,
    active: np.ndarray,
    masked: bool,
    steps: np.ndarray,
    prev_equity: np.ndarray,
    end: np.ndarray,
    rows: np.ndarray,
    codes: np.ndarray,
    obs: np.ndarray,
    reward: np.ndarray,
    term: np.ndarray,
    trunc: np.ndarray,
    codes_scratch: np.ndarray,
) -> int:
    """`fused_step` for large batches: two threaded passes over the envs.

    The first computes every env's orders and its own check (``codes_scratch[i]``: `AT_END`, the
    engine's error code, or 0); if any env cannot step, the call returns the code `fused_step`
    returns (`AT_END` first, else the first env's error) and nothing changed. The second runs
    each env's outcome. Each env depends on its own account only, so the values are those of
    `fused_step`.
    """
    n, n_sym = oq.shape
    prm, symtab, acct, pos, orders, fills = K.unpack(state, n, n_sym)
    equity = acct[:, K.A_EQUITY]
    cash = acct[:, K.A_CASH]
    qty = pos[:, :, K.P_QTY]
    for i in prange(n):
        if clock[i] >= end[i] and (active[i] or not masked):
            codes_scratch[i] = AT_END
        else:
            _env_orders(cfg, actions_i, actions_f, clock, close, equity, cash, qty, oq, active, masked, i)
            codes_scratch[i] = K._check_account(mkt, clock, oq, active, i)
    code = 0
    for i in range(n):
        if codes_scratch[i] == AT_END:
            return AT_END
        if code == 0:
            code = codes_scratch[i]
    if code != K.ERR_OK:
        return code
    flat = rows.reshape(rows.size)
    dst = obs.reshape(obs.size)
    for i in prange(n):
        _env_outcome(
            cfg, mkt, prm, symtab, acct, pos, orders, fills, clock, close, oq, active, masked, steps, prev_equity,
            end, rows, flat, codes, obs, dst, reward, term, trunc, i,
        )
    return 0


# ------------------------------------------------------------------------------ the single env
# The single env's room in the engine's blocks (see `SingleLayout`). Fixed offsets are module
# constants, which compiled code reads as constants; `_room_offsets` gives the ones that depend on
# the number of symbols to both sides.
_F_PREV = N_CFG
_F_REWARD = _F_PREV + 1
_F_ORDERS = _F_REWARD + 1
_H_STATE, _H_ROOM, _H_BARS, _H_SYMBOLS, _H_CODES = range(5)
_N_HEADER = 5
_I_STEPS = _N_HEADER
_I_START = _I_STEPS + 1
_I_END = _I_START + 1
_I_MAX = _I_END + 1
_I_INFO = _I_MAX + 1
_I_FLAGS = _I_INFO + N_INFO_INTS
_I_CODES = _I_FLAGS + 4


@njit(cache=True, inline="always")
def _room_offsets(n_sym: int) -> tuple[int, int, int]:
    """Offsets of the continuous action, ``out`` and the equity curve in the float64 room."""
    f_action = _F_ORDERS + n_sym
    f_out = f_action + 1
    return f_action, f_out, f_out + OUT_PRICES + 2 * n_sym


class SingleLayout:
    """Where the single env's small arrays sit in the room reserved in the engine's blocks.

    float64 room: cfg (N_CFG) | prev_equity | reward | orders (S) | continuous action | out
    (`OUT_*`: reward, info floats, prices (S), positions (S)) | equity curve (``curve[k]``: the
    equity after step ``k`` of the episode, 0 at reset; an episode has fewer steps than bars).
    int64 room: header (where the engine's float64 block parts start, bars, symbols, codes) |
    steps | start | end | max_steps | info ints (N_INFO_INTS) | action, active, terminated,
    truncated | observation scalar codes.
    """

    N_HEADER = _N_HEADER

    def __init__(self, n_symbols: int, n_codes: int, n_bars: int) -> None:
        self.f_prev, self.f_reward, self.f_orders = _F_PREV, _F_REWARD, _F_ORDERS
        self.f_action, self.f_out, self.f_curve = _room_offsets.py_func(n_symbols)
        self.n_floats = self.f_curve + n_bars + 1
        self.i_steps, self.i_start, self.i_end, self.i_max = _I_STEPS, _I_START, _I_END, _I_MAX
        self.i_codes = _I_CODES
        self.n_ints = _I_CODES + n_codes


@njit(cache=True, **K.NO_NRT)
def fused_step_single(
    action: int, obs: np.ndarray, f64: np.ndarray, i64: np.ndarray, rows: np.ndarray
) -> tuple[int, bool, bool, int, int, int, int]:
    """`fused_step` of a batch of one, then the numbers of its info.

    ``action`` is the validated discrete action (a continuous one is already in its slot);
    ``obs`` the fresh ``(D,)`` observation to fill; ``f64`` / ``i64`` the engine's blocks (a batch
    of one: ``i64[0]`` is the clock, the `SingleLayout` room follows); ``rows`` the observer's
    feature matrix. Returns ``(code, terminated, truncated, clock, step, total_steps, n_fills)``;
    when ``code`` is not 0 nothing changed and the other values are 0. The reward, the info floats,
    prices and positions are left in the ``out`` slots of the float64 room, the equity in the curve.
    """
    clock = i64[0:1]
    room_i = i64[1:]
    n_bars = room_i[_H_BARS]
    n_sym = room_i[_H_SYMBOLS]
    f_state = room_i[_H_STATE]
    f_room = room_i[_H_ROOM]
    mkt = f64[:f_state].reshape((n_bars, n_sym, K.N_MKT))
    close = mkt[:, :, K.M_CLOSE]
    state = f64[f_state:f_room]
    room = f64[f_room:]
    cfg = room[:N_CFG]
    prev_equity = room[_F_PREV : _F_PREV + 1]
    reward = room[_F_REWARD : _F_REWARD + 1]
    f_action, f_out, f_curve = _room_offsets(n_sym)
    oq = room[_F_ORDERS:f_action].reshape((1, n_sym))
    acts_f = room[f_action:f_out].reshape((1, 1))
    out = room[f_out:f_curve]
    curve = room[f_curve:]
    steps = room_i[_I_STEPS : _I_STEPS + 1]
    start = room_i[_I_START : _I_START + 1]
    end = room_i[_I_END : _I_END + 1]
    max_steps = room_i[_I_MAX : _I_MAX + 1]
    info = room_i[_I_INFO : _I_INFO + N_INFO_INTS]
    acts_i = room_i[_I_FLAGS : _I_FLAGS + 1]
    active = room_i[_I_FLAGS + 1 : _I_FLAGS + 2]
    term = room_i[_I_FLAGS + 2 : _I_FLAGS + 3]
    trunc = room_i[_I_FLAGS + 3 : _I_FLAGS + 4]
    codes = room_i[_I_CODES : _I_CODES + room_i[_H_CODES]]
    acts_i[0] = action
    active[0] = 1
    if _at_end(clock, end, active, False):
        return AT_END, False, False, 0, 0, 0, 0
    prm, symtab, acct, pos, orders, fills = K.unpack(state, 1, n_sym)
    equity = acct[:, K.A_EQUITY]
    qty = pos[:, :, K.P_QTY]
    _env_orders(cfg, acts_i, acts_f, clock, close, equity, acct[:, K.A_CASH], qty, oq, active, False, 0)
    code = K._check_step(mkt, clock, oq, active)
    if code != K.ERR_OK:
        return code, False, False, 0, 0, 0, 0
    obs2 = obs.reshape((1, obs.shape[0]))
    _env_outcome(
        cfg, mkt, prm, symtab, acct, pos, orders, fills, clock, close, oq, active, False, steps, prev_equity, end,
        rows, rows.reshape(rows.size), codes, obs2, obs, reward, term, trunc, 0,
    )
    if steps[0] < curve.shape[0]:  # always true: an episode has fewer steps than the feed has bars
        curve[steps[0]] = equity[0]
    out[OUT_REWARD] = reward[0]
    _env_numbers(
        equity, acct[:, K.A_CASH], acct[:, K.A_POSVAL], acct[:, K.A_UPNL], acct[:, K.A_REALIZED], acct[:, K.A_FEES],
        acct[:, K.A_STEP_FILLS], clock, close, qty, steps, start, end, max_steps,
        out[OUT_INFO:OUT_PRICES].reshape((N_INFO_FLOATS, 1)), info.reshape((N_INFO_INTS, 1)),
        out[OUT_PRICES : OUT_PRICES + n_sym].reshape((1, n_sym)),
        out[OUT_PRICES + n_sym : OUT_PRICES + 2 * n_sym].reshape((1, n_sym)), 0,
    )
    return 0, term[0] != 0, trunc[0] != 0, clock[0], info[0], info[1], info[2]


def compiled_entry(dispatcher: Any, args: tuple[Any, ...]) -> Any:
    """The compiled code of ``dispatcher`` for the types of ``args``, to call without the dispatcher.

    A numba dispatcher works out the types of every argument and picks the matching compiled
    code on every call; a caller whose argument types never change can skip that by calling the
    compiled code's entry point directly. The code is compiled (or loaded from the cache) here.
    Returns the dispatcher itself when the entry point is not available.
    """
    sig = tuple(numba.typeof(a) for a in args)
    dispatcher.compile(sig)
    compiled = dispatcher.overloads.get(sig)
    entry = getattr(compiled, "entry_point", None)
    return entry if callable(entry) else dispatcher
