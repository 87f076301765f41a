"""Alembic migrations of the local tracking store (applied by `tradeready_gym.tracking.store.Store`)."""
