"""The webhook delivery worker: the outbox's events go to the merchants' URLs.

Events are recorded by triggers in the transaction of the change that causes them
(sql/procedures/40-webhooks.sql), one row per webhook per event.  ``serve`` runs
this worker as a child process (:func:`running`), like the reclaimer; every
``TALER_INVENTORY_WEBHOOK_INTERVAL`` seconds (0.5) it takes the due head of each
webhook's queue, renders its templates and sends it, up to
``WEBHOOK_CONCURRENCY`` webhooks at a time, each attempt within
``WEBHOOK_TIMEOUT`` seconds.  A 2xx answer delivers the event; anything else is
recorded and retried after ``WEBHOOK_RETRY_DELAY`` seconds, doubling up to
``WEBHOOK_RETRY_MAX``; the next event of that webhook waits for it, so each
webhook sees its events in the order they happened, at least once.

One worker delivers per database, however many ``serve`` processes share it (a
session advisory lock, as the reclaimer's); and a delivery is taken with a row
lock and a lease, so not even ``taler-inventory webhooks --retry`` running beside
it sends an event twice.  Requests never wait for any of this.
"""
import ipaddress
import logging
import os
import socket
import ssl
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from http.client import HTTPConnection
from urllib.parse import urlsplit

import psycopg

from . import children, config, db, metrics
from . import webhook_templates as templates
from .backenddb import webhooks as webhooks_db
from .timeutil import US_PER_S, now_us

log = logging.getLogger(__name__)

#: The session advisory lock that makes one delivery worker per database ("webhooks").
WORKER_LOCK_KEY = 0x7765_6268_6f6f_6b73
ENV_URL = "TALER_INVENTORY_WEBHOOK_WORKER_URL"
#: The most of a receiver's answer that is read (its status is what counts).
MAX_ANSWER = 64 * 1024
USER_AGENT = "taler-inventory webhooks"


@dataclass(frozen=True)
class Policy:
    """How deliveries are attempted, from the ``WEBHOOK_*`` settings."""

    interval: float = 0.5
    timeout: float = 10.0
    retry_delay: float = 1.0
    retry_max: float = 3600.0
    concurrency: int = 4
    refuse_private: bool = False

    @classmethod
    def from_settings(cls, settings: dict) -> "Policy":
        return cls(interval=settings["WEBHOOK_INTERVAL"], timeout=settings["WEBHOOK_TIMEOUT"],
                   retry_delay=settings["WEBHOOK_RETRY_DELAY"],
                   retry_max=settings["WEBHOOK_RETRY_MAX"],
                   concurrency=settings["WEBHOOK_CONCURRENCY"],
                   refuse_private=settings["WEBHOOK_REFUSE_PRIVATE"])

    def lease_us(self) -> int:
        """How long a taken delivery is this worker's: its attempt and some margin."""
        return int((2 * self.timeout + 5) * US_PER_S)

    def retry_after_us(self, failures: int) -> int:
        """The wait after the ``failures``-th failed attempt (1, 2, ...)."""
        delay = min(self.retry_delay * 2 ** min(failures - 1, 60), self.retry_max)
        return int(delay * US_PER_S)


@dataclass(frozen=True)
class Outcome:
    http_status: int | None
    error: str | None
    duration_us: int

    @property
    def delivered(self) -> bool:
        return self.error is None and self.http_status is not None \
            and 200 <= self.http_status < 300


class Refused(Exception):
    """The URL leads where webhooks may not go."""


def internal_address(ip) -> bool:
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
            or ip.is_reserved or ip.is_unspecified)


def _connect(host: str, port: int, deadline: float, refuse_private: bool):
    """A socket to the first address of ``host`` that answers (and may be used)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    last = None
    for family, kind, proto, _, address in infos:
        ip = ipaddress.ip_address(address[0].split("%")[0])
        if refuse_private and internal_address(ip):
            last = Refused(f"{host} is the internal address {ip}"
                           " (TALER_INVENTORY_WEBHOOK_REFUSE_PRIVATE)")
            continue
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            sock.connect(address)
            return sock
        except OSError as exc:
            sock.close()
            last = exc
    raise last if last is not None else OSError(f"{host} has no address")


def send(method: str, url: str, headers: list, body: bytes, *, timeout: float,
         refuse_private: bool = False) -> int:
    """Send one request to ``url`` (nowhere else: no redirect is followed) within
    ``timeout`` seconds in all; return the answer's HTTP status."""
    parts = urlsplit(url)
    https = parts.scheme.lower() == "https"
    port = parts.port or (443 if https else 80)
    deadline = time.monotonic() + timeout
    sock = _connect(parts.hostname, port, deadline, refuse_private)
    # However the receiver trickles, the attempt ends at the deadline.
    watchdog = threading.Timer(max(deadline - time.monotonic(), 0.001), _cut, (sock,))
    watchdog.start()
    try:
        if https:
            sock = ssl.create_default_context().wrap_socket(sock,
                                                            server_hostname=parts.hostname)
        conn = HTTPConnection(parts.hostname, port, timeout=timeout)
        conn.sock = sock
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        conn.putheader("Host", host if parts.port in (None, 443 if https else 80)
                       else f"{host}:{parts.port}")
        for name, value in headers:
            conn.putheader(name, value)
        if body or method in ("POST", "PUT", "PATCH"):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        answer = conn.getresponse()
        answer.read(MAX_ANSWER)
        return answer.status
    finally:
        watchdog.cancel()
        sock.close()


