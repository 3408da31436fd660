"""taler-inventory: the inventory module of a GNU Taler merchant backend."""
from flask import Flask

__version__ = "0.1.0"
#: Taler protocol version of the merchant API we implement, "current:revision:age"
#: (libtool semantics: a client of level c accepts us when 32 - 12 <= c <= 32, so
#: from v20, the Android POS app's level, to v32, the newest; see doc/protocol.rst).
PROTOCOL_VERSION = "32:0:12"


class _Flask(Flask):
    """Flask, remembering which of its functions are synchronous.

    Flask asks for every hook and view of every request whether it is a coroutine
    function (``inspect`` under the hood); the answer never changes, so it is looked
    up once per function.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sync = {}

    def ensure_sync(self, func):
        try:
            return self._sync[func]
        except KeyError:
            self._sync[func] = sync = super().ensure_sync(func)
            return sync
        except TypeError:  # not hashable
            return super().ensure_sync(func)


def create_app(test_config=None):
    """Application factory.

    Settings come from ``TALER_INVENTORY_*`` environment variables; ``test_config``
    overrides them (keys as in :data:`taler_inventory.config.DEFAULTS`).
    ``DATABASE_URL`` must be set by then: the CLI resolves the embedded default.
    """
    from . import auth, config, db, errors, logins, logs, longpoll, metrics
    from .api import register

    app = _Flask(__name__)
    settings = config.from_env()
    if test_config:
        settings.update(test_config)
    if not settings["DATABASE_URL"]:
        raise config.SetupError("DATABASE_URL is not set (the CLI starts the embedded database)")
    app.config["INVENTORY"] = settings
    app.json.sort_keys = False
    errors.init_app(app)
    # Before the blueprints' hooks, so that every answer is timed and counted.
    logs.init_app(app)
    metrics.init_app(app)
    db.init_app(app)
    longpoll.init_app(app)
    app.extensions["taler_inventory_passwords"] = auth.Passwords(
        time_cost=settings["ARGON2_TIME_COST"], memory_cost=settings["ARGON2_MEMORY_COST"],
        concurrency=settings["PASSWORD_CHECKS"], wait=settings["PASSWORD_CHECK_WAIT"])
    logins.init_app(app)
    register(app)
    return app
