"""The embedded PostGIS cluster: a private PostgreSQL server under the data folder, bound to 127.0.0.1."""

from __future__ import annotations

import glob
import hashlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from service.core.settings import Settings

SUPERUSER = "landwindow"
SERVER_PACKAGE = "postgresql-15"
POSTGIS_PACKAGE = "postgresql-15-postgis-3"

# Server settings for a machine that also runs the web app; overridable in pgdata/postgresql.auto.conf.
SERVER_CONF = """
# --- Land Window embedded cluster ---
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
shared_buffers = 512MB
work_mem = 32MB
maintenance_work_mem = 512MB
effective_cache_size = 4GB
max_wal_size = 4GB
jit = off
max_connections = 200
# A single embedded server with no replicas: with minimal WAL, a layer replaced in one transaction (TRUNCATE, then
# COPY) is written once, not twice. Backups are logical (pg_dump). A deployment with replicas uses its own server.
wal_level = minimal
max_wal_senders = 0
"""


class ClusterError(RuntimeError):
    """The embedded cluster cannot be set up or started; the message says what to do."""


def _find_bindir() -> Path:
    override = os.environ.get("LANDWINDOW_PG_BINDIR")
    candidates = [override] if override else []
    # Debian installs each major version side by side; prefer the newest.
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True)
    for c in candidates:
        if c and (Path(c) / "initdb").exists() and (Path(c) / "pg_ctl").exists():
            return Path(c)
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise ClusterError(
        "找不到 PostgreSQL 服务器程序 / PostgreSQL server binaries (initdb, pg_ctl) not found. "
        f"Install the Debian package: sudo apt-get install {SERVER_PACKAGE} {POSTGIS_PACKAGE}"
    )


