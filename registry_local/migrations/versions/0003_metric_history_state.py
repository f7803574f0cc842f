"""The state of the metric each history entry recorded (upstream keeps history as artifacts).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("metric_history", sa.Column("state", sa.String(32)))


def downgrade() -> None:
    op.drop_column("metric_history", "state")
