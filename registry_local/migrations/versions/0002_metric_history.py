"""Metric history of experiment runs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from registry_local.schema import MYSQL_TABLE, id_type, name_type

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metric_history",
        sa.Column("id", id_type(), primary_key=True, autoincrement=True),
        sa.Column("experiment_run_id", id_type(), sa.ForeignKey("contexts.id"), nullable=False),
        sa.Column("metric_id", id_type(), sa.ForeignKey("artifacts.id"), nullable=False),
        sa.Column("name", name_type(), nullable=False),
        sa.Column("metric_value", sa.Double),
        sa.Column("timestamp", sa.BigInteger),
        sa.Column("step", sa.BigInteger),
        sa.Column("create_time", sa.BigInteger, nullable=False),
        sa.Column("update_time", sa.BigInteger, nullable=False),
        **MYSQL_TABLE,
    )
    op.create_index("ix_metric_history_run", "metric_history", ["experiment_run_id", "id"])


def downgrade() -> None:
    op.drop_table("metric_history")
