"""aifinops.yaml: the documented example parses; errors name file, line and field; secrets stay references."""

from __future__ import annotations

from pathlib import Path

import pytest

from aifinops.core.errors import ConfigError
from aifinops.core.settings import load_settings, parse_settings, resolve_secret

DATA = Path(__file__).parent.parent / "data"


def test_the_interface_example_is_valid() -> None:
    settings = load_settings(DATA / "interface-example.yaml")
    assert settings.providers["openai"].api_key == "${OPENAI_API_KEY}"
    assert settings.providers["local-vllm"].type == "openai"
    assert settings.keys[0].team == "search" and settings.keys[0].key == "${SEARCH_GATEWAY_KEY}"
    assert settings.redis_url == "redis://127.0.0.1:6379/0"


def test_empty_file_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "aifinops.yaml"
    path.write_text("")
    assert load_settings(path).currency == "USD"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("currency: dollars\n", "aifinops.yaml:1: currency"),
        ("\n\nbudgetz: []\n", "aifinops.yaml:3: budgetz: unknown setting"),
        ("providers:\n  x:\n    base_url: ftp://nope\n", "aifinops.yaml:3: providers.x.base_url"),
        ("keys:\n  - {name: a}\n", "aifinops.yaml:2: keys[0].key: Field required"),
        ("reporting:\n  cost_column: price\n", "reporting.cost_column"),
        ("a: [\n", "not valid YAML"),
        ("- 1\n- 2\n", "top level must be a mapping"),
    ],
)
def test_errors_name_line_and_field(text: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(text)
    assert needle in info.value.message + " ".join(map(str, info.value.details))


def test_secret_references_resolve_only_when_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIFINOPS_TEST_KEY", "sk-123")
    assert resolve_secret("${AIFINOPS_TEST_KEY}") == "sk-123"
    assert resolve_secret("literal") == "literal"
    monkeypatch.delenv("AIFINOPS_TEST_KEY")
    with pytest.raises(ConfigError, match="AIFINOPS_TEST_KEY"):
        resolve_secret("${AIFINOPS_TEST_KEY}")


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml")
