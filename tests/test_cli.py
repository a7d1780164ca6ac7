import geopandas as gpd
import psycopg
from shapely.geometry import box
from typer.testing import CliRunner

from service.cli.app import app

runner = CliRunner()


def test_db_url_honours_the_environment(cli_db):
    r = runner.invoke(app, ["db", "url"])
    assert r.exit_code == 0
    assert r.stdout.strip() == cli_db


def test_db_start_refuses_with_an_external_database(cli_db):
    r = runner.invoke(app, ["db", "start"])
    assert r.exit_code == 2
    assert "external database" in r.output


def test_import_command_loads_and_reports(cli_db, tmp_path):
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
    with psycopg.connect(cli_db) as conn:
        assert conn.execute("SELECT array_agg(name ORDER BY code) FROM townships").fetchone()[0] == [
            "温泉街道",
            "浮山街道",
        ]
    r = runner.invoke(app, ["layers"])
    assert r.exit_code == 0 and "townships" in r.stdout


def test_import_errors_exit_2_with_a_message(cli_db, tmp_path):
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


def test_boundary_command_is_registered():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    r = runner.invoke(app, ["boundary", str(root / "sample_parcels" / "applications" / "homestead_clean.txt")])
    assert r.exit_code == 0 and '"area_m2": 150.0' in r.stdout
    r = runner.invoke(app, ["boundary", str(root / "tests" / "data" / "bad_boundaries" / "08_not_closed.txt")])
    assert r.exit_code == 2 and "line 11" in r.output
