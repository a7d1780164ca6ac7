"""The upward filing package as bytes: a zip of a signed manifest and its files, and the signed receipt.

Signature: Ed25519 with the sending instance's own key, named by its key id; the receiver looks the key up in the
chain's key registry, so a package proves which instance wrote it (and an unknown key is refused). The manifest
lists every file with its SHA-256; the signature covers the manifest's exact bytes. The zip is written canonically
(stored, fixed times and attributes, fixed order), so a receiver can rebuild it from the verified files and demand
the very same bytes: a byte changed anywhere — in a file, in the manifest, in the signature or in the zip's own
headers — is refused, and the refusal names what failed.

Layers: an instance that passes a package on upward wraps the package it received, byte for byte, as `inner.zip`
beside its own opinion, and signs the new manifest. Opening a package opens every layer down to the county's and
checks each one's signature and that the layers follow the chain (each one addressed to the level that wrapped it).
Receipts coming back down carry the higher levels' signed receipts they answer. Nothing here touches the database.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import json
import struct
import zipfile
from dataclasses import dataclass
from typing import Any, Protocol

from service.core.errors import InvalidInput
from service.filing.keys import ALG, KeyRegistry, RegisteredInstance

FORMAT = "landwindow-filing"
RECEIPT_FORMAT = "landwindow-filing-receipt"
FORMAT_VERSION = 2
MANIFEST = "manifest.json"
SIGNATURE = "signature.json"
INNER = "inner.zip"
MAX_LAYERS = 4
"""county → city → province → ministry: no package has more layers than the chain has levels."""
_EPOCH = (1980, 1, 1, 0, 0, 0)
# domain separation: a receipt's signature can never pass as a manifest's, nor the other way round
_MANIFEST_CONTEXT = b"landwindow-filing-manifest\n"
_RECEIPT_CONTEXT = b"landwindow-filing-receipt\n"


class Signer(Protocol):
    """What signs a package or a receipt: this instance's private key and its id."""

    @property
    def key_id(self) -> str:
        """Return the id of the signing key."""
        ...

    def sign(self, data: bytes) -> bytes:
        """Return the Ed25519 signature of `data`."""
        ...


def canonical_json(obj: Any) -> bytes:
    """Return the one byte form of a JSON value that is signed (sorted keys, no spaces, UTF-8)."""
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False).encode("utf-8")


def pretty_json(obj: Any) -> bytes:
    """Return a JSON file for people to read (the files of a package)."""
    return (json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True, allow_nan=False) + "\n").encode("utf-8")


