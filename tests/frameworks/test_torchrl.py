"""TorchRL: ``GymEnv(id)`` builds our env (TorchRL probes ``frameskip=`` and expects a TypeError)."""

from __future__ import annotations

import pytest
import torch
from torchrl.envs import GymEnv  # the torchrl extra, installed by scripts/install.sh
from torchrl.envs.utils import check_env_specs

from .conftest import END, START


@pytest.mark.parametrize("env_id", ["TradeReady-BTC-v0", "tradeready_gym:TradeReady-BTC-Continuous-v0"])
def test_gymenv_check_env_specs_and_rollout(env_id, real_cache):
    env = GymEnv(env_id, start_time=START, end_time=END, episode_length=50)
    check_env_specs(env)
    td = env.rollout(60, break_when_any_done=False)
    assert td.batch_size == torch.Size([60])
    assert td["next", "observation"].shape == (60, 153)
    done = td["next", "done"].squeeze(-1)
    assert done.sum().item() == 1 and bool(done[49])  # one 50-step episode, then a reset
    assert td["next", "truncated"].squeeze(-1)[49]
    env.close()
