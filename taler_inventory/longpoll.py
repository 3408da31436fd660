"""Long polling: a request that waits for an order to change, holding nothing.

A view whose answer would be negative (the order is still unpaid, no new order
matches) and whose ``timeout_ms`` is not used up calls :meth:`LongPoll.wait`.
Waking comes from PostgreSQL: the stored procedures ``pg_notify`` the channel
``inventory_order`` with ``"<instance_serial> <order_id>"`` when an order is made,
claimed, paid or refunded, and one :class:`Hub` per process listens on it on a
connection of its own (not one of the pool) and wakes the waiters of that order
and of its instance's order list.

Two ways to wait (doc/design.rst, "Long polling"):

- under ``serve`` the request is *parked*: the view raises :class:`Park`, the
  request thread and the database connection go back to their pools, and the
  HTTP bridge (:mod:`taler_inventory.server`) awaits the wake-up on its event
  loop, then runs the request again with the time that is left;
- under any other WSGI server (the Flask test client, a WSGI server of the
  operator's choice) the request thread waits on an event; the database
  connection is back in the pool all the same.

The race between the view's read and the registration of the waiter: the hub
remembers when each key was last notified (for :data:`MEMORY` seconds) and when it
last (re)connected; a waiter whose read began before either is woken at once.
"""
import collections
import logging
import os
import threading
import time

import psycopg
from flask import current_app, request

from . import db

log = logging.getLogger(__name__)

CHANNEL = "inventory_order"
#: How the listening connection shows in ``pg_stat_activity``.
APPLICATION_NAME = "taler-inventory-listener"
#: Seconds a notification is remembered for requests whose read began before it.
MEMORY = 120.0
#: Seconds between two connection attempts of the listener (doubling up to the last).
RECONNECT_DELAYS = (0.25, 0.5, 1.0, 2.0, 5.0)
#: Seconds the listener waits for notifications before it looks whether to stop.
POLL_SLICE = 1.0

#: WSGI environ keys shared with the HTTP bridge.
ARRIVAL = "taler_inventory.arrival"  # clock() when the request arrived
PARK = "taler_inventory.park"  # dict the view fills to park (only under the bridge)
NO_WAIT = "taler_inventory.no_wait"  # the bridge says: answer now (closing, full)
DEADLINE = "taler_inventory.deadline"  # set by the first run, kept by the re-runs
SEEN = "taler_inventory.seen"  # what the first run saw (what "changed" compares to)


