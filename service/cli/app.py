"""The `landwindow` command: the database, layers, staff, checks, calendar, reports, filing and the server."""

from __future__ import annotations

import os
from typing import Annotated

import typer
import uvicorn
from pydantic import ValidationError

from service.access.auth import demo_passwords_in_use, is_loopback, secret_key
from service.cli import boundary, checks, database, layers, reports
from service.cli.calendar import calendar_app
from service.cli.common import fail, orm_session, running_database_url
from service.cli.filing import filing_app
from service.cli.notify import notify_app
from service.cli.profile import init, profile_app
from service.cli.quotas import quota_app
from service.cli.users import user_app
from service.core.settings import get_settings, settings_errors

app = typer.Typer(
    help="土地窗口 Land Window — 县级自然资源窗口系统 / county land-resources service window.\n\n"
    "Every command honours LANDWINDOW_DATABASE_URL; without it the embedded PostGIS under .landwindow/ is used.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    add_completion=False,
)


@app.callback()
def start() -> None:
    """Validate the settings and the county profile once, before any command: an error names the key and stops."""
    try:
        get_settings()
    except ValidationError as exc:
        fail(settings_errors(exc))


app.add_typer(database.db_app, name="db")
app.add_typer(profile_app, name="profile")
app.command("init")(init)
app.command("migrate")(database.migrate_cmd)
app.command("backup")(database.backup)
app.command("restore")(database.restore)
app.command("import")(layers.import_cmd)
app.command("load-sample")(layers.load_sample)
app.command("layers")(layers.layers_cmd)
app.add_typer(user_app, name="user")
app.command("boundary")(boundary.boundary)
app.command("check")(checks.check_cmd)
app.command("recheck")(checks.recheck_cmd)
app.add_typer(calendar_app, name="calendar")
app.add_typer(reports.report_app, name="report")
app.add_typer(reports.callback_app, name="callback")
app.add_typer(filing_app, name="filing")
app.add_typer(quota_app, name="quota")
app.add_typer(notify_app, name="notify")


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="监听地址 / bind address")] = None,
    port: Annotated[int | None, typer.Option(help="端口 / port")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, max=64, help="工作进程数 / worker processes (default LANDWINDOW_WORKERS)")
    ] = None,
    notify: Annotated[
        bool, typer.Option(help="在本进程中发送短信 / send the outbox from this process (else cron runs notify send)")
    ] = True,
) -> None:
    """启动网站 / Serve the web app and API."""
    os.environ["LANDWINDOW_NOTIFY_WORKER"] = "true" if notify else "false"  # read by the app's own settings
    get_settings.cache_clear()
    settings = get_settings()
    running_database_url()
    h, p, n = host or settings.host, port or settings.port, workers or settings.workers
    if not is_loopback(h):
        with orm_session() as session:
            in_use = demo_passwords_in_use(session)
        if in_use:
            fail(
                f"演示用户仍使用演示密码，不能在 {h} 上对外服务：{', '.join(in_use)}；请先用 `landwindow user passwd 用户名` "
                f"修改密码，或只监听 127.0.0.1 / demo users still have their demo passwords, so the app will not listen on "
                f"{h}: {', '.join(in_use)}. Change them with `landwindow user passwd NAME`, or bind to 127.0.0.1."
            )
    # Workers share nothing but the database: the signing key must be the same in each, so a generated one is
    # written before they start (tile caches are per worker, keyed by layer version, see service/http/tilecache.py).
    secret_key(settings)
    uvicorn.run(
        "web.app:create_app",
        factory=True,
        host=h,
        port=p,
        workers=n,
        log_level="info",
        access_log=settings.access_log,
        proxy_headers=False,
        # a worker re-imports this command and the app before it answers the supervisor's first ping: on a busy
        # two-core machine that took over uvicorn's default 5 s, and the workers were killed and restarted in a loop
        timeout_worker_healthcheck=60,
    )


def main() -> None:
    """Entry point used by `python -m service.cli.app`."""
    app(prog_name="landwindow")


if __name__ == "__main__":
    main()
