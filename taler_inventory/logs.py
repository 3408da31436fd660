"""Logging: the level and format of every log line, and the access log.

Everything logs through :mod:`logging` under the ``taler_inventory`` logger to
standard error, as text or as one JSON object per line (``LOG_FORMAT=json``) for log
collectors.  The access log is written by Flask request hooks, so it does not depend
on the WSGI server: one line per request with method, path (never the query string),
status, duration and instance.
"""
import json
import logging
import sys
import time

from flask import g, request

ROOT = "taler_inventory"
ACCESS = "taler_inventory.access"

# Fields of a LogRecord that are not extra fields given by the caller.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the extra fields."""

    def format(self, record):
        entry = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S")
                 + f".{int(record.msecs):03d}Z",
                 "level": record.levelname.lower(), "logger": record.name,
                 "message": record.getMessage()}
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    converter = time.gmtime

    def __init__(self):
        super().__init__("%(asctime)sZ %(levelname)s %(name)s: %(message)s",
                         "%Y-%m-%dT%H:%M:%S")


def configure(settings: dict):
    """Send the ``taler_inventory`` logs (and the libraries' warnings) to stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if settings["LOG_FORMAT"] == "json"
                         else TextFormatter())
    handler.formatter.converter = time.gmtime
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "taler_inventory", False)]:
        root.removeHandler(old)
    handler.taler_inventory = True
    root.addHandler(handler)
    # Libraries (psycopg_pool, the WSGI server) say only what goes wrong; ours says
    # what the operator asked for.
    root.setLevel(logging.WARNING)
    logging.getLogger(ROOT).setLevel(settings["LOG_LEVEL"].upper())
    logging.getLogger(ACCESS).setLevel(logging.INFO if settings["ACCESS_LOG"]
                                       else logging.WARNING)


def init_app(app):
    """Time every request; log it when the access log is on."""
    access = logging.getLogger(ACCESS)

    @app.before_request
    def start_clock():
        g.request_started = time.perf_counter()

    @app.after_request
    def log_request(response):
        from .longpoll import is_parked
        if access.isEnabledFor(logging.INFO) and not is_parked():
            duration_ms = round(request_duration() * 1000, 1)
            instance = g.get("instance_id") or "-"
            access.info("%s %s %s %d %.1fms instance=%s", request.remote_addr,
                        request.method, request.path, response.status_code, duration_ms,
                        instance, extra={
                            "remote": request.remote_addr, "method": request.method,
                            "path": request.path, "status": response.status_code,
                            "duration_ms": duration_ms, "instance": instance})
        return response


def request_duration() -> float:
    """Seconds since the request began (0 when the hooks did not run)."""
    started = g.get("request_started")
    return time.perf_counter() - started if started is not None else 0.0
