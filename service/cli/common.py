"""What every `landwindow` command shares: the consoles, failing with a message, the database, and the operator's
permission (every command that changes something asks service/access/permissions.py as the operator)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from gis.boundary import CountyExtent
from service.access import permissions
from service.access.auth import Principal, operator
from service.core.cluster import ClusterError, EmbeddedCluster
from service.core.db import database_url, make_engine
from service.core.errors import DomainError
from service.core.settings import get_settings

out = Console()
err = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 2) -> NoReturn:
    """Print the error on stderr and exit (2: bad input or refused)."""
    err.print(f"[bold red]错误 Error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def embedded_cluster() -> EmbeddedCluster:
    """Return the embedded cluster of the settings, or fail when an external database is configured."""
    settings = get_settings()
    if not settings.embedded:
        fail(
            "LANDWINDOW_DATABASE_URL 已设置，系统使用外部数据库，不启动嵌入式数据库 / an external database is configured; "
            "the embedded cluster is not used"
        )
    try:
        return EmbeddedCluster.from_settings(settings)
    except ClusterError as exc:
        fail(str(exc))


def running_database_url() -> str:
    """Return the database URL in force, failing with a hint when the embedded database is not running."""
    settings = get_settings()
    try:
        url = database_url(settings)
        if settings.embedded and not EmbeddedCluster.from_settings(settings).running():
            fail("嵌入式数据库未运行 / the embedded database is not running: run `landwindow db start` first")
        return url
    except ClusterError as exc:
        fail(str(exc))


def database_if_running() -> str | None:
    """Return the database URL in force when the database can be reached without starting anything, else None."""
    settings = get_settings()
    try:
        url = database_url(settings)
        if settings.embedded and not EmbeddedCluster.from_settings(settings).running():
            return None
    except ClusterError:
        return None
    return url


def orm_session() -> Session:
    """Return an ORM session on the database in force (one connection)."""
    engine = make_engine(running_database_url(), pool_size=1)
    return Session(engine, expire_on_commit=False, info={"settings": get_settings()})


@contextmanager
def operator_session() -> Iterator[Session]:
    """Yield a session committed at the end; a refusal (a domain error) is printed and exits 2 with nothing written."""
    with orm_session() as session:
        try:
            yield session
            session.commit()
        except DomainError as exc:
            session.rollback()
            fail(exc.message)


def operator_command(action: str) -> Callable[[F], F]:
    """Mark a command as the operator's `action`: it asks the permissions table before it runs."""

    def mark(command: F) -> F:
        @functools.wraps(command)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                permissions.require(operator(), action)
            except DomainError as exc:
                fail(exc.message)
            return command(*args, **kwargs)

        run.permission = action  # type: ignore[attr-defined]  # the command test reads what each command asks
        return run  # type: ignore[return-value]

    return mark


def county_extent() -> CountyExtent:
    """Return the extent in force: the profile's box, or the loaded townships' (then the database must be running)."""
    from service.cases.boundaries import county_extent as extent_of  # the case modules load only when needed

    settings = get_settings()
    box = settings.profile.extent.box
    if settings.profile.extent.source == "profile" and box is not None:
        return box
    with orm_session() as session:
        try:
            return extent_of(session)
        except DomainError as exc:
            fail(exc.message)


def actor() -> Principal:
    """Return who acts on the command line (the operator)."""
    return operator()
