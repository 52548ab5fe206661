"""Request and prompt-prefix hashes: equal for equal requests, never the content, prefix only when cacheable."""

from __future__ import annotations

import orjson

from aifinops.gateway.fingerprint import MIN_PREFIX_TOKENS, fingerprint

SYSTEM = "You are a careful support assistant. " * 200  # ~7,400 bytes: ~1,850 tokens


def _chat(question: str, system: str = SYSTEM) -> tuple[dict, bytes]:
    body = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": question}],
    }
    return body, orjson.dumps(body)


def test_same_prefix_different_question() -> None:
    a, b = fingerprint("chat", *_chat("Where is my order?")), fingerprint("chat", *_chat("Cancel my plan"))
    assert a["prefix_hash"] == b["prefix_hash"] and a["request_hash"] != b["request_hash"]
    assert (
        int(a["prefix_tokens"])
        == len(orjson.dumps({"turns": [_chat("x")[0]["messages"][0]]}, option=orjson.OPT_SORT_KEYS)) // 4
    )
    assert fingerprint("chat", *_chat("Where is my order?")) == a  # deterministic
    assert SYSTEM not in "".join(a.values())  # hashes, never content


def test_short_prefixes_and_single_turns_get_no_prefix_tag() -> None:
    short = fingerprint("chat", *_chat("hi", system="Be brief."))
    assert "prefix_hash" not in short and "request_hash" in short
    body = {"model": "gpt-4o-mini", "input": "one turn only"}
    assert set(fingerprint("responses", body, orjson.dumps(body))) == {"request_hash"}
    emb = {"model": "text-embedding-3-small", "input": ["a" * 10_000]}
    assert set(fingerprint("embeddings", emb, orjson.dumps(emb))) == {"request_hash"}


def test_anthropic_system_and_tools_form_the_prefix() -> None:
    body = {
        "model": "claude-haiku-4-5",
        "system": SYSTEM,
        "tools": [{"name": "lookup", "input_schema": {"type": "object"}}],
        "messages": [{"role": "user", "content": "hello"}],
    }
    tags = fingerprint("messages", body, orjson.dumps(body))
    assert int(tags["prefix_tokens"]) >= MIN_PREFIX_TOKENS
    other_model = dict(body, model="claude-sonnet-4-5")
    assert (
        fingerprint("messages", other_model, orjson.dumps(other_model))["prefix_hash"] != tags["prefix_hash"]
    )


def test_gateway_records_carry_the_hashes(emu, tmp_path) -> None:
    import openai

    from tests.gateway.conftest import serve_gateway, upstreams

    keys = "keys:\n  - {name: k, key: sk-k, team: support}\n"
    with serve_gateway(upstreams(emu, keys), tmp_path) as gw:
        client = openai.OpenAI(base_url=f"{gw.url}/v1", api_key="sk-k", max_retries=0)
        for question in ("Where is my order?", "Where is my order?", "Cancel my plan"):
            client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}],
            )
        records = sorted(gw.wait_records(3), key=lambda r: r.charge_period_start)
    hashes = [r.tags["request_hash"] for r in records]
    assert hashes[0] == hashes[1] != hashes[2]
    assert len({r.tags["prefix_hash"] for r in records}) == 1
    assert all(int(r.tags["prefix_tokens"]) >= MIN_PREFIX_TOKENS for r in records)
