"""The GPU facade on the recorded fleet: utilization, idle cost and the per-team split, hand-computed.

The fleet (tests/data/gpu, one hour, H100 at the p5.48xlarge reserved rate $38.53 / 8 = $4.81625/GPU-h):
GPU 0 busy (87 %, namespace ml), GPU 1 idle (3 %, no pod: the host's team, platform), GPU 2 time-sliced
by a search pod and a support pod (40 %, half each), GPU 3 MIG: 3g.40gb for search (50 %), 1g.10gb for
support (5 %: idle) and 3/7 unallocated (idle, platform). gpu-node-2: one L4 at 10 % (idle), $0.8048/h.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from aifinops.app import App
from aifinops.core.errors import InputError, NotFound
from aifinops.core.settings import Settings
from aifinops.ingest.jobs import parse_job
from tests.factories import rec
from tests.gpu.conftest import AT, DATA, FLEET, H100_RESERVED, L4_ON_DEMAND

RATE = Decimal(H100_RESERVED)
MICRO = Decimal("0.000001")


def _money(value: Decimal) -> Decimal:
    return value.quantize(MICRO)


def test_per_team_split_busy_idle_and_cost(fleet_app: App) -> None:
    rows = {r["team"]: r for r in fleet_app.gpu_utilization(by=["team"])}
    assert set(rows) == {"ml", "platform", "search", "support", "data"}
    expected = {  # team: (provisioned, busy, idle) GPU-hours
        "ml": (1, 1, 0),
        "platform": (Decimal(10) / 7, 0, Decimal(10) / 7),  # idle GPU 1 + unallocated 3/7 of GPU 3
        "search": (Decimal(13) / 14, Decimal(13) / 14, 0),  # half of GPU 2 + 3/7 of GPU 3
        "support": (Decimal(9) / 14, Decimal(1) / 2, Decimal(1) / 7),  # half of GPU 2 + 1/7 of GPU 3 (idle)
    }
    for team, (prov, busy, idle) in expected.items():
        row = rows[team]
        assert row["provisioned_gpu_hours"] == pytest.approx(float(prov), abs=1e-6)
        assert row["busy_gpu_hours"] == pytest.approx(float(busy), abs=1e-6)
        assert row["idle_gpu_hours"] == pytest.approx(float(idle), abs=1e-6)
        assert _money(row["gpu_cost"]) == _money(RATE * Decimal(prov))
        assert _money(row["idle_cost"]) == _money(RATE * Decimal(idle))
    assert rows["support"]["utilization"] == pytest.approx(7 / 9, abs=1e-6)  # 0.5 busy of 9/14 measured
    assert rows["platform"]["utilization"] == 0.0 and rows["ml"]["utilization"] == 1.0
    assert rows["data"]["gpu_cost"] == rows["data"]["idle_cost"] == Decimal(L4_ON_DEMAND)
    total = sum((r["gpu_cost"] for r in rows.values()), Decimal(0))
    assert _money(total) == _money(4 * RATE + Decimal(L4_ON_DEMAND))  # the split sums to the fleet's cost


def test_energy_and_co2e(fleet_app: App) -> None:
    rows = {r["team"]: r for r in fleet_app.gpu_utilization(by=["team"])}
    assert rows["ml"]["energy_kwh"] == pytest.approx(0.59274)  # 592.74 W for 1 h
    # platform: GPU 1 at 71.2 W + 3/7 of GPU 3's 350 W
    assert rows["platform"]["energy_kwh"] == pytest.approx(0.0712 + 0.15)
    assert rows["ml"]["co2e_kg"] == pytest.approx(0.59274 * 400 / 1000)


def test_by_host_endpoint_and_filters(fleet_app: App) -> None:
    hosts = {r["host"]: r for r in fleet_app.gpu_utilization(by=["host"])}
    node1 = hosts["gpu-node-1"]
    assert node1["provisioned_gpu_hours"] == pytest.approx(4.0)
    # idle: GPU 1 (1) + MIG 1g (1/7) + unallocated (3/7) = 11/7 of 4 GPU-hours
    assert node1["idle_gpu_hours"] == pytest.approx(11 / 7, abs=1e-6)
    assert node1["utilization"] == pytest.approx(1 - 11 / 28, abs=1e-6)
    assert _money(node1["idle_cost"]) == _money(RATE * 11 / 7)
    endpoints = fleet_app.gpu_utilization(by=["endpoint"], where={"endpoint": "reranker"})
    assert len(endpoints) == 1 and _money(endpoints[0]["gpu_cost"]) == _money(RATE * 13 / 14)
    with pytest.raises(InputError, match="group by"):
        fleet_app.gpu_utilization(by=["model"])


def test_reimport_is_a_no_op(fleet_app: App) -> None:
    before = fleet_app.gpu_utilization(by=["team"])
    again = fleet_app.ingest_gpu("dcgm", [DATA / "dcgm_fleet.prom"], interval=3600, at=AT)
    assert again["inserted"] == 0 and again["duplicates"] == 7
    assert fleet_app.gpu_utilization(by=["team"]) == before


def test_unmapped_host_is_unpriced_not_free() -> None:
    app = App(Settings(), None)
    app.ingest_gpu("dcgm", [DATA / "dcgm_node2.prom"], interval=3600, at=AT)
    (row,) = app.gpu_utilization(by=["host"])
    assert row["unpriced_gpu_hours"] == 1.0 and row["gpu_cost"] == 0 and row["idle_gpu_hours"] == 1.0


def test_gpu_records_without_telemetry_use_their_util_tag(fleet_app: App) -> None:
    hour = dict(
        gpu_seconds=Decimal(3600), gpu_type="L4", model=None, input_tokens=0, output_tokens=0, requests=0
    )
    fleet_app.append(
        [
            rec("a", source="gpu", team="t", effective_cost=Decimal("0.80"), tags={"instance_id": "i-1", "gpu_util": "0.9"}, **hour),
            rec("b", source="gpu", team="t", effective_cost=Decimal("0.80"), tags={"instance_id": "i-1", "gpu_util": "0.05"}, **hour),
            rec("c", source="focus", team="t", effective_cost=Decimal("1.00"), tags={}, **hour),
            # a bill line for a host telemetry already covers: not counted again
            rec("d", source="focus", team="t", effective_cost=Decimal("9.00"), tags={"host": "gpu-node-2"}, **hour),
        ]
    )  # fmt: skip
    (row,) = fleet_app.gpu_utilization(by=["team"], where={"team": "t"})
    assert (
        row["provisioned_gpu_hours"] == 3.0 and row["busy_gpu_hours"] == 1.0 and row["idle_gpu_hours"] == 1.0
    )
    assert row["unmeasured_gpu_hours"] == 1.0 and row["utilization"] == 0.5
    assert row["gpu_cost"] == Decimal("2.60") and row["idle_cost"] == Decimal("0.80")


def test_ledger_hosts_get_cost_records_at_their_rate() -> None:
    settings = Settings.model_validate(
        {"gpus": {"hosts": [{"host": "onprem-*", "gpu_type": "A100-80GB", "rate_per_gpu_hour": 1.40,
                             "team": "research", "ledger": True}]}}
    )  # fmt: skip
    app = App(settings, None)
    result = app.ingest_gpu("nvidia-smi", [DATA / "smi_onprem.csv"], host="onprem-1")
    assert result["inserted"] == 6 and result["gpu_records"] == 6
    # 2 GPUs x 180 s = 0.1 GPU-hour at $1.40
    (spend,) = app.report_costs(by=["team"], where={"source": "gpu-telemetry"})
    assert spend["team"] == "research" and spend["cost"].quantize(Decimal("0.01")) == Decimal("0.14")
    (row,) = app.gpu_utilization(by=["team"])
    assert row["gpu_cost"] == Decimal("0.14") and row["provisioned_gpu_hours"] == pytest.approx(0.1)
    assert row["busy_gpu_hours"] == pytest.approx(0.05) and row["utilization"] == pytest.approx(0.5)


def test_endpoint_cost_per_token_vs_hosted(fleet_app: App) -> None:
    fleet_app.append(
        [
            rec(i, at=AT + timedelta(minutes=i), provider="self-hosted", model="bge-reranker", input_tokens=100_000,
                output_tokens=20_000, requests=1, effective_cost=Decimal(0), cost_status="reported",
                tags={"endpoint": "reranker"})
            for i in range(10)
        ]
    )  # fmt: skip
    (ep,) = [e for e in fleet_app.gpu_endpoints() if e["endpoint"] == "reranker"]
    gpu_cost = RATE * 13 / 14
    assert _money(ep["gpu_cost"]) == _money(gpu_cost)
    assert ep["tokens"] == 1_200_000 and ep["requests"] == 10 and ep["model"] == "bge-reranker"
    assert _money(ep["cost_per_million_tokens"]) == _money(gpu_cost / Decimal("1.2"))
    assert _money(ep["cost_per_1k_requests"]) == _money(gpu_cost * 100)
    hosted = {h["model"]: h for h in ep["hosted"]}
    # gpt-4o-mini: 1M input x $0.15/M + 0.2M output x $0.60/M
    assert hosted["gpt-4o-mini"]["cost"] == Decimal("0.27")
    assert hosted["gpt-4o-mini"]["self_hosted_cheaper"] is False


def test_training_runs_estimates_approvals_and_runaways() -> None:
    app = App(Settings(), None)
    result = app.ingest_gpu("jobs", [DATA / "jobs.csv"])
    # r3 runs 20 h across midnight: one record per UTC day, so daily reports put each hour on its day
    assert result["runs"] == 3 and result["inserted"] == 4
    runs = {r["run_id"]: r for r in app.training_runs()}
    # spot p5.48xlarge: $27.50 / 8 = $3.4375 per GPU-hour; 16 GPUs x 10 h = 160 GPU-hours
    assert runs["ranker-r1"]["gpu_hours"] == 160.0 and runs["ranker-r1"]["cost"] == Decimal("550")
    assert runs["ranker-r3"]["cost"] == Decimal("1100") and runs["ranker-r3"]["runaway"] is True
    assert runs["ranker-r3"]["vs_expected"] == 2.0 and runs["ranker-r1"]["runaway"] is False
    days = app.report_costs(by=["team"], grain="day", where={"category": "training"})
    assert {(str(d["period"])[:10], d["cost"]) for d in days if str(d["period"]).startswith("2026-07-1")} == {
        ("2026-07-15", Decimal("660")),  # 12 h x 16 GPUs x $3.4375
        ("2026-07-16", Decimal("440")),
    }
    # spend shows up in the same ledger and reports, under the same owner
    (spend,) = app.report_costs(by=["team"], where={"category": "training"})
    assert spend["team"] == "search" and spend["cost"] == Decimal("2200")

    est = app.train_estimate(
        params=1e9, tokens=2e10, gpu="a100-80gb", count=8, provider="gcp", name="ft", team="ds"
    )
    # ~$420: under the $25,000 threshold, so approved as estimated
    assert est["status"] == "approved" and est["needs_approval"] is False
    hours = 6 * 1e9 * 2e10 / (312e12 * 0.4) / 3600
    assert est["gpu_hours"] == pytest.approx(hours)
    app.add_jobs(
        [
            parse_job(
                {"name": "ft", "team": "ds", "start": "2026-07-02T00:00:00Z", "end": "2026-07-04T00:00:00Z",
                 "gpu_type": "A100-80GB", "gpu_count": 8, "provider": "gcp", "estimate_id": est["estimate_id"],
                 "params": 1e9, "tokens": 2e10}
            )
        ]
    )  # fmt: skip
    (ft,) = [r for r in app.training_runs() if r["name"] == "ft"]
    assert ft["estimate_id"] == est["estimate_id"] and ft["expected_gpu_hours"] == pytest.approx(hours)
    # 8 GPUs x 48 h = 384 GPU-h vs 267 estimated: 44 % over, beyond the 25 % margin
    assert ft["vs_expected"] == pytest.approx(384 / hours, abs=1e-4) and ft["runaway"] is True
    assert ft["approved"] is True
    assert ft["achieved_mfu"] == pytest.approx(0.4 * hours / 384)  # the same FLOPs in more GPU-hours
    assert ft["cost_per_million_tokens"] == (ft["cost"] * 1_000_000 / Decimal("2E10")).quantize(
        Decimal("0.000001")
    )


def test_approval_over_threshold() -> None:
    app = App(Settings.model_validate({"training": {"approval_threshold": 100000}}), None)
    big = app.train_estimate(params=7e9, tokens=2e12, gpu="h100", count=64, rate=Decimal("2"))
    assert big["status"] == "pending_approval" and big["cost"] > Decimal(100000)
    done = app.train_approve(big["estimate_id"], by="cfo", note="Q3 plan")
    assert done["status"] == "approved" and done["approved_by"] == "cfo"
    again = app.train_approve(big["estimate_id"], by="someone else")
    assert again["approved_by"] == "cfo"  # approving an approved estimate adds nothing
    with pytest.raises(NotFound):
        app.train_approve("est-nope", by="cfo")
    unpriced = app.train_estimate(params=1e9, tokens=1e10, gpu="h100", count=8, provider="nowhere")
    assert unpriced["cost"] is None and unpriced["status"] == "pending_approval"  # unknown cost is not free
    with pytest.raises(InputError, match="no peak throughput"):
        app.train_estimate(params=1e9, tokens=1e10, gpu="rtx-9999", count=8)


def test_demo_fleet_idle_endpoint_and_runaway_training() -> None:
    from aifinops.demo.company import INCIDENTS

    app = App(Settings.model_validate({"gpus": {"grid_intensity": 400}}), None)
    loaded = app.load_demo(seed=7, days=30, scale=0.02)
    # telemetry: one DCGM sample per GPU per 5 minutes of every GPU-hour the records bill
    (billed,) = app.ledger.query(
        "SELECT CAST(sum(gpu_seconds) AS BIGINT) AS s FROM records WHERE source IN ('gpu', 'jobs')"
    )
    assert loaded["gpu_samples"] == billed["s"] // 300 > 0
    assert app.load_demo(seed=7, days=30, scale=0.02)["gpu_samples"] == 0  # idempotent
    rows = {r["endpoint"]: r for r in app.gpu_utilization(by=["endpoint"]) if r["endpoint"]}
    for name in ("llm-70b", "llm-8b"):  # energy and CO2e from the samples' power readings
        assert rows[name]["energy_kwh"] > 0 and rows[name]["co2e_kg"] == pytest.approx(
            rows[name]["energy_kwh"] * 0.4, abs=1e-5
        )
    assert 0 < rows["llm-70b"]["mean_gpu_util"] < rows["llm-70b"]["utilization"] < 1
    (incident,) = [i for i in INCIDENTS if i.name == "idle-gpu-endpoint"]
    lo, hi = incident.window(loaded["end"])
    (idle,) = app.gpu_utilization(by=["endpoint"], since=lo, until=hi, where={"endpoint": "llm-8b"})
    # two L4s for five days at ~1 %: every sample idle, so all of their cost is idle cost
    assert idle["provisioned_gpu_hours"] == idle["idle_gpu_hours"] == 2 * incident.duration_hours
    assert idle["idle_cost"] == idle["gpu_cost"] > 0 and idle["mean_gpu_util"] < 0.05
    # the idle-gpu-endpoint incident: 2 L4 instances at ~1 % for 5 days at least
    assert rows["llm-8b"]["idle_gpu_hours"] >= 240 and rows["llm-8b"]["idle_cost"] > 0
    gpu_total = sum((r["gpu_cost"] for r in app.gpu_utilization(by=["source"])), Decimal(0))
    ledger_total = sum(
        (r["cost"] for r in app.report_costs(by=["source"], where={"source": ["gpu", "jobs"]})), Decimal(0)
    )
    assert gpu_total == ledger_total  # the GPU view and the spend ledger agree to the cent
    runaways = [r for r in app.training_runs() if r["runaway"]]
    assert [r["name"] for r in runaways] == ["churn-llm-ft"]
    (ep,) = [e for e in app.gpu_endpoints() if e["endpoint"] == "llm-70b"]
    assert ep["tokens"] > 0 and ep["cost_per_million_tokens"] == (
        ep["gpu_cost"] * 1_000_000 / ep["tokens"]
    ).quantize(Decimal("1E-12"))


def test_telemetry_gives_the_utilization_of_a_billed_instance() -> None:
    """An unmapped host with a bill line and telemetry: cost and owner from the record, busy/idle from telemetry."""
    from aifinops.gpu.samples import GpuSample

    app = App(Settings(), None)
    hour = dict(
        gpu_seconds=Decimal(7200), gpu_type="H100", model=None, input_tokens=0, output_tokens=0, requests=0
    )
    app.append([rec("i", source="gpu", at=AT, team="t", effective_cost=Decimal("10"), tags={"instance_id": "i-9", "gpu_util": "0.5"}, **hour)])  # fmt: skip
    samples = [
        GpuSample("nvml", AT + timedelta(minutes=30 * k), 1800, "i-9", g, f"GPU-{g}", util=u)
        for k in range(2)
        for g, u in ((0, 0.9), (1, 0.05))
    ]
    app.store_gpu_samples(samples)
    (row,) = app.gpu_utilization(by=["team"])
    assert row["team"] == "t" and row["provisioned_gpu_hours"] == 2.0  # counted once, from the record
    assert row["busy_gpu_hours"] == 1.0 and row["idle_gpu_hours"] == 1.0 and row["mean_gpu_util"] == 0.475
    assert row["gpu_cost"] == Decimal("10") and row["idle_cost"] == Decimal("5")


def test_devices_inventory(fleet_app: App) -> None:
    devices = {(d["host"], d["gpu_index"]): d for d in fleet_app.gpu_devices()}
    assert len(devices) == 5
    mig = devices[("gpu-node-1", 3)]
    assert mig["mig_profiles"] == ["1g.10gb", "3g.40gb"] and mig["pods"] == [
        "search/embed-1",
        "support/batch-2",
    ]
    # 3/7 at 50 % + 1/7 at 5 % + 3/7 unallocated at 0 %; idle: the 1g instance and the unallocated slices
    assert mig["mean_gpu_util"] == pytest.approx((3 * 0.5 + 0.05) / 7, abs=1e-6)
    assert mig["idle_gpu_hours"] == pytest.approx(4 / 7, abs=1e-6)
    assert mig["mean_power_w"] == 350.0 and devices[("gpu-node-1", 2)]["mean_power_w"] == 300.0
    assert (
        devices[("gpu-node-1", 0)]["idle_gpu_hours"] == 0 and devices[("gpu-node-2", 0)]["gpu_type"] == "L4"
    )


def test_scrape_configured_exporters(monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    body = (DATA / "dcgm_fleet.prom").read_text()

    def fake_get(url: str, timeout: float) -> httpx.Response:
        if "down" in url:
            raise httpx.ConnectError("connection refused")
        return httpx.Response(200, text=body, request=httpx.Request("GET", url))

    monkeypatch.setattr(httpx, "get", fake_get)
    scrape = [{"url": "http://gpu-node-1:9400/metrics", "interval": 30}, {"url": "http://down:9400/metrics"}]
    app = App(Settings.model_validate({"gpus": {**FLEET["gpus"], "scrape": scrape}}), None)
    result = app.scrape_dcgm()
    assert result["targets"] == 2 and result["samples"] == 7 and result["inserted"] == 7
    assert result["errors"] == ["http://down:9400/metrics: connection refused"]
    (row,) = app.gpu_utilization(by=["host"])
    assert row["provisioned_gpu_hours"] == pytest.approx(4 * 30 / 3600, abs=1e-6)  # 4 GPUs, one 30 s scrape
    with pytest.raises(InputError, match="no DCGM exporter"):
        App(Settings(), None).scrape_dcgm()


def test_partly_idle_record_splits_its_cost_exactly() -> None:
    """Records whose host was idle a third of the time: each one's idle cost is an exact Decimal part."""
    from aifinops.gpu.samples import GpuSample

    app = App(Settings(), None)
    hour = dict(
        gpu_seconds=Decimal(10800), gpu_type="H100", model=None, input_tokens=0, output_tokens=0, requests=0
    )
    app.append(
        [rec(f"i{h}", source="gpu", at=AT + timedelta(hours=h), team="t", effective_cost=Decimal("0.1"),
             tags={"instance_id": "i-3"}, **hour) for h in range(7)]
    )  # fmt: skip
    app.store_gpu_samples(
        [GpuSample("nvml", AT + timedelta(hours=h), 3600, "i-3", g, f"GPU-{g}", util=u, power_w=400)
         for h in range(7) for g, u in enumerate((0.9, 0.8, 0.1))]
    )  # fmt: skip
    (row,) = app.gpu_utilization(by=["team"])
    # each $0.10 by busy:idle GPU-seconds 2:1 at 12 places: 0.066666666667 busy (the largest remainder gets
    # the last unit) + 0.033333333333 idle; seven of them (a float third of $0.70 would be 0.233333333333)
    assert row["idle_cost"] == 7 * Decimal("0.033333333333") and row["gpu_cost"] == Decimal("0.7")
    assert row["energy_kwh"] == pytest.approx(7 * 1.2)  # 3 GPUs x 400 W x 7 h, all of it the records'
