"""Monitoring: ``GET /readyz`` for load balancers, ``GET /metrics`` for Prometheus."""
from flask import Blueprint, current_app, request

from .. import config, metrics
from ..backenddb import monitoring as monitoring_db
from ..backenddb import webhooks as webhooks_db
from ..db import get_db
from ..errors import ErrorCode, TalerError
from ..timeutil import US_PER_S, now_us
from .common import endpoint

bp = Blueprint("monitoring", __name__)

#: A probe must not wait the whole pool timeout: load balancers give up sooner.
READY_TIMEOUT = 2.0


@bp.get("/readyz")
@endpoint(instance=False, errors=(ErrorCode.GENERIC_DB_START_FAILED,))
def get_readyz():
    """200 when the database answers, else 503: whether to send traffic here."""
    with get_db().connection(timeout=READY_TIMEOUT) as conn:
        monitoring_db.ping(conn)
    return {"status": "ready", "database": "ok"}


@bp.get("/metrics")
@endpoint(instance=False, errors=(ErrorCode.INVENTORY_METRICS_FORBIDDEN,))
def get_metrics():
    """Prometheus metrics of every worker process (text format)."""
    if not _may_read_metrics(request.remote_addr):
        raise TalerError(ErrorCode.INVENTORY_METRICS_FORBIDDEN, request.remote_addr)
    body = metrics.render(_hold_counts)
    return current_app.response_class(body, content_type=metrics.CONTENT_TYPE)


def _hold_counts() -> dict:
    now = now_us()
    with get_db().connection(timeout=READY_TIMEOUT) as conn:
        counts = dict(monitoring_db.hold_counts(conn, now=now))
        webhooks = webhooks_db.backlog(conn, now)
    counts["webhook_pending"] = webhooks["pending"]
    counts["webhook_failing"] = webhooks["failing"]
    oldest = webhooks["oldest_event"]
    counts["webhook_oldest_age"] = 0 if oldest is None else max(now - oldest, 0) / US_PER_S
    return counts


def _may_read_metrics(address: str | None) -> bool:
    import ipaddress
    networks = config.metrics_networks(current_app.config["INVENTORY"]["METRICS_ALLOW"])
    if networks is None:
        return True
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False  # a Unix socket or a proxy that passes no address
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks if network.version == ip.version)
