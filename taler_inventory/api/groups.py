"""Product groups: ``[/instances/$I]/private/groups[/$GROUP_ID]``."""
from flask import Blueprint, g

from ..backenddb import groups as groups_db
from ..backenddb.outcome import Status
from ..db import get_db
from ..errors import ErrorCode, TalerError
from ..schemas.common import NewestFirstPageQuerySchema
from ..schemas.groups import (GroupAddedResponseSchema, GroupAddRequestSchema,
                              GroupPatchRequestSchema, GroupsSummaryResponseSchema)
from .common import endpoint, path_serial

bp = Blueprint("groups", __name__)

E = ErrorCode

_ERRORS = {Status.UNKNOWN: E.MERCHANT_GENERIC_PRODUCT_GROUP_UNKNOWN,
           Status.NAME_TAKEN: E.MERCHANT_PRIVATE_PRODUCT_GROUP_CONFLICTING_NAME}


def fail(status: Status, detail: str):
    raise TalerError(_ERRORS[status], detail)


@bp.get("/private/groups")
@endpoint(permission="groups-read", query=NewestFirstPageQuerySchema,
          response=GroupsSummaryResponseSchema)
def private_get_groups(args):
    """List groups, by default the newest 20 first."""
    rows = get_db().run(groups_db.list_groups, g.instance["instance_serial"], args["limit"],
                        args.get("offset"))
    return {"groups": rows}


@bp.post("/private/groups")
@endpoint(permission="groups-write", body=GroupAddRequestSchema,
          response=GroupAddedResponseSchema,
          errors=(E.MERCHANT_PRIVATE_PRODUCT_GROUP_CONFLICTING_NAME,))
def private_post_groups(body):
    """Create a group and return its id."""
    outcome = get_db().run(groups_db.insert_group, g.instance["instance_serial"], body)
    if not outcome.ok:
        fail(outcome.status, body["group_name"])
    return {"group_serial_id": outcome.serial}


@bp.patch("/private/groups/<group_id>")
@endpoint(permission="groups-write", body=GroupPatchRequestSchema, status=204,
          errors=(E.MERCHANT_GENERIC_PRODUCT_GROUP_UNKNOWN,
                  E.MERCHANT_PRIVATE_PRODUCT_GROUP_CONFLICTING_NAME))
def private_patch_groups_id(group_id, body):
    """Rename a group or change its description."""
    outcome = get_db().run(groups_db.update_group, g.instance["instance_serial"],
                          path_serial(group_id, "group_id"), body)
    if not outcome.ok:
        fail(outcome.status,
             body["group_name"] if outcome.status is Status.NAME_TAKEN else group_id)


@bp.delete("/private/groups/<group_id>")
@endpoint(permission="groups-write", status=204,
          errors=(E.MERCHANT_GENERIC_PRODUCT_GROUP_UNKNOWN,))
def private_delete_groups_id(group_id):
    """Delete a group; its products stay, in no group."""
    outcome = get_db().run(groups_db.delete_group, g.instance["instance_serial"],
                          path_serial(group_id, "group_id"))
    if not outcome.ok:
        fail(outcome.status, group_id)
