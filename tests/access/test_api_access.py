"""The access gate of the API and dashboard: keys, roles, local mode, cookies, the CLI token."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aifinops.api import create_server
from aifinops.app import App
from aifinops.core.settings import Settings
from aifinops.core.settings_access import AccessSettings
from tests.access.server import Served, serve
from tests.access.teams import COST, PER_TEAM


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Served:
    return serve(tmp_path_factory.mktemp("served"))


def test_keyless_local_mode_says_so() -> None:
    from fastapi.testclient import TestClient

    client = TestClient(create_server(App(Settings(), None), local_mode=True))
    response = client.get("/api/v1/whoami")
    assert response.status_code == 200
    assert response.json() == {
        "key_id": None,
        "name": "local",
        "role": "admin",
        "team": None,
        "local_mode": True,
    }
    assert response.headers["x-aifinops-access"].startswith("local-mode")


def test_beyond_loopback_a_key_is_always_needed() -> None:
    from fastapi.testclient import TestClient

    client = TestClient(create_server(App(Settings(), None), local_mode=False))
    response = client.get("/api/v1/costs")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_once_keys_exist_loopback_needs_one_too(served: Served) -> None:
    response = served.get("/api/v1/costs")
    assert response.status_code == 401
    assert "API key is required" in response.json()["error"]["message"]
    assert served.get("/api/v1/costs", "afk_0123456789ab_" + "A" * 43).status_code == 401


@pytest.mark.parametrize(
    ("role", "teams"),
    [
        ("admin", {"aubergine", "bravo", "chartreuse"}),
        ("finance", {"aubergine", "bravo", "chartreuse"}),
        ("team", {"bravo"}),
    ],
)
def test_each_role_reads_what_it_may(served: Served, role: str, teams: set[str]) -> None:
    key = served.keys[role]
    rows = served.get("/api/v1/costs", key, params={"by": "team", "since": "30d"}).json()
    assert {r["team"] for r in rows} == teams
    if role == "team":
        assert Decimal(rows[0]["cost"]) == COST["bravo"] * PER_TEAM
    who = served.get("/api/v1/whoami", key)
    assert who.json()["role"] == role and who.headers["x-aifinops-role"] == role
    assert "x-aifinops-access" not in who.headers


@pytest.mark.parametrize("role", ["finance", "team"])
def test_only_admins_write_or_manage_keys(served: Served, role: str) -> None:
    headers = {"authorization": f"Bearer {served.keys[role]}"}
    for method, path, body in [
        ("POST", "/api/v1/reprice", None),
        ("POST", "/api/v1/keys", {"name": "x", "role": "admin"}),
        ("DELETE", "/api/v1/keys/0123456789ab", None),
        ("POST", "/api/v1/ingest", {"source": "records", "paths": ["/etc/hostname"]}),
    ]:
        response = served.client.request(method, path, headers=headers, json=body)
        assert response.status_code == 403, (method, path)
        assert response.json()["error"]["code"] == "forbidden"
    assert served.client.get("/api/v1/keys", headers=headers).status_code == 403


def test_admin_manages_keys_over_the_api(served: Served) -> None:
    admin = {"authorization": f"Bearer {served.keys['admin']}"}
    created = served.client.post(
        "/api/v1/keys", headers=admin, json={"name": "tmp", "role": "team", "team": "bravo"}
    )
    assert created.status_code == 201
    key = created.json()["key"]
    assert served.get("/api/v1/whoami", key).json()["team"] == "bravo"
    listed = served.client.get("/api/v1/keys", headers=admin).json()
    assert "tmp" in [k["name"] for k in listed] and all("key" not in k for k in listed)
    bad = served.client.post("/api/v1/keys", headers=admin, json={"name": "t2", "role": "team"})
    assert bad.status_code == 400 and "--team" in bad.json()["error"]["message"]
    revoked = served.client.delete(f"/api/v1/keys/{created.json()['id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    assert served.get("/api/v1/whoami", key).status_code == 401


def test_team_sees_its_budgets_and_audit_entries_only(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings.model_validate(
        {
            "budgets": [
                {"name": "bravo-month", "scope": {"team": "bravo"}, "period": "month", "amount": 100},
                {"name": "aubergine-month", "scope": {"team": "aubergine"}, "period": "month", "amount": 100},
            ]
        }
    )
    served = serve(tmp_path, settings)
    team = served.keys["team"]
    assert [b["name"] for b in served.get("/api/v1/budgets", team).json()] == ["bravo-month"]
    assert len(served.get("/api/v1/budgets", served.keys["finance"]).json()) == 2
    audit = served.get("/api/v1/audit", team).json()
    assert [a["request_id"] for a in audit] == ["r-bravo"]
    assert len(served.get("/api/v1/audit", served.keys["admin"]).json()) == 2


def test_dashboard_login_sets_a_cookie(served: Served) -> None:
    from fastapi.testclient import TestClient

    browser = TestClient(served.client.app)
    assert browser.get("/").status_code == 200  # the page shell holds no data
    assert browser.get("/api/v1/costs").status_code == 401
    assert browser.post("/api/v1/login", json={"key": "afk_nope"}).status_code == 401
    login = browser.post("/api/v1/login", json={"key": served.keys["team"]})
    assert login.status_code == 200 and login.json()["team"] == "bravo"
    assert "httponly" in login.headers["set-cookie"].lower()
    assert {r["team"] for r in browser.get("/api/v1/costs", params={"by": "team"}).json()} == {"bravo"}
    browser.post("/api/v1/logout")
    assert browser.get("/api/v1/costs").status_code == 401


def test_the_cli_token_of_the_data_folder_acts_as_admin(served: Served) -> None:
    token = served.api.state.cli_token
    ok = served.client.get("/api/v1/keys", headers={"x-aifinops-cli-token": token})
    assert ok.status_code == 200
    bad = served.client.get("/api/v1/keys", headers={"x-aifinops-cli-token": token + "x"})
    assert bad.status_code == 401


def test_require_key_false_keeps_loopback_keyless(tmp_path) -> None:  # type: ignore[no-untyped-def]
    served = serve(tmp_path, Settings(access=AccessSettings(require_key="false")))
    assert served.get("/api/v1/whoami").json()["local_mode"] is True
    assert served.get("/api/v1/whoami", served.keys["team"]).json()["team"] == "bravo"


def test_fleet_gateways_ship_records_and_read_spend_with_their_token(tmp_path) -> None:  # type: ignore[no-untyped-def]
    served = serve(tmp_path, Settings.model_validate({"fleet": {"token": "fleet-secret"}}), local=False)
    fleet = {"x-aifinops-fleet-token": "fleet-secret"}
    shipped = served.client.post("/api/v1/records", headers=fleet, content=b"[]")
    assert shipped.status_code == 200 and shipped.json() == {"inserted": 0, "duplicates": 0}
    assert served.client.get("/api/v1/costs", headers=fleet).status_code == 200
    assert served.client.get("/api/v1/keys", headers=fleet).status_code == 403
    assert served.client.get("/api/v1/records", headers=fleet).status_code == 403
    wrong = served.client.get("/api/v1/costs", headers={"x-aifinops-fleet-token": "nope"})
    assert wrong.status_code == 401


def test_exports_hold_only_what_the_key_may_read(served: Served) -> None:
    team = served.get("/api/v1/export/focus", served.keys["team"], params={"since": "30d"})
    assert team.status_code == 200 and team.headers["content-type"].startswith("text/csv")
    lines = team.text.strip().splitlines()
    assert len(lines) == 1 + PER_TEAM and team.headers["x-aifinops-rows"] == str(PER_TEAM)
    assert "bravo" in team.text and "aubergine" not in team.text and "chartreuse" not in team.text
    finance = served.get("/api/v1/export/focus", served.keys["finance"], params={"since": "30d"})
    assert len(finance.text.strip().splitlines()) == 1 + 3 * PER_TEAM
    parquet = served.get("/api/v1/export/focus", served.keys["team"], params={"format": "parquet"})
    assert parquet.status_code == 200 and parquet.content[:4] == b"PAR1"


def test_read_only_posts_are_open_to_readers(served: Served) -> None:
    from aifinops.api.access import register_read_only

    response = served.client.post(
        "/api/v1/forecast/scenario", headers={"authorization": f"Bearer {served.keys['finance']}"}, json={}
    )
    assert response.status_code != 403  # a what-if computation (a 400 for this empty body is fine)
    register_read_only("post", "/api/v1/test-only-query")
    unknown = served.client.post(
        "/api/v1/test-only-query", headers={"authorization": f"Bearer {served.keys['team']}"}
    )
    assert unknown.status_code == 404  # allowed through the gate; the route does not exist
