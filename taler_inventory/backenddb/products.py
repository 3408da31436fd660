"""Database operations on products: insert, lookup, list, update, delete, catalogue.

Products code never writes ``products.reserved`` (the hold operations own it); it
reads it to tell how much is locked: ``reserved`` minus the holds that have expired
but are not reclaimed yet, a sum that touches expired rows only.
"""
from psycopg.types.json import Jsonb

from ..stock import (excess_precision, oversubscribed, precision_of, resolve_precision,
                     with_base_price)
from .outcome import Outcome, Status
from .paging import page
from .units import unit_policy

#: The columns of a product's details; ``%(now)s`` must be bound.
DETAIL_COLUMNS = """p.product_serial, p.product_id, p.product_name, p.description,
    p.description_i18n, p.unit, p.unit_allow_fraction, p.unit_precision_level,
    p.unit_price, p.image, p.taxes, p.address, p.next_restock, p.minimum_age,
    p.unit_minimum_quantity, p.total_stock, p.total_sold, p.total_lost, p.reserved,
    p.product_group_serial, p.money_pot_serial, p.price_is_net,
    GREATEST(0, p.reserved - COALESCE(
      (SELECT sum(h.quantity) FROM holds h
        WHERE h.product_serial = p.product_serial AND h.expiration <= %(now)s), 0)) AS locked,
    ARRAY(SELECT pc.category_serial FROM product_categories pc
           WHERE pc.product_serial = p.product_serial
           ORDER BY pc.category_serial) AS categories"""

#: Request keys stored as columns of the same name (JSON ones are wrapped).
_PLAIN = ("product_name", "description", "unit", "unit_allow_fraction",
          "unit_precision_level", "image", "next_restock", "minimum_age",
          "total_stock", "total_sold", "total_lost", "price_is_net")
#: Request keys stored under another column name.
_RENAMED = {"product_group_id": "product_group_serial", "money_pot_id": "money_pot_serial",
            "minimum_quantity": "unit_minimum_quantity"}
_JSON = ("description_i18n", "taxes", "address")


def _columns(product: dict) -> dict:
    """Column values of the request keys present in ``product``."""
    cols = {k: product[k] for k in _PLAIN if k in product}
    cols.update({k: Jsonb(product[k]) for k in _JSON if k in product})
    if "unit_price" in product:
        cols["unit_price"] = Jsonb([str(a) for a in product["unit_price"]])
    cols.update({column: product[key] for key, column in _RENAMED.items() if key in product})
    return cols


def _categories_exist(conn, instance_serial: int, categories: list[int]) -> bool:
    """Check the categories belong to the instance and keep them until commit."""
    if not categories:
        return True
    rows = conn.execute(
        """SELECT category_serial FROM categories
            WHERE instance_serial = %s AND category_serial = ANY(%s)
            ORDER BY category_serial FOR KEY SHARE""",
        (instance_serial, categories)).fetchall()
    return len(rows) == len(categories)


def _references_unknown(conn, instance_serial: int, product: dict):
    """The Outcome of the first category, group or pot not of the instance, or None.

    The rows found are kept (KEY SHARE) until commit, so they cannot vanish before
    the product refers to them.
    """
    if "categories" in product and not _categories_exist(conn, instance_serial,
                                                         product["categories"]):
        return Outcome(Status.CATEGORY_UNKNOWN, "categories")
    for key, table, column, status in (
            ("product_group_id", "product_groups", "group_serial", Status.GROUP_UNKNOWN),
            ("money_pot_id", "money_pots", "pot_serial", Status.POT_UNKNOWN)):
        if product.get(key) is not None and conn.execute(
                f"""SELECT 1 FROM {table} WHERE instance_serial = %s AND {column} = %s
                     FOR KEY SHARE""", (instance_serial, product[key])).fetchone() is None:
            return Outcome(status, key)
    return None


def _set_categories(conn, instance_serial, product_serial, categories, *, replace):
    if replace:
        conn.execute("DELETE FROM product_categories WHERE product_serial = %s",
                     (product_serial,))
    if categories:
        conn.execute(
            """INSERT INTO product_categories (product_serial, category_serial, instance_serial)
               SELECT %s, c, %s FROM unnest(%s::INT8[]) AS c""",
            (product_serial, instance_serial, categories))


def _same_product(row, product: dict, derived=()) -> bool:
    """Whether an existing product has the details a creation request asks for.

    The counters sold and lost move with business, so they only count if sent; so
    do the ``derived`` columns (taken from the unit, whose settings may change).
    """
    wanted = _columns(product)
    for column in derived:
        wanted.pop(column, None)
    for column, value in wanted.items():
        stored = row[column]
        if isinstance(value, Jsonb):
            value = value.obj
        if stored != value:
            return False
    return row["categories"] == product["categories"]


