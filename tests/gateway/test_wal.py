"""The write-ahead log: complete lines ship exactly once; dead processes' streams become interrupted records."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from aifinops.core.records import UsageRecord
from aifinops.gateway.wal import Shipper, WalWriter
from tests.factories import rec


class ListSink:
    def __init__(self) -> None:
        self.records: list[UsageRecord] = []
        self.fail = False

    def __call__(self, batch: list[UsageRecord]) -> None:
        if self.fail:
            raise OSError("ledger unavailable")
        self.records.extend(batch)


def test_records_ship_once_and_segments_are_removed(tmp_path: Path) -> None:
    writer = WalWriter(tmp_path)
    sink = ListSink()
    shipper = Shipper(tmp_path, sink, writer=writer)
    for i in range(10):
        writer.record(rec(i))
    assert shipper.ship_once() == 10
    assert shipper.ship_once() == 0
    writer.record(rec(10))
    assert shipper.ship_once() == 1
    assert [r.record_id for r in sink.records] == [rec(i).record_id for i in range(11)]
    assert sink.records[0] == rec(0)  # exact round trip, money included
    writer.close()
    shipper.ship_once()
    assert not list(tmp_path.glob("*.wal"))


def test_a_failing_sink_loses_nothing(tmp_path: Path) -> None:
    writer = WalWriter(tmp_path)
    sink = ListSink()
    shipper = Shipper(tmp_path, sink, writer=writer)
    writer.record(rec(1))
    sink.fail = True
    try:
        shipper.ship_once()
    except OSError:
        pass
    sink.fail = False
    assert shipper.ship_once() == 1


def test_partial_trailing_line_waits(tmp_path: Path) -> None:
    writer = WalWriter(tmp_path)
    sink = ListSink()
    shipper = Shipper(tmp_path, sink, writer=writer)
    writer.record(rec(1))
    with open(writer.path, "ab") as fh:
        fh.write(b'{"t":"r","rec":{"record_id"')  # a line being written
    assert shipper.ship_once() == 1
    assert shipper.errors == 0


def test_rotation_keeps_every_record(tmp_path: Path) -> None:
    writer = WalWriter(tmp_path, segment_bytes=2_000)
    sink = ListSink()
    shipper = Shipper(tmp_path, sink, writer=writer, chunk_bytes=1_500)  # several chunks per segment
    for i in range(40):
        writer.record(rec(i))
    shipper.ship_once()
    assert [r.record_id for r in sink.records] == [rec(i).record_id for i in range(40)]  # in WAL order
    assert len(list(tmp_path.glob("*.wal"))) == 1  # only the active segment remains


_CHILD = textwrap.dedent(
    """
    import sys, itertools
    from pathlib import Path
    from aifinops.gateway.wal import WalWriter
    from tests.factories import rec
    w = WalWriter(Path(sys.argv[1]))
    w.begin(rec("stream-1"))          # a stream that will never end
    print("ready", flush=True)
    for i in itertools.count():
        w.record(rec(i))
    """
)


def test_kill_9_loses_no_complete_line_and_open_streams_become_interrupted(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path.cwd()), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(tmp_path)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert child.stdout.readline().strip() == "ready"
    time.sleep(0.3)
    child.send_signal(signal.SIGKILL)
    child.wait()
    sink = ListSink()
    Shipper(tmp_path, sink).ship_once()
    (segment_bytes,) = [p.read_bytes() for p in tmp_path.glob("*.wal")] or [b""]
    assert not segment_bytes  # the dead process's segment was shipped and removed
    ids = [r.record_id for r in sink.records]
    assert len(ids) == len(set(ids)) > 100
    stream = [r for r in sink.records if r.record_id == rec("stream-1").record_id]
    assert len(stream) == 1 and stream[0].status == "interrupted" and stream[0].cost_status == "unpriced"
    assert stream[0].effective_cost is None
    # every complete record the child wrote came through, in order, with no gap
    numbers = [r for r in sink.records if r.record_id != rec("stream-1").record_id]
    assert [r.record_id for r in numbers] == [rec(i).record_id for i in range(len(numbers))]


def test_shipping_reads_bounded_chunks(tmp_path: Path) -> None:
    writer = WalWriter(tmp_path)
    batches: list[int] = []
    shipper = Shipper(tmp_path, lambda batch: batches.append(len(batch)), writer=writer, chunk_bytes=4_000)
    for i in range(200):
        writer.record(rec(i))
    assert shipper.ship_once() == 200
    assert len(batches) > 5 and max(batches) < 200  # many small passes, not one read of everything
    writer.close()
    shipper.ship_once()
    assert not list(tmp_path.glob("*.wal"))
