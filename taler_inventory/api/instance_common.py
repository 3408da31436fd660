"""Shared by the management API and the own-instance API: render, reconfigure, set the
credentials, delete."""
from flask import current_app

from .. import talercrypto
from ..backenddb import instances as instances_db
from ..backenddb.outcome import Status
from ..db import get_db
from ..errors import ErrorCode, TalerError
from ..schemas.instances import EXTRA_FIELDS
from ..timeutil import DAY
from .common import ADMIN_INSTANCE

#: What a new instance gets for the defaults its creation leaves out; ``GET /config``
#: announces the same.  No refund window and no wire-transfer delay unless the
#: merchant sets one: a refund window is a promise only the merchant can make.
NEW_INSTANCE_DEFAULTS = {
    "default_pay_delay": DAY,
    "default_refund_delay": 0,
    "default_wire_transfer_delay": 0,
    "default_wire_transfer_rounding_interval": "NONE",
}
#: Our own default (an extension): how long a cart lock may live at most.
DEFAULT_MAX_LOCK_DURATION = DAY

#: How an instance operation's status maps onto an error.
_ERRORS = {Status.UNKNOWN: ErrorCode.MERCHANT_GENERIC_INSTANCE_UNKNOWN}


def fail(status: Status, instance_id: str):
    """Raise the Taler error of a failed instance operation."""
    raise TalerError(_ERRORS[status], instance_id)


_SHOWN_COLUMNS = ("default_pay_delay", "default_refund_delay", "default_wire_transfer_delay",
                  "default_wire_transfer_rounding_interval", "max_lock_duration",
                  "max_active_locks")


def details(row) -> dict:
    """The instance as ``GET /private`` shows it (``QueryInstancesResponse``)."""
    out = {"name": row["name"], "id": row["instance_id"],
           "merchant_pub": talercrypto.encode(row["merchant_pub"]),
           "auth": {"method": row["auth_method"]},
           "address": {}, "jurisdiction": {}, "use_stefan": True}
    out.update({k: row[k] for k in _SHOWN_COLUMNS})
    out.update({k: v for k, v in row["settings"].items() if k in EXTRA_FIELDS})
    # This server sends no confirmation codes, so nothing it stores is validated.
    for field, flag in (("email", "email_validated"), ("phone_number", "phone_validated")):
        if out.get(field):
            out[flag] = False
    return out


def creation_columns(body: dict) -> dict:
    """The columns of a new instance: what the request says, the defaults otherwise."""
    columns = dict(NEW_INSTANCE_DEFAULTS, max_lock_duration=DEFAULT_MAX_LOCK_DURATION,
                   max_active_locks=None)
    columns.update({k: body[k] for k in instances_db.SETTING_COLUMNS if k in body})
    return columns


def extra_settings(body: dict) -> dict:
    return {k: body[k] for k in EXTRA_FIELDS if k in body}


def reconfigure(instance_id: str, body: dict):
    changes = {k: body[k] for k in instances_db.SETTING_COLUMNS if k in body}
    settings = extra_settings(body)
    if settings:
        changes["settings"] = settings
    outcome = get_db().run(instances_db.update_instance, instance_id, changes)
    if not outcome.ok:
        fail(outcome.status, instance_id)


def passwords():
    return current_app.extensions["taler_inventory_passwords"]


def password_hash(auth: dict) -> str:
    """The stored hash of an ``auth`` object; none that verifies for ``external``."""
    return "" if auth["password"] is None else passwords().hash(auth["password"])


def change_auth(instance_id: str, auth: dict):
    """New credentials (password, or ``external``); every token stops working."""
    outcome = get_db().run(instances_db.update_instance_auth, instance_id, password_hash(auth),
                           auth_method=auth["method"])
    if not outcome.ok:
        fail(outcome.status, instance_id)


def delete(instance_id: str, *, purge: bool):
    """Disable an instance (its private key is erased), or purge it and its data."""
    if instance_id == ADMIN_INSTANCE:
        raise TalerError(ErrorCode.INVENTORY_ADMIN_INSTANCE_PROTECTED, instance_id)
    outcome = get_db().run(instances_db.delete_instance, instance_id, purge=purge)
    if not outcome.ok:
        fail(outcome.status, instance_id)
