"""`NormalizationWrapper`: observations standardised by running statistics, clipped."""

from __future__ import annotations

import json
import math
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from tradeready_gym.errors import ConfigError, DataError

__all__ = ["NormalizationWrapper", "RunningMeanVar"]

_FORMAT = "tradeready-gym/normalization"
_VERSION = 1


class RunningMeanVar:
    """Running mean and (population) variance per component, merged batch by batch.

    Uses the parallel form of Welford's algorithm (Chan et al.): a batch with count ``n_b``, mean
    ``m_b`` and sum of squared deviations ``M2_b`` merges into ``(n, m, M2)`` as
    ``delta = m_b - m``, ``n' = n + n_b``, ``m' = m + delta * n_b / n'``,
    ``M2' = M2 + M2_b + delta^2 * n * n_b / n'``; ``var = M2 / n``.

    Example:
        >>> s = RunningMeanVar((1,))
        >>> s.update(np.array([[1.0], [2.0]])); s.update(np.array([[3.0], [4.0]]))
        >>> s.mean.tolist(), s.var.tolist()
        ([2.5], [1.25])
    """

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = tuple(shape)
        self.count = 0
        self.mean = np.zeros(self.shape, dtype=np.float64)
        self.m2 = np.zeros(self.shape, dtype=np.float64)

    @property
    def var(self) -> np.ndarray:
        """Population variance (0 before any update)."""
        return self.m2 / self.count if self.count > 0 else np.zeros(self.shape)

    def update(self, batch: np.ndarray) -> None:
        """Merge a batch of shape ``(n, *shape)``."""
        x = np.asarray(batch, dtype=np.float64).reshape((-1, *self.shape))
        n_b = x.shape[0]
        if n_b == 0:
            return
        m_b = x.mean(axis=0)
        m2_b = ((x - m_b) ** 2).sum(axis=0)
        n = self.count
        tot = n + n_b
        delta = m_b - self.mean
        self.mean = self.mean + delta * (n_b / tot)
        self.m2 = self.m2 + m2_b + delta**2 * (n * n_b / tot)
        self.count = tot


