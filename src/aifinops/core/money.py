"""Exact money: ``Decimal`` everywhere, never float.

The ledger stores money as DECIMAL(38, 12): twelve decimal places hold the price of a single token
($2.5e-7) exactly, and 26 integer digits hold any bill.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

__all__ = ["MONEY_SCALE", "MONEY_SQL", "MILLION", "ZERO", "cents", "to_decimal", "quantize", "format_money"]

MONEY_SCALE = 12
MONEY_SQL = "DECIMAL(38, 12)"
MILLION = Decimal(1_000_000)
ZERO = Decimal(0)
_QUANTUM = Decimal(1).scaleb(-MONEY_SCALE)
_CENT = Decimal("0.01")


def to_decimal(value: object, *, field: str = "value") -> Decimal:
    """Convert a JSON/CSV value to ``Decimal`` exactly.

    Floats go through ``repr`` (``0.1`` becomes ``Decimal("0.1")``, not its binary expansion).
    Raises ``ValueError`` naming ``field`` for anything that is not a finite number.
    """
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise ValueError(f"{field}: expected a number, got a boolean")
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{field}: {value!r} is not a number") from None
    else:
        raise ValueError(f"{field}: expected a number, got {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"{field}: {value!r} is not a finite number")
    return result


def quantize(value: Decimal) -> Decimal:
    """Round to the ledger's 12 decimal places (banker's rounding)."""
    return value.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN)


def cents(value: Decimal) -> Decimal:
    """Round to whole cents, for display and statements."""
    return value.quantize(_CENT, rounding=ROUND_HALF_EVEN)


def format_money(value: object) -> str:
    """Dollars for people: cents, or more places for amounts under a cent; ``–`` for no value."""
    if value is None:
        return "–"
    amount = Decimal(str(value))
    if amount != 0 and abs(amount) < Decimal("0.01"):
        return f"${amount:.6f}".rstrip("0")
    return f"${amount:,.2f}"
