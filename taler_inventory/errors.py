"""The catalogue of error codes and the one place that renders Taler error bodies.

Views and operations raise :class:`TalerError`; :func:`init_app` turns every error,
including Flask's own HTTP errors and unexpected exceptions, into a JSON
``ErrorDetail`` body ``{"code", "hint", "detail"?, ...}``.  Never HTML.
"""
import enum
import json
import logging
import threading
import time
import traceback

from flask import jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class ErrorCode(enum.Enum):
    """Every error code the server uses: (number, HTTP status, default hint)."""

    # Generic Taler codes.
    GENERIC_TOKEN_PERMISSION_INSUFFICIENT = (16, 403, "The access token lacks the permission for this request.")
    GENERIC_METHOD_INVALID = (20, 405, "This method is not allowed on this endpoint.")
    GENERIC_ENDPOINT_UNKNOWN = (21, 404, "There is no endpoint at this URL.")
    GENERIC_JSON_INVALID = (22, 400, "The request body is not valid JSON.")
    GENERIC_PAYTO_URI_MALFORMED = (24, 400, "The payto:// URI is malformed.")
    GENERIC_PARAMETER_MISSING = (25, 400, "A required parameter is missing.")
    GENERIC_PARAMETER_MALFORMED = (26, 400, "A parameter is malformed.")
    GENERIC_COMPRESSION_INVALID = (28, 400, "The request body could not be decompressed.")
    GENERIC_URI_TOO_LONG = (31, 414, "The request URI is longer than the server accepts.")
    GENERIC_UPLOAD_EXCEEDS_LIMIT = (32, 413, "The request body exceeds the size limit.")
    GENERIC_DB_SETUP_FAILED = (50, 500, "The database is not set up.")
    GENERIC_DB_START_FAILED = (51, 503, "The database is unreachable.")
    GENERIC_DB_STORE_FAILED = (52, 500, "Storing in the database failed.")
    GENERIC_DB_FETCH_FAILED = (53, 500, "Fetching from the database failed.")
    GENERIC_DB_COMMIT_FAILED = (54, 500, "Committing the database transaction failed.")
    GENERIC_DB_SOFT_FAILURE = (55, 500, "The database transaction kept conflicting with others.")
    GENERIC_DB_INVARIANT_FAILURE = (56, 500, "The database reported a broken invariant.")
    GENERIC_INTERNAL_INVARIANT_FAILURE = (60, 500, "An internal invariant failed.")
    # Merchant codes.
    MERCHANT_GENERIC_INSTANCE_UNKNOWN = (2000, 404, "The instance is unknown.")
    MERCHANT_GENERIC_CATEGORY_UNKNOWN = (2003, 404, "The category is unknown.")
    MERCHANT_GENERIC_ORDER_UNKNOWN = (2005, 404, "The order is unknown.")
    MERCHANT_GENERIC_PRODUCT_UNKNOWN = (2006, 404, "The product is unknown.")
    MERCHANT_GENERIC_UNAUTHORIZED = (2015, 401, "Missing or invalid credentials.")
    MERCHANT_GENERIC_WEBHOOK_UNKNOWN = (2019, 404, "The webhook is unknown.")
    MERCHANT_GENERIC_ACCOUNT_UNKNOWN = (2022, 404, "The bank account is unknown.")
    MERCHANT_GENERIC_H_WIRE_MALFORMED = (2023, 400, "The wire hash is malformed.")
    MERCHANT_GENERIC_CURRENCY_MISMATCH = (2024, 409, "The currency is not the one of the order.")
    MERCHANT_GENERIC_PRODUCT_GROUP_UNKNOWN = (2034, 404, "The product group is unknown.")
    MERCHANT_GENERIC_MONEY_POT_UNKNOWN = (2035, 404, "The money pot is unknown.")
    MERCHANT_GENERIC_UNIT_UNKNOWN = (2037, 404, "The unit is unknown.")
    MERCHANT_GENERIC_UNIT_BUILTIN = (2038, 409, "The unit is built in: it cannot be created, renamed or deleted.")
    MERCHANT_GET_ORDERS_ID_INVALID_TOKEN = (2105, 403, "The claim token is not the order's.")
    MERCHANT_GET_ORDERS_ID_INVALID_CONTRACT_HASH = (2106, 403, "The contract hash is not the order's.")
    MERCHANT_POST_ORDERS_ID_PAY_OFFER_EXPIRED = (2161, 410, "The payment is too late: the pay deadline passed and the stock is gone.")
    MERCHANT_POST_ORDERS_ID_CLAIM_NOT_FOUND = (2300, 404, "The order is unknown (or the claim token is wrong).")
    MERCHANT_POST_ORDERS_ID_CLAIM_ALREADY_CLAIMED = (2301, 409, "Another wallet claimed the order first.")
    MERCHANT_PRIVATE_POST_ORDERS_ALREADY_EXISTS = (2503, 409, "An order with this id exists with other details.")
    MERCHANT_PRIVATE_POST_ORDERS_REFUND_AFTER_WIRE_DEADLINE = (2504, 400, "The wire transfer deadline is before the refund deadline.")
    MERCHANT_PRIVATE_PATCH_ORDERS_ID_FORGET_PATH_SYNTAX_INCORRECT = (2510, 400, "A path to forget is malformed.")
    MERCHANT_PRIVATE_PATCH_ORDERS_ID_FORGET_PATH_NOT_FORGETTABLE = (2511, 409, "A path to forget names a field that is not forgettable.")
    MERCHANT_PRIVATE_DELETE_ORDERS_AWAITING_PAYMENT = (2520, 409, "The order is awaiting payment and cannot be deleted.")
    MERCHANT_PRIVATE_DELETE_ORDERS_ALREADY_PAID = (2521, 409, "The order is paid and cannot be deleted.")
    MERCHANT_PRIVATE_POST_ORDERS_ID_REFUND_INCONSISTENT_AMOUNT = (2530, 409, "The refund exceeds the amount of the order.")
    MERCHANT_PRIVATE_POST_ORDERS_ID_REFUND_ORDER_UNPAID = (2531, 409, "Only a paid order can be refunded.")
    MERCHANT_PRIVATE_POST_ORDERS_ID_REFUND_NOT_ALLOWED_BY_CONTRACT = (2532, 403, "The contract allows no refunds (its refund delay is zero).")
    MERCHANT_PRIVATE_POST_INSTANCES_ALREADY_EXISTS = (2600, 409, "An instance with this id exists with other details.")
    MERCHANT_PRIVATE_POST_INSTANCES_PURGE_REQUIRED = (2603, 409, "An instance with this id was deleted; purge it first.")
    MERCHANT_PRIVATE_ACCOUNT_DELETE_UNKNOWN_ACCOUNT = (2626, 404, "The bank account to delete is unknown.")
    MERCHANT_PRIVATE_ACCOUNT_EXISTS = (2627, 409, "The bank account exists with other details.")
    MERCHANT_PRIVATE_POST_PRODUCTS_CONFLICT_PRODUCT_EXISTS = (2650, 409, "A product with this id exists with other details.")
    MERCHANT_PRIVATE_PATCH_PRODUCTS_TOTAL_LOST_REDUCED = (2660, 409, "total_lost would decrease.")
    MERCHANT_PRIVATE_PATCH_PRODUCTS_TOTAL_LOST_EXCEEDS_STOCKS = (2661, 400, "total_lost exceeds stock minus sold.")
    MERCHANT_PRIVATE_PATCH_PRODUCTS_TOTAL_STOCKED_REDUCED = (2662, 409, "total_stock would decrease.")
    MERCHANT_PRIVATE_POST_PRODUCTS_LOCK_INSUFFICIENT_STOCKS = (2670, 410, "Not enough unlocked stock.")
    MERCHANT_PRIVATE_DELETE_PRODUCTS_CONFLICTING_LOCK = (2680, 409, "The product is locked and cannot be deleted.")
    MERCHANT_PRIVATE_PRODUCT_GROUP_CONFLICTING_NAME = (2790, 409, "A product group with this name exists.")
    MERCHANT_PRIVATE_MONEY_POT_CONFLICTING_NAME = (2795, 409, "A money pot with this name exists.")
    MERCHANT_PRIVATE_MONEY_POT_CONFLICTING_TOTAL = (2796, 409, "The money pot does not hold the expected totals.")
    MERCHANT_PRIVATE_POST_WEBHOOKS_CONFLICT_WEBHOOK_EXISTS = (2900, 409, "A webhook with this id exists with other details.")
    # Extensions of taler-inventory (see doc/errors.rst): 10100-10399, above every
    # range Taler has allocated (its codes end below 10000).
    INVENTORY_UNSUPPORTED_MEDIA_TYPE = (10101, 415, "The request body must be JSON (Content-Type: application/json).")
    INVENTORY_TOO_MANY_LOCKS = (10102, 429, "The instance has reached its maximum number of active locks.")
    INVENTORY_LOCK_UUID_UNKNOWN = (10103, 404, "No live lock is held under this lock_uuid.")
    INVENTORY_TOKEN_UNKNOWN = (10104, 404, "There is no access token with this serial.")
    INVENTORY_ADMIN_INSTANCE_PROTECTED = (10106, 409, "The admin instance cannot be deleted.")
    INVENTORY_METRICS_FORBIDDEN = (10200, 403, "This address may not read the metrics (see METRICS_ALLOW).")
    # Hostile clients (10250-10299).
    INVENTORY_LOGIN_THROTTLED = (10250, 429, "Too many failed logins; try again after Retry-After seconds.")
    INVENTORY_PASSWORD_CHECKS_BUSY = (10251, 503, "Too many password checks at once; try again shortly.")
    INVENTORY_REFUND_DEADLINE_PASSED = (10350, 410, "The refund deadline of the order has passed.")

    def __init__(self, number, http_status, hint):
        self.number = number
        self.http_status = http_status
        self.hint = hint


