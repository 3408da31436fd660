"""Run the app on gunicorn, the production WSGI server.

The app is created once in the master process (schema and admin bootstrap happen
before); each worker opens its own connection pool lazily after the fork.
Threaded workers keep connections alive, so a client does not pay a TCP
handshake per request.
"""
from http import HTTPStatus

from gunicorn import util
from gunicorn.app.base import BaseApplication

from .errors import wire_error


def write_error(sock, status_int, reason, mesg):
    """gunicorn's answer to a request it rejects itself, as a Taler ErrorDetail.

    Replaces ``gunicorn.util.write_error`` (an HTML page): a malformed request line
    or header, a URI or header section over the limits, a broken chunked body.
    """
    status, body = wire_error(status_int, mesg or "")
    reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else reason
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    util.write_nonblock(sock, head.encode("latin-1") + body)


class _Gunicorn(BaseApplication):
    def __init__(self, app, options):
        self._app = app
        self._options = options
        super().__init__()

    def load_config(self):
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self):
        return self._app


def run(app, *, host: str, port: int, workers: int, threads: int, on_worker_exit=None):
    """Serve ``app``; ``on_worker_exit(pid)`` is called in this process per dead worker."""
    options = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "keepalive": 30,
        "timeout": 60,
        "graceful_timeout": 10,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
    }
    if on_worker_exit is not None:
        options["child_exit"] = lambda arbiter, worker: on_worker_exit(worker.pid)
    # The workers call util.write_error by module attribute; patched in this process only.
    util.write_error = write_error
    _Gunicorn(app, options).run()
