"""The upward filing package as bytes: a zip of a signed manifest and its files, and the signed receipt.

Signature: HMAC-SHA256 with the filing key shared by the instances of one filing chain (LANDWINDOW_FILING_KEY).
The manifest lists every file with its SHA-256; the signature covers the manifest's exact bytes. The zip is written
canonically (stored, fixed times and attributes, fixed order), so a receiver can rebuild it from the verified files
and demand the very same bytes: a byte changed anywhere — in a file, in the manifest, in the signature or in the zip's
own headers — is refused, and the refusal names what failed. Nothing here touches the database.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import struct
import zipfile
from dataclasses import dataclass
from typing import Any

from service.core.errors import InvalidInput

FORMAT = "landwindow-filing"
RECEIPT_FORMAT = "landwindow-filing-receipt"
FORMAT_VERSION = 1
ALG = "HMAC-SHA256"
MANIFEST = "manifest.json"
SIGNATURE = "signature.json"
_EPOCH = (1980, 1, 1, 0, 0, 0)
# domain separation: a receipt's signature can never pass as a manifest's, nor the other way round
_MANIFEST_CONTEXT = b"landwindow-filing-manifest\n"
_RECEIPT_CONTEXT = b"landwindow-filing-receipt\n"


def canonical_json(obj: Any) -> bytes:
    """Return the one byte form of a JSON value that is signed (sorted keys, no spaces, UTF-8)."""
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False).encode("utf-8")


def pretty_json(obj: Any) -> bytes:
    """Return a JSON file for people to read (the files of a package)."""
    return (json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True, allow_nan=False) + "\n").encode("utf-8")


def sha256(data: bytes) -> str:
    """Return the hex SHA-256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def _mac(key: bytes, context: bytes, data: bytes) -> str:
    return hmac.new(key, context + data, hashlib.sha256).hexdigest()


def refused(zh: str, en: str, failed: str, file: str | None = None) -> InvalidInput:
    """Return the error refusing a package or receipt: what failed (and in which file), in Chinese and English."""
    where = f"{file}: " if file else ""
    return InvalidInput(f"报批包被拒收：{where}{zh} / package refused: {where}{en}", failed=failed, file=file)


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buf.getvalue()


def build_package(manifest: dict[str, Any], files: list[tuple[str, bytes]], key: bytes) -> bytes:
    """Return the signed package: `files` listed with their checksums in the manifest, the manifest signed."""
    manifest = {
        **manifest,
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "files": [{"name": n, "bytes": len(d), "sha256": sha256(d)} for n, d in files],
    }
    manifest_bytes = pretty_json(manifest)
    signature = {"alg": ALG, "signed": MANIFEST, "value": _mac(key, _MANIFEST_CONTEXT, manifest_bytes)}
    return _zip([(MANIFEST, manifest_bytes), (SIGNATURE, pretty_json(signature)), *files])


@dataclass(frozen=True)
class VerifiedPackage:
    """A package whose signature, every checksum and the zip container itself were verified."""

    manifest: dict[str, Any]
    files: dict[str, bytes]

    def json(self, name: str) -> Any:
        """Return a verified JSON file of the package."""
        try:
            return json.loads(self.files[name])
        except (KeyError, ValueError) as exc:
            raise refused("文件缺失或不是有效的JSON", "the file is missing or not valid JSON", "content", name) from exc


def _member(data: bytes, info: zipfile.ZipInfo) -> bytes:
    """Return a stored member's bytes as they are (no CRC check: the SHA-256s and the signature speak instead)."""
    name = info.filename
    if info.compress_type != zipfile.ZIP_STORED:
        raise refused(
            "文件被压缩，不是本系统生成的报批包", "the file is compressed: not a package this system wrote", "zip", name
        )
    off = info.header_offset
    head = data[off : off + 30]
    if len(head) < 30 or head[:4] != b"PK\x03\x04":
        raise refused("本地文件头已损坏", "its local file header is damaged", "zip", name)
    n, e = struct.unpack("<HH", head[26:30])
    start = off + 30 + n + e
    end = start + info.compress_size
    if end > len(data):
        raise refused("文件数据不完整（被截断？）", "its data is incomplete (truncated?)", "zip", name)
    return data[start:end]


