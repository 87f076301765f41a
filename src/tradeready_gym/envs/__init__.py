"""Environments: the composable `TradingEnv`, the vector env, presets and their registration."""
