"""Initial schema: contexts, artifacts, attributions, serve_models, properties.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from registry_local.schema import MYSQL_TABLE, id_type, name_type, text_type

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _text(name: str) -> sa.Column:
    return sa.Column(name, text_type())


def _common() -> list[sa.Column]:
    return [
        sa.Column("id", id_type(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("parent_key", sa.BigInteger, nullable=False),
        sa.Column("name", name_type()),
        sa.Column("external_id", name_type()),
        _text("description"),
        sa.Column("state", sa.String(32)),
        _text("custom_properties"),
        sa.Column("create_time", sa.BigInteger, nullable=False),
        sa.Column("update_time", sa.BigInteger, nullable=False),
    ]


def _create_contexts() -> None:
    op.create_table(
        "contexts",
        *_common(),
        sa.Column("parent_id", id_type(), sa.ForeignKey("contexts.id")),
        sa.Column("registered_model_id", id_type(), sa.ForeignKey("contexts.id")),
        sa.Column("model_version_id", id_type(), sa.ForeignKey("contexts.id")),
        *[_text(name) for name in ("owner", "author", "runtime")],
        sa.Column("status", sa.String(32)),
        sa.Column("start_time", sa.BigInteger),
        sa.Column("end_time", sa.BigInteger),
        *[_text(name) for name in ("readme", "maturity", "language", "tasks", "provider")],
        *[_text(name) for name in ("logo", "license", "license_link", "library_name")],
        sa.UniqueConstraint("kind", "parent_key", "name", name="uq_contexts_name"),
        sa.UniqueConstraint("kind", "external_id", name="uq_contexts_external_id"),
        **MYSQL_TABLE,
    )
    op.create_index("ix_contexts_kind_id", "contexts", ["kind", "id"])
    op.create_index("ix_contexts_kind_ctime", "contexts", ["kind", "create_time", "id"])
    op.create_index("ix_contexts_kind_mtime", "contexts", ["kind", "update_time", "id"])
    op.create_index("ix_contexts_parent", "contexts", ["parent_id", "kind", "id"])


ARTIFACT_TEXT = (
    "uri",
    "model_format_name",
    "model_format_version",
    "storage_key",
    "storage_path",
    "service_account_name",
    "model_source_kind",
    "model_source_class",
    "model_source_group",
    "model_source_id",
    "model_source_name",
    "digest",
    "source_type",
    "source",
    "dataset_schema",
    "profile",
)


def _create_artifacts() -> None:
    op.create_table(
        "artifacts",
        *_common(),
        *[_text(name) for name in ARTIFACT_TEXT],
        sa.Column("metric_value", sa.Double),
        sa.Column("timestamp", sa.BigInteger),
        sa.Column("step", sa.BigInteger),
        _text("parameter_value"),
        sa.Column("parameter_type", sa.String(16)),
        sa.Column("experiment_id", id_type(), sa.ForeignKey("contexts.id")),
        sa.Column("experiment_run_id", id_type(), sa.ForeignKey("contexts.id")),
        sa.UniqueConstraint("kind", "parent_key", "name", name="uq_artifacts_name"),
        sa.UniqueConstraint("kind", "external_id", name="uq_artifacts_external_id"),
        **MYSQL_TABLE,
    )
    op.create_index("ix_artifacts_kind_id", "artifacts", ["kind", "id"])
    op.create_index("ix_artifacts_kind_ctime", "artifacts", ["kind", "create_time", "id"])
    op.create_index("ix_artifacts_kind_mtime", "artifacts", ["kind", "update_time", "id"])


def _create_links() -> None:
    op.create_table(
        "attributions",
        sa.Column("context_id", id_type(), sa.ForeignKey("contexts.id"), primary_key=True),
        sa.Column("artifact_id", id_type(), sa.ForeignKey("artifacts.id"), primary_key=True),
        **MYSQL_TABLE,
    )
    op.create_index("ix_attributions_artifact", "attributions", ["artifact_id"])
    op.create_table(
        "serve_models",
        *_common(),
        sa.Column("parent_id", id_type(), sa.ForeignKey("contexts.id"), nullable=False),
        sa.Column("model_version_id", id_type(), sa.ForeignKey("contexts.id"), nullable=False),
        sa.UniqueConstraint("parent_key", "name", name="uq_serve_models_name"),
        sa.UniqueConstraint("kind", "external_id", name="uq_serve_models_external_id"),
        **MYSQL_TABLE,
    )
    op.create_index("ix_serve_models_parent", "serve_models", ["parent_id", "id"])


def _create_properties() -> None:
    op.create_table(
        "properties",
        sa.Column("family", sa.String(16), primary_key=True),
        sa.Column("entity_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("name", name_type(), primary_key=True),
        _text("string_value"),
        sa.Column("int_value", sa.BigInteger),
        sa.Column("double_value", sa.Double),
        sa.Column("bool_value", sa.Boolean),
        **MYSQL_TABLE,
    )


def upgrade() -> None:
    _create_contexts()
    _create_artifacts()
    _create_links()
    _create_properties()


def downgrade() -> None:
    for table in ("properties", "serve_models", "attributions", "artifacts", "contexts"):
        op.drop_table(table)
