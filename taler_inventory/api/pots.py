"""Money pots: ``[/instances/$I]/private/pots[/$POT_ID]``."""
from flask import Blueprint, g

from ..backenddb import pots as pots_db
from ..backenddb.outcome import Status
from ..db import get_db
from ..errors import ErrorCode
from ..schemas.common import NewestFirstPageQuerySchema
from ..schemas.pots import (PotAddedResponseSchema, PotAddRequestSchema,
                            PotDetailResponseSchema, PotModifyRequestSchema,
                            PotsSummaryResponseSchema)
from .common import endpoint
from .named import NamedResource

bp = Blueprint("pots", __name__)

E = ErrorCode

POTS = NamedResource(pots_db.POTS, "pots", {
    Status.UNKNOWN: E.MERCHANT_GENERIC_MONEY_POT_UNKNOWN,
    Status.NAME_TAKEN: E.MERCHANT_PRIVATE_MONEY_POT_CONFLICTING_NAME,
    Status.TOTALS_DIFFER: E.MERCHANT_PRIVATE_MONEY_POT_CONFLICTING_TOTAL})


@bp.get("/private/pots")
@endpoint(permission="pots-read", query=NewestFirstPageQuerySchema,
          response=PotsSummaryResponseSchema)
def private_get_pots(args):
    """List pots with their totals, by default the newest 20 first."""
    return POTS.listing(args)


@bp.post("/private/pots")
@endpoint(permission="pots-write", body=PotAddRequestSchema, response=PotAddedResponseSchema,
          errors=(E.MERCHANT_PRIVATE_MONEY_POT_CONFLICTING_NAME,))
def private_post_pots(body):
    """Create an empty pot and return its id."""
    return POTS.create(body)


@bp.get("/private/pots/<pot_id>")
@endpoint(permission="pots-read", response=PotDetailResponseSchema,
          errors=(E.MERCHANT_GENERIC_MONEY_POT_UNKNOWN,))
def private_get_pots_id(pot_id):
    """Show a pot."""
    row = get_db().run(pots_db.lookup_pot, g.instance["instance_serial"], POTS.serial(pot_id))
    if row is None:
        POTS.fail(Status.UNKNOWN, pot_id)
    return row


@bp.patch("/private/pots/<pot_id>")
@endpoint(permission="pots-write", body=PotModifyRequestSchema, status=204,
          errors=(E.MERCHANT_GENERIC_MONEY_POT_UNKNOWN,
                  E.MERCHANT_PRIVATE_MONEY_POT_CONFLICTING_NAME,
                  E.MERCHANT_PRIVATE_MONEY_POT_CONFLICTING_TOTAL))
def private_patch_pots_id(pot_id, body):
    """Rename a pot, change its description, reset its totals if they are as expected."""
    POTS.update(pots_db.update_pot, pot_id, body)


@bp.delete("/private/pots/<pot_id>")
@endpoint(permission="pots-write", status=204, errors=(E.MERCHANT_GENERIC_MONEY_POT_UNKNOWN,))
def private_delete_pots_id(pot_id):
    """Delete a pot; products that named it have no pot any more."""
    POTS.delete(pot_id)