class TalerError(Exception):
    """An error with a Taler code; extra keyword arguments go into the body."""

    def __init__(self, code: ErrorCode, detail: str | None = None, *, hint: str | None = None,
                 http_status: int | None = None, retry_after: int | None = None, **fields):
        super().__init__(detail or code.hint)
        self.code = code
        self.detail = detail
        self.hint = hint or code.hint
        self.http_status = http_status or code.http_status
        #: Seconds after which the client may try again (the ``Retry-After`` header).
        self.retry_after = retry_after
        self.fields = fields

    def body(self) -> dict:
        body = {"code": self.code.number, "hint": self.hint}
        if self.detail is not None:
            body["detail"] = self.detail
        body.update(self.fields)
        return body


def malformed(field: str, reason: str | None = None) -> TalerError:
    """The one 400/26 naming a malformed ``field`` (and, if given, why it is malformed)."""
    return parameter_error(ErrorCode.GENERIC_PARAMETER_MALFORMED, field, reason)


def parameter_error(code: ErrorCode, field: str, reason: str | None = None) -> TalerError:
    """A 400 about one field of the request: its name is the detail and ``parameter``."""
    hint = f"{code.hint} {field}: {reason}" if reason else None
    return TalerError(code, field, hint=hint, parameter=field)


def error_response(err: TalerError):
    response = jsonify(err.body())
    response.status_code = err.http_status
    if err.retry_after is not None:
        response.headers["Retry-After"] = str(max(1, int(err.retry_after)))
    return response


