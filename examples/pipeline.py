"""The whole pipeline from Python: train -> evaluate on the held-out period -> compare -> report.

    pip install "tradeready-gym[sb3,plot]"
    tradeready data download BTCUSDT --timeframe 1h --start 2023-12-01 --end 2024-07-01
    python examples/pipeline.py            # small budget; the YAML's own budget: tradeready train ...

The same steps on the command line::

    tradeready train examples/train_ppo_btc.yaml
    tradeready evaluate runs/ppo-btc-<stamp>
    tradeready compare runs/ppo-btc-<stamp>
    tradeready report runs/ppo-btc-<stamp>/seed-0
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tradeready_gym.pipeline.config import load_config
from tradeready_gym.pipeline.evaluate import evaluate_run, load_evaluation
from tradeready_gym.pipeline.report import write_compare, write_report
from tradeready_gym.pipeline.train import train

HERE = Path(__file__).resolve().parent


@dataclass
class Args:
    config: str = str(HERE / "train_ppo_btc.yaml")
    runs_dir: str = "runs"
    total_timesteps: int = 20_000
    num_envs: int = 8
    seeds: tuple[int, ...] = (0, 1)
    eval_freq: int = 5_000
    random_seeds: int = 100


def main(args: Args) -> dict[str, object]:
    cfg = load_config(args.config)
    cfg.training.total_timesteps = args.total_timesteps
    cfg.training.num_envs = args.num_envs
    cfg.training.seeds = list(args.seeds)
    cfg.training.eval_freq = args.eval_freq
    cfg.evaluation.random_seeds = args.random_seeds
    result = train(cfg, runs_dir=args.runs_dir)
    print(f"trained: {result.group_dir}")
    verdicts = []
    for run in result.run_dirs:
        ev = evaluate_run(run)  # the config's test period; refuses one that overlaps training
        assert ev.out_dir is not None
        write_report(ev.out_dir)
        print(f"{run.name}: {ev.summary['verdict']}")
        verdicts.append(ev.summary["verdict"])
    page = write_compare([load_evaluation(r) for r in result.run_dirs], Path(result.group_dir) / "compare")
    print(f"comparison: {page}")
    return {"group": str(result.group_dir), "runs": [str(r) for r in result.run_dirs], "verdicts": verdicts,
            "compare": str(page)}


if __name__ == "__main__":
    main(Args())
