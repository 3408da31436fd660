"""Shared by the management API and the own-instance API: render and reconfigure."""
from flask import current_app

from ..backenddb import instances as instances_db
from ..db import get_db
from ..errors import ErrorCode, TalerError
from ..schemas.instances import EXTRA_FIELDS
from ..timeutil import US_PER_S

DAY = 24 * 3600 * US_PER_S
#: What a new instance gets for the defaults its creation leaves out; ``GET /config``
#: announces the same.  No refund window and no wire-transfer delay unless the
#: merchant sets one: a refund window is a promise only the merchant can make.
NEW_INSTANCE_DEFAULTS = {
    "default_pay_delay": DAY,
    "default_refund_delay": 0,
    "default_wire_transfer_delay": 0,
    "default_wire_transfer_rounding_interval": "NONE",
}

COLUMN_FIELDS = ("name", "default_pay_delay", "max_lock_duration", "max_active_locks")


def details(row) -> dict:
    """The instance as ``GET /private`` shows it."""
    out = {"name": row["name"], "id": row["instance_id"], "auth": {"method": "token"},
           "default_pay_delay": row["default_pay_delay"],
           "max_lock_duration": row["max_lock_duration"],
           "max_active_locks": row["max_active_locks"],
           "address": {}, "jurisdiction": {}, "use_stefan": True,
           "default_wire_transfer_delay": {"d_us": 0}}
    out.update(row["settings"])
    return out


def reconfigure(instance_id: str, body: dict):
    changes = {k: body[k] for k in COLUMN_FIELDS if k in body}
    settings = {k: body[k] for k in EXTRA_FIELDS if k in body}
    if settings:
        changes["settings"] = settings
    if not get_db().run(instances_db.update_instance, instance_id, changes):
        raise TalerError(ErrorCode.MERCHANT_GENERIC_INSTANCE_UNKNOWN, instance_id)


def passwords():
    return current_app.extensions["taler_inventory_passwords"]


def change_password(instance_id: str, password: str):
    if not get_db().run(instances_db.set_password, instance_id, passwords().hash(password)):
        raise TalerError(ErrorCode.MERCHANT_GENERIC_INSTANCE_UNKNOWN, instance_id)
