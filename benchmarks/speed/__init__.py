"""Side-by-side speed benchmark: one worker script per library, run as subprocesses by ``benchmarks/bench_speed.py``.

The workers import ``_common`` from their own folder (a script's folder is first on ``sys.path``),
so each runs under any interpreter: the project venv for tradeready-gym, ``benchmarks/.peers-venv``
for the peers.
"""
