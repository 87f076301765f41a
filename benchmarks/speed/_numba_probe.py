"""A one-line cached numba function. Its first call in a fresh process measures numba's own
start-up (the compiler's typing and lowering registries, and the SciPy BLAS import numba makes when
SciPy is installed), which any numba-compiled library pays once per process."""

from __future__ import annotations

from numba import njit


@njit(cache=True)
def probe(x: int) -> int:
    return x + 1
