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
from service.filing.chain import (
    Instance,
    decide,
    export_case,
    get_package,
    import_receipt,
    list_packages,
    receive_package,
    rules,
)
from service.filing.keys import generate_key, load_private_key, registry_entry
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


def _key_path(path: Path | None) -> Path:
    settings = get_settings()
    return path or settings.filing_key_file or settings.filing_dir / "ed25519.pem"


def _print_entry(key_file: Path, public_key: object) -> None:
    settings = get_settings()
    profile = settings.profile
    registry = settings.filing_registry or settings.filing_dir / "registry.toml"
    out.print(f"# 本系统的登记项：加入报批链上每个单位的密钥登记表（{registry}）", highlight=False)
    out.print(f"# this instance's entry: add it to the key registry of every instance of the chain ({registry})")
    out.print(
        registry_entry(settings.instance_name, settings.instance_level, profile.admin_code, public_key),  # type: ignore[arg-type]
        highlight=False,
        markup=False,
    )
    out.print(f"# private key: {key_file} (keep it on this machine only)", highlight=False, markup=False)


@filing_app.command("keygen")
def keygen(
    key_file: Annotated[
        Path | None, typer.Option("--out", help="私钥文件 / the private key (default: <data dir>/filing/ed25519.pem)")
    ] = None,
) -> None:
    """生成本系统的签名密钥 / Create this instance's Ed25519 signing key and print its key registry entry."""
    path = _key_path(key_file)
    try:
        key = generate_key(path)
    except DomainError as exc:
        fail(exc.message)
    _print_entry(path, key.public_key())


@filing_app.command("key")
def key_cmd(
    key_file: Annotated[Path | None, typer.Option("--key", help="私钥文件 / the private key")] = None,
) -> None:
    """本系统的公钥登记项 / Print the key registry entry of this instance's signing key."""
    path = _key_path(key_file)
    try:
        key = load_private_key(path)
    except DomainError as exc:
        fail(exc.message)
    _print_entry(path, key.public_key())


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
    decision: Annotated[
        str, typer.Argument(help="presign (预审签收) | receive (受理) | return (退回) | forward (转报上级)")
    ],
    reason: Annotated[
        str | None,
        typer.Option(
            "--reason", help="理由或本级意见（退回、转报必填）/ reason or this level's opinion (return, forward)"
        ),
    ] = None,
    package_path: Annotated[
        Path | None,
        typer.Option("--package", help="转报时写出的报批包 / where forward writes the package for the level above"),
    ] = None,
    receipt_path: Annotated[
        Path | None, typer.Option("--receipt", help="回执文件 / where to write the receipt")
    ] = None,
) -> None:
    """处理报批包 / Pre-sign, receive, return or pass on a received package; write the signed receipt for the sender."""
    instance = _instance()
    onward: tuple[str, bytes] | None = None
    with operator_session() as session:
        pkg, receipt = decide(session, actor(), instance, package_id, decision, reason)
        forwarded = receipt["payload"].get("forwarded")
        if forwarded:
            sent = get_package(session, forwarded["package_id"], actor())
            onward = (sent.package_id, sent.archive)
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
    if onward is not None:
        onward_path = package_path or Path(f"filing-{pkg.case_no}-{onward[0][:8]}.zip")
        try:
            onward_path.write_bytes(onward[1])
        except OSError as exc:
            fail(
                f"已转报，但无法写入报批包 {onward_path}：{exc.strerror}；可从 GET /api/v1/filings/{onward[0]}/archive 取得 / "
                f"passed on, but the package could not be written to {onward_path}: {exc.strerror}; "
                f"fetch it from GET /api/v1/filings/{onward[0]}/archive"
            )
        out.print(f"passed on upward as package {onward[0]} → {onward_path}")


@filing_app.command("receipt")
@operator_command("filing.export")
def receipt_cmd(
    path: Annotated[Path, typer.Argument(help="回执文件 / the receipt (.json)")],
    receipt_path: Annotated[
        Path | None,
        typer.Option("--receipt", help="转给下级的回执 / where to write the receipt passed down (forwarded packages)"),
    ] = None,
) -> None:
    """导入回执 / Import the higher level's signed receipt, update the sent package and pass it down to our sender."""
    instance = _instance()
    data = _read(path)
    with operator_session() as session:
        pkg = import_receipt(session, actor(), instance, data)
        down = session.get(type(pkg), pkg.forwarded_from) if pkg.forwarded_from else None
        passed = (down.package_id, down.receipt_seq, down.receipt) if down is not None else None
    reason = f" ({pkg.reason})" if pkg.reason else ""
    by = (pkg.receipt or {}).get("payload", {}).get("decided_by") or {}
    out.print(
        f"package {pkg.package_id} of {pkg.case_no}: {pkg.status} by {by.get('name', pkg.receiver_name)}{reason}",
        highlight=False,
    )
    if passed is not None and passed[2] is not None:
        target = receipt_path or Path(f"receipt-{passed[0]}-{passed[1]}.json")
        try:
            target.write_bytes(receipt_bytes(passed[2]))
        except OSError as exc:
            fail(
                f"已导入，但无法写入转给下级的回执 {target}：{exc.strerror} / imported, but the receipt for the level "
                f"below could not be written to {target}: {exc.strerror}; fetch it from "
                f"GET /api/v1/filings/{passed[0]}/receipt"
            )
        out.print(f"receipt for the sender of package {passed[0]} → {target}")


@filing_app.command("list")
@operator_command("filing.read")
def list_cmd(
    direction: Annotated[str | None, typer.Option("--direction", help="sent | received")] = None,
) -> None:
    """报批包列表 / List the packages sent and received."""
    with operator_session() as session:
        pkgs = list_packages(session, actor(), direction)
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
