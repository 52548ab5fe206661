"""`aifinops keys create|list|revoke` and `aifinops mcp` refusals; the CLI's credentials for a running server."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from aifinops.app import App
from aifinops.cli.main import cli
from aifinops.cli.remote import Remote, find_server, write_server_file
from aifinops.cli.serving import _access_mode
from aifinops.core.settings import Settings


def _run(tmp_path: Path, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["--data-dir", str(tmp_path), *args], env=env)


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    created = _run(tmp_path, "keys", "create", "--name", "search-bot", "--role", "team", "--team", "search")
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("afk_")
    assert "not shown again" in created.stderr

    listed = _run(tmp_path, "keys", "list", "--format", "json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["role"], r["team"]) for r in rows] == [("search-bot", "team", "search")]
    assert key not in listed.stdout and key.split("_", 2)[2] not in listed.stdout

    revoked = _run(tmp_path, "keys", "revoke", rows[0]["id"])
    assert revoked.exit_code == 0 and "revoked afk_" in revoked.stdout
    assert json.loads(_run(tmp_path, "keys", "list", "--format", "json").stdout) == []
    assert len(json.loads(_run(tmp_path, "keys", "list", "--all", "--format", "json").stdout)) == 1


def test_keys_create_errors_are_clear(tmp_path: Path) -> None:
    missing_team = _run(tmp_path, "keys", "create", "--name", "x", "--role", "team")
    assert missing_team.exit_code == 1 and "--team" in missing_team.stderr
    bad_role = _run(tmp_path, "keys", "create", "--name", "x", "--role", "owner")
    assert bad_role.exit_code == 2
    unknown = _run(tmp_path, "keys", "revoke", "0123456789ab")
    assert unknown.exit_code == 1 and "no API key" in unknown.stderr


def test_mcp_needs_a_key_once_keys_exist(tmp_path: Path) -> None:
    assert _run(tmp_path, "keys", "create", "--name", "a", "--role", "admin").exit_code == 0
    result = _run(tmp_path, "mcp", env={"AIFINOPS_API_KEY": ""})
    assert result.exit_code == 1
    assert "API key is required" in result.stderr and "AIFINOPS_API_KEY" in result.stderr


def test_the_cli_sends_its_key_or_the_data_folders_token(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("AIFINOPS_API_KEY", raising=False)
    assert Remote("http://x", cli_token="tok").client.headers["x-aifinops-cli-token"] == "tok"
    monkeypatch.setenv("AIFINOPS_API_KEY", "afk_k")
    remote = Remote("http://x", cli_token="tok")
    assert remote.client.headers["authorization"] == "Bearer afk_k"
    assert "x-aifinops-cli-token" not in remote.client.headers
    path = write_server_file(tmp_path, "http://127.0.0.1:1", "tok")
    assert path.stat().st_mode & 0o077 == 0  # owner only: the token acts as admin
    assert json.loads(path.read_text())["cli_token"] == "tok"
    assert find_server(tmp_path) is None  # nothing listens there


def test_the_start_up_line_says_how_access_works() -> None:
    app = App(Settings(), None)
    assert _access_mode(app, True).startswith("local demo mode on loopback")
    assert "need an API key" in _access_mode(app, False)
    app.keys_create(name="a", role="admin")
    assert "need an API key" in _access_mode(app, True)
