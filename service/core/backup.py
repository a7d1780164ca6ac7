"""Logical backup and restore of the whole database (cases, audit log, layers) with pg_dump / pg_restore.

The embedded cluster runs with ``wal_level = minimal``, so there is no WAL archive to replay: a backup is a
``pg_dump -Fc`` archive, and a restore goes into a fresh or emptied database in one transaction.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import conninfo, sql


class BackupError(RuntimeError):
    """A backup or restore cannot be made; the message says why and what to do (中文 / English)."""


# Objects in these schemas come with the server or with extensions; they do not make a database "non-empty".
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")

_USER_OBJECTS = """
SELECT n.nspname || '.' || c.relname
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
   AND n.nspname NOT LIKE 'pg_temp%%' AND n.nspname NOT LIKE 'pg_toast_temp%%'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
 ORDER BY 1
"""


@dataclass
class Summary:
    """What a database holds: row counts per table and layer versions, for the report after a backup/restore."""

    tables: dict[str, int] = field(default_factory=dict)
    layers: dict[str, tuple[int, int]] = field(default_factory=dict)
    schema_revision: str | None = None

    @property
    def cases(self) -> int:
        """Return the number of cases."""
        return self.tables.get("public.cases", 0)


@dataclass
class Result:
    """The outcome of a backup or a restore."""

    path: Path
    bytes: int
    seconds: float
    summary: Summary


def _split_url(url: str) -> tuple[str, dict[str, str]]:
    """Return (a conninfo string without the password, an environment carrying it) for a client program."""
    params = conninfo.conninfo_to_dict(url)
    env = {**os.environ}
    password = params.pop("password", None)
    if password:
        env["PGPASSWORD"] = str(password)
    params.setdefault("application_name", "landwindow-backup")
    return conninfo.make_conninfo(**{k: str(v) for k, v in params.items() if v is not None}), env


def _db_name(url: str) -> str:
    return str(conninfo.conninfo_to_dict(url).get("dbname") or "")


def _tool_major(path: Path) -> int | None:
    proc = subprocess.run([str(path), "--version"], capture_output=True, text=True)
    m = re.search(r"(\d+)(?:\.\d+)?", proc.stdout)
    return int(m.group(1)) if proc.returncode == 0 and m else None


def client_tool(name: str, server_major: int) -> Path:
    """Return pg_dump/pg_restore of the server's major version (or the nearest newer one, which can read it)."""
    candidates: list[Path] = []
    override = os.environ.get("LANDWINDOW_PG_BINDIR")
    if override:
        candidates.append(Path(override) / name)
    # Debian installs each major version side by side under /usr/lib/postgresql/<major>/bin
    versioned = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    exact = [Path(p) / name for p in versioned if int(Path(p).parent.name) == server_major]
    newer = [Path(p) / name for p in versioned if int(Path(p).parent.name) > server_major]
    candidates += exact + newer
    found = shutil.which(name)
    if found:
        candidates.append(Path(found))
    for c in candidates:
        if c.exists():
            major = _tool_major(c)
            if major is not None and major >= server_major:
                return c
    raise BackupError(
        f"找不到与服务器版本 {server_major} 匹配的 {name} / no {name} of PostgreSQL {server_major} or newer found. "
        f"Install the client: sudo apt-get install postgresql-client-{server_major} (or set LANDWINDOW_PG_BINDIR)"
    )


def _connect(url: str) -> psycopg.Connection:
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise BackupError(f"无法连接数据库 / cannot connect to the database {_db_name(url)!r}: {exc}") from exc


def _server_major(conn: psycopg.Connection) -> int:
    return conn.info.server_version // 10000


def user_objects(conn: psycopg.Connection) -> list[str]:
    """Return the tables, views and sequences of a database that no extension owns (empty = a fresh database)."""
    return [str(r[0]) for r in conn.execute(_USER_OBJECTS)]


def summarise(conn: psycopg.Connection) -> Summary:
    """Return row counts of every user table, the layer versions and the schema revision."""
    s = Summary()
    tables = conn.execute(
        """
        SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
           AND n.nspname NOT LIKE 'pg_temp%%'
           AND NOT EXISTS (SELECT 1 FROM pg_depend d
                            WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
         ORDER BY 1, 2
        """
    ).fetchall()
    for schema, name in tables:
        row = conn.execute(
            sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(name))
        ).fetchone()
        s.tables[f"{schema}.{name}"] = int(row[0]) if row else 0
    if "public.layer_versions" in s.tables:
        for layer, version, count in conn.execute(
            "SELECT layer, version, feature_count FROM layer_versions ORDER BY layer"
        ):
            s.layers[str(layer)] = (int(version), int(count))
    if "public.alembic_version" in s.tables:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        s.schema_revision = str(row[0]) if row else None
    return s


