"""`FeatureEngineeringWrapper`: price/SMA ratios and momentum from the latest close."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from tradeready_gym.errors import ConfigError

__all__ = ["FeatureEngineeringWrapper"]


def _check_periods(periods: Any) -> tuple[int, ...]:
    if isinstance(periods, int | np.integer) and not isinstance(periods, bool):
        periods = (periods,)
    try:
        ps = tuple(periods)
    except TypeError:
        raise ConfigError(f"periods={periods!r} must be a sequence of integers >= 2") from None
    if not ps:
        raise ConfigError("periods=() must hold at least one period (an integer >= 2)")
    for p in ps:
        if isinstance(p, bool) or not isinstance(p, int | np.integer) or p < 2:
            raise ConfigError(f"periods holds {p!r}; every period must be an integer >= 2")
    if len(set(ps)) != len(ps):
        raise ConfigError(f"periods={list(ps)!r} repeats a period; each period may appear once")
    return tuple(int(p) for p in ps)


class FeatureEngineeringWrapper(
    gym.Wrapper[np.ndarray, Any, np.ndarray, Any], gym.utils.RecordConstructorArgs
):
    """Append trend features computed from the latest closes to a flat observation.

    For every period ``p`` in ``periods`` and every asset (in the env's symbol order) two values are
    appended, period first, then asset:

    * ``close_t / SMA_p(close)_t - 1`` with ``SMA_p`` the mean of the last ``p`` closes including
      ``close_t``;
    * momentum ``close_t / close_{t-p} - 1``.

    ``close_t`` is the close at the env's clock (``info["prices"]``). At ``reset`` the wrapper seeds
    its close buffer with ``env.unwrapped.price_history(max(periods) + 1)``, the real closes before
    the episode start, so the first observation already has full-length features (no zero padding).
    When the data holds fewer bars before the clock, the SMA uses the closes that exist and momentum
    compares with the oldest one. The buffer is rebuilt at every reset, and also whenever
    ``info["step"]`` shows that the env advanced more than one bar in one call (e.g. when wrapped
    around a `BatchStepWrapper`).

    Args:
        env: an env with a flat ``Box`` observation, ``info["prices"]`` (symbol -> close) and
            ``env.unwrapped.price_history(n)`` (``(n, n_symbols)`` closes up to the clock).
        periods: look-back lengths in bars, each an integer >= 2.

    Example:
        >>> env = FeatureEngineeringWrapper(gym.make("TradeReady-BTC-v0"), periods=(5, 20))  # doctest: +SKIP
        >>> env.observation_space.shape[0] - env.env.observation_space.shape[0]  # doctest: +SKIP
        4
    """

    def __init__(self, env: gym.Env[np.ndarray, Any], periods: Sequence[int] = (5, 10, 20)) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, periods=periods)
        super().__init__(env)
        self.periods = _check_periods(periods)
        space = env.observation_space
        if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
            raise ConfigError(f"FeatureEngineeringWrapper needs a flat Box observation space; got {space!r}")
        if not callable(getattr(env.unwrapped, "price_history", None)):
            raise ConfigError(
                f"FeatureEngineeringWrapper needs env.unwrapped.price_history(n); {type(env.unwrapped).__name__} "
                "has none"
            )
        symbols = getattr(env.unwrapped, "symbols", None)
        self.symbols: tuple[str, ...] | None = tuple(symbols) if symbols is not None else None
        n_sym = len(self.symbols) if self.symbols is not None else None
        if n_sym is None:
            hist = np.asarray(env.unwrapped.price_history(1))  # type: ignore[attr-defined]
            n_sym = int(hist.shape[1])
        self.n_symbols = n_sym
        self.n_extra = 2 * len(self.periods) * n_sym
        lo = np.full(self.n_extra, -1.0, dtype=np.float32)
        hi = np.full(self.n_extra, np.inf, dtype=np.float32)
        k = 0
        for p in self.periods:
            for _ in range(n_sym):
                hi[k] = p - 1  # close <= p * SMA_p for positive prices
                k += 2
        dtype = space.dtype if space.dtype is not None else np.float32
        self.observation_space = gym.spaces.Box(
            low=np.concatenate([space.low.astype(np.float32), lo]),
            high=np.concatenate([space.high.astype(np.float32), hi]),
            dtype=dtype.type,  # type: ignore[arg-type]
        )
        self._depth = max(self.periods) + 1
        self._buf = np.empty((0, n_sym))
        self._last_step: int | None = None

    # ------------------------------------------------------------------ features
    def features(self) -> np.ndarray:
        """The appended values for the current close buffer, ``(2 * len(periods) * n_symbols,)`` float32."""
        buf = self._buf
        last = buf[-1]
        out = np.empty(self.n_extra, dtype=np.float64)
        k = 0
        for p in self.periods:
            window = buf[-p:]
            sma = window.mean(axis=0)
            past = buf[-(p + 1)] if buf.shape[0] > p else buf[0]
            for j in range(self.n_symbols):
                out[k] = last[j] / sma[j] - 1.0
                out[k + 1] = last[j] / past[j] - 1.0
                k += 2
        return out.astype(np.float32)

    def _prices_from_info(self, info: dict[str, Any]) -> np.ndarray:
        prices = info.get("prices")
        if prices is None:
            raise ConfigError(
                "FeatureEngineeringWrapper needs info['prices'] (symbol -> latest close) from the env"
            )
        if isinstance(prices, dict):
            if self.symbols is None:
                self.symbols = tuple(prices)
            return np.array([float(prices[s]) for s in self.symbols], dtype=np.float64)
        return np.asarray(prices, dtype=np.float64).reshape(self.n_symbols)

    def _observe(self, obs: np.ndarray) -> np.ndarray:
        return np.concatenate([np.asarray(obs, dtype=np.float32), self.features()])

    # ------------------------------------------------------------------ gymnasium API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        self._seed(self._prices_from_info(info))
        step = info.get("step")
        self._last_step = None if step is None else int(step)
        return self._observe(obs), info

    def _seed(self, latest: np.ndarray) -> None:
        hist = np.asarray(self.env.unwrapped.price_history(self._depth), dtype=np.float64)  # type: ignore[attr-defined]
        if hist.ndim != 2 or hist.shape[0] < 1 or hist.shape[1] != self.n_symbols:
            raise ConfigError(
                f"price_history({self._depth}) returned shape {hist.shape}; expected (<= {self._depth}, {self.n_symbols})"
            )
        if not np.allclose(hist[-1], latest, rtol=1e-12, atol=0.0):
            raise ConfigError(
                f"price_history ends at {hist[-1].tolist()} but info['prices'] is {latest.tolist()}; "
                "the history must end at the clock"
            )
        self._buf = hist.copy()

    def step(self, action: Any) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        latest = self._prices_from_info(info)
        step = info.get("step")
        if self._last_step is not None and step is not None and int(step) != self._last_step + 1:
            # the env advanced several bars in one call (e.g. under a BatchStepWrapper): reseed
            self._seed(latest)
        else:
            self._buf = np.concatenate([self._buf, latest[None, :]])[-self._depth :]
        self._last_step = None if step is None else int(step)
        return self._observe(obs), reward, terminated, truncated, info
