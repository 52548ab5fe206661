"""A team key never sees another team's rows, in any endpoint.

The GET routes are read from the server at test time (every path of the OpenAPI document, plus the routes
left out of it, such as dashboard pages), so an endpoint added later is covered without touching this test.
Each is called with team bravo's key over a ledger of three teams whose every string names its team.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Route

from aifinops.core.settings import Settings
from tests.access.server import Served, serve
from tests.access.teams import markers

OTHERS = ("aubergine", "chartreuse")
#: Values for path and required query parameters, by name (anything else gets "bravo").
_VALUES = {
    "model": "model-bravo",
    "workflow_id": f"{2:032x}",  # bravo's trace
    "trace_id": f"{2:032x}",
    "key_id": "0123456789ab",
    "month": datetime.now(UTC).strftime("%Y-%m"),
    "since": "90d",
    "name": "app.js",
}


#: A configuration that names the other teams everywhere it can (rules, budgets, limits, channels, keys).
SETTINGS = {
    "allocation": {
        "owners": [{"match": {"api_key": "aub-*"}, "set": {"team": "aubergine"}}],
        "shared": [{"name": "pool", "match": {"team": "chartreuse"}, "split_by": "cost", "among": "team"}],
    },
    "alerts": {
        "channels": {"aubergine-hook": {"type": "webhook", "url": "https://aubergine.example/hook"}},
        "routes": [{"owner": "aubergine", "channels": ["aubergine-hook"]}],
    },
    "budgets": [
        {"name": "aubergine-budget", "scope": {"team": "aubergine"}, "amount": 5},
        {"name": "bravo-budget", "scope": {"team": "bravo"}, "amount": 5},
    ],
    "rate_limits": [{"scope": {"team": "chartreuse"}, "requests_per_minute": 5}],
    "models": [{"scope": {"team": "chartreuse"}, "allow": ["gpt-4o-mini"]}],
    "keys": [{"name": "gw-aubergine", "key": "sha256:" + "1" * 64, "team": "aubergine"}],
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Served:
    return serve(tmp_path_factory.mktemp("isolation"), Settings.model_validate(SETTINGS))


def _value(param: dict[str, Any]) -> Any:
    name = param["name"]
    if name in _VALUES:
        return _VALUES[name]
    schema = param.get("schema", {})
    for option in [schema, *schema.get("anyOf", [])]:
        if "default" in option and option["default"] is not None:
            return option["default"]
        if option.get("enum"):
            return option["enum"][0]
        if option.get("type") == "integer":
            return max(1, option.get("minimum", 1))
        if option.get("type") == "boolean":
            return "true"
    return "bravo"


def _calls(served: Served) -> list[tuple[str, dict[str, Any], bool]]:
    """``(url, query, adversarial)`` for every GET route: once plainly, once asking for another team."""
    document = served.client.get("/api/v1/openapi.json").json()
    calls = []
    seen = set()
    for path, item in document["paths"].items():
        operation = item.get("get")
        if operation is None:
            continue
        seen.add(path)
        in_path: dict[str, str] = {}
        query: dict[str, Any] = {}
        names = set()
        for param in operation.get("parameters", []):
            names.add(param["name"])
            if param["in"] == "path":
                in_path[param["name"]] = str(_value(param))
            elif param.get("required") or param["name"] in ("since", "by"):
                query[param["name"]] = "team" if param["name"] == "by" else _value(param)
        calls.append((_fill(path, in_path), query, False))
        for name in {"team", "owner"} & set(in_path):
            calls.append((_fill(path, {**in_path, name: "aubergine"}), query, True))
        url = _fill(path, in_path)
        # ask for another team's data explicitly: it must still not come back
        for name, value in (("where", "team=aubergine"), ("team", "aubergine"), ("owner", "aubergine")):
            if name in names:
                calls.append((url, {**query, name: value}, True))
    for path, params in _get_routes(served.api.routes):  # routes outside the document (dashboard pages ...)
        if path in seen:
            continue
        url = path
        for name in params:
            value = str(_VALUES.get(name, "bravo"))
            url = url.replace("{" + name + "}", value).replace("{" + name + ":path}", value)
        calls.append((url, {}, False))
    return calls


def _fill(path: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        path = path.replace("{" + name + "}", value).replace("{" + name + ":path}", value)
    return path


def _get_routes(routes: list[Any], prefix: str = "") -> list[tuple[str, list[str]]]:
    """``(path, path parameter names)`` of every GET route, through included routers."""
    out = []
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            out += _get_routes(included.routes, prefix + route.include_context.prefix)
        elif isinstance(route, APIRoute | Route) and "GET" in (route.methods or ()):
            out.append((prefix + route.path, list(route.param_convertors)))
    return out


def test_every_get_route_is_enumerated(served: Served) -> None:
    urls = {url for url, _, _ in _calls(served)}
    assert {"/api/v1/costs", "/api/v1/records", "/api/v1/budgets", "/api/v1/whoami", "/"} <= urls
    assert len(urls) >= 10


def test_a_team_key_never_sees_another_teams_rows(served: Served) -> None:
    team = served.keys["team"]
    bravo_seen = 0
    failures = []
    for url, query, adversarial in _calls(served):
        response = served.get(url, team, params=query)
        text = response.text.lower()
        if response.status_code >= 500:
            failures.append(f"{url} {query}: {response.status_code} {response.text[:200]}")
            continue
        # a team name passed in the request may be echoed back; its data (projects, features ...) may not
        forbidden = [m for t in OTHERS for m in markers(t)[1:]] if adversarial else list(OTHERS)
        leaked = [m for m in forbidden if m in text]
        if leaked:
            failures.append(f"{url} {query}: shows {leaked}")
        bravo_seen += "bravo" in text
    assert not failures, "\n".join(failures)
    assert bravo_seen >= 3  # the test is not vacuous: the team's own data does come back


def test_the_same_routes_show_every_team_to_finance(served: Served) -> None:
    """The control: with a finance key the other teams do appear, so their absence above means something."""
    response = served.get("/api/v1/costs", served.keys["finance"], params={"by": "team"})
    assert all(team in response.text for team in OTHERS)
    response = served.get("/api/v1/records", served.keys["finance"], params={"limit": 100})
    assert all(team in response.text for team in OTHERS)


def test_configuration_naming_every_team_is_refused_to_team_keys(served: Served) -> None:
    assert served.get("/api/v1/allocation/rules", served.keys["team"]).status_code == 403
    rules = served.get("/api/v1/allocation/rules", served.keys["finance"])
    assert rules.status_code == 200 and "aubergine" in rules.text
    budgets = served.get("/api/v1/budgets", served.keys["team"]).json()
    assert [b["name"] for b in budgets] == ["bravo-budget"]
