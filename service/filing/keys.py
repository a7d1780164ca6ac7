"""Ed25519 keys of the filing chain: each instance's own private key, and the key registry listing every instance's
name, level and public key, so a package or receipt proves which instance signed it.

The registry is a TOML file shared along the chain (LANDWINDOW_FILING_REGISTRY):

    [[instances]]
    name = "咸宁市咸安区自然资源和规划局"
    level = "county"
    admin_code = "421202"
    public_key = "<base64 of the 32-byte raw Ed25519 public key>"

A key is named by its key id, the first 16 hex digits of the SHA-256 of the raw public key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from service.core.errors import Conflict

ALG = "Ed25519"


def raw_public(key: Ed25519PublicKey) -> bytes:
    """Return the 32 raw bytes of a public key."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of(key: Ed25519PublicKey) -> str:
    """Return a public key's id: the first 16 hex digits of the SHA-256 of its raw bytes."""
    return hashlib.sha256(raw_public(key)).hexdigest()[:16]


def public_text(key: Ed25519PublicKey) -> str:
    """Return a public key as the registry writes it (base64 of the raw bytes)."""
    return base64.b64encode(raw_public(key)).decode("ascii")


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=2, max_length=80)
    level: Literal["county", "city", "province", "ministry"]
    admin_code: str = Field(default="", pattern=r"^(\d{6})?$")
    public_key: str

    @field_validator("public_key")
    @classmethod
    def _key(cls, v: str) -> str:
        try:
            raw = base64.b64decode(v, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("不是base64 / not base64") from exc
        if len(raw) != 32:
            raise ValueError(
                f"应为32字节的Ed25519公钥，实为{len(raw)}字节 / an Ed25519 public key is 32 bytes, not {len(raw)}"
            )
        return v


class _RegistryFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    instances: list[_Entry] = Field(min_length=1)


@dataclass(frozen=True)
class RegisteredInstance:
    """One instance of the chain as the registry lists it."""

    key_id: str
    name: str
    level: str
    admin_code: str
    public_key: Ed25519PublicKey

    def verifies(self, signature: bytes, data: bytes) -> bool:
        """Return whether `signature` is this instance's signature of `data`."""
        try:
            self.public_key.verify(signature, data)
        except InvalidSignature:
            return False
        return True

    def label(self) -> dict[str, str]:
        """Return who this is, as packages and views name a signer."""
        return {"name": self.name, "level": self.level, "key_id": self.key_id}


@dataclass(frozen=True)
class KeyRegistry:
    """Every instance of the filing chain by key id."""

    by_id: dict[str, RegisteredInstance]
    source: str = ""

    def get(self, key_id: str) -> RegisteredInstance | None:
        """Return the registered instance of a key id, or None for a key nobody registered."""
        return self.by_id.get(key_id)

    @classmethod
    def of(cls, *instances: tuple[str, str, Ed25519PublicKey]) -> KeyRegistry:
        """Return a registry of (name, level, public key) triples (tests, and one-machine set-ups)."""
        return cls({key_id_of(k): RegisteredInstance(key_id_of(k), n, lvl, "", k) for n, lvl, k in instances})


def parse_registry(text: str, source: str) -> KeyRegistry:
    """Parse and validate a key registry; the error names the file and each wrong entry and key."""
    try:
        raw = tomllib.loads(text)
        doc = _RegistryFile.model_validate(raw)
    except tomllib.TOMLDecodeError as exc:
        raise Conflict(
            f"密钥登记表 {source} 不是有效的TOML / the key registry {source} is not valid TOML: {exc}"
        ) from exc
    except ValidationError as exc:
        where = "; ".join(f"`{'.'.join(str(p) for p in e['loc'])}`: {e['msg']}" for e in exc.errors())
        raise Conflict(f"密钥登记表 {source} 有误 / the key registry {source} has errors: {where}") from None
    by_id: dict[str, RegisteredInstance] = {}
    names: set[str] = set()
    for i, e in enumerate(doc.instances):
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(e.public_key))
        kid = key_id_of(key)
        if kid in by_id:
            raise Conflict(
                f"密钥登记表 {source}：instances[{i}] 的公钥重复 / the key registry {source} lists one key twice"
            )
        if e.name in names:
            raise Conflict(
                f"密钥登记表 {source}：instances[{i}] 名称 {e.name} 重复 / the key registry {source} names {e.name} twice"
            )
        names.add(e.name)
        by_id[kid] = RegisteredInstance(kid, e.name, e.level, e.admin_code, key)
    return KeyRegistry(by_id, source)


def load_registry(path: Path) -> KeyRegistry:
    """Read the key registry file."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise Conflict(
            f"无法读取密钥登记表 {path} / cannot read the filing key registry {path}: {exc}; set "
            "LANDWINDOW_FILING_REGISTRY to the chain's registry file"
        ) from exc
    return parse_registry(text, str(path))


def registry_entry(name: str, level: str, admin_code: str, key: Ed25519PublicKey) -> str:
    """Return the registry entry of an instance, to append to the chain's registry file."""
    code = f'admin_code = "{admin_code}"\n' if admin_code else ""
    return (
        f'[[instances]]\n# key id {key_id_of(key)}\nname = "{name}"\nlevel = "{level}"\n{code}'
        f'public_key = "{public_text(key)}"\n'
    )


def generate_key(path: Path) -> Ed25519PrivateKey:
    """Create a new private key file (mode 0600); an existing key is never overwritten."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise Conflict(f"{path} 已存在，不会覆盖 / {path} exists already and is not overwritten") from exc
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return key


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Read this instance's private key (PEM, PKCS#8, unencrypted)."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise Conflict(
            f"无法读取报批签名私钥 {path} / cannot read the filing signing key {path}: {exc.strerror}; create it with "
            "`landwindow filing keygen` or set LANDWINDOW_FILING_KEY_FILE"
        ) from exc
    except (ValueError, TypeError) as exc:
        raise Conflict(f"{path} 不是PEM私钥 / {path} is not a PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise Conflict(f"{path} 不是Ed25519私钥 / {path} is not an Ed25519 private key")
    return key