_HTTP_TO_CODE = {
    404: ErrorCode.GENERIC_ENDPOINT_UNKNOWN,
    405: ErrorCode.GENERIC_METHOD_INVALID,
    413: ErrorCode.GENERIC_UPLOAD_EXCEEDS_LIMIT,
    415: ErrorCode.INVENTORY_UNSUPPORTED_MEDIA_TYPE,
}


def wire_error(status: int, message: str) -> tuple[int, bytes]:
    """Status and JSON body for a request the HTTP server rejects before the app sees it.

    ``server.WsgiBridge`` refuses an over-long request target or header field and
    answers a failure outside the app with this.  A 501 (a transfer coding an HTTP
    server does not know) is the client's input, so it is a 400 like any other.
    """
    if status == 414:
        code = ErrorCode.GENERIC_URI_TOO_LONG
    elif status >= 500 and status != 501:
        code, message = ErrorCode.GENERIC_INTERNAL_INVARIANT_FAILURE, ""
    else:
        code = ErrorCode.GENERIC_PARAMETER_MALFORMED
        status = 400 if status >= 500 else status
    err = TalerError(code, message[:200] or None, http_status=status)
    return status, json.dumps(err.body(), separators=(",", ":")).encode()


def _handle_taler_error(err: TalerError):
    return error_response(err)


def _handle_http_exception(exc: HTTPException):
    if exc.code is not None and 300 <= exc.code < 400:
        # Redirects are not errors; keep the Location, drop werkzeug's HTML page.
        response = exc.get_response()
        response.set_data(b"")
        del response.headers["Content-Type"]
        return response
    code = _HTTP_TO_CODE.get(exc.code)
    if code is None:
        code = ErrorCode.GENERIC_PARAMETER_MALFORMED if exc.code and exc.code < 500 \
            else ErrorCode.GENERIC_INTERNAL_INVARIANT_FAILURE
    response = error_response(TalerError(code, exc.description, http_status=exc.code))
    if exc.code == 405 and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


class LogBudget:
    """At most ``per_minute`` full reports a minute; the rest are counted, not printed.

    A client that can trigger a server error must not be able to fill the disk: each
    report is capped at ``MAX_FRAMES`` frames, and beyond the budget one line a
    minute says how many were left out.
    """

    MAX_FRAMES = 20

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self._lock = threading.Lock()
        self._window = 0.0
        self._used = 0
        self._skipped = 0

    def report(self, logger, message: str, exc: BaseException):
        now = time.monotonic()
        with self._lock:
            if now - self._window >= 60:
                skipped, self._skipped = self._skipped, 0
                self._window, self._used = now, 0
                if skipped:
                    logger.error("%d more errors in the last minute were not logged", skipped)
            if self._used >= self.per_minute:
                self._skipped += 1
                return
            self._used += 1
        trace = "".join(traceback.format_exception(exc, limit=-self.MAX_FRAMES))
        logger.error("%s: %s", message, trace.rstrip())


def _handle_unexpected(exc: Exception):
    from flask import current_app
    current_app.extensions["taler_inventory_log_budget"].report(log, "unexpected error", exc)
    return error_response(TalerError(ErrorCode.GENERIC_INTERNAL_INVARIANT_FAILURE))


def init_app(app):
    app.extensions["taler_inventory_log_budget"] = LogBudget(
        app.config["INVENTORY"]["LOG_ERRORS_PER_MINUTE"])
    app.register_error_handler(TalerError, _handle_taler_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(Exception, _handle_unexpected)
