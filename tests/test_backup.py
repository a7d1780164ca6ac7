"""`landwindow backup` / `restore`: a pg_dump archive of cases and layers restored into a fresh database is identical."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gis.boundary import county_extent
from service.access.auth import Principal
from service.cases.boundaries import boundary_from_geojson
from service.cases.intake import Intake, create_case
from service.cli.app import app
from service.core.db import make_engine
from tests.support.onemap import b, load_one_map, lonlat

runner = CliRunner()
LAYERS = ("basic_farmland", "eco_redline", "landuse", "parcels", "village_boundary", "urban_boundary", "mining_rights")


def _take_in(db_url: str, n: int) -> None:
    from shapely.geometry import mapping

    engine = make_engine(db_url, pool_size=1)
    with Session(engine) as session:
        clerk_id = session.execute(text("SELECT id FROM users WHERE username = 'clerk'")).scalar_one()
        clerk = Principal(clerk_id, "clerk", "clerk")
        for i in range(n):
            geom = b(40 + i, 240, 52 + i, 252)
            feature = {"type": "Feature", "properties": {}, "geometry": mapping(lonlat(geom))}
            create_case(
                session,
                clerk,
                Intake(
                    kind="homestead",
                    applicant_name=f"申请人{i}",
                    phone="13800138000",
                    village="张家村",
                    household_id=f"HH{i + 10}",
                    materials_received=["application_form", "id_card"],
                    idempotency_key=f"backup-{i}",
                ),
                boundary_from_geojson(feature, county_extent()),
            )
        session.commit()
    engine.dispose()


def said(r) -> str:
    """Return the command's output with rich's line wrapping undone."""
    return " ".join(r.output.split())


def fingerprint(url: str) -> dict[str, tuple[int, str]]:
    """Return {table: (rows, md5 of every row's text, ordered)} for every user table."""
    out = {}
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'spatial_ref_sys' ORDER BY 1"
        ).fetchall()
        for (t,) in tables:
            q = sql.SQL("SELECT count(*), coalesce(md5(string_agg(r::text, E'\\n' ORDER BY r::text)), '') FROM {} r")
            n, digest = conn.execute(q.format(sql.Identifier(t))).fetchone()
            out[t] = (n, digest)
    return out


def layer_figures(url: str) -> dict[str, tuple[int, float]]:
    """Return {layer: (rows, summed area in m² in zone 38)}."""
    with psycopg.connect(url) as conn:
        return {
            name: tuple(
                conn.execute(
                    sql.SQL("SELECT count(*), coalesce(sum(ST_Area(ST_Transform(geom, 4526))), 0) FROM {}").format(
                        sql.Identifier(name)
                    )
                ).fetchone()
            )
            for name in LAYERS
        }


def case_checksums(url: str) -> list[tuple[str, str]]:
    """Return (case number, md5 of the case row's text) for every case, ordered."""
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT case_no, md5(c::text) FROM cases c ORDER BY case_no").fetchall()


@pytest.fixture
def fresh_db(pg_cluster):
    """Yield the URL of a database that does not exist yet; dropped afterwards."""
    name = f"lw_restore_{uuid.uuid4().hex[:8]}"
    yield pg_cluster.url(name)
    with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def test_backup_and_restore_into_a_fresh_database(cli_db, conn, staff, load_layer, tmp_path, fresh_db):
    load_one_map(load_layer)
    _take_in(cli_db, 5)
    archive = tmp_path / "lw.dump"

    r = runner.invoke(app, ["backup", "--out", str(archive)])
    assert r.exit_code == 0, r.output
    assert archive.stat().st_size > 10_000 and not archive.with_name("lw.dump.part").exists()
    assert "backup written" in r.stdout

    r = runner.invoke(app, ["restore", str(archive), "--into", fresh_db])
    assert r.exit_code == 0, r.output

    before, after = fingerprint(cli_db), fingerprint(fresh_db)
    assert before["cases"][0] == 5 and before["audit_log"][0] >= 10 and before["check_runs"][0] == 5
    assert after == before
    assert case_checksums(fresh_db) == case_checksums(cli_db)
    figures = layer_figures(fresh_db)
    assert figures == layer_figures(cli_db)
    assert figures["parcels"][0] == 3 and figures["basic_farmland"][1] == pytest.approx(10_000, abs=0.5)
    with psycopg.connect(fresh_db) as c:
        # the restored database works: PostGIS, the append-only audit trigger, the case numbering
        assert c.execute("SELECT ST_Area(ST_Transform(geom, 4526)) FROM cases ORDER BY id LIMIT 1").fetchone()[0] > 100
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute("DELETE FROM audit_log")


def test_restore_refuses_a_non_empty_database_without_force(cli_db, conn, staff, load_layer, tmp_path, fresh_db):
    load_one_map(load_layer)
    _take_in(cli_db, 2)
    archive = tmp_path / "a.dump"
    assert runner.invoke(app, ["backup", "--out", str(archive)]).exit_code == 0
    assert runner.invoke(app, ["restore", str(archive), "--into", fresh_db]).exit_code == 0
    with psycopg.connect(fresh_db) as c:
        c.execute("UPDATE cases SET applicant_name = '改过' WHERE case_no LIKE '%000001'")
        c.commit()

    r = runner.invoke(app, ["restore", str(archive), "--into", fresh_db])
    assert r.exit_code == 2
    assert "不是空的" in said(r) and "is not empty" in said(r) and "--force" in said(r)
    assert "改过" in {row[0] for row in psycopg.connect(fresh_db).execute("SELECT applicant_name FROM cases")}

    r = runner.invoke(app, ["restore", str(archive), "--into", fresh_db, "--force"])
    assert r.exit_code == 0, r.output
    assert fingerprint(fresh_db) == fingerprint(cli_db)


def test_restore_of_a_missing_or_bad_file_is_a_clear_error(cli_db, tmp_path, fresh_db):
    r = runner.invoke(app, ["restore", str(tmp_path / "nothing.dump"), "--into", fresh_db])
    assert r.exit_code == 2 and "备份文件不存在" in said(r) and "does not exist" in said(r)
    bad = tmp_path / "bad.dump"
    bad.write_text("not an archive")
    r = runner.invoke(app, ["restore", str(bad), "--into", fresh_db])
    assert r.exit_code == 2 and "不是有效的备份文件" in said(r) and "not a pg_dump custom-format archive" in said(r)
