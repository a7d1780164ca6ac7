import tempfile
from pathlib import Path

import psycopg
import pytest

from service.core import cluster as cluster_mod
from service.core.cluster import ClusterError, EmbeddedCluster
from service.core.settings import Settings


@pytest.fixture
def own_cluster(pg_cluster):
    root = Path(tempfile.mkdtemp(prefix="landwindow-own-", dir="/tmp"))
    root.chmod(0o755)
    c = EmbeddedCluster(root=root, port=pg_cluster.port + 10, db_name="restart_check")
    yield c
    c.destroy()


def test_cluster_starts_stops_and_restarts_with_data_kept(own_cluster):
    c = own_cluster
    assert not c.initialised
    c.start()
    assert c.running()
    assert c.status()["running"] is True
    with psycopg.connect(c.url()) as conn:
        conn.execute("CREATE TABLE kept (v text)")
        conn.execute("INSERT INTO kept VALUES ('宅基地')")
        assert conn.execute("SELECT postgis_lib_version()").fetchone()[0].startswith("3.")
    assert c.stop() is True
    assert not c.running()
    assert c.stop() is False
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(c.url(), connect_timeout=2)
    c.start()
    with psycopg.connect(c.url()) as conn:
        assert conn.execute("SELECT v FROM kept").fetchall() == [("宅基地",)]


def test_cluster_binds_loopback_and_uses_password(own_cluster):
    own_cluster.start()
    url = own_cluster.url()
    assert "@127.0.0.1:" in url
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(url.replace(own_cluster.password(), "wrong"), connect_timeout=2)
    with psycopg.connect(url) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"
    assert oct(own_cluster.password_file.stat().st_mode & 0o777) == "0o600"


def test_start_refuses_a_busy_port(own_cluster, pg_cluster):
    own_cluster.port = pg_cluster.port
    with pytest.raises(ClusterError, match=f"port {pg_cluster.port}"):
        own_cluster.start()


def test_missing_binaries_name_the_debian_package(monkeypatch):
    monkeypatch.delenv("LANDWINDOW_PG_BINDIR", raising=False)
    monkeypatch.setattr(cluster_mod.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(cluster_mod.shutil, "which", lambda name: None)
    with pytest.raises(ClusterError, match="apt-get install postgresql-15 postgresql-15-postgis-3"):
        EmbeddedCluster(root=Path("/tmp/nowhere"), port=1).check_binaries()


def test_url_before_creation_says_to_start(tmp_path):
    c = EmbeddedCluster(root=tmp_path / "none", port=25999)
    with pytest.raises(ClusterError, match="landwindow db start"):
        c.url()


def test_unreachable_default_data_dir_falls_back_under_root(tmp_path, monkeypatch):
    private = tmp_path / "home"
    private.mkdir(mode=0o700)
    monkeypatch.setattr(EmbeddedCluster, "as_root", property(lambda self: True))
    monkeypatch.setattr(EmbeddedCluster, "_reachable", lambda self, p: False)
    s = Settings(_env_file=None)
    monkeypatch.chdir(private)
    c = EmbeddedCluster.from_settings(s)
    assert str(c.root).startswith("/var/lib/landwindow/")
    explicit = Settings(_env_file=None, data_dir=private / "data")
    with pytest.raises(ClusterError, match="LANDWINDOW_DATA_DIR"):
        EmbeddedCluster.from_settings(explicit)