class NormalizationWrapper(
    gym.ObservationWrapper[np.ndarray, Any, np.ndarray], gym.utils.RecordConstructorArgs
):
    """Standardise observations with running statistics: ``clip((obs - mean) / sqrt(var + epsilon))``.

    Every observation (from ``reset`` and ``step``) first updates the running mean and variance (per
    component), then is normalised with the updated statistics and clipped to ``[-clip, clip]``.
    `freeze` stops the updates (evaluation), `unfreeze` resumes them. `save` writes the statistics to a
    ``.json`` or ``.npz`` file atomically; `load` restores them into a wrapper of the same shape.

    Args:
        env: an env with a ``Box`` observation space.
        clip: the normalised values are clipped to ``[-clip, clip]`` (> 0).
        epsilon: added to the variance (> 0) so constant components map to 0, not infinity.

    Example:
        >>> env = NormalizationWrapper(gym.make("TradeReady-BTC-v0"), clip=5.0)  # doctest: +SKIP
        >>> env.freeze(); env.save("norm.json")  # doctest: +SKIP
    """

    def __init__(self, env: gym.Env[np.ndarray, Any], clip: float = 10.0, epsilon: float = 1e-8) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, clip=clip, epsilon=epsilon)
        super().__init__(env)
        space = env.observation_space
        if not isinstance(space, gym.spaces.Box):
            raise ConfigError(f"NormalizationWrapper needs a Box observation space; got {space!r}")
        self.clip = _positive(clip, "clip")
        self.epsilon = _positive(epsilon, "epsilon")
        self.stats = RunningMeanVar(space.shape)
        self._frozen = False
        self.observation_space = gym.spaces.Box(-self.clip, self.clip, shape=space.shape, dtype=np.float32)

    # ------------------------------------------------------------------ statistics
    @property
    def frozen(self) -> bool:
        """True while the statistics are not updated."""
        return self._frozen

    def freeze(self) -> None:
        """Stop updating the statistics (for evaluation)."""
        self._frozen = True

    def unfreeze(self) -> None:
        """Resume updating the statistics."""
        self._frozen = False

    def normalize(self, obs: np.ndarray) -> np.ndarray:
        """``obs`` normalised with the current statistics (no update), float32."""
        z = (np.asarray(obs, dtype=np.float64) - self.stats.mean) / np.sqrt(self.stats.var + self.epsilon)
        return np.clip(z, -self.clip, self.clip).astype(np.float32)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        if not self._frozen:
            self.stats.update(np.asarray(observation)[None])
        return self.normalize(observation)

    # ------------------------------------------------------------------ persistence
    def state_dict(self) -> dict[str, Any]:
        """The statistics and settings as JSON-friendly values."""
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "shape": list(self.stats.shape),
            "count": int(self.stats.count),
            "mean": self.stats.mean.ravel().tolist(),
            "m2": self.stats.m2.ravel().tolist(),
            "clip": self.clip,
            "epsilon": self.epsilon,
        }

    def load_state_dict(self, state: dict[str, Any], *, source: str = "state") -> None:
        """Restore statistics from `state_dict` output; `DataError` if malformed or of another shape."""
        try:
            if state.get("format") != _FORMAT or int(state.get("version", -1)) != _VERSION:
                raise DataError(
                    f"{source} is not a {_FORMAT} v{_VERSION} file (format={state.get('format')!r}, "
                    f"version={state.get('version')!r})"
                )
            shape = tuple(int(s) for s in state["shape"])
            count = int(state["count"])
            mean = np.asarray(state["mean"], dtype=np.float64).reshape(shape)
            m2 = np.asarray(state["m2"], dtype=np.float64).reshape(shape)
            clip = _positive(state["clip"], "clip")
            eps = _positive(state["epsilon"], "epsilon")
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, DataError):
                raise
            raise DataError(f"{source} holds malformed normalisation statistics: {e}") from None
        if shape != self.stats.shape:
            raise DataError(
                f"{source} has statistics of shape {shape}; this env's observations have shape {self.stats.shape}"
            )
        if count < 0 or not np.isfinite(mean).all() or not np.isfinite(m2).all() or (m2 < 0).any():
            raise DataError(
                f"{source} holds invalid statistics (count={count}, non-finite or negative values)"
            )
        self.stats.count = count
        self.stats.mean = mean
        self.stats.m2 = m2
        self.clip = clip
        self.epsilon = eps
        self.observation_space = gym.spaces.Box(-clip, clip, shape=shape, dtype=np.float32)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the statistics to ``path`` (``.json`` or ``.npz``) atomically; returns the path.

        The file is written to a temporary file in the same folder and renamed over ``path``, so a
        crash never leaves a half-written file.
        """
        p = Path(path)
        kind = _kind(p)
        state = self.state_dict()
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                if kind == "json":
                    f.write(json.dumps(state, allow_nan=False).encode())
                else:
                    np.savez(
                        f,
                        format=np.array(_FORMAT),
                        version=np.array(_VERSION),
                        shape=np.array(state["shape"], dtype=np.int64),
                        count=np.array(state["count"], dtype=np.int64),
                        mean=self.stats.mean,
                        m2=self.stats.m2,
                        clip=np.array(self.clip),
                        epsilon=np.array(self.epsilon),
                    )
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, p)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return p

    def load(self, path: str | os.PathLike[str]) -> None:
        """Restore statistics written by `save`; the wrapper keeps its frozen / unfrozen state.

        Raises:
            ConfigError: the extension is neither ``.json`` nor ``.npz``.
            DataError: the file is missing, malformed, or of another observation shape.
        """
        p = Path(path)
        kind = _kind(p)
        if not p.is_file():
            raise DataError(f"path={str(p)!r} does not exist; save() the statistics first")
        try:
            if kind == "json":
                state = json.loads(p.read_text())
                if not isinstance(state, dict):
                    raise ValueError("top level is not an object")
            else:
                with np.load(p, allow_pickle=False) as z:
                    state = {k: z[k] for k in z.files}
                state = {k: (v.item() if v.ndim == 0 else v.tolist()) for k, v in state.items()}
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
            raise DataError(f"path={str(p)!r} is not a readable {kind} statistics file: {e}") from None
        self.load_state_dict(state, source=f"path={str(p)!r}")


def _kind(p: Path) -> str:
    suffix = p.suffix.lower()
    if suffix not in (".json", ".npz"):
        raise ConfigError(f"path={str(p)!r} must end in .json or .npz; got {suffix or 'no extension'!r}")
    return suffix[1:]


def _positive(value: Any, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if isinstance(value, bool) or not math.isfinite(v) or v <= 0:
        raise ConfigError(f"{name}={value!r} must be a finite number > 0")
    return v
