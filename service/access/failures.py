"""Failure limits on logins and query-code lookups, kept in PostgreSQL so they hold across workers and restarts.

Each attempt is counted *before* it is tried, in a statement of its own that commits at once (one upsert per key,
its row lock making the count atomic): N parallel guesses get at most `limit` tries, not N. An attempt that succeeds
is refunded, so people who get it right are never slowed down. A key's count runs in a window that starts with its
first attempt; once the window has passed the count starts again, and a refused caller is told how long to wait.

Who is locked out by whom (service/data and README, Security): the tightest limit is per name *and* address, so a
stranger's wrong passwords for an account from another address never block its owner's own address; the address
alone has a limit (one machine trying many names) and the name alone a much larger one (guessing spread over many
addresses), which only an attacker with many addresses can reach.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Engine, text

from service.core.errors import TooManyAttempts
from service.core.settings import Settings

RESERVE = text(
    """
    INSERT INTO attempt_counts AS c (scope, key, attempts, started_at) VALUES (:scope, :key, 1, now())
    ON CONFLICT (scope, key) DO UPDATE SET
      attempts = CASE WHEN c.started_at <= now() - make_interval(secs => :window) THEN 1 ELSE c.attempts + 1 END,
      started_at = CASE WHEN c.started_at <= now() - make_interval(secs => :window) THEN now() ELSE c.started_at END
    WHERE c.started_at <= now() - make_interval(secs => :window) OR c.attempts < :limit
    RETURNING attempts
    """
)
WAIT = text(
    "SELECT extract(epoch FROM started_at + make_interval(secs => :window) - now()) FROM attempt_counts "
    "WHERE scope = :scope AND key = :key"
)
REFUND = text("UPDATE attempt_counts SET attempts = attempts - 1 WHERE scope = :scope AND key = :key AND attempts > 0")
FORGET = text("DELETE FROM attempt_counts WHERE scope = :scope AND key = :key")
EXPIRED = text(
    "DELETE FROM attempt_counts WHERE scope = ANY(:scopes) AND started_at <= now() - make_interval(secs => :window)"
)


@dataclass(frozen=True)
class Limit:
    """At most `attempts` failed attempts of one key within `window` seconds."""

    attempts: int
    window: float


class FailureLimiter:
    """Counts attempts per (scope, key) in the database; `reserve` refuses a key that has used up its limit."""

    def __init__(self, engine: Engine, limits: Mapping[str, Limit]) -> None:
        self.engine = engine
        self.limits = dict(limits)

    @classmethod
    def from_settings(cls, engine: Engine, settings: Settings) -> FailureLimiter:
        """Return the limiter of logins and query-code lookups configured in the settings."""
        w = float(settings.failure_window_seconds)
        return cls(
            engine,
            {
                "login:user+ip": Limit(settings.login_failures_per_user_and_ip, w),
                "login:ip": Limit(settings.login_failures_per_ip, w),
                "login:user": Limit(settings.login_failures_per_user, w),
                "query_code:case+ip": Limit(settings.query_code_failures_per_case_and_ip, w),
                "query_code:ip": Limit(settings.query_code_failures_per_ip, w),
                "query_code:case": Limit(settings.query_code_failures_per_case, w),
                "online:apply": Limit(settings.online_applications_per_ip, settings.online_window_seconds),
                "online:check": Limit(settings.online_checks_per_ip, settings.online_window_seconds),
                "online:respond": Limit(settings.online_responses_per_ip, settings.online_window_seconds),
            },
        )

    def reserve(self, keys: Mapping[str, str], what: str) -> None:
        """Count one attempt for each key, or refuse (TooManyAttempts with the seconds to wait) and count none.

        The keys are taken in one order everywhere, so concurrent attempts never wait on each other in a cycle.
        """
        with self.engine.begin() as c:
            for scope, key in sorted(keys.items()):
                limit = self.limits[scope]
                params = {"scope": scope, "key": key, "window": limit.window, "limit": limit.attempts}
                if c.execute(RESERVE, params).first() is None:
                    wait = c.execute(WAIT, params).scalar() or 1.0
                    seconds = max(1, math.ceil(float(wait)))
                    minutes = max(1, math.ceil(seconds / 60))
                    # raised inside the transaction: the attempts counted for the other keys are rolled back
                    raise TooManyAttempts(
                        f"{what}失败次数过多，请 {minutes} 分钟后再试 / too many failed attempts; try again in "
                        f"{seconds} seconds",
                        retry_after=seconds,
                    )

    def refund(self, keys: Mapping[str, str], forget: tuple[str, ...] = ()) -> None:
        """Give back the attempt of a success; the scopes in `forget` are cleared altogether (an owner's own address)."""
        with self.engine.begin() as c:
            for scope, key in sorted(keys.items()):
                c.execute(FORGET if scope in forget else REFUND, {"scope": scope, "key": key})

    def sweep(self) -> int:
        """Delete the counts whose window has passed (each scope by its own window); return how many."""
        by_window: dict[float, list[str]] = {}
        for scope, limit in self.limits.items():
            by_window.setdefault(limit.window, []).append(scope)
        with self.engine.begin() as c:
            return sum(
                int(getattr(c.execute(EXPIRED, {"scopes": scopes, "window": window}), "rowcount", 0))
                for window, scopes in by_window.items()
            )
