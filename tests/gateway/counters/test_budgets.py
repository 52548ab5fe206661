"""Budget reservations: limits, all-or-nothing, settle/release, idempotency, expiry, spent."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from aifinops.gateway.counters import NANO, Claim, Counters, Refusal, from_nano, to_nano

from .timing import surely_before, timed

pytestmark = pytest.mark.anyio

LIMIT = 100 * NANO


async def test_reserve_within_limit_and_refuse_beyond(counters: Counters) -> None:
    assert await counters.reserve("r1", [Claim("k", LIMIT, 60 * NANO)], ttl=30) is None
    assert (
        await counters.reserve("r2", [Claim("k", LIMIT, 40 * NANO)], ttl=30) is None
    )  # exactly at the limit
    refusal = await counters.reserve("r3", [Claim("k", LIMIT, 1)], ttl=30)
    assert refusal == Refusal(key="k", limit=LIMIT, spent=0, reserved=100 * NANO, amount=1)
    assert await counters.usage("k") == (0, 100 * NANO)


async def test_refusal_reports_the_first_key_that_does_not_fit_and_changes_nothing(
    counters: Counters,
) -> None:
    await counters.ensure_spent("b", 70 * NANO)
    assert await counters.reserve("r0", [Claim("b", LIMIT, 20 * NANO)], ttl=30) is None
    claims = [Claim("a", LIMIT, 15 * NANO), Claim("b", LIMIT, 15 * NANO), Claim("c", 1, 5)]
    refusal = await counters.reserve("r1", claims, ttl=30)
    assert refusal == Refusal(key="b", limit=LIMIT, spent=70 * NANO, reserved=20 * NANO, amount=15 * NANO)
    assert await counters.usage("a") == (0, 0)
    assert await counters.usage("b") == (70 * NANO, 20 * NANO)
    assert await counters.usage("c") == (0, 0)
    # The refused id was never held: it can still be reserved, and then every claim applies.
    assert await counters.reserve("r1", [Claim("a", LIMIT, 15 * NANO), Claim("c", 5, 5)], ttl=30) is None
    assert await counters.usage("a") == (0, 15 * NANO)
    assert await counters.usage("c") == (0, 5)


async def test_claims_on_the_same_key_add_up(counters: Counters) -> None:
    refusal = await counters.reserve(
        "r", [Claim("k", LIMIT, 60 * NANO), Claim("k", LIMIT, 60 * NANO)], ttl=30
    )
    assert refusal is not None and refusal.key == "k"
    assert (
        await counters.reserve("s", [Claim("k", LIMIT, 50 * NANO), Claim("k", LIMIT, 50 * NANO)], ttl=30)
        is None
    )
    assert await counters.usage("k") == (0, LIMIT)
    await counters.settle("s", 30 * NANO)
    assert await counters.usage("k") == (30 * NANO, 0)


async def test_settle_moves_reserved_to_spent_with_the_actual_amount(counters: Counters) -> None:
    await counters.ensure_spent("month", 10 * NANO)
    claims = [Claim("month", LIMIT, 20 * NANO), Claim("day", 50 * NANO, 20 * NANO)]
    assert await counters.reserve("r", claims, ttl=30) is None
    assert await counters.usage("month") == (10 * NANO, 20 * NANO)
    actual = to_nano(Decimal("3.123456789"))
    await counters.settle("r", actual)
    assert await counters.usage("month") == (10 * NANO + actual, 0)
    assert await counters.usage("day") == (actual, 0)
    assert from_nano((await counters.usage("day"))[0]) == Decimal("3.123456789")


async def test_release_frees_without_spending(counters: Counters) -> None:
    assert await counters.reserve("r", [Claim("k", LIMIT, LIMIT)], ttl=30) is None
    assert await counters.reserve("s", [Claim("k", LIMIT, 1)], ttl=30) is not None
    await counters.release("r")
    assert await counters.usage("k") == (0, 0)
    assert await counters.reserve("s", [Claim("k", LIMIT, LIMIT)], ttl=30) is None


async def test_settle_and_release_are_idempotent(counters: Counters) -> None:
    assert await counters.reserve("r", [Claim("k", LIMIT, 40 * NANO)], ttl=30) is None
    assert await counters.reserve("s", [Claim("k", LIMIT, 30 * NANO)], ttl=30) is None
    await counters.settle("r", 25 * NANO)
    await counters.settle("r", 25 * NANO)
    await counters.release("r")
    assert await counters.usage("k") == (25 * NANO, 30 * NANO)
    await counters.release("s")
    await counters.settle("s", 9 * NANO)  # a settle after a release spends nothing
    await counters.release("s")
    assert await counters.usage("k") == (25 * NANO, 0)
    await counters.settle("never-reserved", 5 * NANO)
    await counters.release("never-reserved")
    assert await counters.usage("k") == (25 * NANO, 0)


async def test_reserve_retry_is_a_no_op_and_a_finished_id_cannot_be_reused(counters: Counters) -> None:
    assert await counters.reserve("r", [Claim("k", LIMIT, 60 * NANO)], ttl=30) is None
    assert await counters.reserve("r", [Claim("k", LIMIT, 60 * NANO)], ttl=30) is None
    assert await counters.usage("k") == (0, 60 * NANO)
    await counters.settle("r", 1)
    with pytest.raises(ValueError, match="already used"):
        await counters.reserve("r", [Claim("k", LIMIT, 1)], ttl=30)
    assert await counters.usage("k") == (1, 0)


async def test_expired_reservations_are_released_by_the_next_reserve(counters: Counters) -> None:
    crashed, origin = await timed(counters.reserve("crashed", [Claim("k", LIMIT, 70 * NANO)], ttl=0.2))
    assert crashed is None
    assert await counters.reserve("live", [Claim("k", LIMIT, 20 * NANO)], ttl=30) is None
    early = await counters.reserve("early", [Claim("k", LIMIT, 20 * NANO)], ttl=30)
    if surely_before(origin, 0.2):
        assert early is not None
    elif early is None:
        await counters.release("early")
    await asyncio.sleep(0.3)
    assert await counters.reserve("later", [Claim("k", LIMIT, 80 * NANO)], ttl=30) is None
    assert await counters.usage("k") == (0, 100 * NANO)
    await counters.release("crashed")  # its hold is gone already: nothing more is freed
    assert await counters.usage("k") == (0, 100 * NANO)


async def test_usage_releases_expired_reservations(counters: Counters) -> None:
    held, origin = await timed(counters.reserve("r", [Claim("a", LIMIT, 5), Claim("b", LIMIT, 7)], ttl=0.2))
    assert held is None
    usage = await counters.usage("b")
    if surely_before(origin, 0.2):
        assert usage == (0, 7)
    await asyncio.sleep(0.3)
    assert await counters.usage("a") == (0, 0)
    assert await counters.usage("b") == (0, 0)


async def test_a_late_settle_still_counts_its_spend_once(counters: Counters) -> None:
    assert await counters.reserve("slow", [Claim("k", LIMIT, 50 * NANO)], ttl=0.2) is None
    await asyncio.sleep(0.3)
    assert await counters.usage("k") == (0, 0)
    await counters.settle("slow", 42)
    await counters.settle("slow", 42)
    assert await counters.usage("k") == (42, 0)


async def test_ensure_spent_only_sets_once(counters: Counters) -> None:
    assert await counters.ensure_spent("k", 30 * NANO, ttl=60) == 30 * NANO
    assert await counters.ensure_spent("k", 99 * NANO, ttl=60) == 30 * NANO
    assert await counters.add_spent("k", 5) == 30 * NANO + 5
    assert await counters.ensure_spent("k", 0) == 30 * NANO + 5
    assert await counters.usage("k") == (30 * NANO + 5, 0)


async def test_ensure_spent_sets_again_after_its_ttl(counters: Counters) -> None:
    spent, origin = await timed(counters.ensure_spent("k", 30, ttl=0.2))
    assert spent == 30
    spent = await counters.add_spent("k", 1, ttl=60)  # does not push the expiry back
    if surely_before(origin, 0.2):
        assert spent == 31
    await asyncio.sleep(0.3)
    assert await counters.usage("k") == (0, 0)
    assert await counters.ensure_spent("k", 50, ttl=60) == 50


async def test_add_spent_counts_against_the_limit(counters: Counters) -> None:
    assert await counters.add_spent("k", 90 * NANO) == 90 * NANO
    assert await counters.add_spent("k", 5 * NANO, ttl=60) == 95 * NANO
    refusal = await counters.reserve("r", [Claim("k", LIMIT, 6 * NANO)], ttl=30)
    assert refusal == Refusal("k", LIMIT, 95 * NANO, 0, 6 * NANO)
    assert await counters.reserve("r", [Claim("k", LIMIT, 5 * NANO)], ttl=30) is None


async def test_large_exact_amounts(counters: Counters) -> None:
    limit = 2**53 - 1  # about 9 million dollars, exact to the nano-dollar
    await counters.ensure_spent("k", limit - 10)
    assert await counters.reserve("r", [Claim("k", limit, 11)], ttl=30) is not None
    assert await counters.reserve("r", [Claim("k", limit, 10)], ttl=30) is None
    await counters.settle("r", 10)
    assert await counters.usage("k") == (limit, 0)


@pytest.mark.parametrize(
    ("claim", "ttl"),
    [
        (Claim("k", LIMIT, -1), 30),
        (Claim("k", 2**53, 1), 30),
        (Claim("k", LIMIT, 2**53), 30),
        (Claim("k", 1, 1), 0),
    ],
)
async def test_invalid_claims_are_rejected(counters: Counters, claim: Claim, ttl: float) -> None:
    with pytest.raises(ValueError):
        await counters.reserve("r", [claim], ttl=ttl)
    assert await counters.usage("k") == (0, 0)
