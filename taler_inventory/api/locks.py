"""Cart locks: ``POST /private/products/$ID/lock``, ``GET /private/locks``,
``DELETE /private/locks/$LOCK_UUID``."""
from flask import Blueprint, current_app, g

from .. import ids, metrics
from .. import quantity as q
from ..backenddb import locks as locks_db
from ..backenddb.outcome import Status
from ..db import get_db
from ..errors import ErrorCode, TalerError, malformed
from ..groupcommit import GroupCommit
from ..schemas.locks import LockListQuerySchema, LockListSchema, LockRequestSchema
from ..timeutil import FOREVER, now_us, timestamp_to_wire
from .common import authenticate, check_authorized, endpoint, known_id

bp = Blueprint("locks", __name__)

E = ErrorCode

#: How a lock's status maps onto an error (INSUFFICIENT: :func:`out_of_stock`; the
#: refusals of the quantity: 400 naming it).
_ERRORS = {
    Status.UNKNOWN: E.MERCHANT_GENERIC_PRODUCT_UNKNOWN,
    Status.TOO_MANY_LOCKS: E.INVENTORY_TOO_MANY_LOCKS,
}
#: Releasing a cart: the unknown one is the cart.
_RELEASE_ERRORS = {Status.UNKNOWN: E.INVENTORY_LOCK_UUID_UNKNOWN}

#: Why the quantity was refused.
_QUANTITY_REASONS = {
    Status.PRECISION: "has more fraction digits than the product allows.",
    Status.BELOW_MINIMUM: "is below the product's unit_minimum_quantity.",
}


def fail(status: Status, detail: str | None = None, errors=_ERRORS):
    """Raise the Taler error of a refused lock or release."""
    if status in _QUANTITY_REASONS:
        raise malformed("unit_quantity", _QUANTITY_REASONS[status])
    raise TalerError(errors[status], detail)


def out_of_stock(product_id: str, requested, available, *, restock=None, next_expiration=None):
    """The 410 error of SPEC §5 for a lock or an order line that does not fit."""
    fields = {
        "product_id": product_id,
        "requested_quantity": q.legacy(requested),
        "unit_requested_quantity": q.format(requested),
        "available_quantity": q.legacy(available),
        "unit_available_quantity": q.format(available),
    }
    if restock is not None:
        fields["restock_expected"] = timestamp_to_wire(restock)
    if next_expiration is not None:
        fields["next_lock_expiration"] = timestamp_to_wire(next_expiration)
    return TalerError(ErrorCode.MERCHANT_PRIVATE_POST_PRODUCTS_LOCK_INSUFFICIENT_STOCKS,
                      product_id, **fields)


@bp.post("/private/products/<product_id>/lock")
@endpoint(permission="products-lock", body=LockRequestSchema, status=204,
          errors=(ErrorCode.MERCHANT_GENERIC_PRODUCT_UNKNOWN,
                  ErrorCode.MERCHANT_PRIVATE_POST_PRODUCTS_LOCK_INSUFFICIENT_STOCKS,
                  ErrorCode.INVENTORY_TOO_MANY_LOCKS),
          auth_in_operation=True)
def private_post_products_id_lock(product_id, body, credentials):
    """Lock (or with quantity 0 release) stock of a product for a cart."""
    try:
        known_id(product_id, ids.PRODUCT_ID, E.MERCHANT_GENERIC_PRODUCT_UNKNOWN)
    except TalerError:
        authenticate(credentials.permission)  # the credentials are checked first
        raise
    outcome = lock_batches().submit(
        (credentials.instance_id, product_id, credentials.scopes),
        locks_db.LockRequest(credentials.token_hash, body["lock_uuid"], body["quantity"],
                             body["duration"]))
    if outcome.ok:
        metrics.lock_outcome("released" if body["quantity"] == 0
                             else "replaced" if outcome.status is Status.REPLACED else "taken")
        return None
    check_authorized(outcome.status, credentials)
    if outcome.status is Status.INSUFFICIENT:
        raise out_of_stock(product_id, body["quantity"], outcome.available,
                           restock=outcome.restock, next_expiration=outcome.next_expiration)
    fail(outcome.status, product_id if outcome.status is Status.UNKNOWN else None)


def lock_batches() -> GroupCommit:
    """This process's group commit of lock requests (see :mod:`..groupcommit`)."""
    batches = current_app.extensions.get("taler_inventory_lock_batches")
    if batches is None:
        batches = current_app.extensions.setdefault(
            "taler_inventory_lock_batches",
            GroupCommit(_lock_batch, cart=lambda request: request.lock_uuid,
                        shared=_everybody_fails))
    return batches


def _lock_batch(key, requests):
    instance_id, product_id, scopes = key
    outcomes = get_db().run(locks_db.lock_products, instance_id=instance_id,
                            product_id=product_id, scopes=scopes, now=now_us(),
                            requests=requests)
    # Reclaimed once for the whole batch (before a 410, or a lock that did not
    # fit at once): counted once per call.
    metrics.lock_outcome("expired", outcomes[0].reclaimed if outcomes else 0)
    return outcomes


def _everybody_fails(exc) -> bool:
    """No database at all: running the requests one by one would fail them all too."""
    return isinstance(exc, TalerError) and exc.http_status == 503


@bp.get("/private/locks")
@endpoint(permission="products-read", query=LockListQuerySchema, response=LockListSchema)
def private_get_locks(args):
    """List the live cart locks of the instance (filters: lock_uuid, product_id)."""
    now = now_us()
    rows = get_db().run(locks_db.list_locks, instance_serial=g.instance["instance_serial"],
                        now=now, lock_uuid=args.get("lock_uuid"),
                        product_id=args.get("product_id"), limit=args["limit"],
                        offset=args.get("offset"))
    return {"locks": [{
        "lock_serial": r["lock_serial"], "lock_uuid": r["lock_uuid"],
        "product_id": r["product_id"], "unit_quantity": q.format(r["quantity"]),
        "quantity": q.legacy(r["quantity"]), "expiration": r["expiration"],
        "remaining": FOREVER if r["expiration"] >= FOREVER else r["expiration"] - now}
        for r in rows]}


# path: a lock_uuid may contain "/" (sent as %2F).
@bp.delete("/private/locks/<path:lock_uuid>")
@endpoint(permission="products-lock", status=204,
          errors=(ErrorCode.INVENTORY_LOCK_UUID_UNKNOWN,))
def private_delete_locks_uuid(lock_uuid):
    """Release every lock of a cart."""
    if not ids.can_exist(ids.LOCK_UUID, lock_uuid):
        raise malformed("lock_uuid")
    outcome = get_db().run(locks_db.release_cart, instance_serial=g.instance["instance_serial"],
                           lock_uuid=lock_uuid, now=now_us())
    if not outcome.ok:
        fail(outcome.status, lock_uuid, _RELEASE_ERRORS)
    metrics.lock_outcome("released", outcome.live)
