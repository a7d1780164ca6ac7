"""Staff authentication: argon2 password hashes, signed bearer tokens and session cookies, query codes."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from psycopg import AsyncConnection
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from gis.catalog import COUNTY_CODE
from service.access import permissions
from service.core.errors import InvalidInput, NotAuthenticated
from service.core.models import StaffSession, User
from service.core.personal import valid_mobile
from service.core.settings import Settings, get_settings
from service.core.tables import read_table

# argon2id at OWASP's recommended minimum (Password Storage Cheat Sheet: m = 19 MiB, t = 2, p = 1): about 20 ms of one
# core. argon2-cffi's default (64 MiB, t = 3, p = 4) took ~180 ms of both cores per login and put the load test's p95
# over its target. Hashes made with other parameters still verify and are rehashed at the next successful login.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Query codes avoid look-alike characters (0/O, 1/I/L): applicants read them off a paper receipt.
QUERY_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
QUERY_CODE_LENGTH = 8  # 31^8 ≈ 8.5 × 10^11 codes, 39.6 bits drawn by `secrets`: random, so a keyed hash suffices
QUERY_CODE_HMAC = "hmac-sha256$"


def hash_secret(secret: str) -> str:
    """Return an argon2id hash of a password."""
    return _hasher.hash(secret)


def verify_secret(hashed: str, secret: str) -> bool:
    """Return whether a secret matches its argon2 hash."""
    try:
        return _hasher.verify(hashed, secret)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(hashed: str) -> bool:
    """Return whether an argon2 hash was made with other parameters than today's."""
    try:
        return _hasher.check_needs_rehash(hashed)
    except (InvalidHashError, ValueError):
        return True


def new_query_code() -> str:
    """Return a fresh query code for an applicant's receipt."""
    return "".join(secrets.choice(QUERY_CODE_ALPHABET) for _ in range(QUERY_CODE_LENGTH))


def query_code_key(settings: Settings) -> bytes:
    """Return the HMAC key of query codes, derived from the server's secret key (never stored in the database)."""
    return hmac.new(secret_key(settings).encode(), b"landwindow.query-code", hashlib.sha256).digest()


def session_code_key(session: Session) -> bytes:
    """Return the query-code key the app put on this session, else the one of the process's settings (CLI)."""
    key = session.info.get("query_code_key")
    return key if isinstance(key, bytes) else query_code_key(get_settings())


def hash_query_code(code: str, key: bytes) -> str:
    """Return the keyed hash of a query code: HMAC-SHA256 (microseconds; a leaked database alone cannot test codes)."""
    return QUERY_CODE_HMAC + hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


def verify_query_code(hashed: str, code: str, key: bytes) -> bool:
    """Return whether a query code matches its stored hash (HMAC-SHA256, or argon2 from before), in constant time."""
    if hashed.startswith(QUERY_CODE_HMAC):
        return hmac.compare_digest(hashed.encode(), hash_query_code(code, key).encode())
    return verify_secret(hashed, code)


def secret_key(settings: Settings) -> str:
    """Return the signing key: the configured one, else one generated once into the data folder."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir).expanduser() / "secret.key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written aside and linked into place: with several server processes starting at once, the first key linked is
    # the one every process reads (a token signed by one worker must verify in the others).
    part = path.with_name(f".secret.key.{os.getpid()}")
    part.write_text(secrets.token_urlsafe(48) + "\n")
    part.chmod(0o600)
    try:
        os.link(part, path)
    except FileExistsError:
        pass
    finally:
        part.unlink()
    return path.read_text().strip()


@dataclass(frozen=True)
class Principal:
    """Who is acting: a member of staff (from a token or cookie)."""

    user_id: int | None
    username: str
    role: str
    department: str | None = None
    audit_name: str | None = None
    county: str | None = None
    """The county (GB/T 2260 code) whose cases this member of staff works on; none: every county."""
    session_id: str | None = None

    @property
    def actor(self) -> str:
        """Return the name written to the audit log."""
        return self.audit_name or f"{self.role}:{self.username}"


def principal_of(user: User, session_id: str | None = None) -> Principal:
    """Return the principal of a staff account (in a login session)."""
    return Principal(user.id, user.username, user.role, user.department, session_id=session_id, county=user.county)


def operator() -> Principal:
    """Return the server's operator, who runs the `landwindow` command (permissions.toml [operator])."""
    t = permissions.table()
    return Principal(None, t.operator_actor, t.operator_role, audit_name=t.operator_actor)


