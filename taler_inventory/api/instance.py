"""The own instance: ``GET|PATCH /private`` and ``POST /private/auth``."""
from flask import Blueprint, g

from ..backenddb import instances as instances_db
from ..db import get_db
from ..schemas.instances import (AuthChangeSchema, InstanceDetailsSchema,
                                 InstanceReconfigurationSchema)
from .common import endpoint, instance_id
from .instance_common import change_password, details, reconfigure

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


@bp.post("/private/auth")
@endpoint(permission="instances-write", body=AuthChangeSchema, status=204)
def private_post_auth(body):
    """Set a new password; every existing token of the instance stops working."""
    change_password(g.instance["instance_id"], body["password"])
