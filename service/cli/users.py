"""`landwindow user …`: staff accounts."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from service.access import permissions
from service.access.auth import (
    add_user,
    demo_users,
    ensure_demo_users,
    set_active,
    set_password,
    set_phone,
    set_role,
)
from service.cli.common import actor, operator_command, operator_session, out
from service.core.audit import audit
from service.core.personal import mask_phone

user_app = typer.Typer(help="用户管理 / staff accounts", no_args_is_help=True)


@user_app.command("add")
@operator_command("users.manage")
def user_add(
    username: Annotated[str, typer.Argument(help="用户名 / username")],
    role: Annotated[str, typer.Option("--role", help=" | ".join(permissions.roles()))],
    password: Annotated[str, typer.Option("--password", prompt=True, hide_input=True, help="至少8位 / 8+ characters")],
    department: Annotated[str | None, typer.Option(help="审查股室 / department (reviewers)")] = None,
    name: Annotated[str, typer.Option("--name", help="显示名 / display name")] = "",
    county: Annotated[
        str | None, typer.Option(help="所属县行政区划代码 / the county (admin code) whose cases alone they see")
    ] = None,
) -> None:
    """新增用户 / Create a member of staff."""
    with operator_session() as session:
        user = add_user(session, username, role, password, department, name, county)
        audit(session, actor().actor, "user.create", None, None, {"username": username, "role": role})
    out.print(f"user {user.username} ({user.role}) created")


@user_app.command("passwd")
@operator_command("users.manage")
def user_passwd(
    username: Annotated[str, typer.Argument(help="用户名 / username")],
    password: Annotated[str, typer.Option("--password", prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """修改密码 / Change a user's password."""
    with operator_session() as session:
        set_password(session, username, password)
        audit(session, actor().actor, "user.passwd", None, None, {"username": username})
    out.print(f"password of {username} changed; their sessions have ended")


@user_app.command("deactivate")
@operator_command("users.manage")
def user_deactivate(username: Annotated[str, typer.Argument(help="用户名 / username")]) -> None:
    """停用用户（立即退出所有登录）/ Deactivate a member of staff: every login of theirs ends at once."""
    with operator_session() as session:
        set_active(session, username, False)
        audit(session, actor().actor, "user.deactivate", None, None, {"username": username})
    out.print(f"user {username} deactivated; their sessions have ended")


@user_app.command("activate")
@operator_command("users.manage")
def user_activate(username: Annotated[str, typer.Argument(help="用户名 / username")]) -> None:
    """重新启用用户 / Activate a deactivated member of staff again (they log in anew)."""
    with operator_session() as session:
        set_active(session, username, True)
        audit(session, actor().actor, "user.activate", None, None, {"username": username})
    out.print(f"user {username} activated")


@user_app.command("role")
@operator_command("users.manage")
def user_role(
    username: Annotated[str, typer.Argument(help="用户名 / username")],
    role: Annotated[str, typer.Option("--role", help=" | ".join(permissions.roles()))],
    department: Annotated[str | None, typer.Option(help="审查股室 / department (reviewers)")] = None,
) -> None:
    """变更角色（立即退出所有登录）/ Change a member of staff's role and department: every login of theirs ends."""
    with operator_session() as session:
        user = set_role(session, username, role, department)
        audit(
            session,
            actor().actor,
            "user.role",
            None,
            None,
            {"username": username, "role": role, "department": department},
        )
    out.print(f"user {user.username} is now {user.role}; their sessions have ended")


@user_app.command("demo")
@operator_command("users.manage")
def user_demo() -> None:
    """创建演示用户 / Create the sample county's demo staff and print their passwords."""
    with operator_session() as session:
        ensure_demo_users(session)
    table = Table("username", "role", "department", "password", title="演示用户 Demo users (change before production)")
    for u in demo_users():
        table.add_row(u["username"], u["role"], u.get("department", ""), u["password"])
    out.print(table)


@user_app.command("phone")
@operator_command("users.manage")
def user_phone(
    username: Annotated[str, typer.Argument(help="用户名 / username")],
    phone: Annotated[str, typer.Argument(help="手机号码，空字符串清除 / mobile number; '' clears it")],
) -> None:
    """设置手机号 / Where the window's text messages reach a member of staff (new tasks, deadlines near)."""
    with operator_session() as session:
        set_phone(session, username, phone)
        audit(session, actor().actor, "user.phone", None, None, {"username": username, "phone": mask_phone(phone)})
    out.print(f"phone of {username} {'set' if phone else 'cleared'}")
