"""The `landwindow filing` commands: export a case upward, receive a package, decide on it, import the receipt."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from service.cli.common import actor, fail, operator_command, operator_session
from service.core.errors import DomainError
from service.core.settings import get_settings
from service.filing.chain import Instance, decide, export_case, import_receipt, list_packages, receive_package, rules
from service.filing.package import receipt_bytes

filing_app = typer.Typer(
    help="逐级报批 / upward filing packages (county → city → province → ministry)", no_args_is_help=True
)
out = Console(width=None if sys.stdout.isatty() else 220)  # piped: wide enough for a package id per row


def _instance() -> Instance:
    try:
        return Instance.from_settings(get_settings())
    except DomainError as exc:
        fail(exc.message)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        fail(f"{path}: 无法读取文件 / cannot read the file: {exc.strerror}")


@filing_app.command("export")
@operator_command("filing.export")
def export(
    case_no: Annotated[str, typer.Argument(help="案件编号 / case number")],
    out_path: Annotated[Path, typer.Option("--out", help="报批包文件 / where to write the package (.zip)")],
    to_level: Annotated[
        str | None, typer.Option("--to", help="city | province | ministry (default: the level above)")
    ] = None,
) -> None:
    """导出报批包 / Export a case that needs higher approval as one signed package."""
    instance = _instance()
    with operator_session() as session:
        pkg, data = export_case(session, actor(), instance, case_no, to_level)
        try:
            out_path.write_bytes(data)
        except OSError as exc:
            fail(f"{out_path}: 无法写入 / cannot write: {exc.strerror}")
    out.print(
        f"{case_no} → {pkg.receiver_level}: package {pkg.package_id} ({len(data):,} bytes, sha256 {pkg.archive_sha256[:16]}…) → {out_path}"
    )


@filing_app.command("receive")
@operator_command("filing.receive")
def receive(path: Annotated[Path, typer.Argument(help="报批包 / the package (.zip)")]) -> None:
    """接收报批包 / Verify a package from the level below, re-check it on this map and store it (exit 2 if refused)."""
    instance = _instance()
    data = _read(path)
    with operator_session() as session:
        pkg = receive_package(session, actor(), instance, data)
    out.print(f"package {pkg.package_id} received: case {pkg.case_no} from {pkg.sender_name} ({pkg.sender_level})")
    out.print(f"  sender's verdict {pkg.sender_verdict}, approval level {pkg.sender_approval_level}")
    if pkg.agrees:
        out.print("  [green]本级核查与报送方一致 / our check agrees with the sender's[/]")
    else:
        out.print("  [yellow]本级核查与报送方不一致 / our check disagrees with the sender's:[/]")
        for d in pkg.disagreements:
            out.print(f"    {d['item']}: {d['sender']} → {d['receiver']}  {d['message']}", highlight=False)


@filing_app.command("decide")
@operator_command("filing.read")
def decide_cmd(
    package_id: Annotated[str, typer.Argument(help="报批包编号 / package id")],
    decision: Annotated[str, typer.Argument(help="presign (预审签收) | receive (受理) | return (退回)")],
    reason: Annotated[
        str | None, typer.Option("--reason", help="理由（退回必填）/ reason (required to return)")
    ] = None,
    receipt_path: Annotated[
        Path | None, typer.Option("--receipt", help="回执文件 / where to write the receipt")
    ] = None,
) -> None:
    """处理报批包 / Pre-sign, receive or return a received package and write the signed receipt for the sender."""
    instance = _instance()
    with operator_session() as session:
        pkg, receipt = decide(session, actor(), instance, package_id, decision, reason)
    # written only once the decision is committed: a receipt must never vouch for a decision that was not saved
    target = receipt_path or Path(f"receipt-{pkg.package_id}-{pkg.receipt_seq}.json")
    try:
        target.write_bytes(receipt_bytes(receipt))
    except OSError as exc:
        fail(
            f"决定已保存，但无法写入回执 {target}：{exc.strerror}；可从 GET /api/v1/filings/{pkg.package_id}/receipt 取得 / "
            f"the decision is saved but the receipt could not be written to {target}: {exc.strerror}; "
            f"fetch it from GET /api/v1/filings/{pkg.package_id}/receipt"
        )
    out.print(f"package {pkg.package_id}: {pkg.status}; receipt → {target}")


@filing_app.command("receipt")
@operator_command("filing.export")
def receipt_cmd(path: Annotated[Path, typer.Argument(help="回执文件 / the receipt (.json)")]) -> None:
    """导入回执 / Import the higher level's signed receipt and update the sent package."""
    instance = _instance()
    data = _read(path)
    with operator_session() as session:
        pkg = import_receipt(session, actor(), instance, data)
    reason = f" ({pkg.reason})" if pkg.reason else ""
    out.print(f"package {pkg.package_id} of {pkg.case_no}: {pkg.status} by {pkg.receiver_name}{reason}")


@filing_app.command("list")
@operator_command("filing.read")
def list_cmd(
    direction: Annotated[str | None, typer.Option("--direction", help="sent | received")] = None,
) -> None:
    """报批包列表 / List the packages sent and received."""
    with operator_session() as session:
        pkgs = list_packages(session, direction)
    table = Table("package", "dir", "case", "from", "to", "status", "sender verdict", "agrees", "created")
    for p in pkgs:
        agrees = "—" if p.agrees is None else ("yes" if p.agrees else f"no ({len(p.disagreements)})")
        table.add_row(
            p.package_id,
            p.direction,
            p.case_no,
            f"{p.sender_name} ({p.sender_level})",
            p.receiver_level,
            f"{p.status} {rules().statuses.get(p.status, '')}",
            p.sender_verdict or "—",
            agrees,
            p.created_at.isoformat(timespec="seconds"),
        )
    out.print(table)