class TokenSigner:
    """Signs and checks bearer tokens and session cookies (the same signed payload, different salts)."""

    def __init__(self, key: str, max_age_seconds: int) -> None:
        self._token = URLSafeTimedSerializer(key, salt="landwindow.token")
        self._cookie = URLSafeTimedSerializer(key, salt="landwindow.session")
        self._receipt = URLSafeTimedSerializer(key, salt="landwindow.receipt")
        self.max_age = max_age_seconds

    RECEIPT_SECONDS = 600

    def seal_receipt(self, case_id: int, query_code: str) -> str:
        """Return a signed note carrying a new case's query code from the intake to its page (never in a URL)."""
        return self._receipt.dumps({"c": case_id, "q": query_code})

    def open_receipt(self, note: str | None, case_id: int) -> str | None:
        """Return the query code of a note sealed for this case in the last ten minutes, else None."""
        if not note:
            return None
        try:
            data = self._receipt.loads(note, max_age=self.RECEIPT_SECONDS)
        except BadSignature:  # SignatureExpired included
            return None
        return str(data["q"]) if data.get("c") == case_id else None

    def issue(self, session_id: str, cookie: bool = False) -> str:
        """Return a signed token naming a login session (who it is, is read from the database on every request)."""
        return (self._cookie if cookie else self._token).dumps({"s": session_id})

    def read(self, token: str, cookie: bool = False) -> str:
        """Return the session id of a validly signed, unexpired token, or raise NotAuthenticated saying why."""
        try:
            data = (self._cookie if cookie else self._token).loads(token, max_age=self.max_age)
        except SignatureExpired as exc:
            raise NotAuthenticated("登录已过期，请重新登录 / the session has expired; log in again") from exc
        except BadSignature as exc:
            raise NotAuthenticated("登录凭据无效 / the credentials are invalid") from exc
        session_id = data.get("s") if isinstance(data, dict) else None
        if not isinstance(session_id, str):
            raise NotAuthenticated("登录凭据无效 / the credentials are invalid")
        return session_id


# One indexed query per request (two primary-key lookups): the session must still be open and the account active;
# the role and department are today's, not the login's.
SESSION_PRINCIPAL = """
SELECT u.id, u.username, u.role, u.department, u.county
FROM staff_sessions s JOIN users u ON u.id = s.user_id
WHERE s.id = %s AND s.ended_at IS NULL AND s.expires_at > now() AND u.active
"""
SESSION_ENDED = (
    "登录已失效（已退出、密码或角色已变更、或账号已停用），请重新登录 / the session has ended (logged out, the password "
    "or role changed, or the account was deactivated): log in again"
)


async def session_principal(conn: AsyncConnection, session_id: str) -> Principal:
    """Return the member of staff of an open session of an active account, or raise NotAuthenticated."""
    cur = await conn.execute(SESSION_PRINCIPAL, (session_id,))
    row = await cur.fetchone()
    if row is None:
        raise NotAuthenticated(SESSION_ENDED)
    return Principal(int(row[0]), str(row[1]), str(row[2]), row[3], session_id=session_id, county=row[4])


def start_session(session: Session, user: User, via: str, seconds: int, address: str | None = None) -> str:
    """Open a login session for a user (`via` web or api) lasting `seconds`; return its id for the token."""
    session_id = secrets.token_urlsafe(24)
    expires = func.now() + timedelta(seconds=seconds)
    session.add(StaffSession(id=session_id, user_id=user.id, via=via, address=address, expires_at=expires))
    session.flush()
    return session_id


def end_session(session: Session, session_id: str, reason: str = "logout") -> bool:
    """End one login session (logout); return whether it was still open."""
    done = session.execute(
        update(StaffSession)
        .where(StaffSession.id == session_id, StaffSession.ended_at.is_(None))
        .values(ended_at=func.now(), end_reason=reason)
    )
    return bool(getattr(done, "rowcount", 0))


def end_user_sessions(session: Session, user_id: int, reason: str) -> int:
    """End every open session of a user (a changed password, role or department, a deactivation); return how many."""
    done = session.execute(
        update(StaffSession)
        .where(StaffSession.user_id == user_id, StaffSession.ended_at.is_(None))
        .values(ended_at=func.now(), end_reason=reason)
    )
    return int(getattr(done, "rowcount", 0))


def forget_old_sessions(session: Session, keep_days: int = 30) -> int:
    """Delete sessions that expired or ended more than `keep_days` ago (kept that long to show who was logged in)."""
    cutoff = func.now() - timedelta(days=keep_days)
    done = session.execute(
        delete(StaffSession).where((StaffSession.expires_at < cutoff) | (StaffSession.ended_at < cutoff))
    )
    return int(getattr(done, "rowcount", 0))


