"""Instances of the filing chain for tests: an Ed25519 key each and one key registry listing them all."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from service.filing.chain import Instance
from service.filing.keys import KeyRegistry, registry_entry

XIANAN = "咸宁市咸安区自然资源和规划局"  # the shipped profile's [instance] name


@dataclass(frozen=True)
class Member:
    """One instance of a test chain: its name, level and key."""

    name: str
    level: str
    key: Ed25519PrivateKey


def members(*named: tuple[str, str]) -> list[Member]:
    """Return chain members with fresh keys."""
    return [Member(n, lvl, Ed25519PrivateKey.generate()) for n, lvl in named]


def registry(chain: list[Member]) -> KeyRegistry:
    """Return the key registry of a chain."""
    return KeyRegistry.of(*((m.name, m.level, m.key.public_key()) for m in chain))


def instance(member: Member, chain: list[Member]) -> Instance:
    """Return a member as the filing code sees itself."""
    return Instance(member.name, member.level, member.key, registry(chain))


def write_chain(folder: Path, chain: list[Member]) -> tuple[Path, dict[str, Path]]:
    """Write the registry file and each member's private key file; return the registry and the key files by name."""
    folder.mkdir(parents=True, exist_ok=True)
    registry_file = folder / "registry.toml"
    registry_file.write_text("\n".join(registry_entry(m.name, m.level, "", m.key.public_key()) for m in chain), "utf-8")
    keys = {}
    for i, m in enumerate(chain):
        path = folder / f"key-{i}.pem"
        path.write_bytes(
            m.key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        keys[m.name] = path
    return registry_file, keys
