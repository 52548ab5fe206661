"""gen_ai.client.token.usage histograms to records: delta and cumulative streams, resets, restarts."""

from __future__ import annotations

from datetime import timedelta

from aifinops.ingest.otlp_attrs import AttributeMap
from aifinops.ingest.otlp_metrics import CumulativeState, convert_metrics
from tests.factories import T0
from tests.ingest.otlp_helpers import SECOND, T0_NS, metrics, token_metric, usage_attrs

AMAP = AttributeMap()
CUMULATIVE = 2


def run(state: CumulativeState, *metric_list):
    batch = convert_metrics(metrics(list(metric_list), {"service.name": "bot", "app.team": "x"}), AMAP, state)
    state.commit(batch.updates)
    return batch


def test_delta_points_become_one_record_each_by_token_type() -> None:
    metric = token_metric(
        [
            {"attrs": usage_attrs("input"), "sum": 1200.0, "count": 3},
            {"attrs": usage_attrs("output"), "sum": 300.0, "count": 3},
            {"attrs": usage_attrs("input", model="claude-sonnet-4-5", provider="anthropic"), "sum": 50.0},
        ]
    )
    batch = run(CumulativeState(), metric)
    assert batch.rejected == 0
    inp, out, claude = batch.records
    assert (inp.input_tokens, inp.output_tokens, inp.requests) == (1200, 0, 3)
    assert (out.input_tokens, out.output_tokens, out.requests) == (0, 300, 0)  # a call is counted once
    assert (claude.provider, claude.model) == ("anthropic", "claude-sonnet-4-5")
    assert inp.source == "otlp-metrics" and inp.project == "bot" and inp.operation == "chat"
    assert inp.charge_period_start == T0 and inp.charge_period_end == T0 + timedelta(seconds=60)
    assert len({r.record_id for r in batch.records}) == 3


def test_cumulative_points_record_only_their_growth() -> None:
    state = CumulativeState()
    attrs = usage_attrs("input")

    def point(total: float, count: int, minute: int, start: int = T0_NS):
        return token_metric(
            [
                {
                    "attrs": attrs,
                    "sum": total,
                    "count": count,
                    "start": start,
                    "time": T0_NS + minute * 60 * SECOND,
                }
            ],
            temporality=CUMULATIVE,
        )

    first = run(state, point(1000.0, 2, 1)).records
    second = run(state, point(1600.0, 3, 2)).records
    resent = run(state, point(1600.0, 3, 2)).records
    idle = run(state, point(1600.0, 3, 3)).records
    third = run(state, point(1700.0, 4, 4)).records
    assert [r.input_tokens for r in first + second + third] == [1000, 600, 100]
    assert [r.requests for r in first + second + third] == [2, 1, 1]
    assert resent == [] and idle == []
    assert second[0].charge_period_start == T0 + timedelta(minutes=1)  # from the previous point
    assert third[0].charge_period_start == T0 + timedelta(minutes=3)
    restarted = run(state, point(40.0, 1, 5, start=T0_NS + 4 * 60 * SECOND)).records  # the process restarted
    assert [r.input_tokens for r in restarted] == [40]


def test_a_restarted_receiver_continues_from_the_last_recorded_point() -> None:
    stored: dict[str, str] = {}
    attrs = usage_attrs("output")
    before = CumulativeState()
    first = run(
        before, token_metric([{"attrs": attrs, "sum": 500.0, "count": 5}], temporality=CUMULATIVE)
    ).records[0]
    stored[first.tags["otlp.stream"]] = first.tags["otlp.point"]
    after = CumulativeState(loader=stored.get)
    later = token_metric(
        [{"attrs": attrs, "sum": 800.0, "count": 7, "time": T0_NS + 120 * SECOND}], temporality=CUMULATIVE
    )
    (record,) = run(after, later).records
    assert record.output_tokens == 300


def test_bad_points_are_rejected_alone_and_other_metrics_ignored() -> None:
    good = {"attrs": usage_attrs("input"), "sum": 10.0}
    metric = token_metric(
        [
            good,
            {"attrs": usage_attrs("thinking"), "sum": 5.0},
            {"attrs": usage_attrs("output"), "sum": 2.5},
            {"attrs": usage_attrs("output")},  # no sum
            {"attrs": usage_attrs("output"), "sum": 1.0, "start": T0_NS + 10 * SECOND, "time": T0_NS},
        ]
    )
    other = token_metric([good], name="gen_ai.client.operation.duration")
    unspecified = token_metric([good], temporality=0)
    batch = run(CumulativeState(), metric, other, unspecified)
    assert len(batch.records) == 1 and batch.rejected == 5
    joined = " ".join(batch.reasons)
    for reason in ("token type", "whole number", "no sum", "before start", "unspecified"):
        assert reason in joined
