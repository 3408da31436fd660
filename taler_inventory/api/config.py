"""``GET [/instances/$I]/config``, ``GET|HEAD [/instances/$I]/`` and ``GET /openapi.json``."""
from flask import Blueprint, current_app, g

from .. import PROTOCOL_VERSION, openapi
from ..schemas.config import ConfigSchema
from .common import empty_response, endpoint, instance_id, require_instance
from .instance_common import NEW_INSTANCE_DEFAULTS

#: Served under every instance base URL (the root is the admin instance's).
bp = Blueprint("config", __name__)
#: Served at the root only.
root_bp = Blueprint("openapi", __name__)

IMPLEMENTATION = "urn:net:taler:specs:taler-merchant:taler-inventory"
#: The back office's persona for new browsers, as the reference backend's default.
DEFAULT_PERSONA = "expert"


def currency_spec(code: str) -> dict:
    return {"name": code, "currency": code, "num_fractional_input_digits": 2,
            "num_fractional_normal_digits": 2, "num_fractional_trailing_zero_digits": 2,
            "alt_unit_names": {"0": code}, "common_amounts": []}


def _resolve_instance():
    """An instance base URL names a live instance (404/2000); the root is ``admin``,
    which always exists, so the root needs no database."""
    if g.get("instance_in_path"):
        require_instance()


@bp.get("/config")
@endpoint(instance=False, response=ConfigSchema,
          errors=(404,))
def get_config():
    """Protocol version, implementation, currency and defaults of this backend."""
    _resolve_instance()
    currency = current_app.config["INVENTORY"]["CURRENCY"]
    return {"name": "taler-merchant", "version": PROTOCOL_VERSION,
            "implementation": IMPLEMENTATION, "currency": currency,
            "default_persona": DEFAULT_PERSONA,
            "currencies": {currency: currency_spec(currency)},
            "report_generators": {}, "exchanges": [],
            # No self-sign-up, no Donau, no two-factor channel is required.
            "have_self_provisioning": False, "have_donau": False,
            "mandatory_tan_channels": [],
            # Bank accounts of any payto:// type are accepted.
            "payment_target_types": "*",
            **NEW_INSTANCE_DEFAULTS}


@bp.get("/", strict_slashes=False)
@endpoint(instance=False, status=302, errors=(404,))
def get_root():
    """The instance's web interface is at ``webui/`` below its base URL."""
    _resolve_instance()
    base = "" if not g.get("instance_in_path") else f"/instances/{instance_id()}"
    return empty_response(302, {"Location": f"{base}/webui/"})


@root_bp.get("/openapi.json")
@endpoint(instance=False)
def get_openapi():
    """The OpenAPI 3 description of every endpoint."""
    doc = current_app.extensions.get("taler_inventory_openapi")
    if doc is None:
        doc = current_app.extensions["taler_inventory_openapi"] = openapi.build(current_app)
    return doc