def _cut(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def request_of(row: dict) -> tuple[list, bytes]:
    """The headers and body of a delivery: its webhook's templates, expanded."""
    context = row["context"]
    body = templates.render(row["body_template"], context).encode()
    headers = templates.parse_headers(templates.render(row["header_template"], context))
    names = {name.lower() for name, _ in headers}
    if "user-agent" not in names:
        headers.append(("User-Agent", USER_AGENT))
    if body and "content-type" not in names:
        headers.append(("Content-Type", "application/json"
                        if body.lstrip()[:1] in (b"{", b"[") else "text/plain; charset=utf-8"))
    return headers, body


def attempt(row: dict, policy: Policy) -> Outcome:
    """One attempt to deliver ``row``; never raises."""
    start = time.monotonic()
    status, error = None, None
    try:
        headers, body = request_of(row)
        status = send(row["http_method"], row["url"], headers, body,
                      timeout=policy.timeout, refuse_private=policy.refuse_private)
        if not 200 <= status < 300:
            error = f"the receiver answered {status}"
    except Refused as exc:
        error = f"refused: {exc}"
    except (OSError, ValueError) as exc:
        # ValueError: http.client refuses a header that a template filled badly.
        reason = "timed out" if isinstance(exc, TimeoutError) or (
            time.monotonic() - start >= policy.timeout) else str(exc) or type(exc).__name__
        error = f"{type(exc).__name__}: {reason}"[:500]
    except Exception as exc:  # noqa: BLE001 - a template or a receiver must not stop us
        error = f"{type(exc).__name__}: {exc}"[:500]
    return Outcome(status, error, int((time.monotonic() - start) * US_PER_S))


def record(conn, row: dict, outcome: Outcome, policy: Policy):
    now = now_us()
    webhooks_db.record_attempt(
        conn, row["delivery_serial"], now=now, duration_us=outcome.duration_us,
        http_status=outcome.http_status, error=outcome.error, delivered=outcome.delivered,
        retry_at=now + policy.retry_after_us(row["attempts"] + 1))
    metrics.webhook_attempt("delivered" if outcome.delivered else "failed")
    if not outcome.delivered:
        log.info("webhook delivery %d to %s failed (attempt %d): %s",
                 row["delivery_serial"], row["url"], row["attempts"] + 1, outcome.error)


class Deliverer:
    """Takes due deliveries and sends them, ``policy.concurrency`` at a time."""

    def __init__(self, conn, policy: Policy):
        self.conn, self.policy = conn, policy
        self.pool = ThreadPoolExecutor(policy.concurrency, thread_name_prefix="webhook")
        self.inflight = {}  # future -> row

    def step(self, timeout: float) -> int:
        """Record what finished, start what is due; wait up to ``timeout`` for either.

        Returns the number of attempts finished."""
        finished = [f for f in self.inflight if f.done()]
        for future in finished:
            record(self.conn, self.inflight.pop(future), future.result(), self.policy)
        free = self.policy.concurrency - len(self.inflight)
        started = 0
        if free > 0:
            now = now_us()
            for row in webhooks_db.claim_due(self.conn, now, now + self.policy.lease_us(),
                                             free):
                self.inflight[self.pool.submit(attempt, row, self.policy)] = row
                started += 1
        if not finished and not started and timeout > 0:
            if self.inflight:
                wait(list(self.inflight), timeout=timeout, return_when=FIRST_COMPLETED)
            else:
                return -1  # nothing to do: the caller sleeps
        return len(finished)

    def drain(self, deadline: float):
        """Until nothing is due or in flight (or ``deadline``): for one-off passes."""
        while time.monotonic() < deadline:
            if self.step(0.1) == -1 and not self.inflight:
                return
        # Past the deadline: wait for what is in flight, so its outcome is kept.
        while self.inflight:
            self.step(0.1)

    def close(self):
        self.pool.shutdown(wait=True)
        for future, row in list(self.inflight.items()):
            record(self.conn, row, future.result(), self.policy)
        self.inflight.clear()


def try_worker_lock(conn) -> bool:
    return conn.execute("SELECT pg_try_advisory_lock(%s) AS got",
                        (WORKER_LOCK_KEY,)).fetchone()["got"]


def serve_forever(url: str, policy: Policy, stop: threading.Event):
    """Deliver while holding the worker lock, until ``stop``."""
    while not stop.is_set():
        try:
            with db.connect(url, "webhooks") as conn:
                while not stop.is_set() and not try_worker_lock(conn):
                    stop.wait(policy.interval * 5)  # another one works; take over after it
                deliverer = Deliverer(conn, policy)
                try:
                    while not stop.is_set():
                        if deliverer.step(policy.interval) == -1:
                            stop.wait(policy.interval)
                finally:
                    deliverer.close()
        except psycopg.Error as exc:
            log.warning("webhook worker: %s; trying again", str(exc).strip().splitlines()[0])
        stop.wait(policy.interval * 5)


def deliver_now(url: str, policy: Policy, *, seconds: float = 60.0) -> bool:
    """Deliver what is due in this process, unless a worker is at it (then False)."""
    with db.connect(url, "webhooks") as conn:
        if not try_worker_lock(conn):
            return False
        deliverer = Deliverer(conn, policy)
        try:
            deliverer.drain(time.monotonic() + seconds)
        finally:
            deliverer.close()
        return True


@contextmanager
def running(url: str, *, interval: float):
    """Run the worker as a child process while the block runs (``interval`` 0: none)."""
    if interval <= 0:
        yield None
        return
    with children.running(__name__, {ENV_URL: url}, stop_timeout=30) as proc:
        yield proc


def main():
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    url = os.environ[ENV_URL]
    policy = Policy.from_settings(config.from_env())
    serve_forever(url, policy, children.stop_event())


if __name__ == "__main__":
    main()
