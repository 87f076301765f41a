"""Random order sequences on real candles, shared by the engine tests."""

from __future__ import annotations

import numpy as np

from tradeready_gym.engine import Engine


def random_orders(rng: np.random.Generator, eng: Engine, scale: float = 1.5) -> np.ndarray:
    """``(N, S)`` signed market orders sized against each account's equity, often beyond it.

    About a third of the entries are zero, buys can exceed the cash and sells the holding, so the
    clipping rules are exercised all the time.
    """
    n, s = eng.n_accounts, eng.n_symbols
    px = eng.clock_close()
    budget = eng.equity[:, None] / s / px
    frac = rng.uniform(-scale, scale, size=(n, s))
    frac[rng.random((n, s)) < 0.35] = 0.0
    out = frac * budget
    # sometimes sell exactly the holding
    sell_all = rng.random((n, s)) < 0.1
    out[sell_all] = -eng.qty[sell_all]
    return np.ascontiguousarray(out)