def sha256(data: bytes) -> str:
    """Return the hex SHA-256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def _signature_doc(signer: Signer, context: bytes, data: bytes) -> dict[str, str]:
    value = base64.b64encode(signer.sign(context + data)).decode("ascii")
    return {"alg": ALG, "key_id": signer.key_id, "value": value}


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


def build_package(manifest: dict[str, Any], files: list[tuple[str, bytes]], signer: Signer) -> bytes:
    """Return the signed package: `files` listed with their checksums in the manifest, the manifest signed."""
    manifest = {
        **manifest,
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "files": [{"name": n, "bytes": len(d), "sha256": sha256(d)} for n, d in files],
    }
    manifest_bytes = pretty_json(manifest)
    signature = {**_signature_doc(signer, _MANIFEST_CONTEXT, manifest_bytes), "signed": MANIFEST}
    return _zip([(MANIFEST, manifest_bytes), (SIGNATURE, pretty_json(signature)), *files])


@dataclass(frozen=True)
class VerifiedPackage:
    """A package whose signature (by a registered instance), every checksum and the zip itself were verified."""

    manifest: dict[str, Any]
    files: dict[str, bytes]
    signer: RegisteredInstance

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


def _verify(
    registry: KeyRegistry, raw: bytes | dict[str, Any], context: bytes, data: bytes, what: str, signed: tuple[str, str]
) -> RegisteredInstance:
    """Check a signature document over `data` (`signed`: what it signs, 中文 and English); return who made it."""
    try:
        sig = json.loads(raw) if isinstance(raw, bytes) else raw
        alg, key_id, value = sig["alg"], sig["key_id"], sig["value"]
    except (ValueError, KeyError, TypeError) as exc:
        raise refused("签名格式错误", f"the signature is malformed: {exc}", "signature", what) from exc
    if alg != ALG:
        raise refused(
            f"不支持的签名算法 {alg}", f"unsupported signature algorithm {alg!r} (expected {ALG})", "signature", what
        )
    try:
        signature = base64.b64decode(value, validate=True) if isinstance(value, str) else b""
    except (binascii.Error, ValueError):
        signature = b""
    if len(signature) != 64:
        raise refused("签名值格式错误", "the signature value is not 64 bytes of base64", "signature", what)
    signer = registry.get(key_id) if isinstance(key_id, str) else None
    if signer is None:
        raise refused(
            f"签名密钥 {key_id} 未登记：不是本报批链上的单位",
            f"the signing key {key_id} is not in the key registry: not an instance of this filing chain",
            "unknown_key",
            what,
        )
    if not signer.verifies(signature, context + data):
        raise refused(
            f"{signed[0]}签名不符：{signed[0]}被改动，或并非由 {signer.name} 签名",
            f"the signature of the {signed[1]} does not match: the {signed[1]} was altered, or {signer.name} "
            "did not sign it",
            "signature",
            what,
        )
    return signer


def open_package(data: bytes, registry: KeyRegistry) -> VerifiedPackage:
    """Verify one layer (zip container, the manifest's signature by a registered key, every file's SHA-256)."""
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
        signer = _verify(registry, signature_bytes, _MANIFEST_CONTEXT, manifest_bytes, SIGNATURE, ("清单", "manifest"))
        try:
            manifest = json.loads(manifest_bytes)
            listed = [(str(f["name"]), str(f["sha256"])) for f in manifest["files"]]
            sender = manifest["sender"]
            claimed = (sender["name"], sender["level"])
        except (ValueError, KeyError, TypeError) as exc:
            raise refused("清单格式错误", f"the manifest is malformed: {exc}", "manifest", MANIFEST) from exc
        if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
            raise refused(
                f"不支持的格式 {manifest.get('format')} {manifest.get('format_version')}",
                "unsupported package format or version",
                "manifest",
                MANIFEST,
            )
        if claimed != (signer.name, signer.level):
            raise refused(
                f"清单自称由 {claimed[0]}（{claimed[1]}）报送，但签名密钥登记为 {signer.name}（{signer.level}）",
                f"the manifest says it is from {claimed[0]} ({claimed[1]}), but the signing key is registered to "
                f"{signer.name} ({signer.level})",
                "signer",
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
    return VerifiedPackage(manifest, files, signer)


def _in_layer(exc: InvalidInput, path: str, depth: int) -> InvalidInput:
    """Return a refusal of an inner layer, saying which layer and file."""
    file = exc.details.get("file")
    where = f"{path}{file}" if file else path.rstrip("/")
    return InvalidInput(
        f"第 {depth + 1} 层（{path.rstrip('/')}）：{exc.message}",
        failed=exc.details.get("failed"),
        file=where,
        layer=depth,
    )


def open_layers(data: bytes, registry: KeyRegistry, levels: tuple[str, ...]) -> list[VerifiedPackage]:
    """Verify a package and every layer inside it; return them outermost first (the county's layer last).

    Each layer must be signed by a registered key whose instance the manifest names, be addressed to the level of
    the layer wrapping it, and name the same case; the levels rise from the innermost layer outwards.
    """
    layers: list[VerifiedPackage] = []
    path = ""
    while True:
        try:
            pkg = open_package(data, registry)
        except InvalidInput as exc:
            raise (_in_layer(exc, path, len(layers)) if layers else exc) from None
        m = pkg.manifest
        if layers:
            outer = layers[-1].manifest
            ref = outer.get("inner") or {}

            def broken(zh: str, en: str, where: str = path, depth: int = len(layers)) -> InvalidInput:
                return _in_layer(refused(zh, en, "layers", MANIFEST), where, depth)

            receiver = (m.get("receiver") or {}).get("level")
            if m.get("package_id") != ref.get("package_id"):
                raise broken("内层报批包编号与外层清单不符", "the inner package id differs from the outer manifest's")
            if receiver != outer["sender"]["level"]:
                raise broken(
                    f"内层报送至 {receiver}，却由 {outer['sender']['level']} 转报",
                    f"the inner layer is addressed to {receiver!r} but was passed on by {outer['sender']['level']!r}",
                )
            if m.get("case") != outer.get("case"):
                raise broken("内外层案件信息不一致", "the layers name different cases")
        if m["sender"]["level"] not in levels:
            raise refused(f"未知层级 {m['sender']['level']}", "unknown sender level", "level", MANIFEST)
        if layers and levels.index(m["sender"]["level"]) >= levels.index(layers[-1].manifest["sender"]["level"]):
            raise _in_layer(
                refused("层级未逐级上升", "the levels do not rise layer by layer", "layers", MANIFEST),
                path,
                len(layers),
            )
        layers.append(pkg)
        has_inner = INNER in pkg.files
        if has_inner != bool(m.get("inner")):
            raise refused("内层报批包与清单不符", "the inner package and the manifest disagree", "layers", MANIFEST)
        if not has_inner:
            return layers
        if len(layers) >= MAX_LAYERS:
            raise refused("层数超过报批链层级", "more layers than the chain has levels", "layers", INNER)
        data = pkg.files[INNER]
        path += f"{INNER}/"


def build_receipt(payload: dict[str, Any], signer: Signer) -> dict[str, Any]:
    """Return a signed receipt document (the receiver's decision on a package)."""
    return {
        "format": RECEIPT_FORMAT,
        "format_version": FORMAT_VERSION,
        "payload": payload,
        "signature": _signature_doc(signer, _RECEIPT_CONTEXT, canonical_json(payload)),
    }


def receipt_bytes(receipt: dict[str, Any]) -> bytes:
    """Return a receipt as the file handed to the sender."""
    return pretty_json(receipt)


def _receipt_refused(zh: str, en: str, failed: str) -> InvalidInput:
    return InvalidInput(f"回执被拒绝：{zh} / receipt refused: {en}", failed=failed)


def open_receipt(data: bytes | dict[str, Any], registry: KeyRegistry, depth: int = 0) -> dict[str, Any]:
    """Verify a receipt (and the higher levels' receipts it carries) and return its payload.

    The receipt must be signed by the registered key of the instance its payload names as the receiver.
    """

    def bad(zh: str, en: str, failed: str) -> InvalidInput:
        return _receipt_refused(zh, en, failed)

    try:
        doc = json.loads(data) if isinstance(data, bytes) else data
        payload, sig = doc["payload"], doc["signature"]
    except (ValueError, KeyError, TypeError) as exc:
        raise bad("不是有效的回执JSON（被截断？）", f"not a valid receipt JSON (truncated?): {exc}", "format") from exc
    if (
        doc.get("format") != RECEIPT_FORMAT
        or doc.get("format_version") != FORMAT_VERSION
        or not isinstance(payload, dict)
        or not isinstance(sig, dict)
    ):
        raise bad("不支持的回执格式", "unsupported receipt format or version", "format")
    try:
        signed = canonical_json(payload)
    except ValueError as exc:
        raise bad("回执内容无法规范化", f"the receipt cannot be canonicalised: {exc}", "format") from exc
    try:
        signer = _verify(registry, sig, _RECEIPT_CONTEXT, signed, "receipt", ("回执", "receipt"))
    except InvalidInput as exc:
        raise InvalidInput(
            exc.message.replace("报批包被拒收", "回执被拒绝").replace("package refused", "receipt refused"),
            failed=exc.details.get("failed"),
        ) from None
    if (payload.get("receiver_name"), payload.get("receiver_level")) != (signer.name, signer.level):
        raise bad(
            f"回执自称由 {payload.get('receiver_name')} 出具，但签名密钥登记为 {signer.name}",
            f"the receipt says it is from {payload.get('receiver_name')}, but the signing key is registered to "
            f"{signer.name}",
            "signer",
        )
    upstream = payload.get("upstream") or []
    if not isinstance(upstream, list) or len(upstream) > 1 or depth + len(upstream) >= MAX_LAYERS:
        raise bad("上级回执格式错误", "the higher level's receipt is malformed", "format")
    for higher in upstream:
        above = open_receipt(higher, registry, depth + 1)
        if (above.get("status"), above.get("decided_by")) != (payload.get("status"), payload.get("decided_by")):
            raise bad(
                "转达的上级决定与上级回执不符",
                "the decision passed on differs from the higher level's own receipt",
                "upstream",
            )
    return payload
