"""Throttling of failed logins, per client address and per instance.

A password check costs an Argon2 hash (tens of MiB and milliseconds of CPU), and a
guesser should not get many.  Failed password logins are counted in a sliding window
(``LOGIN_WINDOW`` seconds) per client address and per instance; once either count
reaches its limit, further password logins for it are answered 429 with
``Retry-After`` (the seconds until the oldest counted failure leaves the window)
without hashing anything.  Access tokens are never throttled, so a merchant whose
password logins are being hammered keeps working with the tokens it has.

The counts live in the memory of each worker process: with ``--workers N`` a guesser
gets at most N times the limit.  Memory is bounded: at most ``MAX_KEYS`` addresses
and instances are remembered, the least recently failed are forgotten first.
"""
import collections
import math
import threading

from .errors import ErrorCode, TalerError
from .timeutil import US_PER_S, now_us

MAX_KEYS = 10_000


class LoginThrottle:
    def __init__(self, *, per_address: int, per_instance: int, window: float):
        self.limits = {"address": per_address, "instance": per_instance}
        self.window_us = int(window * US_PER_S)
        self._failures = collections.OrderedDict()  # (kind, key) -> deque of times
        self._lock = threading.Lock()

    def attempt(self, instance_id: str, address: str) -> int:
        """Count a password login as failed until :meth:`succeeded` says otherwise.

        Raises 429 if the address or the instance has failed too often lately.
        Counting before the check, not after it, keeps concurrent guesses within the
        limit too.  Returns the attempt's time, for :meth:`succeeded`.
        """
        now = now_us()
        keys = (("address", address), ("instance", instance_id))
        with self._lock:
            for key in keys:
                times = self._recent(key, now)
                if times is not None and len(times) >= self.limits[key[0]]:
                    wait = math.ceil((times[0] + self.window_us - now) / US_PER_S)
                    raise TalerError(ErrorCode.INVENTORY_LOGIN_THROTTLED,
                                     f"too many failed logins for this {key[0]}",
                                     retry_after=max(1, wait))
            for key in keys:
                self._failures.setdefault(key, collections.deque()).append(now)
                self._failures.move_to_end(key)
            while len(self._failures) > MAX_KEYS:
                self._failures.popitem(last=False)
        return now

    def succeeded(self, instance_id: str, address: str, attempt: int):
        """The login of ``attempt`` was right: it does not count as a failure."""
        with self._lock:
            for key in (("address", address), ("instance", instance_id)):
                times = self._failures.get(key)
                if times is not None and attempt in times:
                    times.remove(attempt)

    def clear(self):
        with self._lock:
            self._failures.clear()

    def _recent(self, key, now):
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] + self.window_us <= now:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times


def init_app(app):
    settings = app.config["INVENTORY"]
    app.extensions["taler_inventory_logins"] = LoginThrottle(
        per_address=settings["LOGIN_FAILURES_PER_ADDRESS"],
        per_instance=settings["LOGIN_FAILURES_PER_INSTANCE"],
        window=settings["LOGIN_WINDOW"])
