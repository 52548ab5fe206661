"""The GPU readers on recorded real-format files: DCGM exposition text, nvidia-smi CSV, job records."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from aifinops.core.errors import InputError, RowError
from aifinops.ingest.gpu_dcgm import read_dcgm
from aifinops.ingest.gpu_run import drain
from aifinops.ingest.gpu_smi import read_nvidia_smi
from aifinops.ingest.jobs import parse_job, read_jobs
from tests.gpu.conftest import AT, DATA


def _items(gen):  # noqa: ANN001, ANN202 - test helper
    items = []
    while True:
        try:
            items.append(next(gen))
        except StopIteration as stop:
            return items, stop.value


def test_dcgm_fleet_labels_mig_and_shared_gpus() -> None:
    samples, summary = _items(read_dcgm(DATA / "dcgm_fleet.prom", at=AT, interval=60))
    assert not [s for s in samples if isinstance(s, RowError)]
    # 34 sample lines; SM clock, temperature and energy of the 4 non-MIG series are unused: 12 skipped
    assert summary.rows == 34 and summary.skipped == 12
    by = {(s.gpu_index, s.mig_instance, s.pod): s for s in samples}
    busy = by[(0, None, "ranker-train-0")]
    assert busy.host == "gpu-node-1" and busy.gpu_type == "H100" and busy.namespace == "ml"
    assert busy.gpu_uuid == "GPU-604ac76c-d9ab-9f33-28a7-0e3c34b1a5e1"
    assert busy.util == pytest.approx(0.87) and busy.mem_util == pytest.approx(0.43)
    assert busy.power_w == pytest.approx(592.74) and busy.fb_used_mib == 50234 and busy.share == 1.0
    assert busy.ts == AT and busy.seconds == 60
    # GPU 2 is time-sliced between two pods: half each, power split too
    a, b = by[(2, None, "reranker-7c9d")], by[(2, None, "triage-5f2b")]
    assert a.share == b.share == 0.5 and a.power_w == b.power_w == pytest.approx(150.0)
    # GPU 3 is MIG: 3g.40gb holds 3/7, 1g.10gb 1/7, and 3/7 is unallocated (idle, no owner)
    big, small = by[(3, "1", "embed-1")], by[(3, "2", "batch-2")]
    assert (
        big.share == pytest.approx(3 / 7) and big.util == pytest.approx(0.5) and big.mig_profile == "3g.40gb"
    )
    assert small.share == pytest.approx(1 / 7) and small.util == pytest.approx(0.05)
    free = by[(3, "unallocated", None)]
    assert free.share == pytest.approx(3 / 7) and free.util == 0.0
    assert big.power_w + small.power_w + free.power_w == pytest.approx(350.0)


def test_dcgm_accepts_lowercase_hostname_label() -> None:
    samples, _ = _items(read_dcgm(DATA / "dcgm_node2.prom", at=AT))
    assert [(s.host, s.gpu_type, s.util) for s in samples] == [("gpu-node-2", "L4", pytest.approx(0.10))]


def test_dcgm_series_timestamps_and_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "m.prom"
    path.write_text(
        "# TYPE DCGM_FI_DEV_GPU_UTIL gauge\n"
        'DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-1",Hostname="h",modelName="NVIDIA A100-SXM4-40GB"} 12 1785467400000\n'
        'DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-1",Hostname="h"} 50 1785467460000\n'
        "DCGM_FI_DEV_GPU_UTIL{gpu=0} 5\n"
        'DCGM_FI_DEV_GPU_UTIL{gpu="1"} 5\n'
        "go_goroutines 12\n"
    )
    items, summary = _items(read_dcgm(path, interval=60))
    errors = [i for i in items if isinstance(i, RowError)]
    assert [e.line for e in errors] == [4, 5]
    assert "malformed labels" in errors[0].reason and "Hostname" in errors[1].reason
    samples = sorted((i for i in items if not isinstance(i, RowError)), key=lambda s: s.ts)
    assert [s.ts for s in samples] == [
        datetime(2026, 7, 31, 3, 10, tzinfo=UTC),
        datetime(2026, 7, 31, 3, 11, tzinfo=UTC),
    ]
    assert samples[0].gpu_type == "A100-40GB" and samples[1].util == 0.5
    assert summary.skipped == 1


def test_dcgm_refuses_a_file_with_no_dcgm_metric(tmp_path: Path) -> None:
    path = tmp_path / "node.prom"
    path.write_text("# TYPE node_load1 gauge\nnode_load1 0.5\n")
    with pytest.raises(InputError, match="no DCGM_FI_"):
        _items(read_dcgm(path))


def test_nvidia_smi_units_na_and_intervals() -> None:
    samples, summary = _items(read_nvidia_smi(DATA / "smi_onprem.csv", host="onprem-1", tz="Europe/Paris"))
    assert summary.rows == 6 and len(samples) == 6
    gpu0 = [s for s in samples if s.gpu_index == 0]
    # 03:10 local Paris time (CEST, UTC+2) is 01:10 UTC
    assert gpu0[0].ts == datetime(2026, 7, 31, 1, 10, 0, 12000, tzinfo=UTC)
    assert [s.util for s in gpu0] == [0.95, 0.92, 0.0]
    assert gpu0[0].gpu_type == "A100-80GB" and gpu0[0].fb_used_mib == 60211 and gpu0[0].power_w == 380.0
    # each row lasts until the GPU's next row (60.001 s, 59.999 s), the last one the median gap
    assert [s.seconds for s in gpu0] == [pytest.approx(60.001), pytest.approx(59.999), pytest.approx(60.0)]
    gpu1 = [s for s in samples if s.gpu_index == 1]
    assert gpu1[1].power_w is None and gpu1[1].util == 0.0  # [N/A] power: not measured, never 0 W


def test_nvidia_smi_bad_rows_are_rejected_with_reasons(tmp_path: Path) -> None:
    rejects = tmp_path / "rej.jsonl"
    items, report = drain(
        "nvidia-smi", [DATA / "smi_bad_rows.csv"], reject_path=rejects, host="h", interval=60
    )
    assert len(items) == 1 and report.rows_read == 4 and report.rejected == 3 and report.accepted == 1
    reasons = [e["reason"] for e in report.errors]
    assert "utilization.gpu: 'lots %' is not a number" in reasons
    assert "expected 8 fields, found 3" in reasons
    assert any(r.startswith("timestamp:") for r in reasons)
    assert len(rejects.read_text().splitlines()) == 3


def test_nvidia_smi_needs_a_header_and_a_host(tmp_path: Path) -> None:
    path = tmp_path / "noheader.csv"
    path.write_text("2026/07/31 03:10:00.012, 0, GPU-1, NVIDIA L4, 5 %\n")
    with pytest.raises(InputError, match="without noheader"):
        _items(read_nvidia_smi(path, host="h"))
    with pytest.raises(InputError, match="--host"):
        _items(read_nvidia_smi(DATA / "smi_onprem.csv"))
    with pytest.raises(InputError, match="time zone"):
        _items(read_nvidia_smi(DATA / "smi_onprem.csv", host="h", tz="Mars/Olympus"))


def test_jobs_csv_and_json(tmp_path: Path) -> None:
    runs, summary = _items(read_jobs(DATA / "jobs.csv"))
    assert summary.rows == 3 and [r.run_id for r in runs] == ["ranker-r1", "ranker-r2", "ranker-r3"]
    assert (
        runs[0].gpu_count == 16 and runs[0].pricing_mode == "spot" and runs[0].instance_type == "p5.48xlarge"
    )
    path = tmp_path / "jobs.jsonl"
    path.write_text(
        '{"job": "ft", "team": "a", "started_at": "2026-07-01T00:00:00Z", "end_time": "2026-07-01T02:00:00Z", '
        '"gpu": "A100-80GB", "gpus": 8, "params": 7e9, "tokens": 1e9}\n'
        '{"job": "ft", "start": "2026-07-01T00:00:00Z", "end": "2026-06-30T00:00:00Z", "gpu": "A100", "count": 1}\n'
        "{not json\n"
    )
    items, _ = _items(read_jobs(path))
    run, bad_time, bad_json = items
    assert (
        run.name == "ft" and run.gpu_count == 8 and run.run_id == "ft-20260701T000000Z" and run.params == 7e9
    )
    assert (
        isinstance(bad_time, RowError)
        and bad_time.line == 2
        and "end: must be after start" in bad_time.reason
    )
    assert isinstance(bad_json, RowError) and "malformed JSON" in bad_json.reason


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"start": "2026-01-01", "end": "2026-01-02", "gpu_count": 1, "gpu_type": "H100"}, "name: missing"),
        ({"name": "j", "start": "2026-01-01", "end": "2026-01-02", "gpu_type": "H100"}, "gpu_count: missing"),
        (
            {"name": "j", "start": "2026-01-01", "end": "2026-01-02", "gpu_count": 0, "gpu_type": "H"},
            "at least 1",
        ),
        ({"name": "j", "start": "2026-01-01", "end": "2026-01-02", "gpu_count": 2}, "gpu_type: missing"),
        ({"name": "j", "start": "x", "end": "2026-01-02", "gpu_count": 2, "gpu_type": "H100"}, "start:"),
        (
            {
                "name": "j",
                "start": "2026-01-01",
                "end": "2026-01-02",
                "gpu_count": 2,
                "gpu": "H100",
                "pricing_mode": "x",
            },
            "pricing_mode",
        ),
    ],
)
def test_job_validation_names_the_field(row: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_job(row)


def test_jobs_file_that_is_not_jobs(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="not job records"):
        _items(read_jobs(path))
