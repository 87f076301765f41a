"""`FusedStep`: a whole step of the standard pipeline in one compiled call, for any number of envs.

`BatchCore` uses it when every component is a built-in with a compiled rule (`FusedStep.covers`):
`DiscreteActions` or `ContinuousActions`, the engine, `PnLReward`, `WindowObserver`,
`StandardStopper` and `DefaultInformer`. The step is made of the per-env rules the components' own
batch kernels loop over (`discrete_env` / `continuous_env`, the engine's `_step_account`,
`pnl_env`, `_observe_env`, `_stop_env`, `_env_numbers`), in the components' order, so both paths
give identical results (`tests/envs/test_fused.py`); it only saves the Python work between them.

One object owns everything the compiled step needs besides the engine and the feature rows: its
eligibility, the settings copied from the components (`FusedStep.refresh`, through each component's
``compiled_params()``), and the small per-env arrays. They live in two blocks (one float64, one
int64) laid out by `FusedLayout`, the same layout for every number of envs, so the compiled step
takes seven arguments for one env or a thousand. `BatchState`'s per-env arrays (steps, start, end,
max_steps, prev_equity) are views of the blocks.

One Python body (`_fused_all`) is compiled twice (`tradeready_gym._jit.kernel_twins`): env by env
(`fused_step`) and with the envs split over threads (`fused_step_parallel`, batches of at least
``PARALLEL_MIN_ACCOUNTS``; every value is bit-for-bit the serial one, since each env depends on its
own account only). Neither allocates, so both run without the reference-counting runtime.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from numba import prange

from tradeready_gym._jit import inline, kernel_twins
from tradeready_gym.actions._kernels import continuous_env, discrete_env
from tradeready_gym.engine import _kernel as K
from tradeready_gym.informers.record import (
    N_REC_FLOATS,
    N_REC_INTS,
    REC_I_FILLS,
    REC_I_FLAGS,
    REC_I_STEP,
    REC_I_TOTAL,
    record_env,
)
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
    "C_MASKED",
    "C_MAX_STEPS",
    "C_RECORD",
    "N_CFG",
    "FusedLayout",
    "FusedStep",
    "compiled_entry",
    "fused_step",
    "fused_step_parallel",
]

#: Return code: an active env is already at its final bar (nothing was changed).
AT_END = 1 << 62

# slots of the float64 settings vector ``cfg`` (the start of the float block)
C_KIND, C_ASSET, C_FRACTION, C_DEAD_ZONE, C_LOOKBACK, C_INV_START, C_FLOOR, C_MAX_STEPS, C_MASKED, C_RECORD = range(
    10
)
N_CFG = 10

# the int64 block starts with this header: the sizes the compiled step lays the blocks out with
_H_ENVS, _H_SYMBOLS, _H_CODES, _H_CURVE = range(4)
_N_HEADER = 4


# ------------------------------------------------------------------------------------ layout
@inline
def _layout(n, n_sym, n_codes, n_curve):  # type: ignore[no-untyped-def]
    """Offsets of the parts of the two blocks (see `FusedLayout`); the one definition of the layout.

    float64: cfg | prev_equity (N) | reward (N) | orders (N, S) | continuous actions (N) |
    record floats (N, N_REC_FLOATS + 2S) | equity curves (N, n_curve).
    int64: header | steps | start | end | max_steps | actions | active | scratch (N each) |
    record ints (N, N_REC_INTS) | observation scalar codes.
    """
    f_prev = N_CFG
    f_reward = f_prev + n
    f_orders = f_reward + n
    f_box = f_orders + n * n_sym
    f_rec = f_box + n
    n_recf = N_REC_FLOATS + 2 * n_sym
    f_curve = f_rec + n * n_recf
    f_end = f_curve + n * n_curve
    i_steps = _N_HEADER
    i_start = i_steps + n
    i_end = i_start + n
    i_max = i_end + n
    i_acts = i_max + n
    i_active = i_acts + n
    i_scratch = i_active + n
    i_rec = i_scratch + n
    i_codes = i_rec + n * N_REC_INTS
    i_total = i_codes + n_codes
    return (
        f_prev, f_reward, f_orders, f_box, f_rec, n_recf, f_curve, f_end,
        i_steps, i_start, i_end, i_max, i_acts, i_active, i_scratch, i_rec, i_codes, i_total,
    )


@inline
def _views(f64, i64):  # type: ignore[no-untyped-def]
    """The per-env arrays as views of the two blocks (the compiled side of `FusedLayout`)."""
    n = i64[_H_ENVS]
    n_sym = i64[_H_SYMBOLS]
    n_codes = i64[_H_CODES]
    n_curve = i64[_H_CURVE]
    (f_prev, f_reward, f_orders, f_box, f_rec, n_recf, f_curve, f_end,
     i_steps, i_start, i_end, i_max, i_acts, i_active, i_scratch, i_rec, i_codes, i_total) = _layout(
        n, n_sym, n_codes, n_curve
    )
    return (
        f64[:N_CFG],
        f64[f_prev:f_reward],
        f64[f_reward:f_orders],
        f64[f_orders:f_box].reshape((n, n_sym)),
        f64[f_box:f_rec].reshape((n, 1)),
        f64[f_rec:f_curve].reshape((n, n_recf)),
        f64[f_curve:f_end].reshape((n, n_curve)),
        i64[i_steps:i_start],
        i64[i_start:i_end],
        i64[i_end:i_max],
        i64[i_max:i_acts],
        i64[i_acts:i_active],
        i64[i_active:i_scratch],
        i64[i_scratch:i_rec],
        i64[i_rec:i_codes].reshape((n, N_REC_INTS)),
        i64[i_codes:i_total],
    )


class FusedLayout:
    """The two blocks of a `FusedStep` and named views of their parts (any number of envs).

    Args:
        n_envs: envs in the batch.
        n_symbols: symbols traded.
        codes: the observer's scalar codes (`WindowObserver.compiled_params`).
        n_curve: slots of each env's equity curve (``curve[k]``: equity after step ``k`` of the
            episode, written by the compiled step when the record is on; 0 for none).
    """

    def __init__(self, n_envs: int, n_symbols: int, codes: np.ndarray, n_curve: int) -> None:
        n_codes = int(codes.shape[0])
        offsets = _layout.py_func(n_envs, n_symbols, n_codes, n_curve)
        self.f64 = np.zeros(offsets[7], dtype=np.float64)
        self.i64 = np.zeros(offsets[-1], dtype=np.int64)
        self.i64[:_N_HEADER] = (n_envs, n_symbols, n_codes, n_curve)
        (
            self.cfg,
            self.prev_equity,
            self.reward,
            self.orders,
            self.box_actions,
            self.rec_floats,
            self.curve,
            self.steps,
            self.start,
            self.end,
            self.max_steps,
            self.actions,
            self.active,
            self.scratch,
            self.rec_ints,
            self.codes,
        ) = _views.py_func(self.f64, self.i64)
        self.codes[:] = codes


# ---------------------------------------------------------------------------------- per-env body
@inline
def _env_orders(cfg, actions_i, actions_f, clock, close, equity, cash, qty, oq, active, i):  # type: ignore[no-untyped-def]
    """The action scheme's orders of env ``i`` into ``oq[i]`` (none for an inactive env)."""
    for s in range(oq.shape[1]):
        oq[i, s] = 0.0
    if active[i] == 0:
        return
    if cfg[C_KIND] == 0.0:
        discrete_env(actions_i, int(cfg[C_ASSET]), cfg[C_FRACTION], clock, close, equity, cash, qty, oq, i)
    else:
        continuous_env(
            actions_f, int(cfg[C_ASSET]), cfg[C_FRACTION], cfg[C_DEAD_ZONE], clock, close, equity, cash, qty, oq, i
        )


