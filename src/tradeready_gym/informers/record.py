"""The info record: the numbers of one env's ``info`` as one float row and one int row.

The compiled single-env step writes it (`record_env`), `DefaultInformer.info` writes it for any env
(`record_kernel`), and one decoder turns it into the info dict (`DefaultInformer.info_builder`).

Float row (``N_REC_FLOATS + 2 * S`` values): the step's reward, then equity, available cash,
position value, unrealized PnL, realized PnL, fees paid, progress %, then the close at the clock per
symbol, then the quantity held per symbol.

Int row (``N_REC_INTS`` values): step, total steps, fills of the last step, terminated, truncated,
the clock bar.
"""

from __future__ import annotations

import numpy as np

from tradeready_gym._jit import inline, kernel
from tradeready_gym.engine import _kernel as K
from tradeready_gym.informers._kernels import N_INFO_FLOATS, N_INFO_INTS, _env_numbers

__all__ = [
    "N_REC_FLOATS",
    "N_REC_INTS",
    "REC_F_INFO",
    "REC_F_PRICES",
    "REC_F_REWARD",
    "REC_I_CLOCK",
    "REC_I_FILLS",
    "REC_I_FLAGS",
    "REC_I_STEP",
    "REC_I_TOTAL",
    "record_env",
    "record_kernel",
]

REC_F_REWARD = 0
REC_F_INFO = 1
REC_F_PRICES = REC_F_INFO + N_INFO_FLOATS
#: Floats of the record before the per-symbol prices and positions.
N_REC_FLOATS = REC_F_PRICES

REC_I_STEP, REC_I_TOTAL, REC_I_FILLS = 0, 1, 2
#: Column of ``terminated``; ``truncated`` follows.
REC_I_FLAGS = N_INFO_INTS
REC_I_CLOCK = REC_I_FLAGS + 2
N_REC_INTS = REC_I_CLOCK + 1


@inline
def record_env(acct, pos, clock, close, steps, start, end, max_steps, reward, rec_f, rec_i, i):  # type: ignore[no-untyped-def]
    """Env ``i``'s record into ``rec_f[i]`` / ``rec_i[i]`` (the flags are left as they are)."""
    n_sym = pos.shape[1]
    rec_f[i, REC_F_REWARD] = reward[i]
    _env_numbers(
        acct[:, K.A_EQUITY], acct[:, K.A_CASH], acct[:, K.A_POSVAL], acct[:, K.A_UPNL], acct[:, K.A_REALIZED],
        acct[:, K.A_FEES], acct[:, K.A_STEP_FILLS], clock, close, pos[:, :, K.P_QTY], steps, start, end, max_steps,
        rec_f[:, REC_F_INFO:REC_F_PRICES].T, rec_i[:, :N_INFO_INTS].T,
        rec_f[:, REC_F_PRICES : REC_F_PRICES + n_sym], rec_f[:, REC_F_PRICES + n_sym : REC_F_PRICES + 2 * n_sym], i,
    )
    rec_i[i, REC_I_CLOCK] = clock[i]


@kernel(nrt=False)
def record_kernel(acct, pos, clock, close, steps, start, end, max_steps, reward, rec_f, rec_i, i):  # type: ignore[no-untyped-def]
    """`record_env` called from Python (the informer's `info` of any env)."""
    record_env(acct, pos, clock, close, steps, start, end, max_steps, reward, rec_f, rec_i, i)


def empty_record(n_envs: int, n_symbols: int) -> tuple[np.ndarray, np.ndarray]:
    """Zeroed ``(N, N_REC_FLOATS + 2S)`` float64 and ``(N, N_REC_INTS)`` int64 record arrays."""
    return (
        np.zeros((n_envs, N_REC_FLOATS + 2 * n_symbols), dtype=np.float64),
        np.zeros((n_envs, N_REC_INTS), dtype=np.int64),
    )
