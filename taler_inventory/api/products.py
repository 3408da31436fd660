"""Products: ``[/instances/$I]/private/products[/$PRODUCT_ID]``."""
from flask import Blueprint, g

from .. import ids, stock
from ..backenddb import products as products_db
from ..backenddb.outcome import Status
from ..db import get_db
from ..errors import ErrorCode, TalerError, malformed, parameter_error
from ..schemas.products import (ProductAddDetailSchema, ProductDeleteQuerySchema,
                                ProductDetailSchema, ProductListQuerySchema, ProductListSchema,
                                ProductPatchDetailSchema, product_detail)
from ..timeutil import now_us
from .common import endpoint, known_id

bp = Blueprint("products", __name__)

E = ErrorCode

#: How a product operation's status maps onto an error (OK / CREATED are not errors).
_ERRORS = {
    Status.UNKNOWN: E.MERCHANT_GENERIC_PRODUCT_UNKNOWN,
    Status.CATEGORY_UNKNOWN: E.MERCHANT_GENERIC_CATEGORY_UNKNOWN,
    Status.GROUP_UNKNOWN: E.MERCHANT_GENERIC_PRODUCT_GROUP_UNKNOWN,
    Status.POT_UNKNOWN: E.MERCHANT_GENERIC_MONEY_POT_UNKNOWN,
    Status.CONFLICT: E.MERCHANT_PRIVATE_POST_PRODUCTS_CONFLICT_PRODUCT_EXISTS,
    Status.STOCK_REDUCED: E.MERCHANT_PRIVATE_PATCH_PRODUCTS_TOTAL_STOCKED_REDUCED,
    Status.LOST_REDUCED: E.MERCHANT_PRIVATE_PATCH_PRODUCTS_TOTAL_LOST_REDUCED,
    Status.LOST_EXCEEDS_STOCK: E.MERCHANT_PRIVATE_PATCH_PRODUCTS_TOTAL_LOST_EXCEEDS_STOCKS,
    Status.LOCKED: E.MERCHANT_PRIVATE_DELETE_PRODUCTS_CONFLICTING_LOCK,
}


def fail(status: Status, detail: str, field: str | None = None):
    """Raise the Taler error of a failed product operation; ``field`` names the culprit
    (in ``parameter`` too)."""
    if status is Status.PRECISION:
        raise malformed(field, "has more fraction digits than the product allows.")
    if field is not None:
        raise parameter_error(_ERRORS[status], field)
    raise TalerError(_ERRORS[status], detail)


def instance_serial() -> int:
    return g.instance["instance_serial"]


def known_product_id(product_id: str) -> str:
    return known_id(product_id, ids.PRODUCT_ID, E.MERCHANT_GENERIC_PRODUCT_UNKNOWN)


@bp.post("/private/products")
@endpoint(permission="products-write", body=ProductAddDetailSchema, status=204,
          errors=(E.MERCHANT_GENERIC_CATEGORY_UNKNOWN, E.MERCHANT_GENERIC_PRODUCT_GROUP_UNKNOWN,
                  E.MERCHANT_GENERIC_MONEY_POT_UNKNOWN,
                  E.MERCHANT_PRIVATE_POST_PRODUCTS_CONFLICT_PRODUCT_EXISTS))
def private_post_products(body):
    """Create a product (the same product again: 204)."""
    if stock.oversubscribed(body["total_stock"], body.get("total_sold", 0),
                            body.get("total_lost", 0)):
        fail(Status.LOST_EXCEEDS_STOCK, body["product_id"], "unit_total_lost")
    outcome = get_db().run(products_db.insert_product, instance_serial(), body, now_us())
    if not outcome.ok:
        fail(outcome.status, body["product_id"], outcome.field)


@bp.get("/private/products")
@endpoint(permission="products-read", query=ProductListQuerySchema, response=ProductListSchema)
def private_get_products(args):
    """List product ids, ``limit`` after the serial ``offset`` (negative: before it),
    optionally only those matching the filters."""
    rows = get_db().run(products_db.list_products, instance_serial(), args["limit"],
                        args.get("offset"), args)
    return {"products": rows}


@bp.get("/private/products/<product_id>")
@endpoint(permission="products-read", response=ProductDetailSchema,
          errors=(E.MERCHANT_GENERIC_PRODUCT_UNKNOWN,))
def private_get_products_id(product_id):
    """Show a product, with what is locked and available now."""
    known_product_id(product_id)
    row = get_db().run(products_db.lookup_product, instance_serial(), product_id, now_us())
    if row is None:
        fail(Status.UNKNOWN, product_id)
    return product_detail(row)


@bp.patch("/private/products/<product_id>")
@endpoint(permission="products-write", body=ProductPatchDetailSchema, status=204,
          errors=(E.MERCHANT_GENERIC_PRODUCT_UNKNOWN, E.MERCHANT_GENERIC_CATEGORY_UNKNOWN,
                  E.MERCHANT_GENERIC_PRODUCT_GROUP_UNKNOWN, E.MERCHANT_GENERIC_MONEY_POT_UNKNOWN,
                  E.MERCHANT_PRIVATE_PATCH_PRODUCTS_TOTAL_STOCKED_REDUCED,
                  E.MERCHANT_PRIVATE_PATCH_PRODUCTS_TOTAL_LOST_REDUCED,
                  E.MERCHANT_PRIVATE_PATCH_PRODUCTS_TOTAL_LOST_EXCEEDS_STOCKS))
def private_patch_products_id(product_id, body):
    """Change a product; absent fields stay, counters never decrease."""
    known_product_id(product_id)
    outcome = get_db().run(products_db.update_product, instance_serial(), product_id, body,
                           now_us())
    if not outcome.ok:
        fail(outcome.status, product_id, outcome.field)


@bp.delete("/private/products/<product_id>")
@endpoint(permission="products-write", query=ProductDeleteQuerySchema, status=204,
          errors=(E.MERCHANT_GENERIC_PRODUCT_UNKNOWN,
                  E.MERCHANT_PRIVATE_DELETE_PRODUCTS_CONFLICTING_LOCK))
def private_delete_products_id(product_id, args):
    """Delete a product; while it is held only with ``?force=yes`` (any other value of
    ``force`` is the default, as in Taler)."""
    known_product_id(product_id)
    outcome = get_db().run(products_db.delete_product, instance_serial(), product_id,
                           now_us(), force=args["force"] == "yes")
    if not outcome.ok:
        fail(outcome.status, product_id)
