import geopandas as gpd
import psycopg
import pytest
from shapely.geometry import box
from typer.testing import CliRunner

from service.cli import app
from service.settings import get_settings

runner = CliRunner()


@pytest.fixture
def external_db(db_url, monkeypatch):
    monkeypatch.setenv("LANDWINDOW_DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield db_url
    get_settings.cache_clear()


def test_db_url_honours_the_environment(external_db):
    r = runner.invoke(app, ["db", "url"])
    assert r.exit_code == 0
    assert r.stdout.strip() == external_db


def test_db_start_refuses_with_an_external_database(external_db):
    r = runner.invoke(app, ["db", "start"])
    assert r.exit_code == 2
    assert "external database" in r.output


def test_import_command_loads_and_reports(external_db, tmp_path):
    gdf = gpd.GeoDataFrame(
        {"XZQMC": ["温泉街道", "浮山街道"], "XZQDM": ["421202001", "421202002"]},
        geometry=[box(38530000, 3303000, 38531000, 3304000), box(38531000, 3303000, 38532000, 3304000)],
        crs=4526,
    )
    path = tmp_path / "towns.geojson"
    gdf.to_file(path)
    r = runner.invoke(app, ["import", "townships", str(path), "--replace"])
    assert r.exit_code == 0, r.output
    assert "townships version 1: 2 features loaded" in r.stdout
    with psycopg.connect(external_db) as conn:
        assert conn.execute("SELECT array_agg(name ORDER BY code) FROM townships").fetchone()[0] == ["温泉街道", "浮山街道"]
    r = runner.invoke(app, ["layers"])
    assert r.exit_code == 0 and "townships" in r.stdout


def test_import_errors_exit_2_with_a_message(external_db, tmp_path):
    r = runner.invoke(app, ["import", "roads", str(tmp_path / "x.gpkg")])
    assert r.exit_code == 2
    assert "unknown layer 'roads'" in r.output
    r = runner.invoke(app, ["import", "parcels", str(tmp_path / "missing.gpkg")])
    assert r.exit_code == 2
    assert "file not found" in r.output


def test_help_is_readable():
    r = runner.invoke(app, ["--help"])
    assert r.exit_code == 0
    for cmd in ("db", "migrate", "import", "load-sample", "serve"):
        assert cmd in r.stdout
    r = runner.invoke(app, ["db", "--help"])
    for cmd in ("start", "stop", "status", "url"):
        assert cmd in r.stdout
