"""Backtest sessions: configuration, status and results of REST backtests.

Revision ID: p0002
Revises: p0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tradeready_gym.tracking.models import UTCDateTime

revision = "p0002"
down_revision = "p0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backtest_sessions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("total_steps", sa.Integer(), nullable=False),
        sa.Column("current_step", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.Column("final_time", sa.String(length=40), nullable=True),
        sa.Column("results", sa.JSON(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("backtest_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_backtest_sessions_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_backtest_sessions_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("backtest_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_backtest_sessions_status"))
        batch_op.drop_index(batch_op.f("ix_backtest_sessions_account_id"))

    op.drop_table("backtest_sessions")
