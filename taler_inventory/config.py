"""Settings from ``TALER_INVENTORY_*`` environment variables.

:data:`SETTINGS` is the one list of them: default, kind and a one-line description,
which ``--help`` shows.  A value that cannot be read is a :class:`SetupError` naming
the variable, so the command can say so in one line.
"""
import ipaddress
import json
import os
from dataclasses import dataclass

import platformdirs

PREFIX = "TALER_INVENTORY_"


class SetupError(ValueError):
    """A set-up mistake the operator can fix: one line saying what and how."""


@dataclass(frozen=True)
class Setting:
    default: object
    kind: type  # str, int, float or bool
    help: str
    minimum: float | None = None
    shown_default: str | None = None  # for --help, when the default is computed


SETTINGS = {
    "DATABASE_URL": Setting(None, str, "PostgreSQL URL or conninfo; unset: the embedded"
                                       " PostgreSQL in DATA_DIR"),
    "ADMIN_PASSWORD": Setting(None, str, "password of the admin instance; unset: made up"
                                         " on the first start and printed once"),
    "CURRENCY": Setting("KUDOS", str, "currency announced by GET /config"),
    "DATA_DIR": Setting(None, str, "where the embedded PostgreSQL keeps its data",
                        shown_default="the per-user data directory;"
                                      " /var/lib/taler-inventory as root"),
    "EMBEDDED_USER": Setting("embedded_postgres", str, "system user that runs the embedded"
                                                       " PostgreSQL when started as root"),
    "MAX_BODY_SIZE": Setting(1024 * 1024, int, "largest request body in bytes, after"
                                               " decompression", 1),
    "POOL_MIN_SIZE": Setting(1, int, "database connections a worker keeps open", 0),
    "POOL_MAX_SIZE": Setting(8, int, "database connections a worker opens at most", 1),
    "POOL_TIMEOUT": Setting(5.0, float, "seconds to wait for a database connection"
                                        " before 503", 0.001),
    "TX_RETRIES": Setting(5, int, "attempts on deadlock or serialization failure", 1),
    "ARGON2_TIME_COST": Setting(3, int, "Argon2id passes of a password hash", 1),
    "ARGON2_MEMORY_COST": Setting(65536, int, "Argon2id memory of a password hash, KiB", 8),
    "RECLAIM_BATCH": Setting(16, int, "expired holds an order reclaims on its way", 0),
    "RECLAIM_INTERVAL": Setting(1.0, float, "seconds between the background reclaimer's"
                                            " passes; 0: none", 0),
    # The webhook delivery worker (doc/operations.rst, "Webhooks").
    "WEBHOOK_INTERVAL": Setting(0.5, float, "seconds between the webhook worker's looks"
                                            " for due deliveries; 0: no worker", 0),
    "WEBHOOK_TIMEOUT": Setting(10.0, float, "seconds one webhook delivery attempt may"
                                            " take", 0.001),
    "WEBHOOK_RETRY_DELAY": Setting(1.0, float, "seconds before a failed delivery's first"
                                               " retry (doubling after each)", 0.001),
    "WEBHOOK_RETRY_MAX": Setting(3600.0, float, "longest wait between two attempts of a"
                                                " delivery, seconds", 0.001),
    "WEBHOOK_CONCURRENCY": Setting(4, int, "webhooks delivered to at the same time", 1),
    "WEBHOOK_REFUSE_PRIVATE": Setting(False, bool, "refuse to deliver to loopback,"
                                                   " private and link-local addresses"),
    "WEBHOOK_KEEP_DAYS": Setting(30.0, float, "days gc keeps delivered webhook events", 0),
    "BODY_TIMEOUT": Setting(30.0, float, "seconds a request body may take to arrive", 0.001),
    "HEAD_TIMEOUT": Setting(10.0, float, "seconds the request head may take (at most 60);"
                                         " also the idle keep-alive", 0.001),
    # Limits of hostile input and of every database wait (doc/operations.rst).
    "MAX_JSON_DEPTH": Setting(32, int, "nesting levels of a JSON body (400/22 deeper)", 1),
    "LOG_ERRORS_PER_MINUTE": Setting(10, int, "full reports of server errors a minute,"
                                              " per process", 0),
    "DB_CONNECT_TIMEOUT": Setting(2.0, float, "seconds for a new database connection", 0.001),
    "DB_STATEMENT_TIMEOUT": Setting(5.0, float, "seconds a statement may run; one more:"
                                                " the connection is cut", 0.001),
    "DB_LOCK_TIMEOUT": Setting(3.0, float, "seconds a statement may wait for a row lock",
                               0.001),
    "DB_TCP_USER_TIMEOUT": Setting(10.0, float, "seconds unacknowledged data may wait"
                                                " (TCP)", 0.001),
    "PASSWORD_CHECKS": Setting(2, int, "concurrent password hashes per process", 1),
    "PASSWORD_CHECK_WAIT": Setting(2.0, float, "seconds a login waits for a hashing slot"
                                               " (then 503)", 0.001),
    "LOGIN_FAILURES_PER_ADDRESS": Setting(5, int, "failed logins per client address and"
                                                  " window (then 429)", 1),
    "LOGIN_FAILURES_PER_INSTANCE": Setting(30, int, "failed logins per instance and window"
                                                    " (then 429)", 1),
    "LOGIN_WINDOW": Setting(60.0, float, "seconds of the failed-login window", 0.001),
    "LONG_POLL_MAX_TIMEOUT": Setting(120.0, float, "longest wait of a long poll in seconds"
                                                   " (a longer timeout_ms is cut)", 0),
    "LONG_POLL_MAX_WAITERS": Setting(1000, int, "long polls waiting at once per worker"
                                                " process (more answer at once)", 0),
    "BASE_URL": Setting(None, str, "public root URL for contracts; unset: from the request"),
    "TRUST_FORWARDED": Setting(False, bool, "take X-Forwarded-Proto/-Host/-Prefix from a"
                                            " proxy"),
    "EXCHANGES": Setting([], list, "JSON list of {url, master_pub, priority?} for"
                                   " contracts"),
    "LOG_LEVEL": Setting("info", str, "debug, info, warning or error"),
    "LOG_FORMAT": Setting("text", str, "text, or json for one JSON object per line"),
    "ACCESS_LOG": Setting(False, bool, "log every request (method, path, status,"
                                       " duration, instance); like serve --access-log"),
    "METRICS_ALLOW": Setting("127.0.0.0/8,::1", str, "networks that may read GET /metrics"
                                                     " (comma-separated; 'any' for all)"),
    "DEBUG": Setting(False, bool, "show the traceback of a set-up error; like --debug"),
}

