"""The own instance: ``GET|PATCH|DELETE /private`` and ``POST /private/auth``."""
from flask import Blueprint, request

from ..backenddb import instances as instances_db
from ..db import get_db
from ..errors import ErrorCode
from ..schemas.instances import AuthSchema, InstanceDetailsSchema, InstanceReconfigurationSchema
from .common import endpoint, instance_id
from .instance_common import change_auth, delete, details, reconfigure

bp = Blueprint("instance", __name__)


@bp.get("/private")
@endpoint(permission="instances-read", response=InstanceDetailsSchema)
def private_get():
    """Show the settings of this instance."""
    return details(get_db().run(instances_db.lookup_instance, instance_id()))


@bp.patch("/private")
@endpoint(permission="instances-write", body=InstanceReconfigurationSchema, status=204)
def private_patch(body):
    """Reconfigure this instance; absent fields stay."""
    reconfigure(instance_id(), body)


@bp.delete("/private")
@endpoint(permission="instances-write", status=204,
          errors=(ErrorCode.INVENTORY_ADMIN_INSTANCE_PROTECTED,))
def private_delete():
    """Disable this instance, or remove it and its data with ``?purge=YES``."""
    delete(instance_id(), purge=request.args.get("purge") == "YES")


@bp.post("/private/auth")
@endpoint(permission="instances-auth-write", body=AuthSchema, status=204)
def private_post_auth(body):
    """Set new credentials; every existing token of the instance stops working."""
    change_auth(instance_id(), body)
