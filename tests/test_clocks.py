"""A case's clocks in the service: stored deadlines, the provisional year and its recomputation, step budgets.

The working-day arithmetic itself is tested in tests/test_calendar.py and tests/test_deadlines.py.
"""

from datetime import datetime
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from service.cli.app import app as cli
from service.clocks.calendar import LOCAL_TZ, WorkingCalendar
from service.core.settings import get_settings
from tests.support.api import Api
from web.app import create_app

FIXTURE_2027 = Path(__file__).resolve().parent / "data" / "calendar" / "2027.toml"


def test_loading_a_year_file_recomputes_open_cases(make_settings, db_url, conn, staff, tmp_path, monkeypatch):
    monkeypatch.setenv("LANDWINDOW_DATABASE_URL", db_url)
    monkeypatch.setenv("LANDWINDOW_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        with TestClient(create_app(make_settings())) as c:
            api = Api(c, staff)
            case = api.post(
                "/api/v1/cases",
                json={"kind": "requisition", "applicant_name": "咸安区人民政府", "applicant_type": "unit"},
            ).json()
        # a case received on 20 December 2026 runs into 2027, whose holidays no package knows yet
        conn.execute("UPDATE cases SET received_at = '2026-12-20 10:00+08' WHERE id = %s", (case["id"],))
        conn.commit()
        assert CliRunner().invoke(cli, ["calendar", "recompute"]).exit_code == 0
        received = datetime(2026, 12, 20, 10, 0, tzinfo=LOCAL_TZ)
        row = conn.execute(
            "SELECT statutory_due, deadline_provisional, deadline_note FROM cases WHERE id = %s", (case["id"],)
        ).fetchone()
        assert row[0] == WorkingCalendar().add_working_days(received, 45).due
        assert row[1] is True and "2027" in row[2]
        r = CliRunner().invoke(cli, ["calendar", "load", str(FIXTURE_2027)])
        assert r.exit_code == 0, r.output
        assert "2027 holiday schedule loaded; deadlines of 1 open cases recomputed" in r.stdout
        after = conn.execute(
            "SELECT statutory_due, deadline_provisional, deadline_note FROM cases WHERE id = %s", (case["id"],)
        ).fetchone()
        with_2027 = WorkingCalendar(extra_dirs=[tmp_path / "calendar"])
        assert after[1] is False and after[2] is None
        assert after[0] == with_2027.add_working_days(received, 45).due != row[0]
        assert (tmp_path / "calendar" / "2027.toml").exists()
        assert conn.execute("SELECT count(*) FROM audit_log WHERE action = 'deadline.recompute'").fetchone()[0] == 2
        bad = tmp_path / "2028.toml"
        bad.write_text(
            "year = 2028\nholidays = [{ name = 'x', from = 2029-01-01, to = 2029-01-02 }]\n", encoding="utf-8"
        )
        r = CliRunner().invoke(cli, ["calendar", "load", str(bad)])
        assert r.exit_code == 2 and "2028.toml" in r.output
    finally:
        get_settings.cache_clear()
