"""Database access: the URL in force, SQLAlchemy engines, and running migrations."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine

if TYPE_CHECKING:
    from alembic.config import Config

from service.cluster import EmbeddedCluster
from service.settings import Settings, libpq_url, sqlalchemy_url

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def database_url(settings: Settings) -> str:
    """Return the libpq URL in force: LANDWINDOW_DATABASE_URL, else the embedded cluster's."""
    if settings.database_url:
        return libpq_url(settings.database_url)
    return EmbeddedCluster.from_settings(settings).url()


def make_engine(url: str, pool_size: int = 5) -> Engine:
    """Create a SQLAlchemy engine on psycopg 3 for a libpq URL."""
    return create_engine(sqlalchemy_url(url), pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


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
