"""Exact splits: the parts always sum to the whole (largest-remainder method).

An amount is cut at its own scale (money carries the ledger's 12 places, ``MONEY_SCALE``; counts are
integers), so no unit is created or lost: ``sum(split(a, w)) == a`` for every amount and every set of
non-negative weights with a positive total. Leftover units go to the largest fractional remainders; ties go
to the earlier weight, so a split is deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from math import lcm
from typing import TypeVar

from aifinops.core.money import MONEY_SCALE

__all__ = ["split", "as_fraction", "integer_weights", "Amount"]

Amount = TypeVar("Amount", int, Decimal, None)


def as_fraction(value: object) -> Fraction:
    """An exact fraction of an int, Decimal, Fraction or None (0); negative values count as 0."""
    if value is None:
        return Fraction(0)
    if isinstance(value, bool):
        raise TypeError("a weight cannot be a boolean")
    if isinstance(value, Fraction | int | Decimal):
        result = Fraction(value)
    else:
        raise TypeError(f"a weight must be a number, got {type(value).__name__}")
    return result if result > 0 else Fraction(0)


def _scale(amount: Decimal, minimum: int) -> int:
    exponent = amount.as_tuple().exponent
    return max(minimum, -exponent if isinstance(exponent, int) else 0)


def integer_weights(weights: Sequence[object]) -> list[int]:
    """Weights as proportional non-negative integers (exact: scaled by the common denominator)."""
    if all(type(w) is int for w in weights):
        return [w if w > 0 else 0 for w in weights]  # type: ignore[operator]
    fractions = [as_fraction(w) for w in weights]
    common = lcm(*(f.denominator for f in fractions)) if fractions else 1
    return [f.numerator * (common // f.denominator) for f in fractions]


def split(amount: Amount, weights: Sequence[object], *, scale: int = MONEY_SCALE) -> list[Amount]:
    """Cut ``amount`` in ``len(weights)`` parts in proportion to ``weights`` (exact, conserving).

    ``int`` amounts give ``int`` parts; ``Decimal`` amounts give parts at ``scale`` places (or the amount's
    own, if finer); ``None`` (an unpriced amount) gives ``None`` parts. Negative amounts (credits) split like
    their absolute value, with the sign kept. Negative weights count as zero. Raises ``ValueError`` if no
    weight is positive. Pass :func:`integer_weights` to split many amounts by the same weights quickly.
    """
    ints = integer_weights(weights)
    total = sum(ints)
    if total <= 0:
        raise ValueError("cannot split by weights that are all zero")
    if amount is None:
        return [None] * len(ints)  # type: ignore[list-item]
    if isinstance(amount, bool):
        raise TypeError("cannot split a boolean")
    if isinstance(amount, int):
        places, units = 0, amount
    else:
        places = _scale(amount, scale)
        units = int(amount.scaleb(places))
    sign = -1 if units < 0 else 1
    units = abs(units)
    parts: list[int] = []
    remainders: list[int] = []
    for w in ints:
        q, r = divmod(units * w, total)
        parts.append(q)
        remainders.append(r)
    left = units - sum(parts)
    if left:
        for i in sorted(range(len(ints)), key=lambda i: (-remainders[i], i))[:left]:
            parts[i] += 1
    if isinstance(amount, int):
        return [sign * p for p in parts]  # type: ignore[misc]
    return [Decimal(sign * p).scaleb(-places) for p in parts]  # type: ignore[misc]
