"""Settings from ``TALER_INVENTORY_*`` environment variables."""
import json
import os

import platformdirs

PREFIX = "TALER_INVENTORY_"

DEFAULTS = {
    "DATABASE_URL": None,           # None: the embedded PostgreSQL in DATA_DIR
    "ADMIN_PASSWORD": None,
    "CURRENCY": "KUDOS",
    "DATA_DIR": None,               # None: a per-user data directory
    "MAX_BODY_SIZE": 1024 * 1024,   # bytes, after decompression
    "POOL_MIN_SIZE": 1,
    "POOL_MAX_SIZE": 8,
    "POOL_TIMEOUT": 5.0,            # seconds to wait for a connection before 503
    "TX_RETRIES": 5,                # attempts on deadlock / serialization failure
    "ARGON2_TIME_COST": 3,
    "ARGON2_MEMORY_COST": 65536,    # KiB
    "RECLAIM_BATCH": 16,            # expired holds an order reclaims on its way, at most
    "RECLAIM_INTERVAL": 1.0,        # seconds between the background reclaimer's passes; 0: off
    "BODY_TIMEOUT": 30.0,           # seconds a request body may take to arrive
    "HEAD_TIMEOUT": 10.0,           # seconds for the request head; idle keep-alive
    "BASE_URL": None,               # public root URL for contracts; None: from the request
    "TRUST_FORWARDED": False,       # take X-Forwarded-Proto/-Host/-Prefix from a proxy
    "EXCHANGES": [],                # JSON list of {url, master_pub, priority?} for contracts
}

_INT_KEYS = {"MAX_BODY_SIZE", "POOL_MIN_SIZE", "POOL_MAX_SIZE", "TX_RETRIES",
             "ARGON2_TIME_COST", "ARGON2_MEMORY_COST", "RECLAIM_BATCH"}
_FLOAT_KEYS = {"POOL_TIMEOUT", "BODY_TIMEOUT", "HEAD_TIMEOUT", "RECLAIM_INTERVAL"}
_BOOL_KEYS = {"TRUST_FORWARDED"}
_JSON_LIST_KEYS = {"EXCHANGES"}


class SettingError(ValueError):
    """A setting that cannot be read: the message names it."""


def _json_list(key: str, raw: str) -> list:
    try:
        value = json.loads(raw)
    except ValueError as err:
        raise SettingError(f"{PREFIX}{key} is not JSON: {err}") from None
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise SettingError(f"{PREFIX}{key} must be a JSON list of objects")
    return value


def from_env(environ=None) -> dict:
    """Read the settings from the environment, falling back to :data:`DEFAULTS`."""
    environ = os.environ if environ is None else environ
    settings = {}
    for key, default in DEFAULTS.items():
        raw = environ.get(PREFIX + key)
        if raw is None or raw == "":
            settings[key] = default
        elif key in _INT_KEYS:
            settings[key] = int(raw)
        elif key in _FLOAT_KEYS:
            settings[key] = float(raw)
        elif key in _BOOL_KEYS:
            settings[key] = raw.strip().lower() in ("1", "yes", "true", "on")
        elif key in _JSON_LIST_KEYS:
            settings[key] = _json_list(key, raw)
        else:
            settings[key] = raw
    if settings["DATA_DIR"] is None:
        settings["DATA_DIR"] = platformdirs.user_data_dir("taler-inventory")
    return settings
