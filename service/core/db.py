"""Database access: the URL in force, SQLAlchemy engines, and running migrations."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from psycopg.types.json import set_json_loads
from sqlalchemy import Engine, create_engine, event

if TYPE_CHECKING:
    from alembic.config import Config

from service.core.cluster import EmbeddedCluster
from service.core.settings import Settings, libpq_url, sqlalchemy_url

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def database_url(settings: Settings) -> str:
    """Return the libpq URL in force: LANDWINDOW_DATABASE_URL, else the embedded cluster's."""
    if settings.database_url:
        return libpq_url(settings.database_url)
    return EmbeddedCluster.from_settings(settings).url()


def _json(value: object) -> str:
    # check reports are large JSON documents: orjson writes them several times faster than the standard library
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def make_engine(url: str, pool_size: int = 5, connect_timeout: int | None = None) -> Engine:
    """Create a SQLAlchemy engine on psycopg 3 for a libpq URL (connect_timeout in seconds, for replicas)."""
    engine = create_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        json_serializer=_json,
        connect_args={"connect_timeout": connect_timeout} if connect_timeout else {},
    )

    @event.listens_for(engine, "connect")
    def _orjson_loads(dbapi_conn: Any, _record: Any) -> None:
        # json columns the check statements return (the figures of every rule) are parsed by orjson too
        set_json_loads(orjson.loads, dbapi_conn)

    return engine


def alembic_config(url: str) -> Config:
    """Return an Alembic config for the project's migrations against a database URL."""
    from alembic.config import Config

    cfg = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["url"] = sqlalchemy_url(url)
    return cfg


def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the database schema to a revision (head by default)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Downgrade the database schema to a revision."""
    from alembic import command

    command.downgrade(alembic_config(url), revision)
