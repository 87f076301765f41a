"""One compiled call for a whole step of the standard pipeline.

`BatchCore` uses it when every component is a built-in with a compiled rule: `DiscreteActions` or
`ContinuousActions`, the engine, `PnLReward`, `WindowObserver`, `StandardStopper` and
`DefaultInformer`. `fused_step` calls the very functions the component-by-component path calls
(`discrete_orders` / `continuous_orders`, `step_kernel`, `pnl_step`, `observe_kernel`,
`_standard_stop`) in the same order, so both paths give identical results; it only saves the
Python work between them. Any other component makes the env use the component-by-component path.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from tradeready_gym.actions._kernels import continuous_env, continuous_orders, discrete_env, discrete_orders
from tradeready_gym.engine import _kernel as K
from tradeready_gym.observers._kernels import _observe_env, observe_kernel
from tradeready_gym.rewards._kernels import pnl_env, pnl_step
from tradeready_gym.stoppers.stoppers import _standard_stop, _stop_env

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
    "fused_orders",
    "fused_outcome",
    "fused_step",
    "fused_step_parallel",
]

#: Return code: an active env is already at its final bar (nothing was changed).
AT_END = 1 << 62

# slots of the float64 settings vector ``cfg``
C_KIND, C_ASSET, C_FRACTION, C_DEAD_ZONE, C_LOOKBACK, C_INV_START, C_FLOOR, C_MAX_STEPS, C_PARALLEL = range(9)
N_CFG = 9


@njit(cache=True)
def fused_orders(
    cfg: np.ndarray,
    actions_i: np.ndarray,
    actions_f: np.ndarray,
    state: np.ndarray,
    clock: np.ndarray,
    close: np.ndarray,
    oq: np.ndarray,
    active: np.ndarray,
    masked: bool,
    end: np.ndarray,
) -> int:
    """The action scheme's orders into ``oq``; `AT_END` when an active env is at its final bar."""
    n, n_sym = oq.shape
    _, _, acct, pos, _, _ = K.unpack(state, n, n_sym)
    oq[:, :] = 0.0
    if cfg[C_KIND] == 0.0:
        discrete_orders(
            actions_i, int(cfg[C_ASSET]), cfg[C_FRACTION], clock, close, acct[:, K.A_EQUITY], acct[:, K.A_CASH],
            pos[:, :, K.P_QTY], oq,
        )
    else:
        continuous_orders(
            actions_f, int(cfg[C_ASSET]), cfg[C_FRACTION], cfg[C_DEAD_ZONE], clock, close, acct[:, K.A_EQUITY],
            acct[:, K.A_CASH], pos[:, :, K.P_QTY], oq,
        )
    if masked:
        for i in range(n):
            if not active[i]:
                oq[i, :] = 0.0
    for i in range(n):
        if clock[i] >= end[i] and (active[i] or not masked):
            return AT_END
    return 0


@njit(cache=True)
def fused_outcome(
    cfg: np.ndarray,
    state: np.ndarray,
    clock: np.ndarray,
    close: np.ndarray,
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
) -> None:
    """After the engine step: step counts, reward, observation and stopper of every env."""
    n = clock.shape[0]
    n_sym = close.shape[1]
    _, _, acct, pos, _, _ = K.unpack(state, n, n_sym)
    equity = acct[:, K.A_EQUITY]
    for i in range(n):
        if active[i] or not masked:
            steps[i] += 1
    # the reward (equity before and after the step)
    pnl_step(prev_equity, equity, reward)
    for i in range(n):
        prev_equity[i] = equity[i]
        if masked and not active[i]:
            reward[i] = 0.0
    # the observation (large batches: the caller runs `observe_kernel_parallel`) and the stopper
    if cfg[C_PARALLEL] == 0.0:
        observe_kernel(
            rows, int(cfg[C_LOOKBACK]), clock, acct[:, K.A_CASH], equity, pos[:, :, K.P_QTY], close,
            acct[:, K.A_UPNL], cfg[C_INV_START], codes, obs,
        )
    _standard_stop(clock, end, equity, cfg[C_FLOOR], steps, int(cfg[C_MAX_STEPS]), term, trunc)
    if masked:
        for i in range(n):
            if not active[i]:
                term[i] = False
                trunc[i] = False


@njit(cache=True)
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
    and get reward 0). Returns 0, `AT_END`, or the engine's error code (then nothing changed).

    The engine step is the serial `step_kernel`; large batches use `fused_step_parallel` (a cached
    compiled function must not call a threaded one, so that one is called from Python).
    """
    code = fused_orders(cfg, actions_i, actions_f, state, clock, close, oq, active, masked, end)
    if code != 0:
        return code
    code = K.step_kernel(mkt, state, clock, oq, active)
    if code != 0:
        return code
    fused_outcome(
        cfg, state, clock, close, active, masked, steps, prev_equity, end, rows, codes, obs, reward, term, trunc
    )
    return 0


@njit(cache=True, parallel=True, **K._NO_NRT)
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
) -> int:
    """`fused_step` for large batches: one threaded pass over the envs after the serial checks.

    The orders of every env are computed and checked first (as the engine checks every account
    before it changes any); then each env's engine step, step count, reward, observation and stop
    flags run env by env on the threads. Each of them depends on that env alone, so the values are
    those of `fused_step`.
    """
    n, n_sym = oq.shape
    for i in range(n):
        if clock[i] >= end[i] and (active[i] or not masked):
            return AT_END
    prm, symtab, acct, pos, orders, fills = K.unpack(state, n, n_sym)
    equity = acct[:, K.A_EQUITY]
    cash = acct[:, K.A_CASH]
    upnl = acct[:, K.A_UPNL]
    qty = pos[:, :, K.P_QTY]
    j = int(cfg[C_ASSET])
    fraction = cfg[C_FRACTION]
    dead_zone = cfg[C_DEAD_ZONE]
    discrete = cfg[C_KIND] == 0.0
    for i in range(n):
        for s in range(n_sym):
            oq[i, s] = 0.0
        if masked and not active[i]:
            continue
        if discrete:
            discrete_env(actions_i, j, fraction, clock, close, equity, cash, qty, oq, i)
        else:
            continuous_env(actions_f, j, fraction, dead_zone, clock, close, equity, cash, qty, oq, i)
    code = K._check_step(mkt, clock, oq, active)
    if code != K.ERR_OK:
        return code
    at_close = prm[K.X_FILL_CLOSE] != 0.0
    flat = rows.reshape(rows.size)
    dst = obs.reshape(obs.size)
    lookback = int(cfg[C_LOOKBACK])
    inv_start = cfg[C_INV_START]
    floor_value = cfg[C_FLOOR]
    max_steps = int(cfg[C_MAX_STEPS])
    for i in prange(n):
        on = active[i] or not masked
        if on:
            K._step_account(mkt, acct, pos, orders, fills, prm, symtab, clock, oq, i, at_close)
            steps[i] += 1
        pnl_env(prev_equity, equity, reward, i)
        prev_equity[i] = equity[i]
        _observe_env(rows, flat, dst, lookback, clock, cash, equity, qty, close, upnl, inv_start, codes, obs, i)
        _stop_env(clock, end, equity, floor_value, steps, max_steps, term, trunc, i)
        if not on:
            reward[i] = 0.0
            term[i] = False
            trunc[i] = False
    return 0
