"""Failure limits on logins and query-code lookups: N failures of a key within a sliding window, then a pause.

Kept in memory per server process, deliberately. The limits stop online guessing of passwords and of 8-character
query codes (31^8 codes); with W worker processes an attacker gets at most W times the budget, which changes
nothing about that. A table would cost a write on every failure in a transaction of its own (the request's
transaction rolls back on the failure it would record) and a sweep of old rows; a restart forgets the counts,
which an attacker cannot cause. Only failures count: staff and applicants who get it right are never slowed down.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from service.core.errors import TooManyAttempts
from service.core.settings import Settings

MAX_KEYS = 100_000  # the oldest keys are forgotten beyond this (the keys are chosen by whoever is guessing)


@dataclass(frozen=True)
class Limit:
    """At most `failures` failures of one key within `window` seconds."""

    failures: int
    window: float


class FailureLimiter:
    """Counts failures per (scope, key); `check` refuses a key that has used up its scope's limit."""

    def __init__(self, limits: Mapping[str, Limit], clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = dict(limits)
        self._clock = clock
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> FailureLimiter:
        """Return the limiter of logins and query-code lookups configured in the settings."""
        w = float(settings.failure_window_seconds)
        return cls(
            {
                "login:user": Limit(settings.login_failures_per_user, w),
                "login:ip": Limit(settings.login_failures_per_ip, w),
                "query_code:case": Limit(settings.query_code_failures_per_case, w),
                "query_code:ip": Limit(settings.query_code_failures_per_ip, w),
            }
        )

    def _recent(self, scope: str, key: str, now: float) -> deque[float] | None:
        times = self._failures.get((scope, key))
        if times is not None:
            window = self.limits[scope].window
            while times and times[0] <= now - window:
                times.popleft()
        return times

    def _wait(self, keys: Mapping[str, str], now: float) -> float:
        wait = 0.0
        for scope, key in keys.items():
            limit = self.limits[scope]
            times = self._recent(scope, key, now)
            if times and len(times) >= limit.failures:
                wait = max(wait, times[-limit.failures] + limit.window - now)
        return wait

    def retry_after(self, keys: Mapping[str, str]) -> int:
        """Return the seconds until every (scope: key) may try again; 0 when none is blocked."""
        with self._lock:
            wait = self._wait(keys, self._clock())
        return math.ceil(wait) if wait > 0 else 0

    def check(self, keys: Mapping[str, str], what: str) -> None:
        """Refuse (TooManyAttempts, with the seconds to wait) when any of the keys has used up its limit.

        Attempts under way are not counted: concurrent logins of one busy account or one office behind NAT must not
        refuse each other. Parallel guesses can therefore pass the check together, at most one per request the
        server runs at once (its thread pool), and then the key is blocked for the window.
        """
        with self._lock:
            wait = self._wait(keys, self._clock())
        if wait > 0:
            seconds = math.ceil(wait)
            minutes = max(1, math.ceil(seconds / 60))
            raise TooManyAttempts(
                f"{what}失败次数过多，请 {minutes} 分钟后再试 / too many failed attempts; try again in {seconds} seconds",
                retry_after=seconds,
            )

    def failed(self, keys: Mapping[str, str]) -> None:
        """Count one failure for each of the keys."""
        with self._lock:
            now = self._clock()
            for scope, key in keys.items():
                times = self._recent(scope, key, now)
                if times is None:
                    times = self._failures[(scope, key)] = deque(maxlen=self.limits[scope].failures)
                self._failures.move_to_end((scope, key))
                times.append(now)
            while len(self._failures) > MAX_KEYS:
                self._failures.popitem(last=False)

    def forget(self, scope: str, key: str) -> None:
        """Clear a key's failures (a user who has just logged in)."""
        with self._lock:
            self._failures.pop((scope, key), None)
