"""Tables of the registry (SQLAlchemy Core), the same on SQLite, PostgreSQL and MySQL/MariaDB.

Like upstream's MLMD layout there are three id sequences: `contexts` (RegisteredModel,
ModelVersion, ServingEnvironment, InferenceService, Experiment, ExperimentRun), `artifacts`
(every artifact type) and `serve_models`. Kind-specific fields are plain nullable columns of
one wide table per family, so reading an entity is one row. Custom properties are kept twice:
as the JSON document clients see (`custom_properties`) and as typed rows in `properties`,
which `filterQuery` searches.

The schema is created and upgraded by the Alembic migrations in `registry_local/migrations`;
this module is the model they must match (a test compares them).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.types import TypeEngine

metadata = MetaData()

MYSQL_TABLE: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_engine": "InnoDB"}


def id_type() -> TypeEngine[int]:
    """BIGINT primary keys, INTEGER on SQLite so that the key is the autoincrementing rowid."""
    return BigInteger().with_variant(Integer(), "sqlite")


def name_type() -> TypeEngine[str]:
    """Case- and accent-sensitive short string (MySQL's default collation is neither)."""
    return String(255).with_variant(mysql.VARCHAR(255, collation="utf8mb4_bin"), "mysql")


def text_type() -> TypeEngine[str]:
    """Unbounded text (MySQL's TEXT stops at 64 KiB)."""
    return Text().with_variant(mysql.LONGTEXT(), "mysql")


def _text(name: str) -> Column[str]:
    return Column(name, text_type())


def _common(id_column: str = "id") -> list[Column[Any]]:
    return [
        Column(id_column, id_type(), primary_key=True, autoincrement=True),
        Column("kind", String(32), nullable=False),
        Column("parent_key", BigInteger, nullable=False, default=0),
        Column("name", name_type()),
        Column("external_id", name_type()),
        _text("description"),
        Column("state", String(32)),
        _text("custom_properties"),
        Column("create_time", BigInteger, nullable=False),
        Column("update_time", BigInteger, nullable=False),
    ]


contexts = Table(
    "contexts",
    metadata,
    *_common(),
    Column("parent_id", id_type(), ForeignKey("contexts.id")),
    Column("registered_model_id", id_type(), ForeignKey("contexts.id")),
    Column("model_version_id", id_type(), ForeignKey("contexts.id")),
    _text("owner"),
    _text("author"),
    _text("runtime"),
    Column("status", String(32)),
    Column("start_time", BigInteger),
    Column("end_time", BigInteger),
    _text("readme"),
    _text("maturity"),
    _text("language"),
    _text("tasks"),
    _text("provider"),
    _text("logo"),
    _text("license"),
    _text("license_link"),
    _text("library_name"),
    UniqueConstraint("kind", "parent_key", "name", name="uq_contexts_name"),
    UniqueConstraint("kind", "external_id", name="uq_contexts_external_id"),
    Index("ix_contexts_kind_id", "kind", "id"),
    Index("ix_contexts_kind_ctime", "kind", "create_time", "id"),
    Index("ix_contexts_kind_mtime", "kind", "update_time", "id"),
    Index("ix_contexts_parent", "parent_id", "kind", "id"),
    **MYSQL_TABLE,
)

artifacts = Table(
    "artifacts",
    metadata,
    *_common(),
    _text("uri"),
    _text("model_format_name"),
    _text("model_format_version"),
    _text("storage_key"),
    _text("storage_path"),
    _text("service_account_name"),
    _text("model_source_kind"),
    _text("model_source_class"),
    _text("model_source_group"),
    _text("model_source_id"),
    _text("model_source_name"),
    _text("digest"),
    _text("source_type"),
    _text("source"),
    _text("dataset_schema"),
    _text("profile"),
    Column("metric_value", Double),
    Column("timestamp", BigInteger),
    Column("step", BigInteger),
    _text("parameter_value"),
    Column("parameter_type", String(16)),
    Column("experiment_id", id_type(), ForeignKey("contexts.id")),
    Column("experiment_run_id", id_type(), ForeignKey("contexts.id")),
    UniqueConstraint("kind", "parent_key", "name", name="uq_artifacts_name"),
    UniqueConstraint("kind", "external_id", name="uq_artifacts_external_id"),
    Index("ix_artifacts_kind_id", "kind", "id"),
    Index("ix_artifacts_kind_ctime", "kind", "create_time", "id"),
    Index("ix_artifacts_kind_mtime", "kind", "update_time", "id"),
    **MYSQL_TABLE,
)

attributions = Table(
    "attributions",
    metadata,
    Column("context_id", id_type(), ForeignKey("contexts.id"), primary_key=True),
    Column("artifact_id", id_type(), ForeignKey("artifacts.id"), primary_key=True),
    Index("ix_attributions_artifact", "artifact_id"),
    **MYSQL_TABLE,
)

serve_models = Table(
    "serve_models",
    metadata,
    *_common(),
    Column("parent_id", id_type(), ForeignKey("contexts.id"), nullable=False),
    Column("model_version_id", id_type(), ForeignKey("contexts.id"), nullable=False),
    UniqueConstraint("parent_key", "name", name="uq_serve_models_name"),
    UniqueConstraint("kind", "external_id", name="uq_serve_models_external_id"),
    Index("ix_serve_models_parent", "parent_id", "id"),
    **MYSQL_TABLE,
)

properties = Table(
    "properties",
    metadata,
    Column("family", String(16), primary_key=True),
    Column("entity_id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", name_type(), primary_key=True),
    _text("string_value"),
    Column("int_value", BigInteger),
    Column("double_value", Double),
    Column("bool_value", Boolean),
    **MYSQL_TABLE,
)

metric_history = Table(
    "metric_history",
    metadata,
    Column("id", id_type(), primary_key=True, autoincrement=True),
    Column("experiment_run_id", id_type(), ForeignKey("contexts.id"), nullable=False),
    Column("metric_id", id_type(), ForeignKey("artifacts.id"), nullable=False),
    Column("name", name_type(), nullable=False),
    Column("metric_value", Double),
    Column("timestamp", BigInteger),
    Column("step", BigInteger),
    Column("create_time", BigInteger, nullable=False),
    Column("update_time", BigInteger, nullable=False),
    Column("state", String(32)),  # migration 0003
    Index("ix_metric_history_run", "experiment_run_id", "id"),
    **MYSQL_TABLE,
)
