"""Product categories: ``[/instances/$I]/private/categories[/$CATEGORY_ID]``."""
from flask import Blueprint, g

from ..backenddb import categories as categories_db
from ..backenddb.outcome import Status
from ..db import get_db
from ..errors import ErrorCode, TalerError
from ..schemas.categories import (CategoryCreatedSchema, CategoryCreateSchema,
                                  CategoryListSchema, CategoryPatchSchema,
                                  CategoryProductListSchema)
from .common import endpoint, path_serial

bp = Blueprint("categories", __name__)

E = ErrorCode


def category_serial(text: str) -> int:
    """The category id of the URL: a positive integer (else 400/26)."""
    return path_serial(text, "category_id")


#: How a category operation's status maps onto an error.
_ERRORS = {Status.UNKNOWN: E.MERCHANT_GENERIC_CATEGORY_UNKNOWN}


def fail(status: Status, category_id):
    """Raise the Taler error of a failed category operation."""
    raise TalerError(_ERRORS[status], str(category_id))


@bp.get("/private/categories")
@endpoint(permission="categories-read", response=CategoryListSchema)
def private_get_categories():
    """List the categories with how many products each has."""
    rows = get_db().run(categories_db.list_categories, g.instance["instance_serial"])
    return {"categories": rows}


@bp.post("/private/categories")
@endpoint(permission="categories-write", body=CategoryCreateSchema,
          response=CategoryCreatedSchema)
def private_post_categories(body):
    """Create a category and return its id."""
    outcome = get_db().run(categories_db.insert_category, g.instance["instance_serial"],
                           body["name"], body.get("name_i18n", {}))
    return {"category_id": outcome.serial}


@bp.get("/private/categories/<category_id>")
@endpoint(permission="categories-read", response=CategoryProductListSchema,
          errors=(E.MERCHANT_GENERIC_CATEGORY_UNKNOWN,))
def private_get_categories_id(category_id):
    """Show a category and the ids of its products."""
    row = get_db().run(categories_db.lookup_category, g.instance["instance_serial"],
                       category_serial(category_id))
    if row is None:
        fail(Status.UNKNOWN, category_id)
    return {"name": row["name"], "name_i18n": row["name_i18n"],
            "products": [{"product_id": p} for p in row["products"]]}


@bp.patch("/private/categories/<category_id>")
@endpoint(permission="categories-write", body=CategoryPatchSchema, status=204,
          errors=(E.MERCHANT_GENERIC_CATEGORY_UNKNOWN,))
def private_patch_categories_id(category_id, body):
    """Rename a category or change its translations; absent fields stay."""
    outcome = get_db().run(categories_db.update_category, g.instance["instance_serial"],
                           category_serial(category_id), body)
    if not outcome.ok:
        fail(outcome.status, category_id)


@bp.delete("/private/categories/<category_id>")
@endpoint(permission="categories-write", status=204,
          errors=(E.MERCHANT_GENERIC_CATEGORY_UNKNOWN,))
def private_delete_categories_id(category_id):
    """Delete a category; its products stay, without it."""
    outcome = get_db().run(categories_db.delete_category, g.instance["instance_serial"],
                           category_serial(category_id))
    if not outcome.ok:
        fail(outcome.status, category_id)
