"""Settings of a Land Window installation, read once from LANDWINDOW_* environment variables (or .env)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.orm import Session

from service.core.profile import CountyProfile, load_profile


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
    replica_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Streaming replicas of the database (postgresql://…, comma-separated) for read-only work: tiles, "
        "TileJSON, the public map, planner views and statistics.",
    )
    replica_check_seconds: float = Field(
        default=5.0, gt=0, le=300, description="how often each replica's reachability and replay lag are checked"
    )
    replica_max_lag_seconds: float = Field(
        default=30.0,
        gt=0,
        description="a replica that has not replayed what the primary wrote this long ago is not read from",
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64, description="server processes of `landwindow serve`")
    access_log: bool = Field(default=True, description="log every request (personal data masked)")
    static_url: str = "/static"

    basemap: Literal["none", "xyz", "tianditu"] = "none"
    basemap_url: str | None = Field(default=None, description="XYZ template when basemap=xyz.")
    basemap_attribution: str = ""
    tianditu_key: str | None = None

    secret_key: str | None = Field(
        default=None, description="Signs sessions and tokens; generated into the data folder when unset."
    )
    token_minutes: int = Field(default=480, ge=5, description="Lifetime of a login (one working day).")

    county_profile: Path | None = Field(
        default=None,
        description="The county profile (TOML): name, codes, extent, offices, document numbers, filing level; "
        "unset: the shipped Xian'an profile.",
    )
    province: str = Field(
        default="湖北", description="Overrides the profile's province (selects the homestead caps); normally unset."
    )

    hsts_max_age: int = Field(
        default=0,
        ge=0,
        description="Strict-Transport-Security max-age in seconds; set only when served behind TLS (0: off).",
    )
    login_failures_per_user_and_ip: int = Field(
        default=5, ge=1, description="failed logins of one username from one client address within the window"
    )
    login_failures_per_ip: int = Field(
        default=20, ge=1, description="failed logins per client address within the window"
    )
    login_failures_per_user: int = Field(
        default=50, ge=1, description="failed logins of one username from every address together within the window"
    )
    query_code_failures_per_case_and_ip: int = Field(
        default=10, ge=1, description="wrong query codes for one case number from one client address"
    )
    query_code_failures_per_ip: int = Field(
        default=30, ge=1, description="wrong case numbers or codes per client address"
    )
    query_code_failures_per_case: int = Field(
        default=100, ge=1, description="wrong query codes for one case number from every address together"
    )
    failure_window_seconds: int = Field(default=900, ge=1, description="the window the failures above are counted in")

    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024, description="Largest boundary upload.")
    max_form_bytes: int = Field(
        default=256 * 1024, ge=1024, description="Largest JSON body or form of a staff route without a file."
    )
    max_anonymous_bytes: int = Field(
        default=16 * 1024, ge=1024, description="Largest body of a route anyone may call (login, portal, token)."
    )
    db_wait_seconds: float = Field(
        default=5.0, gt=0, le=60, description="How long a request waits for a database connection before a 503."
    )

    online_applications_per_ip: int = Field(
        default=10, ge=1, description="applications one client address may send online within the online window"
    )
    online_checks_per_ip: int = Field(
        default=60, ge=1, description="one-map pre-checks (and supplements) one client address may ask within it"
    )
    online_responses_per_ip: int = Field(
        default=10, ge=1, description="objections and hearing requests one client address may send within it"
    )
    online_window_seconds: int = Field(default=3600, ge=1, description="the window the online limits are counted in")

    sms_gateway_url: str | None = Field(
        default=None, description="The SMS gateway's HTTP API (POST JSON); unset: messages are written to the log."
    )
    sms_gateway_token: str | None = Field(default=None, description="Sent to the gateway as a bearer token.")
    sms_sign: str | None = Field(default=None, description="The messages' signature; unset: the profile's bureau.")
    sms_timeout_seconds: float = Field(default=10.0, gt=0, le=120, description="How long one send may take.")
    notify_worker: bool = Field(
        default=False,
        description="Send the outbox from the server process every notify_interval_seconds (`landwindow serve` turns "
        "it on unless --no-notify); else run `landwindow notify send` (cron).",
    )
    notify_interval_seconds: float = Field(default=30.0, ge=1, le=3600, description="How often the worker sends.")

    tile_feature_limit: int = Field(default=20000, ge=100)
    tile_max_age: int = Field(default=3600, ge=0)
    tile_cache_mb: int = Field(default=256, ge=0, description="rendered tiles kept in memory (0: none)")

    filing_key_file: Path | None = Field(
        default=None,
        description="This instance's Ed25519 private key (PEM) that signs filing packages and receipts; "
        "default <data dir>/filing/ed25519.pem (landwindow filing keygen).",
    )
    filing_registry: Path | None = Field(
        default=None,
        description="The filing chain's key registry (TOML): every instance's name, level and public key; "
        "default <data dir>/filing/registry.toml.",
    )
    instance_level: Literal["county", "city", "province", "ministry"] = Field(
        default="county",
        description="Overrides the profile's [instance] level in the filing chain; normally unset.",
    )
    instance_name: str = Field(
        default="Land Window", min_length=1, description="Overrides the profile's [instance] name; normally unset."
    )
    _profile: CountyProfile = PrivateAttr()
    _overrides: dict[str, str] = PrivateAttr(default_factory=dict)

    @field_validator("database_url")
    @classmethod
    def _blank_is_none(cls, v: str | None) -> str | None:
        return v or None

    @field_validator("replica_urls", mode="before")
    @classmethod
    def _split_urls(cls, v: object) -> object:
        if isinstance(v, str):
            return [u.strip() for u in v.split(",") if u.strip()]
        return v

    @field_validator("replica_urls")
    @classmethod
    def _postgres_urls(cls, v: list[str]) -> list[str]:
        for i, url in enumerate(v, 1):
            if not url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
                raise ValueError(
                    f"第 {i} 个只读副本地址不是 PostgreSQL 地址 / replica URL {i} is not a postgresql:// URL "
                    f"({url.split('@')[-1]})"
                )
        return [libpq_url(u) for u in v]

    @model_validator(mode="after")
    def _county(self) -> Settings:
        # the profile is validated here, once: a wrong key stops start-up with a message naming it
        profile = load_profile(self.county_profile)
        self._profile = profile
        given = set(self.model_fields_set)
        envs = {
            "province": "LANDWINDOW_PROVINCE",
            "instance_level": "LANDWINDOW_INSTANCE_LEVEL",
            "instance_name": "LANDWINDOW_INSTANCE_NAME",
        }
        self._overrides = {env: str(getattr(self, f)) for f, env in envs.items() if f in given}
        if "province" not in given:
            self.province = profile.province
        if "instance_level" not in given:
            self.instance_level = profile.instance.level
        if "instance_name" not in given:
            self.instance_name = profile.instance_name
        return self

    @property
    def profile(self) -> CountyProfile:
        """Return the county profile in force."""
        return self._profile

    def overrides(self) -> dict[str, str]:
        """Return the settings given in the environment (or arguments) that replace a profile value."""
        return dict(self._overrides)

    @property
    def filing_dir(self) -> Path:
        """Return where this instance keeps its filing key and registry by default."""
        return Path(self.data_dir).expanduser() / "filing"

    @property
    def embedded(self) -> bool:
        """Return whether this installation runs its own embedded PostGIS cluster."""
        return self.database_url is None


def settings_errors(exc: ValidationError) -> str:
    """Return why the settings (or the county profile they load) are refused, one line per wrong key."""
    lines = ["配置有误，系统未启动 / the configuration has errors; nothing was started:"]
    for e in exc.errors():
        message = str(e["msg"]).removeprefix("Value error, ")
        where = ".".join(str(p) for p in e["loc"])
        lines.append(f"  LANDWINDOW_{where.upper()}: {message}" if where else message)
    return "\n".join(lines)


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
