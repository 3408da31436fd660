"""Management of instances: ``/management/instances[/$ID]`` (admin tokens only)."""
import re

from flask import Blueprint, request

from ..backenddb import instances as instances_db
from ..db import get_db
from ..errors import ErrorCode, TalerError
from ..schemas.instances import (EXTRA_FIELDS, INSTANCE_ID_PATTERN, InstanceConfigurationSchema,
                                 InstanceDetailsSchema, InstanceListSchema,
                                 InstanceReconfigurationSchema)
from ..timeutil import US_PER_S
from .common import ADMIN_INSTANCE, endpoint
from .instance_common import details, passwords, reconfigure

bp = Blueprint("management", __name__)

DAY = 24 * 3600 * US_PER_S
INSTANCE_ID = re.compile(INSTANCE_ID_PATTERN)
#: The old name of the admin instance: ``/instances/default/...`` redirects to the root.
ALIAS_OF_ADMIN = "default"
DEFAULT_PAY_DELAY = DAY
DEFAULT_MAX_LOCK_DURATION = DAY


def _same_settings(row, body) -> bool:
    wanted = {
        "name": body["name"],
        "default_pay_delay": body.get("default_pay_delay", DEFAULT_PAY_DELAY),
        "max_lock_duration": body.get("max_lock_duration", DEFAULT_MAX_LOCK_DURATION),
        "max_active_locks": body.get("max_active_locks"),
    }
    if any(row[k] != v for k, v in wanted.items()):
        return False
    if {k: body[k] for k in EXTRA_FIELDS if k in body} != row["settings"]:
        return False
    return passwords().verify(row["password_hash"], body["auth"]["password"])


@bp.post("/management/instances")
@endpoint(instance=False, permission="instances-write", body=InstanceConfigurationSchema,
          status=204, errors=(ErrorCode.MERCHANT_PRIVATE_POST_INSTANCES_ALREADY_EXISTS,))
def management_post_instances(body):
    """Create an instance (the same id with identical settings again: 204)."""
    if body["id"] == ALIAS_OF_ADMIN:
        # /instances/default/... redirects to the admin instance: an instance
        # of that id could never be reached.  The id is taken, by the admin.
        raise TalerError(ErrorCode.MERCHANT_PRIVATE_POST_INSTANCES_ALREADY_EXISTS, body["id"],
                         hint='"default" is another name of the admin instance.')
    created = get_db().run(
        instances_db.insert_instance, instance_id=body["id"], name=body["name"],
        password_hash=passwords().hash(body["auth"]["password"]),
        default_pay_delay=body.get("default_pay_delay", DEFAULT_PAY_DELAY),
        max_lock_duration=body.get("max_lock_duration", DEFAULT_MAX_LOCK_DURATION),
        max_active_locks=body.get("max_active_locks"),
        settings={k: body[k] for k in EXTRA_FIELDS if k in body})
    if created:
        return None
    row = get_db().run(instances_db.lookup_instance, body["id"])
    if row is not None and row["deleted"]:
        raise TalerError(ErrorCode.MERCHANT_PRIVATE_POST_INSTANCES_PURGE_REQUIRED, body["id"])
    if row is not None and _same_settings(row, body):
        return None
    raise TalerError(ErrorCode.MERCHANT_PRIVATE_POST_INSTANCES_ALREADY_EXISTS, body["id"])


@bp.get("/management/instances")
@endpoint(instance=False, permission="instances-read", response=InstanceListSchema)
def management_get_instances():
    """List every instance, the deleted (disabled) ones too."""
    rows = get_db().run(instances_db.list_instances)
    return {"instances": [
        {"id": r["instance_id"], "name": r["name"], "deleted": r["deleted"],
         "payment_targets": [],
         **{k: r["settings"][k] for k in ("website", "logo") if k in r["settings"]}}
        for r in rows]}


def _known_shape(instance_id):
    """An id no instance can have (a NUL, say) is unknown and never reaches SQL."""
    if INSTANCE_ID.match(instance_id) is None:
        raise TalerError(ErrorCode.MERCHANT_GENERIC_INSTANCE_UNKNOWN, instance_id[:128])


def _live_instance(instance_id):
    _known_shape(instance_id)
    row = get_db().run(instances_db.lookup_instance, instance_id)
    if row is None or row["deleted"]:
        raise TalerError(ErrorCode.MERCHANT_GENERIC_INSTANCE_UNKNOWN, instance_id)
    return row


@bp.get("/management/instances/<instance_id_>")
@endpoint(instance=False, permission="instances-read", response=InstanceDetailsSchema,
          errors=(ErrorCode.MERCHANT_GENERIC_INSTANCE_UNKNOWN,))
def management_get_instances_id(instance_id_):
    """Show one instance."""
    return details(_live_instance(instance_id_))


@bp.patch("/management/instances/<instance_id_>")
@endpoint(instance=False, permission="instances-write", body=InstanceReconfigurationSchema,
          status=204, errors=(ErrorCode.MERCHANT_GENERIC_INSTANCE_UNKNOWN,))
def management_patch_instances_id(instance_id_, body):
    """Reconfigure an instance; absent fields stay."""
    _known_shape(instance_id_)
    reconfigure(instance_id_, body)


@bp.delete("/management/instances/<instance_id_>")
@endpoint(instance=False, permission="instances-write", status=204,
          errors=(ErrorCode.MERCHANT_GENERIC_INSTANCE_UNKNOWN,
                  ErrorCode.INVENTORY_ADMIN_INSTANCE_PROTECTED))
def management_delete_instances_id(instance_id_):
    """Disable an instance, or remove it and its data with ``?purge=YES``."""
    purge = request.args.get("purge") == "YES"
    if instance_id_ == ADMIN_INSTANCE:
        raise TalerError(ErrorCode.INVENTORY_ADMIN_INSTANCE_PROTECTED, instance_id_)
    _known_shape(instance_id_)
    if not get_db().run(instances_db.delete_instance, instance_id_, purge=purge):
        raise TalerError(ErrorCode.MERCHANT_GENERIC_INSTANCE_UNKNOWN, instance_id_)
