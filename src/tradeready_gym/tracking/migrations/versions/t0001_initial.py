"""Initial tracking store: runs, episodes, scalars, traces, outbox.

Revision ID: t0001
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tradeready_gym.tracking.models import UTCDateTime

revision = "t0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("strategy_label", sa.String(200), nullable=True),
        sa.Column("group_name", sa.String(200), nullable=True),
        sa.Column("seed", sa.BigInteger(), nullable=True),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("env_id", sa.String(100), nullable=True),
        sa.Column("config", sa.JSON(), nullable=True),
        sa.Column("algorithm", sa.String(100), nullable=True),
        sa.Column("hyperparams", sa.JSON(), nullable=True),
        sa.Column("library_version", sa.String(32), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", UTCDateTime(), nullable=True),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.Column("episodes_completed", sa.Integer(), nullable=False),
        sa.Column("total_steps", sa.BigInteger(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=True),
    )
    op.create_index("ix_runs_account_id", "runs", ["account_id"])
    op.create_index("ix_runs_group_name", "runs", ["group_name"])
    op.create_index("ix_runs_created_at", "runs", ["created_at"])
    op.create_table(
        "episodes",
        sa.Column("run_id", sa.String(36), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("episode", sa.Integer(), primary_key=True),
        sa.Column("env_index", sa.Integer(), nullable=False),
        sa.Column("data_start", sa.String(40), nullable=True),
        sa.Column("data_end", sa.String(40), nullable=True),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.Column("reward_sum", sa.Float(), nullable=True),
        sa.Column("roi_pct", sa.Float(), nullable=True),
        sa.Column("sharpe", sa.Float(), nullable=True),
        sa.Column("sortino", sa.Float(), nullable=True),
        sa.Column("max_drawdown_pct", sa.Float(), nullable=True),
        sa.Column("trades", sa.Integer(), nullable=True),
        sa.Column("fees", sa.Float(), nullable=True),
        sa.Column("buy_hold_roi_pct", sa.Float(), nullable=True),
        sa.Column("final_equity", sa.Float(), nullable=True),
        sa.Column("terminated", sa.Boolean(), nullable=False),
        sa.Column("truncated", sa.Boolean(), nullable=False),
        sa.Column("wall_time_s", sa.Float(), nullable=True),
        sa.Column("global_step", sa.BigInteger(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=True),
    )
    op.create_table(
        "scalars",
        sa.Column("run_id", sa.String(36), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("step", sa.BigInteger(), primary_key=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("wall_time", sa.Float(), nullable=True),
    )
    op.create_table(
        "traces",
        sa.Column("run_id", sa.String(36), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("episode", sa.Integer(), primary_key=True),
        sa.Column("reasons", sa.String(100), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("dedup_key", sa.String(120), nullable=False, unique=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_index("ix_outbox_run_id", "outbox", ["run_id"])
    op.create_index("ix_outbox_delivered_at", "outbox", ["delivered_at"])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("traces")
    op.drop_table("scalars")
    op.drop_table("episodes")
    op.drop_index("ix_runs_created_at", table_name="runs")
    op.drop_index("ix_runs_group_name", table_name="runs")
    op.drop_index("ix_runs_account_id", table_name="runs")
    op.drop_table("runs")
