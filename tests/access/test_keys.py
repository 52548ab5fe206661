"""API keys: format, hashing, roles, the facade's create/list/revoke/authenticate and keyless local mode."""

from __future__ import annotations

import pytest

from aifinops.access.keys import (
    LOCAL_PRINCIPAL,
    check_role,
    hash_secret,
    new_key,
    parse_key,
    secret_matches,
)
from aifinops.app import App
from aifinops.core.errors import Conflict, InputError, NotFound, Unauthorized
from aifinops.core.settings import Settings
from aifinops.core.settings_access import AccessSettings


def test_new_key_round_trips_and_stores_only_a_hash() -> None:
    key_id, key, stored = new_key()
    parsed_id, secret = parse_key(key)
    assert parsed_id == key_id and key.startswith(f"afk_{key_id}_")
    assert stored == hash_secret(secret) and secret not in stored
    assert secret_matches(secret, stored)
    assert not secret_matches(secret + "x", stored)
    assert len({new_key()[1] for _ in range(50)}) == 50


@pytest.mark.parametrize("token", ["", "afk_", "afk_zz_secret", "sk-abc", "afk_0123456789ab_short"])
def test_malformed_keys_are_unauthorized(token: str) -> None:
    with pytest.raises(Unauthorized, match="malformed"):
        parse_key(token)


def test_roles_and_teams_are_checked() -> None:
    assert check_role("team", "search") == ("team", "search")
    assert check_role("finance", None) == ("finance", None)
    with pytest.raises(InputError, match="role must be one of admin, finance, team"):
        check_role("owner", None)
    with pytest.raises(InputError, match="--team"):
        check_role("team", None)
    with pytest.raises(InputError, match="applies only to role team"):
        check_role("admin", "search")


def test_create_list_authenticate_revoke() -> None:
    app = App(Settings(), None)
    assert not app.has_api_keys()
    created = app.keys_create(name="ci", role="team", team="search")
    assert created["role"] == "team" and created["team"] == "search" and created["active"]
    assert app.has_api_keys()
    listed = app.keys_list()
    assert [k["id"] for k in listed] == [created["id"]]
    assert "key" not in listed[0] and all("secret" not in name for name in listed[0])
    stored = app.ledger.query("SELECT secret_hash FROM api_keys")[0]["secret_hash"]
    assert stored not in created["key"]

    principal = app.authenticate(created["key"])
    assert (principal.role, principal.team, principal.name) == ("team", "search", "ci")
    wrong = created["key"][:-4] + ("AAAA" if not created["key"].endswith("AAAA") else "BBBB")
    with pytest.raises(Unauthorized, match="invalid API key"):
        app.authenticate(wrong)

    revoked = app.keys_revoke(created["prefix"])  # afk_<id> works as well as <id>
    assert not revoked["active"] and revoked["revoked_at"] is not None
    with pytest.raises(Unauthorized, match="revoked"):
        app.authenticate(created["key"])  # at once, although it was authenticated (and cached) before
    assert app.keys_list() == [] and len(app.keys_list(include_revoked=True)) == 1
    assert not app.has_api_keys()
    with pytest.raises(NotFound):
        app.keys_revoke("0123456789ab")


def test_names_of_active_keys_are_unique_and_checked() -> None:
    app = App(Settings(), None)
    first = app.keys_create(name="ops", role="admin")
    with pytest.raises(Conflict, match="ops"):
        app.keys_create(name="ops", role="finance")
    app.keys_revoke(first["id"])
    assert app.keys_create(name="ops", role="finance")["role"] == "finance"
    with pytest.raises(InputError, match="--name"):
        app.keys_create(name="  ", role="admin")


@pytest.mark.parametrize(
    ("require", "loopback", "has_keys", "keyless"),
    [
        ("auto", True, False, True),
        ("auto", True, True, False),
        ("auto", False, False, False),
        ("true", True, False, False),
        ("false", True, True, True),
        ("false", False, False, False),
    ],
)
def test_keyless_local_mode(require: str, loopback: bool, has_keys: bool, keyless: bool) -> None:
    app = App(Settings(access=AccessSettings(require_key=require)), None)
    if has_keys:
        app.keys_create(name="k", role="admin")
    assert app.keyless_allowed(loopback) is keyless
    if keyless:
        assert app.authenticate(None, loopback=loopback) is LOCAL_PRINCIPAL
    else:
        with pytest.raises(Unauthorized, match="API key is required"):
            app.authenticate(None, loopback=loopback)


def test_require_key_reads_yaml_booleans() -> None:
    assert AccessSettings.model_validate({"require_key": True}).require_key == "true"
    assert AccessSettings.model_validate({"require_key": False}).require_key == "false"
    with pytest.raises(ValueError, match="require_key"):
        AccessSettings.model_validate({"require_key": "sometimes"})
