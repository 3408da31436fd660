"""Product groups: ``[/instances/$I]/private/groups[/$GROUP_ID]``."""
from flask import Blueprint

from ..backenddb import groups as groups_db
from ..backenddb.outcome import Status
from ..errors import ErrorCode
from ..schemas.common import NewestFirstPageQuerySchema
from ..schemas.groups import (GroupAddedResponseSchema, GroupAddRequestSchema,
                              GroupPatchRequestSchema, GroupsSummaryResponseSchema)
from .common import endpoint
from .named import NamedResource

bp = Blueprint("groups", __name__)

E = ErrorCode

GROUPS = NamedResource(groups_db.GROUPS, "groups", {
    Status.UNKNOWN: E.MERCHANT_GENERIC_PRODUCT_GROUP_UNKNOWN,
    Status.NAME_TAKEN: E.MERCHANT_PRIVATE_PRODUCT_GROUP_CONFLICTING_NAME})


@bp.get("/private/groups")
@endpoint(permission="groups-read", query=NewestFirstPageQuerySchema,
          response=GroupsSummaryResponseSchema)
def private_get_groups(args):
    """List groups, by default the newest 20 first."""
    return GROUPS.listing(args)


@bp.post("/private/groups")
@endpoint(permission="groups-write", body=GroupAddRequestSchema,
          response=GroupAddedResponseSchema,
          errors=(E.MERCHANT_PRIVATE_PRODUCT_GROUP_CONFLICTING_NAME,))
def private_post_groups(body):
    """Create a group and return its id."""
    return GROUPS.create(body)


@bp.patch("/private/groups/<group_id>")
@endpoint(permission="groups-write", body=GroupPatchRequestSchema, status=204,
          errors=(E.MERCHANT_GENERIC_PRODUCT_GROUP_UNKNOWN,
                  E.MERCHANT_PRIVATE_PRODUCT_GROUP_CONFLICTING_NAME))
def private_patch_groups_id(group_id, body):
    """Rename a group or change its description."""
    GROUPS.update(groups_db.update_group, group_id, body)


@bp.delete("/private/groups/<group_id>")
@endpoint(permission="groups-write", status=204,
          errors=(E.MERCHANT_GENERIC_PRODUCT_GROUP_UNKNOWN,))
def private_delete_groups_id(group_id):
    """Delete a group; its products stay, in no group."""
    GROUPS.delete(group_id)
