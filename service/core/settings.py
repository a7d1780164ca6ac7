"""Settings of a Land Window installation, read once from LANDWINDOW_* environment variables (or .env)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.orm import Session


class Settings(BaseSettings):
    """Validated configuration; nothing connects when this is built."""

    model_config = SettingsConfigDict(env_prefix="LANDWINDOW_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="An existing PostGIS server (postgresql://…); when unset the embedded cluster is used.",
    )
    data_dir: Path = Field(default=Path(".landwindow"), description="Where the embedded cluster and uploads live.")
    db_port: int = Field(default=25432, ge=1024, le=65535, description="Port of the embedded cluster (127.0.0.1).")
    db_name: str = Field(default="landwindow", pattern=r"^[a-z_][a-z0-9_]*$")
    db_system_user: str = Field(default="postgres", description="Unprivileged user that runs the cluster under root.")
    db_pool_size: int = Field(default=10, ge=1, le=200)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    static_url: str = "/static"

    basemap: Literal["none", "xyz", "tianditu"] = "none"
    basemap_url: str | None = Field(default=None, description="XYZ template when basemap=xyz.")
    basemap_attribution: str = ""
    tianditu_key: str | None = None

    secret_key: str | None = Field(
        default=None, description="Signs sessions and tokens; generated into the data folder when unset."
    )
    token_minutes: int = Field(default=480, ge=5, description="Lifetime of a login (one working day).")
    province: str = "湖北"

    hsts_max_age: int = Field(
        default=0,
        ge=0,
        description="Strict-Transport-Security max-age in seconds; set only when served behind TLS (0: off).",
    )
    login_failures_per_user: int = Field(default=5, ge=1, description="failed logins per username within the window")
    login_failures_per_ip: int = Field(
        default=20, ge=1, description="failed logins per client address within the window"
    )
    query_code_failures_per_case: int = Field(default=10, ge=1, description="wrong query codes per case number")
    query_code_failures_per_ip: int = Field(
        default=30, ge=1, description="wrong case numbers or codes per client address"
    )
    failure_window_seconds: int = Field(default=900, ge=1, description="the window the failures above are counted in")

    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024, description="Largest boundary upload.")

    tile_feature_limit: int = Field(default=20000, ge=100)
    tile_max_age: int = Field(default=3600, ge=0)
    tile_cache_mb: int = Field(default=256, ge=0, description="rendered tiles kept in memory (0: none)")

    filing_key: str | None = Field(
        default=None,
        min_length=16,
        description="Shared HMAC-SHA256 key that signs upward filing packages and receipts.",
    )
    instance_level: Literal["county", "city", "province", "ministry"] = Field(
        default="county",
        description="This installation's level in the filing chain county → city → province → ministry.",
    )
    instance_name: str = Field(default="Land Window", min_length=1, description="This installation's name on packages.")

    @field_validator("database_url")
    @classmethod
    def _blank_is_none(cls, v: str | None) -> str | None:
        return v or None

    @property
    def embedded(self) -> bool:
        """Return whether this installation runs its own embedded PostGIS cluster."""
        return self.database_url is None


@cache
def get_settings() -> Settings:
    """Return the process-wide settings, validated on first use."""
    return Settings()


def session_settings(session: Session) -> Settings:
    """Return the settings the app put on an ORM session, else the process's own (the command line)."""
    settings = session.info.get("settings")
    return settings if isinstance(settings, Settings) else get_settings()


def sqlalchemy_url(url: str) -> str:
    """Return a libpq-style URL with the psycopg 3 driver named, as SQLAlchemy wants it."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url.split('@')[-1]}")


def libpq_url(url: str) -> str:
    """Return a plain postgresql:// URL (for psycopg and command-line tools)."""
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url