def authenticate(session: Session, username: str, password: str) -> User:
    """Return the active user with this password, or raise NotAuthenticated (same message either way)."""
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        verify_secret(_dummy_hash(), password)  # the same time as a wrong password: no telling which names exist
        raise NotAuthenticated("用户名或密码错误 / wrong username or password")
    if not verify_secret(user.password_hash, password):
        raise NotAuthenticated("用户名或密码错误 / wrong username or password")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_secret(password)
    return user


@cache
def _dummy_hash() -> str:
    return hash_secret(secrets.token_urlsafe(16))


def add_user(
    session: Session,
    username: str,
    role: str,
    password: str,
    department: str | None = None,
    display_name: str = "",
    county: str | None = None,
) -> User:
    """Create a member of staff (of one county when `county`, a GB/T 2260 code, is given; else of every county the
    instance holds); the password is stored only as an argon2 hash."""
    if county is not None and COUNTY_CODE.match(county) is None:
        raise InvalidInput(
            f"县级行政区划代码应为6位数字 / the county must be a six-digit GB/T 2260 code, got {county!r}"
        )
    if role not in permissions.roles():
        raise InvalidInput(f"未知角色 unknown role {role!r}; roles: {', '.join(permissions.roles())}")
    if len(password) < 8:
        raise InvalidInput("密码至少8位 / the password must have at least 8 characters")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise InvalidInput(f"用户名已存在 / the username {username!r} is taken")
    user = User(
        username=username,
        role=role,
        department=department,
        county=county,
        display_name=display_name or username,
        password_hash=hash_secret(password),
    )
    session.add(user)
    session.flush()
    return user


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise InvalidInput(f"用户不存在 / no user {username!r}")
    return user


def set_password(session: Session, username: str, password: str) -> User:
    """Change a user's password (and clear the must-change flag); every session of the old password ends."""
    if len(password) < 8:
        raise InvalidInput("密码至少8位 / the password must have at least 8 characters")
    user = _user(session, username)
    user.password_hash = hash_secret(password)
    user.must_change_password = False
    end_user_sessions(session, user.id, "password")
    return user


def set_active(session: Session, username: str, active: bool) -> User:
    """Activate or deactivate a member of staff; a deactivation ends every session at once."""
    user = _user(session, username)
    user.active = active
    if not active:
        end_user_sessions(session, user.id, "deactivated")
    return user


def set_role(session: Session, username: str, role: str, department: str | None = None) -> User:
    """Change a member of staff's role and department; every session with the old ones ends."""
    if role not in permissions.roles():
        raise InvalidInput(f"未知角色 unknown role {role!r}; roles: {', '.join(permissions.roles())}")
    user = _user(session, username)
    user.role, user.department = role, department
    end_user_sessions(session, user.id, "role")
    return user


def set_phone(session: Session, username: str, phone: str) -> User:
    """Set (or clear, with an empty string) where the window's text messages reach a member of staff."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise InvalidInput(f"用户不存在 / no user {username!r}")
    number = phone.strip().replace(" ", "").replace("-", "")
    if number and not valid_mobile(number):
        raise InvalidInput(
            f"手机号码：{phone!r} 不是有效的手机号码（11位，以1开头） / phone: {phone!r} is not a mobile number "
            "(11 digits starting with 1)"
        )
    user.phone = number or None
    return user


def demo_users() -> list[dict[str, str]]:
    """Return the demo staff of the sample county (service/data/demo_users.toml)."""
    return list(read_table("demo_users.toml")["users"])


def ensure_demo_users(session: Session) -> list[dict[str, str]]:
    """Create the demo staff that do not exist yet; return the ones created."""
    created = []
    for u in demo_users():
        if session.scalar(select(User).where(User.username == u["username"])) is None:
            add_user(session, u["username"], u["role"], u["password"], u.get("department"), u.get("display_name", ""))
            created.append(u)
    return created


def is_loopback(host: str) -> bool:
    """Return whether a bind address is reachable from this machine only (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def demo_passwords_in_use(session: Session) -> list[str]:
    """Return the active demo users (service/data/demo_users.toml) whose password is still the demo one."""
    names = []
    for u in demo_users():
        user = session.scalar(select(User).where(User.username == u["username"], User.active.is_(True)))
        if user is not None and verify_secret(user.password_hash, u["password"]):
            names.append(user.username)
    return names