def clock() -> float:
    """Monotonic seconds that a frozen test clock does not stop."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def order_key(instance_serial: int, order_id: str) -> str:
    return f"{instance_serial} {order_id}"


def list_key(instance_serial: int) -> str:
    return f"{instance_serial}"


class Park(Exception):
    """Raised by a view under the bridge: answer later (see :meth:`LongPoll.wait`)."""


class Hub:
    """One LISTEN connection per process and the requests waiting on its keys.

    ``register`` and the notifications take the same lock, so a waiter either sees
    a notification in :attr:`_last` or gets its callback.  Callbacks run on the
    listener thread and must be quick (set an event, schedule on a loop).
    """

    def __init__(self, database, *, max_waiters: int):
        self.database = database
        self.max_waiters = max_waiters
        self._lock = threading.Lock()
        self._waiters = collections.defaultdict(dict)  # key -> {token: callback}
        self._count = 0
        self._last = collections.OrderedDict()  # key -> clock() of the last notify
        self._connected_at = None  # clock() of the last (re)connection; None: never
        self._next_token = 0
        self._pid = None
        self._thread = None
        self._stop = threading.Event()
        self.connected = threading.Event()

    # -- waiters ---------------------------------------------------------------

    def start(self):
        """Start the listener of this process (after a fork: a new one)."""
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            # A forked child inherits the parent's waiters and memory, not its thread.
            self._waiters.clear()
            self._count = 0
            self._last.clear()
            self._connected_at = None
            self._stop = threading.Event()
            self.connected = threading.Event()
            self._thread = threading.Thread(target=self._run, name="order-listener",
                                            daemon=True)
            self._thread.start()

    def register(self, keys, callback, since: float):
        """Wait on ``keys``: returns a token, ``"now"`` when a notification (or a
        reconnection) came after ``since`` (the time the request's read began), or
        None when :attr:`max_waiters` already wait."""
        self.start()
        with self._lock:
            # Before the first connection the request waits: connecting wakes it.
            # After a reconnection that came since its read, a notification may
            # have been lost while nobody listened: it must look again.
            if self._connected_at is not None and (
                    self._connected_at >= since
                    or any(self._last.get(key, -1.0) >= since for key in keys)):
                return "now"
            if self._count >= self.max_waiters:
                return None
            self._next_token += 1
            token = (self._next_token, tuple(keys))
            for key in keys:
                self._waiters[key][token] = callback
            self._count += 1
            return token

    def unregister(self, token):
        if not isinstance(token, tuple):
            return
        with self._lock:
            found = False
            for key in token[1]:
                waiters = self._waiters.get(key)
                if waiters is not None and waiters.pop(token, None) is not None:
                    found = True
                    if not waiters:
                        del self._waiters[key]
            if found:
                self._count -= 1

    def waiting(self) -> int:
        with self._lock:
            return self._count

    def wake_all(self):
        """Wake every waiter (the listener reconnected, the server stops)."""
        with self._lock:
            callbacks = {t: cb for waiters in self._waiters.values()
                         for t, cb in waiters.items()}
        for callback in callbacks.values():
            _call(callback)

    def notified(self, payload: str):
        """A notification of ``"<instance_serial> <order_id>"``: wake its waiters."""
        serial, _, order_id = payload.partition(" ")
        keys = (order_key(int(serial), order_id), list_key(int(serial))) if order_id \
            else (payload,)
        now = clock()
        with self._lock:
            callbacks = []
            for key in keys:
                self._last[key] = now
                self._last.move_to_end(key)
                callbacks.extend(self._waiters.get(key, {}).values())
            while self._last:
                oldest_key, when = next(iter(self._last.items()))
                if now - when <= MEMORY:
                    break
                del self._last[oldest_key]
        for callback in callbacks:
            _call(callback)

    # -- the listener thread -----------------------------------------------------

    def stop(self):
        self._stop.set()

    def _run(self):
        failures = 0
        while not self._stop.is_set():
            try:
                conn = self._connect()
            except psycopg.Error as exc:
                delay = RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)]
                if failures == 0:
                    log.warning("long polling cannot listen (%s); trying again", exc)
                failures += 1
                self._stop.wait(delay)
                continue
            failures = 0
            try:
                with conn:
                    with self._lock:
                        self._connected_at = clock()
                    self.connected.set()
                    # Everybody looks again: what happened while nobody listened is lost.
                    self.wake_all()
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=POLL_SLICE):
                            self.notified(note.payload)
            except (psycopg.Error, OSError, ValueError) as exc:
                self.connected.clear()
                if not self._stop.is_set():
                    log.warning("long polling lost its database connection (%s)", exc)
            except Exception:  # noqa: BLE001 - the listener must survive a bad payload
                log.exception("long polling listener failed; restarting it")
                self.connected.clear()

    def _connect(self):
        # The pool's bounds and keepalives: this connection lives as long as the server.
        settings = dict(self.database._connect_kwargs(), application_name=APPLICATION_NAME)
        conn = db.connect(self.database.url, "listener", in_schema=False, **settings)
        conn.execute(f"LISTEN {CHANNEL}")
        return conn


def _call(callback):
    try:
        callback()
    except Exception:  # noqa: BLE001 - one broken waiter must not stop the others
        log.exception("long-poll wake-up failed")


def get_hub(app=None) -> Hub:
    return (app or current_app).extensions["taler_inventory_longpoll"]


def init_app(app):
    from .api.common import empty_response
    from .db import get_db
    app.extensions["taler_inventory_longpoll"] = Hub(
        get_db(app), max_waiters=app.config["INVENTORY"]["LONG_POLL_MAX_WAITERS"])
    # The bridge never sends this answer: it waits, then runs the request again.
    app.register_error_handler(Park, lambda exc: empty_response(204))


class LongPoll:
    """The waiting state of one request: its deadline and what it first saw.

    A view reads, then, if the answer would be negative::

        poll = LongPoll(args.get("timeout_ms"))
        while True:
            poll.begin()
            row = read()
            if answer_is_final(row) or not poll.wait(keys):
                return answer(row)
    """

    def __init__(self, timeout_ms: int | None):
        environ = request.environ
        self.environ = environ
        if DEADLINE not in environ:
            limit = current_app.config["INVENTORY"]["LONG_POLL_MAX_TIMEOUT"]
            seconds = min((timeout_ms or 0) / 1000, limit)
            environ[DEADLINE] = environ.get(ARRIVAL, clock()) + seconds
        self.deadline = environ[DEADLINE]
        self.started = clock()

    @property
    def first(self) -> bool:
        """Whether this is the first run of the request (nothing seen yet)."""
        return SEEN not in self.environ

    def seen(self, value):
        """What the first run saw (kept for the re-runs); returns it."""
        return self.environ.setdefault(SEEN, value)

    def begin(self):
        self.started = clock()

    def remaining(self) -> float:
        return self.deadline - clock()

    def wait(self, keys) -> bool:
        """Wait for a notification of ``keys``: True to read again, False to answer
        now (the time is up, the server stops, too many wait).  Under the bridge it
        raises :class:`Park` instead of waiting."""
        if self.remaining() <= 0 or self.environ.get(NO_WAIT):
            return False
        park = self.environ.get(PARK)
        if park is not None:
            park.update(keys=tuple(keys), deadline=self.deadline, started=self.started)
            raise Park()
        hub = get_hub()
        event = threading.Event()
        token = hub.register(keys, event.set, self.started)
        if token is None:
            return False
        if token == "now":
            return True
        try:
            event.wait(max(0.0, self.remaining()))
        finally:
            hub.unregister(token)
        return True


def is_parked() -> bool:
    """Whether the current request's answer is a park (not sent, not counted)."""
    park = request.environ.get(PARK)
    return bool(park)