@dataclass
class EmbeddedCluster:
    """A PostgreSQL + PostGIS cluster owned by this installation."""

    root: Path
    port: int
    db_name: str = "landwindow"
    system_user: str = "postgres"

    @classmethod
    def from_settings(cls, settings: Settings) -> EmbeddedCluster:
        """Build the cluster description from settings, choosing a data folder the server user can reach."""
        root = settings.data_dir.expanduser().resolve()
        cluster = cls(root=root, port=settings.db_port, db_name=settings.db_name, system_user=settings.db_system_user)
        if cluster.as_root and not cluster._reachable(root):
            if "data_dir" in settings.model_fields_set:
                raise ClusterError(
                    f"数据目录 {root} 对系统用户 {settings.db_system_user} 不可访问 / the data folder {root} is not "
                    f"reachable by the system user {settings.db_system_user!r} that runs the cluster under root "
                    "(a parent directory is not world-executable). Set LANDWINDOW_DATA_DIR to a folder it can reach, "
                    "e.g. /var/lib/landwindow."
                )
            # The default folder sits in a checkout the server user cannot enter (a 0700 home, say): keep the
            # cluster in a system folder instead, one per checkout.
            slug = hashlib.sha1(str(root).encode()).hexdigest()[:12]
            cluster.root = Path("/var/lib/landwindow") / slug
        return cluster

    # -- paths and identity -------------------------------------------------------------------------------------
    @property
    def pgdata(self) -> Path:
        """Return the PostgreSQL data directory."""
        return self.root / "pgdata"

    @property
    def logfile(self) -> Path:
        """Return the server log file."""
        return self.root / "log" / "postgresql.log"

    @property
    def password_file(self) -> Path:
        """Return the file holding the generated superuser password (mode 0600)."""
        return self.root / "superuser.password"

    @property
    def as_root(self) -> bool:
        """Return whether we run as root and must hand the server to an unprivileged user."""
        return os.geteuid() == 0

    def _server_user(self) -> pwd.struct_passwd:
        try:
            return pwd.getpwnam(self.system_user)
        except KeyError as exc:
            raise ClusterError(
                f"系统用户 {self.system_user} 不存在 / system user {self.system_user!r} does not exist; installing "
                f"{SERVER_PACKAGE} creates 'postgres', or set LANDWINDOW_DB_SYSTEM_USER"
            ) from exc

    def _reachable(self, path: Path) -> bool:
        """Return whether the server user can traverse every existing parent of path."""
        user = self._server_user()
        probe = path
        while not probe.exists():
            probe = probe.parent
        for p in [probe, *probe.parents]:
            st = p.stat()
            if st.st_uid == user.pw_uid:
                ok = bool(st.st_mode & 0o100)
            elif st.st_gid == user.pw_gid:
                ok = bool(st.st_mode & 0o010)
            else:
                ok = bool(st.st_mode & 0o001)
            if not ok:
                return False
        return True

    def _cmd(self, *args: str) -> list[str]:
        if self.as_root:
            return ["runuser", "-u", self.system_user, "--", *args]
        return list(args)

    def _run(
        self, *args: str, check: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        environ = {**os.environ, **env} if env else None
        proc = subprocess.run(self._cmd(*args), capture_output=True, text=True, cwd="/", env=environ)
        if check and proc.returncode != 0:
            raise ClusterError(f"{Path(args[0]).name} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout}")
        return proc

    def _chown(self, path: Path) -> None:
        if self.as_root:
            u = self._server_user()
            os.chown(path, u.pw_uid, u.pw_gid)

    # -- lifecycle ------------------------------------------------------------------------------------------------
    @property
    def initialised(self) -> bool:
        """Return whether the data directory has been created by initdb."""
        return (self.pgdata / "PG_VERSION").exists()

    def check_binaries(self) -> Path:
        """Return the PostgreSQL bin directory after checking that PostGIS is installed for it."""
        bindir = _find_bindir()
        version = bindir.parent.name
        control = Path(f"/usr/share/postgresql/{version}/extension/postgis.control")
        sharedir = subprocess.run([str(bindir / "pg_config"), "--sharedir"], capture_output=True, text=True)
        if sharedir.returncode == 0 and sharedir.stdout.strip():
            control = Path(sharedir.stdout.strip()) / "extension" / "postgis.control"
        if not control.exists():
            raise ClusterError(
                f"PostgreSQL {version} 未安装 PostGIS / PostGIS is not installed for PostgreSQL {version}. "
                f"Install the Debian package: sudo apt-get install postgresql-{version}-postgis-3"
            )
        return bindir

    def init(self) -> None:
        """Create the cluster with initdb (scram-sha-256, a generated password) if it does not exist yet."""
        if self.initialised:
            return
        bindir = self.check_binaries()
        self.root.mkdir(parents=True, exist_ok=True)
        if self.as_root:
            self.root.chmod(0o755)
        for d in (self.pgdata, self.logfile.parent):
            d.mkdir(parents=True, exist_ok=True)
            self._chown(d)
        self.pgdata.chmod(0o700)
        password = secrets.token_urlsafe(24)
        self.password_file.write_text(password + "\n")
        self.password_file.chmod(0o600)
        initdb_pw = self.logfile.parent / ".initdb-password"
        initdb_pw.write_text(password + "\n")
        initdb_pw.chmod(0o600)
        self._chown(initdb_pw)
        try:
            self._run(
                str(bindir / "initdb"),
                "-D",
                str(self.pgdata),
                "-U",
                SUPERUSER,
                f"--pwfile={initdb_pw}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-instructions",
            )
        finally:
            initdb_pw.unlink(missing_ok=True)
        with (self.pgdata / "postgresql.conf").open("a") as f:
            f.write(SERVER_CONF)

    def running(self) -> bool:
        """Return whether the server of this data directory is running."""
        if not self.initialised:
            return False
        bindir = _find_bindir()
        return self._run(str(bindir / "pg_ctl"), "-D", str(self.pgdata), "status", check=False).returncode == 0

    def start(self, extra_conf: dict[str, str] | None = None) -> None:
        """Initialise if needed, start the server, and create the database with PostGIS."""
        self.init()
        if not self.running():
            if not _port_free(self.port):
                raise ClusterError(
                    f"端口 {self.port} 已被占用 / port {self.port} on 127.0.0.1 is in use by another program; "
                    "set LANDWINDOW_DB_PORT to a free port"
                )
            bindir = _find_bindir()
            opts = f"-p {self.port}"
            for k, v in (extra_conf or {}).items():
                opts += f" -c {k}={v}"
            proc = self._run(
                str(bindir / "pg_ctl"),
                "-D",
                str(self.pgdata),
                "-l",
                str(self.logfile),
                "-w",
                "-t",
                "60",
                "-o",
                opts,
                "start",
                check=False,
            )
            if proc.returncode != 0:
                raise ClusterError(f"数据库启动失败 / the database did not start:\n{self._log_tail()}")
        if not self.standby:
            self.ensure_database()

    def stop(self) -> bool:
        """Stop the server (fast shutdown); return whether it was running."""
        if not self.running():
            return False
        bindir = _find_bindir()
        self._run(str(bindir / "pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w", "-t", "60", "stop")
        return True

    def destroy(self) -> None:
        """Stop the server and delete the cluster's files (used by tests)."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return f"(no log at {self.logfile})"

    # -- streaming replication -----------------------------------------------------------------------------------
    @property
    def standby(self) -> bool:
        """Return whether this cluster is a hot standby (it replays a primary's WAL and answers reads only)."""
        return (self.pgdata / "standby.signal").exists()

    def make_standby(self, root: Path, port: int) -> EmbeddedCluster:
        """Clone this running cluster into a streaming hot standby under `root` (pg_basebackup -R); not started.

        The primary must run with wal_level = replica and max_wal_senders > 0 (initdb's pg_hba.conf already lets
        the superuser connect for replication from 127.0.0.1). The standby gets the primary's password file and the
        settings a hot standby needs at least as high as its primary's.
        """
        bindir = self.check_binaries()
        standby = EmbeddedCluster(root=root, port=port, db_name=self.db_name, system_user=self.system_user)
        root.mkdir(parents=True, exist_ok=True)
        if self.as_root:
            root.chmod(0o755)
        for d in (standby.pgdata, standby.logfile.parent):
            d.mkdir(parents=True, exist_ok=True)
            self._chown(d)
        standby.pgdata.chmod(0o700)
        password = self.password()
        standby.password_file.write_text(password + "\n")
        standby.password_file.chmod(0o600)
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            names = ("wal_level", "max_wal_senders", "max_connections", "max_worker_processes")
            current = {n: str(conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(n))).fetchone()[0]) for n in names}  # type: ignore[index]
        if current["wal_level"] == "minimal" or current["max_wal_senders"] == "0":
            raise ClusterError(
                "主库未开启流复制 / the primary does not stream WAL: start it with wal_level = replica and "
                "max_wal_senders > 0"
            )
        conninfo = f"host=127.0.0.1 port={self.port} user={SUPERUSER} application_name=standby{port}"
        self._run(
            str(bindir / "pg_basebackup"),
            "--pgdata",
            str(standby.pgdata),
            "--dbname",
            conninfo,
            "--write-recovery-conf",
            "--checkpoint=fast",
            "--wal-method=stream",
            "--no-sync",
            env={"PGPASSWORD": password},  # not on the command line; -R writes it into primary_conninfo
        )
        # postgresql.conf came with the backup (wal_level = minimal, no WAL senders): a standby needs replica WAL
        # and at least its primary's limits, whatever the primary was started with on its command line
        with (standby.pgdata / "postgresql.conf").open("a") as f:
            f.write("# --- streaming hot standby ---\nhot_standby = on\n")
            f.writelines(f"{k} = '{v}'\n" for k, v in current.items())
        return standby

    # -- connection ---------------------------------------------------------------------------------------------
    def password(self) -> str:
        """Return the generated superuser password."""
        try:
            return self.password_file.read_text().strip()
        except FileNotFoundError as exc:
            raise ClusterError(
                f"嵌入式数据库尚未创建 / the embedded database has not been created yet ({self.root}); "
                "run `landwindow db start`"
            ) from exc

    def url(self, db_name: str | None = None) -> str:
        """Return the libpq URL of a database in this cluster."""
        return f"postgresql://{SUPERUSER}:{self.password()}@127.0.0.1:{self.port}/{db_name or self.db_name}"

    def ensure_database(self, db_name: str | None = None) -> None:
        """Create the database and the PostGIS extension in it if missing."""
        name = db_name or self.db_name
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        with psycopg.connect(self.url(name), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")

    def status(self) -> dict[str, object]:
        """Return a description of the cluster for `landwindow db status`."""
        return {
            "data_dir": str(self.root),
            "initialised": self.initialised,
            "running": self.running(),
            "port": self.port,
            "database": self.db_name,
            "runs_as": self.system_user if self.as_root else pwd.getpwuid(os.geteuid()).pw_name,
        }


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does: TIME_WAIT is no conflict
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
