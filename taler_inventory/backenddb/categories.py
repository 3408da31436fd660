"""Database operations on product categories."""
from psycopg.types.json import Jsonb

from .outcome import Outcome, SerialOutcome, Status, matched
from .rows import delete_row


def insert_category(conn, instance_serial: int, name: str, name_i18n: dict) -> SerialOutcome:
    """Create a category; its serial is its id."""
    row = conn.execute(
        """INSERT INTO categories (instance_serial, name, name_i18n) VALUES (%s, %s, %s)
           RETURNING category_serial""", (instance_serial, name, Jsonb(name_i18n))).fetchone()
    return SerialOutcome(Status.CREATED, serial=row["category_serial"])


def list_categories(conn, instance_serial: int):
    """Every category of the instance with the number of its products."""
    return conn.execute(
        """SELECT c.category_serial AS category_id, c.name, c.name_i18n,
                  (SELECT count(*) FROM product_categories pc
                    WHERE pc.category_serial = c.category_serial) AS product_count
             FROM categories c WHERE c.instance_serial = %s
            ORDER BY c.category_serial""", (instance_serial,)).fetchall()


def lookup_category(conn, instance_serial: int, category_id: int):
    """A category with the ids of its products, or None."""
    return conn.execute(
        """SELECT c.name, c.name_i18n,
                  ARRAY(SELECT p.product_id FROM product_categories pc
                          JOIN products p USING (product_serial)
                         WHERE pc.category_serial = c.category_serial
                         ORDER BY p.product_serial) AS products
             FROM categories c
            WHERE c.instance_serial = %s AND c.category_serial = %s""",
        (instance_serial, category_id)).fetchone()


def update_category(conn, instance_serial: int, category_id: int, changes: dict) -> Outcome:
    """Change a category's name and translations."""
    row = conn.execute(
        """UPDATE categories
              SET name = COALESCE(%(name)s, name),
                  name_i18n = COALESCE(%(name_i18n)s, name_i18n)
            WHERE instance_serial = %(instance)s AND category_serial = %(id)s
           RETURNING 1""",
        {"name": changes.get("name"),
         "name_i18n": Jsonb(changes["name_i18n"]) if "name_i18n" in changes else None,
         "instance": instance_serial, "id": category_id}).fetchone()
    return matched(row)


def delete_category(conn, instance_serial: int, category_id: int) -> Outcome:
    """Delete a category (its products stay)."""
    return delete_row(conn, "categories", "category_serial", instance_serial, category_id)
