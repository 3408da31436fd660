"""``GET /config`` and ``GET /openapi.json``."""
from flask import Blueprint, current_app

from .. import PROTOCOL_VERSION, openapi
from ..schemas.config import ConfigSchema
from .common import endpoint

bp = Blueprint("config", __name__)


def currency_spec(code: str) -> dict:
    return {"name": code, "currency": code, "num_fractional_input_digits": 2,
            "num_fractional_normal_digits": 2, "num_fractional_trailing_zero_digits": 2,
            "alt_unit_names": {"0": code}}


@bp.get("/config")
@endpoint(instance=False, response=ConfigSchema)
def get_config():
    """Protocol version, implementation and currency of this backend."""
    currency = current_app.config["INVENTORY"]["CURRENCY"]
    return {"name": "taler-merchant", "version": PROTOCOL_VERSION,
            "implementation": "urn:net:taler:specs:taler-merchant:taler-inventory",
            "currency": currency, "currencies": {currency: currency_spec(currency)},
            "exchanges": []}


@bp.get("/openapi.json")
@endpoint(instance=False)
def get_openapi():
    """The OpenAPI 3 description of every endpoint."""
    doc = current_app.extensions.get("taler_inventory_openapi")
    if doc is None:
        doc = current_app.extensions["taler_inventory_openapi"] = openapi.build(current_app)
    return doc
