"""Prometheus metrics, read at ``GET /metrics`` (see doc/operations.rst).

Counters and histograms live in each process.  Under ``serve`` every worker process
writes them to files in a directory of that server (``PROMETHEUS_MULTIPROC_DIR``, which
``serve`` sets before this module is first imported), and a scrape, whichever worker
answers it, adds up all of them.  A worker that dies leaves its file, so its counts stay
in the totals (as counters must); no metric is a per-process gauge, so there is nothing of a dead
worker to take out.  What the database knows (live holds, the reclaim backlog) is
read from it at each scrape.
"""
import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import multiprocess
from prometheus_client.core import GaugeMetricFamily

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: The text format every Prometheus version reads (our names need no escaping).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REQUESTS = Counter("taler_inventory_http_requests", "HTTP requests answered",
                   ["endpoint", "method", "status"])
LATENCY = Histogram("taler_inventory_http_request_duration_seconds",
                    "Time from the request reaching the app to its answer",
                    ["endpoint", "method"],
                    buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
REFUSED = Counter("taler_inventory_refused_requests",
                  "Requests answered 410 (stock gone) or 429 (too many locks)",
                  ["status", "code"])
LOCKS = Counter("taler_inventory_locks",
                "Cart lock operations: taken (new), replaced (re-posted), released, expired",
                ["outcome"])
POOL_WAIT = Histogram("taler_inventory_db_pool_wait_seconds",
                      "Time a request waited for a database connection from the pool",
                      buckets=(.0005, .001, .005, .01, .05, .1, .5, 1, 2.5, 5, 10))
DB_ERRORS = Counter("taler_inventory_db_errors",
                    "Database failures: pool_timeout, connection_lost, timeout, cut (no answer), "
                    "error", ["kind"])
WEBHOOK_ATTEMPTS = Counter("taler_inventory_webhook_attempts",
                           "Webhook delivery attempts by the delivery worker, by outcome",
                           ["outcome"])
LOCK_OUTCOMES = ("taken", "replaced", "released", "expired")


def lock_outcome(outcome: str, count: int = 1):
    if count:
        series = _LOCK_SERIES.get(outcome)
        (series if series is not None else LOCKS.labels(outcome)).inc(count)


#: The labelled series of each (endpoint, method, status) seen: ``labels()`` takes a
#: lock and builds its key on every call, the series never change.
_ANSWERED = {}


def webhook_attempt(outcome: str):
    WEBHOOK_ATTEMPTS.labels(outcome).inc()


def request_answered(endpoint: str, method: str, status: int, seconds: float, code=None):
    series = _ANSWERED.get((endpoint, method, status))
    if series is None:
        series = _ANSWERED.setdefault((endpoint, method, status), (
            REQUESTS.labels(endpoint, method, str(status)), LATENCY.labels(endpoint, method)))
    series[0].inc()
    series[1].observe(seconds)
    if status in (410, 429):
        REFUSED.labels(str(status), str(code)).inc()


def init_app(app):
    """Count and time every answer by its route (``/private/products/<product_id>``)."""
    from flask import request

    from .logs import request_duration
    from .longpoll import is_parked

    @app.after_request
    def count_request(response):
        if is_parked():
            return response  # not an answer: the request runs again later
        req = request._get_current_object()
        rule = req.url_rule
        endpoint = rule.rule if rule is not None else "unmatched"
        code = None
        if response.status_code in (410, 429):
            code = (response.get_json(silent=True) or {}).get("code")
        request_answered(endpoint, req.method, response.status_code, request_duration(), code)
        return response


# -- the scrape ----------------------------------------------------------------------

class DatabaseCollector:
    """Gauges read from the database at each scrape."""

    def __init__(self, read):
        self.read = read  # () -> dict of hold counts, raises when the database is away

    def collect(self):
        up = GaugeMetricFamily("taler_inventory_db_up",
                               "1 when the database answered this scrape")
        try:
            counts = self.read()
        except Exception:  # noqa: BLE001 - the scrape reports it as db_up 0
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        live = GaugeMetricFamily("taler_inventory_holds_live",
                                 "Holds that hold stock now, by kind", labels=["kind"])
        live.add_metric(["lock"], counts["live_locks"])
        live.add_metric(["order"], counts["live_orders"])
        yield live
        yield GaugeMetricFamily("taler_inventory_holds_reclaim_backlog",
                                "Expired holds not reclaimed yet", value=counts["backlog"])
        if "webhook_pending" in counts:
            yield GaugeMetricFamily("taler_inventory_webhook_backlog",
                                    "Webhook events recorded but not delivered yet",
                                    value=counts["webhook_pending"])
            yield GaugeMetricFamily("taler_inventory_webhook_failing",
                                    "Undelivered webhook events whose last attempt failed",
                                    value=counts["webhook_failing"])
            yield GaugeMetricFamily("taler_inventory_webhook_oldest_age_seconds",
                                    "Age of the oldest undelivered webhook event (0: none)",
                                    value=counts["webhook_oldest_age"])


def render(read_database) -> bytes:
    """The text exposition of every process's metrics plus the database's."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        own = generate_latest(registry)
    else:
        from prometheus_client import REGISTRY
        own = generate_latest(REGISTRY)
    database = CollectorRegistry()
    database.register(DatabaseCollector(read_database))
    return own + generate_latest(database)


# Shown as 0 from the start, so rates work.
_LOCK_SERIES = {outcome: LOCKS.labels(outcome) for outcome in LOCK_OUTCOMES}
for _outcome in ("delivered", "failed"):
    WEBHOOK_ATTEMPTS.labels(_outcome)