def open_package(data: bytes, key: bytes) -> VerifiedPackage:
    """Verify a package (zip container, manifest signature, every file's SHA-256) and return its files."""
    if not data:
        raise refused("文件为空", "the file is empty", "zip")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except Exception as exc:  # untrusted bytes: whatever the zip reader trips over (NotImplementedError too) is damage
        raise refused(
            f"压缩包不完整或已损坏（被截断？）：{exc}", f"the zip archive is truncated or damaged: {exc}", "zip"
        ) from exc
    with zf:
        names = [i.filename for i in infos]
        by_name = {i.filename: i for i in infos}
        if len(set(names)) != len(names):
            raise refused("压缩包内有重名文件", "the zip holds a file name twice", "zip")
        for required in (MANIFEST, SIGNATURE):
            if required not in names:
                raise refused("缺少此文件", "this file is missing", "missing_file", required)
        manifest_bytes = _member(data, by_name[MANIFEST])
        signature_bytes = _member(data, by_name[SIGNATURE])
        signature = _signature(signature_bytes)
        if not hmac.compare_digest(signature, _mac(key, _MANIFEST_CONTEXT, manifest_bytes)):
            raise refused(
                "清单签名不符：清单被改动，或签名密钥不同",
                "the manifest's signature does not match: the manifest "
                "was altered, or it was signed with another filing key",
                "signature",
                SIGNATURE,
            )
        try:
            manifest = json.loads(manifest_bytes)
            listed = [(str(f["name"]), str(f["sha256"])) for f in manifest["files"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise refused("清单格式错误", f"the manifest is malformed: {exc}", "manifest", MANIFEST) from exc
        if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
            raise refused(
                f"不支持的格式 {manifest.get('format')} {manifest.get('format_version')}",
                "unsupported package format or version",
                "manifest",
                MANIFEST,
            )
        expected = {MANIFEST, SIGNATURE, *(n for n, _ in listed)}
        for name in names:
            if name not in expected:
                raise refused("清单中没有此文件", "this file is not in the manifest", "unexpected_file", name)
        files: dict[str, bytes] = {}
        for name, digest in listed:
            if name not in names:
                raise refused("清单列出的文件缺失", "a file the manifest lists is missing", "missing_file", name)
            content = _member(data, by_name[name])
            if not hmac.compare_digest(sha256(content), digest):
                raise refused(
                    "SHA-256 校验和与清单不符", "its SHA-256 checksum does not match the manifest", "checksum", name
                )
            files[name] = content
    canonical = _zip([(MANIFEST, manifest_bytes), (SIGNATURE, signature_bytes), *files.items()])
    if canonical != data:
        at = next(
            (i for i, (a, b) in enumerate(zip(canonical, data, strict=False)) if a != b), min(len(canonical), len(data))
        )
        raise refused(
            f"压缩包结构在第 {at} 字节处被改动（文件内容之外）",
            f"the zip container was altered outside the files' contents, at byte {at}",
            "zip",
        )
    return VerifiedPackage(manifest, files)


def _signature(raw: bytes) -> str:
    try:
        sig = json.loads(raw)
        value = sig["value"]
        alg = sig["alg"]
    except (ValueError, KeyError, TypeError) as exc:
        raise refused("签名文件格式错误", f"the signature file is malformed: {exc}", "signature", SIGNATURE) from exc
    if alg != ALG:
        raise refused(
            f"不支持的签名算法 {alg}",
            f"unsupported signature algorithm {alg!r} (expected {ALG})",
            "signature",
            SIGNATURE,
        )
    if not isinstance(value, str) or len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise refused("签名值格式错误", "the signature value is not 64 hex digits", "signature", SIGNATURE)
    return value


def build_receipt(payload: dict[str, Any], key: bytes) -> dict[str, Any]:
    """Return a signed receipt document (the receiver's decision on a package)."""
    return {
        "format": RECEIPT_FORMAT,
        "format_version": FORMAT_VERSION,
        "payload": payload,
        "signature": {"alg": ALG, "value": _mac(key, _RECEIPT_CONTEXT, canonical_json(payload))},
    }


def receipt_bytes(receipt: dict[str, Any]) -> bytes:
    """Return a receipt as the file handed to the sender."""
    return pretty_json(receipt)


def open_receipt(data: bytes | dict[str, Any], key: bytes) -> dict[str, Any]:
    """Verify a receipt file's signature and return its payload."""

    def bad(zh: str, en: str, failed: str) -> InvalidInput:
        return InvalidInput(f"回执被拒绝：{zh} / receipt refused: {en}", failed=failed)

    try:
        doc = json.loads(data) if isinstance(data, bytes) else data
        payload, sig = doc["payload"], doc["signature"]
        alg, value = sig["alg"], sig["value"]
    except (ValueError, KeyError, TypeError) as exc:
        raise bad("不是有效的回执JSON（被截断？）", f"not a valid receipt JSON (truncated?): {exc}", "format") from exc
    if (
        doc.get("format") != RECEIPT_FORMAT
        or doc.get("format_version") != FORMAT_VERSION
        or not isinstance(payload, dict)
    ):
        raise bad("不支持的回执格式", "unsupported receipt format or version", "format")
    if alg != ALG or not isinstance(value, str):
        raise bad(f"不支持的签名算法 {alg}", f"unsupported signature algorithm {alg!r}", "signature")
    try:
        expected = _mac(key, _RECEIPT_CONTEXT, canonical_json(payload))
    except ValueError as exc:
        raise bad("回执内容无法规范化", f"the receipt cannot be canonicalised: {exc}", "format") from exc
    if not hmac.compare_digest(value, expected):
        raise bad(
            "签名不符：回执被改动，或签名密钥不同",
            "the signature does not match: the receipt was altered, or it was signed with another filing key",
            "signature",
        )
    return payload