def insert_product(conn, instance_serial: int, product: dict, now: int) -> Outcome:
    """Create a product.

    CREATED, OK (an identical one exists), CONFLICT, PRECISION (a quantity finer than
    the product allows), or the unknown category, group or pot.  Fractions and
    precision the request leaves out come from the product's unit.
    """
    with conn.transaction():
        derived = [k for k in ("unit_allow_fraction", "unit_precision_level")
                   if k not in product]
        resolve_precision(product, unit_policy(conn, instance_serial, product["unit"]))
        field = excess_precision(product, product["unit_precision_level"])
        if field is not None:
            return Outcome(Status.PRECISION, field)
        problem = _references_unknown(conn, instance_serial, product)
        if problem is not None:
            return problem
        cols = _columns(product)
        cols["instance_serial"] = instance_serial
        cols["product_id"] = product["product_id"]
        names = ", ".join(cols)
        values = ", ".join(f"%({k})s" for k in cols)
        row = conn.execute(
            f"""INSERT INTO products ({names}) VALUES ({values})
                ON CONFLICT (instance_serial, product_id) DO NOTHING
                RETURNING product_serial""", cols).fetchone()
        if row is not None:
            _set_categories(conn, instance_serial, row["product_serial"],
                            product["categories"], replace=False)
            return Outcome(Status.CREATED)
        existing = lookup_product(conn, instance_serial, product["product_id"], now)
        same = _same_product(existing, product, derived)
        return Outcome(Status.OK if same else Status.CONFLICT)


def lookup_product(conn, instance_serial: int, product_id: str, now: int):
    """The details row of a product, or None."""
    return conn.execute(
        f"""SELECT {DETAIL_COLUMNS} FROM products p
             WHERE p.instance_serial = %(instance)s AND p.product_id = %(id)s""",
        {"instance": instance_serial, "id": product_id, "now": now}).fetchone()


def like_pattern(text: str) -> str:
    """An ILIKE pattern matching ``text`` anywhere, its wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


#: Filter of GET /private/products -> its condition on ``p`` (trigram- or B-tree-indexed).
_FILTERS = {
    "name_filter": "p.product_name ILIKE %(name_filter)s",
    "description_filter": "p.description ILIKE %(description_filter)s",
    "category_filter": """p.product_serial IN (
        SELECT pc.product_serial FROM categories c
          JOIN product_categories pc ON pc.category_serial = c.category_serial
         WHERE c.instance_serial = %(instance)s AND c.name ILIKE %(category_filter)s)""",
    "product_group_serial": "p.product_group_serial = %(product_group_serial)s",
}


def list_products_query(instance_serial: int, limit: int, offset: int | None,
                        filters: dict) -> tuple[str, dict]:
    """The SQL and parameters of one page of product ids, filtered."""
    p = page("p.product_serial", limit, offset)
    params = dict(p.params, instance=instance_serial)
    conditions = ["p.instance_serial = %(instance)s", p.condition]
    for name, condition in _FILTERS.items():
        if filters.get(name) is not None:
            conditions.append(condition)
            value = filters[name]
            params[name] = value if name == "product_group_serial" else like_pattern(value)
    sql = (f"SELECT p.product_id, p.product_serial FROM products p"
           f" WHERE {' AND '.join(conditions)} {p.order}")
    return sql, params


def list_products(conn, instance_serial: int, limit: int, offset: int | None,
                  filters: dict | None = None):
    """Product ids and serials after ``offset`` (before it when ``limit`` < 0)."""
    sql, params = list_products_query(instance_serial, limit, offset, filters or {})
    return conn.execute(sql, params).fetchall()


def _precision(row, changes: dict) -> int:
    allow = changes.get("unit_allow_fraction", row["unit_allow_fraction"])
    if "unit_precision_level" in changes:
        level = changes["unit_precision_level"]
    elif row["unit_allow_fraction"]:
        level = row["unit_precision_level"]
    else:
        level = None  # fractions newly allowed: the default precision
    return precision_of(allow, level)


def _check_update(row, changes: dict, precision: int):
    """Validate a patch against the locked row; the refusal's Outcome, or None."""
    old_stock = row["total_stock"]
    stock = changes.get("total_stock", old_stock)
    sold = row["total_sold"]  # a patch never sets it (orders do)
    lost = changes.get("total_lost", row["total_lost"])
    if "total_stock" in changes and stock is not None and (
            old_stock is None or stock < old_stock):
        return Outcome(Status.STOCK_REDUCED, "unit_total_stock")
    if lost < row["total_lost"]:
        return Outcome(Status.LOST_REDUCED, "unit_total_lost")
    # Checked when the patch records more lost units: a loss may have oversubscribed
    # holds that were paid since (sold + lost > stock), and then editing other fields
    # or raising the stock must still work.
    if oversubscribed(stock, sold, lost) and lost != row["total_lost"]:
        return Outcome(Status.LOST_EXCEEDS_STOCK, "unit_total_lost")
    field = excess_precision(changes, precision)
    if field is None and excess_precision(
            {"total_stock": stock, "total_sold": sold, "total_lost": lost,
             "minimum_quantity": row["unit_minimum_quantity"]}, precision):
        field = ("unit_precision_level" if "unit_precision_level" in changes
                 else "unit_allow_fraction")
    if field is not None:
        return Outcome(Status.PRECISION, field)
    return None