def backup(url: str, out: Path) -> Result:
    """Write a custom-format pg_dump archive of the whole database to `out` (atomically: a .part file renamed)."""
    started = time.perf_counter()
    with _connect(url) as conn:
        tool = client_tool("pg_dump", _server_major(conn))
        summary = summarise(conn)
    out = out.expanduser().resolve()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"无法创建备份目录 / cannot create the backup folder {out.parent}: {exc}") from exc
    if out.is_dir():
        raise BackupError(f"{out} 是目录 / {out} is a folder; give a file name")
    part = out.with_name(out.name + ".part")
    dsn, env = _split_url(url)
    proc = subprocess.run(
        [str(tool), "--format=custom", "--compress=6", "--no-password", f"--file={part}", f"--dbname={dsn}"],
        capture_output=True,
        text=True,
        env=env,
    )
    if proc.returncode != 0:
        part.unlink(missing_ok=True)
        raise BackupError(f"pg_dump 失败 / pg_dump failed ({proc.returncode}): {proc.stderr.strip()}")
    os.replace(part, out)
    return Result(out, out.stat().st_size, time.perf_counter() - started, summary)


def _ensure_database(url: str) -> None:
    """Create the target database if it does not exist (connecting to the server's `postgres` database)."""
    name = _db_name(url)
    try:
        psycopg.connect(url, connect_timeout=10).close()
        return
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise BackupError(f"无法连接数据库 / cannot connect to the database {name!r}: {exc}") from exc
    params = conninfo.conninfo_to_dict(url)
    params["dbname"] = "postgres"
    with _connect(conninfo.make_conninfo(**{k: str(v) for k, v in params.items() if v is not None})) as conn:
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as exc:
            raise BackupError(f"无法创建数据库 {name} / cannot create the database {name!r}: {exc}") from exc


def _empty(conn: psycopg.Connection) -> None:
    """Drop every user schema (cascading to tables, functions and extensions in them) and recreate `public`."""
    with conn.transaction():
        schemas = [
            str(r[0])
            for r in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') "
                "AND nspname NOT LIKE 'pg_temp%%' AND nspname NOT LIKE 'pg_toast_temp%%'"
            )
        ]
        for s in schemas:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(s)))
        for (ext,) in conn.execute("SELECT extname FROM pg_extension WHERE extname <> 'plpgsql'").fetchall():
            conn.execute(sql.SQL("DROP EXTENSION IF EXISTS {} CASCADE").format(sql.Identifier(str(ext))))
        conn.execute("CREATE SCHEMA public")
        conn.execute("GRANT USAGE ON SCHEMA public TO PUBLIC")


def _check_archive(path: Path, tool: Path) -> None:
    if not path.is_file():
        raise BackupError(f"备份文件不存在 / the backup file {path} does not exist")
    proc = subprocess.run([str(tool), "--list", str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise BackupError(f"不是有效的备份文件 / {path} is not a pg_dump custom-format archive: {proc.stderr.strip()}")


def restore(path: Path, url: str, force: bool = False) -> Result:
    """Restore an archive into the database at `url` in one transaction; refuse a non-empty one unless forced."""
    started = time.perf_counter()
    path = path.expanduser().resolve()
    if not path.is_file():
        raise BackupError(f"备份文件不存在 / the backup file {path} does not exist")
    _ensure_database(url)
    name = _db_name(url)
    with _connect(url) as conn:
        tool = client_tool("pg_restore", _server_major(conn))
        _check_archive(path, tool)
        existing = user_objects(conn)
        if existing:
            if not force:
                shown = ", ".join(existing[:8]) + (" …" if len(existing) > 8 else "")
                raise BackupError(
                    f"目标数据库 {name} 不是空的（{len(existing)} 个对象），未做任何修改；如确需覆盖请加 --force / "
                    f"the target database {name!r} is not empty ({len(existing)} objects: {shown}); nothing was "
                    "changed. Restore into a fresh database (--into), or add --force to delete everything in it first"
                )
            others = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchone()
            if others and others[0]:
                raise BackupError(
                    f"数据库 {name} 仍有 {others[0]} 个其他连接，请先停止服务 / the database {name!r} has {others[0]} "
                    "other connections: stop `landwindow serve` (and other clients) before restoring over it"
                )
            _empty(conn)
    dsn, env = _split_url(url)
    # --no-owner/--no-acl: objects belong to the restoring role, so an archive moves between servers whose
    # role names differ; --single-transaction: a failed restore leaves the (fresh or emptied) database as it was.
    proc = subprocess.run(
        [
            str(tool),
            "--no-owner",
            "--no-acl",
            "--single-transaction",
            "--exit-on-error",
            "--no-password",
            f"--dbname={dsn}",
            str(path),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    if proc.returncode != 0:
        raise BackupError(
            f"恢复失败，目标数据库未改变{'（已清空）' if force else ''} / the restore failed and was rolled back"
            f"{' (the database had been emptied by --force)' if force else ''}: {proc.stderr.strip()}"
        )
    with _connect(url) as conn:
        conn.execute("ANALYZE")  # pg_restore leaves the planner without statistics
        summary = summarise(conn)
    return Result(path, path.stat().st_size, time.perf_counter() - started, summary)
