"""Database operations on measurement units: the built-in ones and an instance's own.

An instance sees every built-in unit (the ``builtin_units`` view), with its own
settings of fractions, precision and activity where it changed them (a ``units``
row with ``builtin``), plus its custom units (the other ``units`` rows).
"""
from psycopg.types.json import Jsonb

from ..stock import precision_of
from .outcome import Outcome, Status, matched

#: The catalogue of an instance; ``%(instance)s`` must be bound.
CATALOGUE = """
  SELECT b.unit_serial, b.unit, b.unit_name_long, b.unit_name_short,
         '{}'::jsonb AS unit_name_long_i18n, '{}'::jsonb AS unit_name_short_i18n,
         COALESCE(u.unit_allow_fraction, b.unit_allow_fraction) AS unit_allow_fraction,
         COALESCE(u.unit_precision_level, b.unit_precision_level) AS unit_precision_level,
         COALESCE(u.unit_active, TRUE) AS unit_active, TRUE AS unit_builtin
    FROM builtin_units b
    LEFT JOIN units u ON u.instance_serial = %(instance)s AND u.unit = b.unit AND u.builtin
  UNION ALL
  SELECT u.unit_serial, u.unit, u.unit_name_long, u.unit_name_short,
         u.unit_name_long_i18n, u.unit_name_short_i18n, u.unit_allow_fraction,
         u.unit_precision_level, u.unit_active, FALSE AS unit_builtin
    FROM units u
   WHERE u.instance_serial = %(instance)s AND NOT u.builtin"""

#: What an instance may change of a built-in unit; its names are the backend's.
BUILTIN_CHANGEABLE = ("unit_allow_fraction", "unit_precision_level", "unit_active")


def list_units(conn, instance_serial: int):
    """Every unit of the instance, built-in ones first, in serial order."""
    return conn.execute(f"SELECT * FROM ({CATALOGUE}) c ORDER BY c.unit_serial",
                        {"instance": instance_serial}).fetchall()


def lookup_unit(conn, instance_serial: int, unit: str):
    """One unit of the instance's catalogue, or None."""
    return conn.execute(f"SELECT * FROM ({CATALOGUE}) c WHERE c.unit = %(unit)s",
                        {"instance": instance_serial, "unit": unit}).fetchone()


def _is_builtin(conn, unit: str) -> bool:
    return conn.execute("SELECT EXISTS (SELECT 1 FROM builtin_units WHERE unit = %s) AS b",
                        (unit,)).fetchone()["b"]


def insert_unit(conn, instance_serial: int, unit: dict) -> Outcome:
    """Create a custom unit, or redefine (and so reactivate) one that exists."""
    with conn.transaction():
        if _is_builtin(conn, unit["unit"]):
            return Outcome(Status.BUILTIN)
        values = dict(unit, instance=instance_serial,
                      unit_precision_level=precision_of(unit["unit_allow_fraction"],
                                                        unit.get("unit_precision_level")),
                      unit_name_long_i18n=Jsonb(unit["unit_name_long_i18n"]),
                      unit_name_short_i18n=Jsonb(unit["unit_name_short_i18n"]))
        conn.execute(
            """INSERT INTO units (instance_serial, unit, unit_name_long, unit_name_short,
                                  unit_name_long_i18n, unit_name_short_i18n,
                                  unit_allow_fraction, unit_precision_level, unit_active)
               VALUES (%(instance)s, %(unit)s, %(unit_name_long)s, %(unit_name_short)s,
                       %(unit_name_long_i18n)s, %(unit_name_short_i18n)s,
                       %(unit_allow_fraction)s, %(unit_precision_level)s, %(unit_active)s)
               ON CONFLICT (instance_serial, unit) DO UPDATE SET
                 unit_name_long = EXCLUDED.unit_name_long,
                 unit_name_short = EXCLUDED.unit_name_short,
                 unit_name_long_i18n = EXCLUDED.unit_name_long_i18n,
                 unit_name_short_i18n = EXCLUDED.unit_name_short_i18n,
                 unit_allow_fraction = EXCLUDED.unit_allow_fraction,
                 unit_precision_level = EXCLUDED.unit_precision_level,
                 unit_active = EXCLUDED.unit_active""", values)
        return Outcome(Status.OK)


def _locked_row(conn, instance_serial: int, unit: str):
    """The instance's row of ``unit`` under a row lock (created for a built-in unit)."""
    conn.execute(
        """INSERT INTO units (instance_serial, unit, builtin, unit_name_long, unit_name_short,
                              unit_allow_fraction, unit_precision_level)
           SELECT %s, b.unit, TRUE, b.unit_name_long, b.unit_name_short,
                  b.unit_allow_fraction, b.unit_precision_level
             FROM builtin_units b WHERE b.unit = %s
           ON CONFLICT (instance_serial, unit) DO NOTHING""", (instance_serial, unit))
    return conn.execute(
        """SELECT unit_serial, builtin, unit_allow_fraction, unit_precision_level
             FROM units WHERE instance_serial = %s AND unit = %s FOR UPDATE""",
        (instance_serial, unit)).fetchone()


def _new_precision(row, changes: dict) -> int:
    """Precision after a patch: kept unless changed; 0 without fractions."""
    allow = changes.get("unit_allow_fraction", row["unit_allow_fraction"])
    level = changes.get("unit_precision_level")
    if level is None and row["unit_allow_fraction"]:
        level = row["unit_precision_level"]
    return precision_of(allow, level)


def update_unit(conn, instance_serial: int, unit: str, changes: dict) -> Outcome:
    """Patch a unit; BUILTIN names the field a built-in unit cannot change."""
    with conn.transaction():
        fixed = sorted(set(changes) - set(BUILTIN_CHANGEABLE))
        if fixed and _is_builtin(conn, unit):
            return Outcome(Status.BUILTIN, fixed[0])
        row = _locked_row(conn, instance_serial, unit)
        if row is None:
            return Outcome(Status.UNKNOWN)
        cols = {k: Jsonb(v) if k.endswith("_i18n") else v for k, v in changes.items()}
        cols["unit_precision_level"] = _new_precision(row, changes)
        assignments = ", ".join(f"{k} = %({k})s" for k in cols)
        cols["serial"] = row["unit_serial"]
        conn.execute(f"UPDATE units SET {assignments} WHERE unit_serial = %(serial)s", cols)
        return Outcome(Status.OK)


def delete_unit(conn, instance_serial: int, unit: str) -> Outcome:
    """Delete a custom unit (its products keep their unit and precision)."""
    with conn.transaction():
        if _is_builtin(conn, unit):
            return Outcome(Status.BUILTIN)
        row = conn.execute(
            "DELETE FROM units WHERE instance_serial = %s AND unit = %s AND NOT builtin"
            " RETURNING 1", (instance_serial, unit)).fetchone()
        return matched(row)


def unit_policy(conn, instance_serial: int, unit: str) -> tuple[bool, int]:
    """Fractions and precision a product of ``unit`` gets unless it says otherwise.

    A unit the catalogue does not know keeps the behaviour of the days before
    units: whole quantities only.
    """
    row = lookup_unit(conn, instance_serial, unit)
    if row is None:
        return False, 0
    return row["unit_allow_fraction"], row["unit_precision_level"]
