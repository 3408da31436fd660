"""HTTP layer: one blueprint per resource, and instance routing.

Instance-scoped blueprints are registered twice: at the root for the ``admin``
instance and under ``/instances/<instance_id>`` for the others.  The instance id
of the URL is moved to ``flask.g`` before the view runs; ``/instances/admin/...``
and ``/instances/default/...`` answer 308 with the root path.
"""
import re
from urllib.parse import quote

from flask import g, request

from .. import ids, webui
from ..errors import ErrorCode
from . import (accounts, categories, config, groups, instance, locks, management, monitoring,
               orders, pos, pots, products, public_orders, tokens, units, webhooks)
from .common import ADMIN_INSTANCE, empty_response, known_id

ALIAS_PATH = re.compile(r"^/instances/(admin|default)(/.*)?$")

ROOT_BLUEPRINTS = (config.root_bp, management.bp, monitoring.bp)
INSTANCE_BLUEPRINTS = (config.bp, instance.bp, tokens.bp, accounts.bp, products.bp,
                       categories.bp, pos.bp, locks.bp, orders.bp, webui.bp,
                       units.bp, groups.bp, pots.bp, public_orders.bp, webhooks.bp)


def register(app):
    for bp in ROOT_BLUEPRINTS:
        app.register_blueprint(bp)
    for bp in INSTANCE_BLUEPRINTS:
        app.register_blueprint(bp)
        app.register_blueprint(bp, url_prefix="/instances/<instance_id>",
                               name=f"instances_{bp.name}")

    @app.url_value_preprocessor
    def pull_instance_id(endpoint, values):
        if values is not None and "instance_id" in values:
            g.instance_id = values.pop("instance_id")
            g.instance_in_path = True
        else:
            g.instance_id = ADMIN_INSTANCE

    @app.before_request
    def redirect_or_check_instance():
        # By path, not by route: every URL under an alias redirects, whether or
        # not it names an endpoint or allows the method.
        alias = ALIAS_PATH.match(request.path)
        if alias:
            target = quote(alias.group(2) or "/", safe="/:@!$&'()*+,;=-._~")
            if request.query_string:
                target += "?" + request.query_string.decode("latin-1")
            # No body: Flask's redirect() would send an HTML page.
            return empty_response(308, {"Location": target})
        if g.get("instance_in_path"):
            known_id(g.instance_id, ids.INSTANCE_ID, ErrorCode.MERCHANT_GENERIC_INSTANCE_UNKNOWN)
        return None
