"""Largest-remainder splits: parts sum exactly to the whole, for every input."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aifinops.allocation import split
from aifinops.core.money import MONEY_SCALE

_money = st.decimals(
    min_value=Decimal("-1000000"), max_value=Decimal("1000000"), places=MONEY_SCALE, allow_nan=False
)
_weights = st.lists(
    st.one_of(st.integers(0, 10**9), st.decimals(0, 10**6, places=6, allow_nan=False)),
    min_size=1,
    max_size=12,
).filter(lambda ws: any(w > 0 for w in ws))


def test_thirds_of_a_dollar_at_the_ledger_scale() -> None:
    parts = split(Decimal("1.00"), [1, 1, 1])
    # 10^12 units / 3: the one leftover unit goes to the first (ties go to the earlier weight)
    assert parts == [Decimal("0.333333333334"), Decimal("0.333333333333"), Decimal("0.333333333333")]
    assert sum(parts) == Decimal("1.00")


def test_largest_remainder_gets_the_leftover_cent() -> None:
    assert split(Decimal("0.10"), [1, 2], scale=2) == [Decimal("0.03"), Decimal("0.07")]
    assert split(Decimal("100"), [Fraction(5, 7), Fraction(2, 7)], scale=2) == [
        Decimal("71.43"),
        Decimal("28.57"),
    ]


def test_integers_zero_weights_none_and_credits() -> None:
    assert split(10, [1, 0, 2]) == [3, 0, 7]
    assert split(None, [1, 2]) == [None, None]
    assert split(Decimal("-0.05"), [1, 1], scale=2) == [Decimal("-0.03"), Decimal("-0.02")]
    assert split(Decimal("5"), [3, -2, 1], scale=0) == [Decimal("4"), Decimal("0"), Decimal("1")]


def test_a_finer_amount_keeps_its_own_places() -> None:
    assert split(Decimal("0.0000000000001"), [1, 1]) == [Decimal("1E-13"), Decimal("0")]


def test_all_zero_weights_is_an_error() -> None:
    with pytest.raises(ValueError, match="all zero"):
        split(Decimal(1), [0, 0])


@given(_money, _weights)
def test_money_parts_sum_exactly_and_keep_the_sign(amount: Decimal, weights: list) -> None:
    parts = split(amount, weights)
    assert sum(parts) == amount
    assert len(parts) == len(weights)
    for part, weight in zip(parts, weights, strict=True):
        assert part == 0 or (part > 0) == (amount > 0)
        if weight == 0:
            assert part == 0
        # each part is within one unit of its exact share
        exact = Fraction(amount) * Fraction(weight) / sum(Fraction(w) for w in weights)
        assert abs(Fraction(part) - exact) < Fraction(1, 10**MONEY_SCALE)


@given(st.integers(-(10**12), 10**12), _weights)
def test_integer_parts_sum_exactly(amount: int, weights: list) -> None:
    parts = split(amount, weights)
    assert sum(parts) == amount and all(isinstance(p, int) for p in parts)