@inline
def _env_outcome(  # type: ignore[no-untyped-def]
    cfg, mkt, prm, symtab, acct, pos, orders, fills, clock, close, oq, active, steps, prev_equity, start, end,
    max_steps, rows, flat, codes, obs, dst, reward, rec_f, rec_i, curve, i,
):
    """Env ``i`` after its orders: engine step, step count, reward, observation, stop flags, record."""
    equity = acct[:, K.A_EQUITY]
    on = active[i] != 0
    if on:
        K._step_account(mkt, acct, pos, orders, fills, prm, symtab, clock, oq, i, prm[K.X_FILL_CLOSE] != 0.0)
        steps[i] += 1
    pnl_env(prev_equity, equity, reward, i)
    prev_equity[i] = equity[i]
    _observe_env(
        rows, flat, dst, int(cfg[C_LOOKBACK]), clock, acct[:, K.A_CASH], equity, pos[:, :, K.P_QTY], close,
        acct[:, K.A_UPNL], cfg[C_INV_START], codes, obs, i,
    )
    term = rec_i[:, REC_I_FLAGS]
    trunc = rec_i[:, REC_I_FLAGS + 1]
    _stop_env(clock, end, equity, cfg[C_FLOOR], steps, int(cfg[C_MAX_STEPS]), term, trunc, i)
    if not on:
        reward[i] = 0.0
        term[i] = 0
        trunc[i] = 0
    if cfg[C_RECORD] != 0.0:
        record_env(acct, pos, clock, close, steps, start, end, max_steps, reward, rec_f, rec_i, i)
        if steps[i] < curve.shape[1]:  # always true: an episode has fewer steps than the feed has bars
            curve[i, steps[i]] = equity[i]