def update_product(conn, instance_serial: int, product_id: str, changes: dict,
                   now: int) -> Outcome:
    """Apply a patch under the product's row lock."""
    with conn.transaction():
        row = conn.execute(
            """SELECT product_serial, unit_allow_fraction, unit_precision_level,
                      unit_minimum_quantity, total_stock, total_sold, total_lost, reserved,
                      unit_price
                 FROM products WHERE instance_serial = %s AND product_id = %s
                  FOR NO KEY UPDATE""", (instance_serial, product_id)).fetchone()
        if row is None:
            return Outcome(Status.UNKNOWN)
        problem = _references_unknown(conn, instance_serial, changes)
        if problem is not None:
            return problem
        precision = _precision(row, changes)
        problem = _check_update(row, changes, precision)
        if problem is not None:
            return problem
        cols = _columns(changes)
        if "base_price" in changes:
            cols["unit_price"] = Jsonb(with_base_price(row["unit_price"],
                                                       changes["base_price"]))
        cols["unit_allow_fraction"] = changes.get("unit_allow_fraction",
                                                  row["unit_allow_fraction"])
        cols["unit_precision_level"] = precision
        assignments = ", ".join(f"{k} = %({k})s" for k in cols)
        cols["serial"] = row["product_serial"]
        conn.execute(f"UPDATE products SET {assignments} WHERE product_serial = %(serial)s",
                     cols)
        if "categories" in changes:
            _set_categories(conn, instance_serial, row["product_serial"],
                            changes["categories"], replace=True)
        return Outcome(Status.OK)


def delete_product(conn, instance_serial: int, product_id: str, now: int, *,
                   force: bool) -> Outcome:
    """Delete a product: LOCKED while a live hold exists, unless ``force``.

    Its holds go with it (cascade); the cart-lock rows among them are taken off
    the instance's lock count, under the same advisory lock as lock operations.
    """
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock_shared(instance_lock_key(%s))",
                     (instance_serial,))
        row = conn.execute(
            """SELECT product_serial FROM products
                WHERE instance_serial = %s AND product_id = %s FOR UPDATE""",
            (instance_serial, product_id)).fetchone()
        if row is None:
            return Outcome(Status.UNKNOWN)
        serial = row["product_serial"]
        if not force:
            held = conn.execute(
                "SELECT EXISTS (SELECT 1 FROM holds WHERE product_serial = %s"
                " AND expiration > %s) AS held", (serial, now)).fetchone()["held"]
            if held:
                return Outcome(Status.LOCKED)
        carts = conn.execute(
            """WITH gone AS (DELETE FROM holds WHERE product_serial = %s
                             RETURNING lock_uuid)
               SELECT count(lock_uuid) AS carts FROM gone""", (serial,)).fetchone()["carts"]
        conn.execute("DELETE FROM products WHERE product_serial = %s", (serial,))
        if carts:
            conn.execute("SELECT adjust_active_locks(%s, %s)", (instance_serial, -carts))
        return Outcome(Status.OK)


def lookup_pos_catalogue(conn, instance_serial: int, now: int):
    """Every product with its details and every category, from one snapshot."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        products = conn.execute(
            f"""SELECT {DETAIL_COLUMNS} FROM products p
                 WHERE p.instance_serial = %(instance)s ORDER BY p.product_serial""",
            {"instance": instance_serial, "now": now}).fetchall()
        categories = conn.execute(
            """SELECT category_serial, name, name_i18n FROM categories
                WHERE instance_serial = %s ORDER BY category_serial""",
            (instance_serial,)).fetchall()
    return products, categories