#: The defaults alone, as a plain dict (``create_app`` test configs use these keys).
DEFAULTS = {key: setting.default for key, setting in SETTINGS.items()}

LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("text", "json")
_TRUE = {"1", "yes", "true", "on"}
_FALSE = {"0", "no", "false", "off"}


def _parse(key: str, setting: Setting, raw: str):
    name = PREFIX + key
    if setting.kind is bool:
        if raw.lower() in _TRUE | _FALSE:
            return raw.lower() in _TRUE
        raise SetupError(f"{name}={raw!r} is not yes or no; set it to yes or no")
    if setting.kind is str:
        return raw
    if setting.kind is list:
        return _json_list(name, raw)
    try:
        value = setting.kind(raw)
    except ValueError:
        what = "a whole number" if setting.kind is int else "a number"
        raise SetupError(f"{name}={raw!r} is not {what}; set it to {what}"
                         f" (default {setting.default})") from None
    if setting.minimum is not None and not value >= setting.minimum:
        raise SetupError(f"{name}={raw!r} is too small; set it to at least"
                         f" {setting.minimum:g} (default {setting.default})")
    return value


def _json_list(name: str, raw: str) -> list:
    try:
        value = json.loads(raw)
    except ValueError as err:
        raise SetupError(f"{name} is not JSON: {err}") from None
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise SetupError(f"{name} must be a JSON list of objects")
    return value


def _choice(settings: dict, key: str, choices: tuple):
    value = settings[key].lower()
    if value not in choices:
        raise SetupError(f"{PREFIX}{key}={settings[key]!r} is unknown; set it to one of"
                         f" {', '.join(choices)}")
    settings[key] = value


def default_data_dir() -> str:
    """The per-user data directory; as root the system one (see doc/operations.rst)."""
    user_dir = platformdirs.user_data_dir("taler-inventory")
    if os.name == "posix" and os.geteuid() == 0:
        # A data directory under /root cannot be reached by the unprivileged user
        # that runs PostgreSQL, and /root must stay private.  An older installation
        # may have its data there already: keep using it.
        if os.path.isdir(os.path.join(user_dir, "pgdata")):
            return user_dir
        return "/var/lib/taler-inventory"
    return user_dir


def from_env(environ=None) -> dict:
    """Read the settings from the environment, falling back to the defaults."""
    environ = os.environ if environ is None else environ
    settings = {}
    for key, setting in SETTINGS.items():
        raw = environ.get(PREFIX + key)
        settings[key] = setting.default if raw is None or raw == "" \
            else _parse(key, setting, raw)
    _choice(settings, "LOG_LEVEL", LOG_LEVELS)
    _choice(settings, "LOG_FORMAT", LOG_FORMATS)
    if settings["POOL_MIN_SIZE"] > settings["POOL_MAX_SIZE"]:
        raise SetupError(f"{PREFIX}POOL_MIN_SIZE ({settings['POOL_MIN_SIZE']}) is above"
                         f" {PREFIX}POOL_MAX_SIZE ({settings['POOL_MAX_SIZE']});"
                         " lower it or raise the maximum")
    metrics_networks(settings["METRICS_ALLOW"])
    if settings["DATA_DIR"] is None:
        settings["DATA_DIR"] = default_data_dir()
    return settings


def metrics_networks(value: str) -> list | None:
    """The networks of ``METRICS_ALLOW``; None for ``any``."""
    if value.strip().lower() == "any":
        return None
    try:
        return [ipaddress.ip_network(part.strip(), strict=False)
                for part in value.split(",") if part.strip()]
    except ValueError as exc:
        raise SetupError(f"{PREFIX}METRICS_ALLOW={value!r}: {exc}; give networks like"
                         " 127.0.0.0/8,::1,10.0.0.0/8 or 'any'") from None