def _fused_all(obs: np.ndarray, mkt: np.ndarray, state: np.ndarray, clock: np.ndarray, f64: np.ndarray,
               i64: np.ndarray, rows: np.ndarray) -> tuple[int, bool, bool, int, int, int, int]:
    """Actions -> orders -> engine step -> reward -> observation -> stopper (-> record), every env.

    ``obs`` is the flat ``(N * D,)`` observation block to fill; ``mkt``, ``state`` and ``clock``
    the engine's arrays (`Engine.kernel_arrays`); ``f64`` / ``i64`` the `FusedLayout` blocks (the
    validated actions, the active flags and the settings are in them); ``rows`` the observer's
    feature matrix. Returns ``(code, terminated, truncated, clock, step, total_steps, n_fills)``:
    ``code`` is 0, `AT_END` or the engine's error code (then nothing changed: every env's orders
    are computed and checked before any env changes, as the engine does, and the other values are
    0); the rest are env 0's (with ``C_RECORD``; the single env reads them without touching the
    blocks). The reward, the flags (and with ``C_RECORD`` the info record and equity curve) of
    every env are left in the blocks.
    """
    (cfg, prev_equity, reward, oq, acts_f, rec_f, curve, steps, start, end, max_steps, acts_i, active,
     scratch, rec_i, codes) = _views(f64, i64)
    n, n_sym = oq.shape
    close = mkt[:, :, K.M_CLOSE]
    prm, symtab, acct, pos, orders, fills = K.unpack(state, n, n_sym)
    equity = acct[:, K.A_EQUITY]
    cash = acct[:, K.A_CASH]
    qty = pos[:, :, K.P_QTY]
    for i in prange(n):
        if clock[i] >= end[i] and active[i] != 0:
            scratch[i] = AT_END
        else:
            _env_orders(cfg, acts_i, acts_f, clock, close, equity, cash, qty, oq, active, i)
            scratch[i] = K._check_account(mkt, clock, oq, active, i)
    code = 0
    for i in range(n):
        if scratch[i] == AT_END:
            return AT_END, False, False, 0, 0, 0, 0
        if code == 0:
            code = scratch[i]
    if code != K.ERR_OK:
        return code, False, False, 0, 0, 0, 0
    flat = rows.reshape(rows.size)
    obs2 = obs.reshape((n, obs.shape[0] // n))
    for i in prange(n):
        _env_outcome(
            cfg, mkt, prm, symtab, acct, pos, orders, fills, clock, close, oq, active, steps, prev_equity, start,
            end, max_steps, rows, flat, codes, obs2, obs, reward, rec_f, rec_i, curve, i,
        )
    r = rec_i[0]
    return 0, r[REC_I_FLAGS] != 0, r[REC_I_FLAGS + 1] != 0, clock[0], r[REC_I_STEP], r[REC_I_TOTAL], r[REC_I_FILLS]


fused_step, fused_step_parallel = kernel_twins(_fused_all, nrt=False, serial_inlines_helpers=True)


# ------------------------------------------------------------------------------------- the object
class FusedStep:
    """The standard pipeline's step in one compiled call, with its settings and per-env arrays.

    Args:
        engine: the batch's `tradeready_gym.engine.Engine`.
        action_scheme, observer, stopper: the covered components (see `covers`).
        starting_balance: cash at reset (the observation's ``balance`` scale).
        record: also write each env's info record and equity curve (the single env reads them).
        n_curve: slots of each env's equity curve when ``record`` (the feed's bars + 1).
    """

    def __init__(
        self,
        engine: Any,
        action_scheme: Any,
        observer: Any,
        stopper: Any,
        starting_balance: float,
        *,
        record: bool,
        n_curve: int,
    ) -> None:
        from tradeready_gym.actions.schemes import DiscreteActions

        self.engine = engine
        self.action_scheme = action_scheme
        self.observer = observer
        self.stopper = stopper
        n = engine.n_accounts
        obs_params = observer.compiled_params()
        self.layout = lay = FusedLayout(n, engine.n_symbols, obs_params.codes, n_curve if record else 0)
        self.n_envs = n
        self.rows = obs_params.rows
        self.discrete = type(action_scheme) is DiscreteActions
        cfg = lay.cfg
        cfg[C_KIND] = 0.0 if self.discrete else 1.0
        cfg[C_LOOKBACK] = obs_params.lookback
        cfg[C_INV_START] = 1.0 / starting_balance
        cfg[C_RECORD] = 1.0 if record else 0.0
        lay.active[:] = 1
        self.parallel = n >= K.PARALLEL_MIN_ACCOUNTS
        self._kernel = fused_step_parallel if self.parallel else fused_step
        self._args = (*engine.kernel_arrays(), lay.f64, lay.i64, self.rows)
        self._masked = False
        self.refresh()

    @staticmethod
    def covers(action_scheme: Any, reward: Any, observer: Any, stopper: Any, informer: Any) -> bool:
        """Whether every component is exactly a built-in this step implements (a subclass may
        change any rule, so it takes the component-by-component path)."""
        from tradeready_gym.actions.schemes import ContinuousActions, DiscreteActions
        from tradeready_gym.informers.informers import DefaultInformer
        from tradeready_gym.observers.window import WindowObserver
        from tradeready_gym.rewards.builtin import PnLReward
        from tradeready_gym.stoppers.stoppers import StandardStopper

        return (
            type(action_scheme) in (DiscreteActions, ContinuousActions)
            and type(reward) is PnLReward
            and type(observer) is WindowObserver
            and type(stopper) is StandardStopper
            and type(informer) is DefaultInformer
        )

    def refresh(self) -> None:
        """Copy the settings a user may change between steps from the components' ``compiled_params()``."""
        cfg = self.layout.cfg
        cfg[C_ASSET], cfg[C_FRACTION], cfg[C_DEAD_ZONE] = self.action_scheme.compiled_params()
        cfg[C_FLOOR], cfg[C_MAX_STEPS] = self.stopper.compiled_params()
        self.stale = False

    def step(self, validated: np.ndarray, obs: np.ndarray, active: np.ndarray | None = None) -> int:
        """Run the step for the validated actions (env index first) into the ``(N, D)`` ``obs``.

        ``active`` restricts the step to some envs (the others place no order, keep their clock
        and get reward 0). Returns the kernel's code (0, `AT_END` or the engine's error code).
        The settings are copied from the components before the first step and whenever one of
        them reports a change (`refresh`).
        """
        lay = self.layout
        if self.discrete:
            lay.actions[:] = validated
        else:
            lay.box_actions[:] = validated
        if active is not None:
            lay.active[:] = active
            self._masked = True
        elif self._masked:
            lay.active[:] = 1
            self._masked = False
        return int(self._kernel(obs.reshape(obs.size), *self._args)[0])

    def single_entry(self, obs_size: int) -> tuple[Any, bool]:
        """``(call, compiled)``: the compiled serial step for one env's argument types, to call
        without numba's dispatcher, and True; or, while that code compiles in the background
        (`tradeready_gym._jit`), the dispatcher and False."""
        call = compiled_entry(fused_step, (np.empty(obs_size, np.float32), *self._args))
        return call, call is not fused_step

    @property
    def args(self) -> tuple[Any, ...]:
        """The step's arguments after the observation (engine arrays, the blocks, the feature rows)."""
        return self._args


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
