"""Management of instances: ``/management/instances[/$ID[/auth]]`` (admin tokens only)."""
from flask import Blueprint, request

from .. import ids, talercrypto
from ..backenddb import instances as instances_db
from ..db import get_db
from ..errors import ErrorCode, TalerError
from ..schemas.instances import (AuthSchema, InstanceConfigurationSchema, InstanceDetailsSchema,
                                 InstanceListSchema, InstanceReconfigurationSchema)
from .common import endpoint, known_id
from .instance_common import (change_auth, creation_columns, delete, details, extra_settings,
                              password_hash, passwords, reconfigure)

bp = Blueprint("management", __name__)

#: The old name of the admin instance: ``/instances/default/...`` redirects to the root.
ALIAS_OF_ADMIN = "default"


def _same_settings(row, body) -> bool:
    if any(row[k] != v for k, v in creation_columns(body).items()):
        return False
    if extra_settings(body) != row["settings"]:
        return False
    auth = body["auth"]
    if row["auth_method"] != auth["method"]:
        return False
    return auth["password"] is None or passwords().verify(row["password_hash"],
                                                          auth["password"])


@bp.post("/management/instances")
@endpoint(instance=False, permission="instances-write", body=InstanceConfigurationSchema,
          status=204, errors=(ErrorCode.MERCHANT_PRIVATE_POST_INSTANCES_ALREADY_EXISTS,))
def management_post_instances(body):
    """Create an instance with a fresh key pair (the same id with identical settings
    again: 204)."""
    if body["id"] == ALIAS_OF_ADMIN:
        # /instances/default/... redirects to the admin instance: an instance
        # of that id could never be reached.  The id is taken, by the admin.
        raise TalerError(ErrorCode.MERCHANT_PRIVATE_POST_INSTANCES_ALREADY_EXISTS, body["id"],
                         hint='"default" is another name of the admin instance.')
    outcome = get_db().run(
        instances_db.insert_instance, instance_id=body["id"],
        password_hash=password_hash(body["auth"]), auth_method=body["auth"]["method"],
        settings=extra_settings(body), **creation_columns(body))
    if outcome.ok:
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
         "merchant_pub": talercrypto.encode(r["merchant_pub"]),
         "payment_targets": r["payment_targets"],
         **{k: r["settings"][k] for k in ("website", "logo") if k in r["settings"]}}
        for r in rows]}


def _known_instance_id(instance_id):
    return known_id(instance_id, ids.INSTANCE_ID, ErrorCode.MERCHANT_GENERIC_INSTANCE_UNKNOWN)


def _live_instance(instance_id):
    _known_instance_id(instance_id)
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
    _known_instance_id(instance_id_)
    reconfigure(instance_id_, body)


@bp.post("/management/instances/<instance_id_>/auth")
@endpoint(instance=False, permission="instances-auth-write", body=AuthSchema, status=204,
          errors=(ErrorCode.MERCHANT_GENERIC_INSTANCE_UNKNOWN,))
def management_post_instances_id_auth(instance_id_, body):
    """Set an instance's credentials; its tokens stop working."""
    _live_instance(instance_id_)
    change_auth(instance_id_, body)


@bp.delete("/management/instances/<instance_id_>")
@endpoint(instance=False, permission="instances-write", status=204,
          errors=(ErrorCode.MERCHANT_GENERIC_INSTANCE_UNKNOWN,
                  ErrorCode.INVENTORY_ADMIN_INSTANCE_PROTECTED))
def management_delete_instances_id(instance_id_):
    """Disable an instance, or remove it and its data with ``?purge=YES``."""
    if instance_id_ != "admin":
        _known_instance_id(instance_id_)
    delete(instance_id_, purge=request.args.get("purge") == "YES")
