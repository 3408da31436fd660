"""Measurement units: ``[/instances/$I]/private/units[/$UNIT]``."""
from flask import Blueprint, g

from .. import ids
from ..backenddb import units as units_db
from ..backenddb.outcome import Status
from ..db import get_db
from ..errors import ErrorCode, TalerError
from ..schemas.units import (MerchantUnitSchema, UnitAddRequestSchema, UnitListResponseSchema,
                             UnitPatchRequestSchema)
from .common import endpoint, known_id

bp = Blueprint("units", __name__)

E = ErrorCode


#: How a unit operation's status maps onto an error.
_ERRORS = {Status.UNKNOWN: E.MERCHANT_GENERIC_UNIT_UNKNOWN,
           Status.BUILTIN: E.MERCHANT_GENERIC_UNIT_BUILTIN}


def fail(status: Status, unit: str, field: str | None = None):
    """Raise the Taler error of a failed unit operation; ``field`` names the culprit."""
    extra = {"parameter": field} if field else {}
    raise TalerError(_ERRORS[status], field or unit[:128], **extra)


def unknown(unit: str):
    fail(Status.UNKNOWN, unit)


def known_unit(unit: str) -> str:
    return known_id(unit, ids.UNIT_ID, E.MERCHANT_GENERIC_UNIT_UNKNOWN)


@bp.get("/private/units")
@endpoint(permission="units-read", response=UnitListResponseSchema)
def private_get_units():
    """List the units of the instance: the built-in ones and its own."""
    return {"units": get_db().run(units_db.list_units, g.instance["instance_serial"])}


@bp.post("/private/units")
@endpoint(permission="units-write", body=UnitAddRequestSchema, status=204,
          errors=(E.MERCHANT_GENERIC_UNIT_BUILTIN,))
def private_post_units(body):
    """Create a custom unit (an existing one is redefined and active again)."""
    outcome = get_db().run(units_db.insert_unit, g.instance["instance_serial"], body)
    if not outcome.ok:
        fail(outcome.status, body["unit"], "unit")


@bp.get("/private/units/<unit>")
@endpoint(permission="units-read", response=MerchantUnitSchema,
          errors=(E.MERCHANT_GENERIC_UNIT_UNKNOWN,))
def private_get_units_unit(unit):
    """Show one unit."""
    known_unit(unit)
    row = get_db().run(units_db.lookup_unit, g.instance["instance_serial"], unit)
    if row is None:
        unknown(unit)
    return row


@bp.patch("/private/units/<unit>")
@endpoint(permission="units-write", body=UnitPatchRequestSchema, status=204,
          errors=(E.MERCHANT_GENERIC_UNIT_UNKNOWN, E.MERCHANT_GENERIC_UNIT_BUILTIN))
def private_patch_units_unit(unit, body):
    """Change a unit; of a built-in unit only fractions, precision and activity."""
    known_unit(unit)
    outcome = get_db().run(units_db.update_unit, g.instance["instance_serial"], unit, body)
    if not outcome.ok:
        fail(outcome.status, unit, outcome.field)


@bp.delete("/private/units/<unit>")
@endpoint(permission="units-write", status=204,
          errors=(E.MERCHANT_GENERIC_UNIT_UNKNOWN, E.MERCHANT_GENERIC_UNIT_BUILTIN))
def private_delete_units_unit(unit):
    """Delete a custom unit; built-in units stay."""
    known_unit(unit)
    outcome = get_db().run(units_db.delete_unit, g.instance["instance_serial"], unit)
    if not outcome.ok:
        fail(outcome.status, unit)
