"""doc/errors.rst lists every code of the catalogue, with its HTTP status."""
import re
from pathlib import Path

from taler_inventory.errors import ErrorCode

DOC = Path(__file__).resolve().parents[2] / "doc" / "errors.rst"


def test_every_error_code_is_documented_with_its_status():
    rows = dict(re.findall(r"^(\d+)\s+(\d{3})\s", DOC.read_text(), flags=re.M))
    for code in ErrorCode:
        assert str(code.number) in rows, f"{code.name} ({code.number}) is not in doc/errors.rst"
        assert rows[str(code.number)] == str(code.http_status), code.name


def test_numbers_are_unique():
    numbers = [code.number for code in ErrorCode]
    assert len(numbers) == len(set(numbers))


def test_own_codes_are_outside_every_taler_range():
    # Taler's codes end below 10000; ours are 10100-10399, Taler's never are.
    for code in ErrorCode:
        own = code.name.startswith("INVENTORY_")
        assert (10100 <= code.number < 10400) == own, code.name
