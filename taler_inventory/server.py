"""Run the app on gunicorn, the production WSGI server.

The app is created once in the master process (schema and admin bootstrap happen
before); each worker opens its own connection pool lazily after the fork.
Threaded workers keep connections alive, so a client does not pay a TCP
handshake per request.
"""
from gunicorn.app.base import BaseApplication


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


def run(app, *, host: str, port: int, workers: int, threads: int):
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
    _Gunicorn(app, options).run()
