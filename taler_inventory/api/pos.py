"""The POS catalogue: ``[/instances/$I]/private/pos``."""
from flask import Blueprint, g

from ..backenddb import products as products_db
from ..db import get_db
from ..schemas.products import PosSchema, product_detail
from ..timeutil import now_us
from .common import endpoint

bp = Blueprint("pos", __name__)


@bp.get("/private/pos")
@endpoint(permission="products-read", response=PosSchema)
def private_get_pos():
    """Every product with its full details, and every category, in one answer."""
    products, categories = get_db().run(products_db.lookup_pos_catalogue,
                                        g.instance["instance_serial"], now_us())
    return {
        "products": [product_detail(row, with_id=True) for row in products],
        "categories": [{"id": c["category_serial"], "category_id": c["category_serial"],
                        "name": c["name"], "name_i18n": c["name_i18n"]} for c in categories],
    }
