"""The dashboard in real headless Chromium against a real `aifinops demo` server.

Every page loads with the demo data, shows numbers that match its API (each number carries the URL and JSON
path it was rendered from, and the test fetches that URL itself), logs no console error, and its drill-downs
lead where they say. Screenshots (light and dark) go to tests/artifacts/screenshots/.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

PAGES = (
    "overview",
    "explorer",
    "teams",
    "models",
    "gpus",
    "workflows",
    "guardrails",
    "anomalies",
    "recommendations",
    "value",
    "health",
)


#: Fields that tell when a response was made: they change between two fetches of the same URL.
_CLOCK = {"generated_at", "as_of", "computed_at", "now"}


def _shown(text: str, kind: str) -> Decimal | None:
    """The number a formatted cell shows (``$1,234.56``, ``12.5%``, ``1.2M``, ``3,408.0 h``)."""
    text = text.strip()
    if text == "–":
        return None
    match = re.fullmatch(r"(-?)\$?([\d,]*\.?\d*(?:E-?\d+)?)\s*([kMB%]|h)?", text.replace("$", ""), re.I)
    assert match, f"cannot read {text!r} as {kind}"
    value = Decimal(match.group(2).replace(",", "")) * (-1 if match.group(1) else 1)
    return value * {"k": 1000, "M": 10**6, "B": 10**9}.get(match.group(3) or "", 1)


def _close(shown: Decimal, raw: Decimal, kind: str) -> bool:
    if kind == "pct":
        return abs(shown - raw * 100) <= Decimal("0.05")
    if kind == "compact":
        return abs(shown - raw) <= max(abs(raw) * Decimal("0.05"), Decimal("0.5"))
    if kind == "money" and abs(raw) < Decimal("0.01"):
        return abs(shown - raw) <= abs(raw) * Decimal("0.01")
    if kind == "money":
        return abs(shown - raw) <= (Decimal("0.00005") if abs(raw) < 1 else Decimal("0.005"))
    return abs(shown - raw) <= Decimal("0.05")


def _resolve(data: Any, path: str) -> Any:
    for part in path.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


def check_numbers(page: Any, base: str) -> int:
    """Every number on the page equals the value at its JSON path in a fresh fetch of its API URL."""
    cells = page.eval_on_selector_all(
        "[data-api]",
        "els => els.map(e => [e.dataset.api, e.dataset.path, e.dataset.kind, e.dataset.raw, e.textContent])",
    )
    responses: dict[str, Any] = {}
    for url, path, kind, raw, text in cells:
        if path.rsplit(".", 1)[-1] in _CLOCK:
            continue
        if url not in responses:
            responses[url] = httpx.get(base + url, timeout=30).json()
        value = _resolve(responses[url], path)
        if isinstance(value, float | int) and not isinstance(value, bool):  # JS and Python spell floats apart
            assert float(raw) == value, f"{url} {path}: page has {raw!r}, API has {value!r}"
        else:
            assert raw == ("" if value is None else str(value)), (
                f"{url} {path}: page has {raw!r}, API has {value!r}"
            )
        if kind in ("money", "count", "pct", "compact", "hours", "number") and value is not None:
            shown = _shown(text, kind)
            assert shown is not None and _close(shown, Decimal(str(value)), kind), (
                f"{url} {path}: {text!r} vs {value}"
            )
        elif value is None:
            assert text.strip() == "–"
    return len(cells)


@pytest.mark.parametrize("name", PAGES)
def test_every_page_loads_with_numbers_from_its_api(
    page: Any, dark_page: Any, server: str, name: str
) -> None:
    p = page.open(name)
    assert page.errors == []
    assert p.locator(".card.error").count() == 0, p.locator(".card.error").all_inner_texts()
    assert p.locator("#twins a").count() >= 1  # the JSON twin is linked
    assert p.locator(f"#nav a[data-page='{name}']").get_attribute("class") == "active"
    checked = check_numbers(p, server)
    if p.locator(".card.na").count() == 0:  # a page whose area is installed shows its numbers
        assert checked > 0
    page.shot(f"{name}-light")
    dark_page.open(name)
    assert dark_page.errors == []
    dark_page.shot(f"{name}-dark")


def test_overview_by_hand(page: Any, server: str) -> None:
    """Month to date and the top team, computed here from /costs, are what the overview shows."""
    p = page.open("overview")
    data = httpx.get(server + "/api/v1/overview").json()
    month = data["month_to_date"]["start"]
    days = httpx.get(server + "/api/v1/costs", params={"since": month, "grain": "day"}).json()
    mtd = sum((Decimal(d["cost"]) for d in days), Decimal(0))
    assert Decimal(data["month_to_date"]["cost"]) == mtd
    shown = p.locator("[data-path='month_to_date.cost']").inner_text()
    assert shown == f"${mtd:,.2f}"
    teams = httpx.get(
        server + "/api/v1/costs", params={"since": data["window"]["since"], "by": "team"}
    ).json()
    first = p.locator("[data-path='top_teams.0.cost']").locator("xpath=ancestor::tr").inner_text()
    assert first.startswith(teams[0]["team"])
    assert f"${Decimal(teams[0]['cost']):,.2f}" in first
    assert page.errors == []


def test_drill_down_from_overview_to_explorer(page: Any, server: str) -> None:
    p = page.open("overview")
    team_row = p.locator("[data-path='top_teams.0.cost']").locator("xpath=ancestor::tr")
    team = team_row.locator("td").first.inner_text()
    team_row.click()
    page.wait("explorer")
    query = parse_qs(urlsplit(p.url.replace("#/", "")).query)
    assert query["where"] == [f"team={team}"] and query["by"] == ["model"]
    rows = httpx.get(
        server + "/api/v1/costs", params={"by": "model", "since": "30d", "where": f"team={team}"}
    ).json()
    table = p.locator("section[data-title^='By model'] tbody tr")
    assert table.count() == len(rows)
    check_numbers(p, server)
    # one level deeper: the first model of that team, by the next dimension
    model = rows[0]["model"]
    table.first.click()
    page.wait("explorer")
    query = parse_qs(urlsplit(p.url.replace("#/", "")).query)
    assert query["where"] == [f"team={team}", f"model={model}"]
    total = httpx.get(
        server + "/api/v1/costs", params={"since": "30d", "where": [f"team={team}", f"model={model}"]}
    )
    assert p.locator("[data-path='0.cost']").first.get_attribute("data-raw") in {
        r["cost"] for r in [total.json()[0]]
    } | {None}
    assert "›" in p.locator(".crumbs").inner_text()
    # removing the model filter goes back up
    p.locator(".chip", has_text="model=").locator("a").click()
    page.wait("explorer")
    assert parse_qs(urlsplit(p.url.replace("#/", "")).query)["where"] == [f"team={team}"]
    assert page.errors == []
    page.shot("explorer-drilldown")


def test_explorer_by_day_drills_into_hours(page: Any, server: str) -> None:
    p = page.open("explorer?by=provider&since=7d")
    p.locator("svg.chart a").last.click()
    page.wait("explorer")
    query = parse_qs(urlsplit(p.url.replace("#/", "")).query)
    assert query["grain"] == ["hour"] and "until" in query
    check_numbers(p, server)
    assert page.errors == []


def test_workflow_drill_down(page: Any, server: str) -> None:
    p = page.open("workflows")
    top = httpx.get(server + "/api/v1/workflows", params={"top": 25, "since": "30d"}).json()[0]
    p.locator("section[data-title^='Most expensive workflows'] tbody tr").first.click()
    page.wait("workflow")
    assert p.locator("[data-path='cost']").get_attribute("data-raw") == top["cost"]
    check_numbers(p, server)
    assert page.errors == []
    page.shot("workflow-detail")


def test_team_statement_drill_down(page: Any, server: str) -> None:
    p = page.open("teams")
    p.locator("section[data-title^='Showback'] tbody tr").first.click()
    page.wait("team")
    assert check_numbers(p, server) > 3
    assert page.errors == []


def test_a_missing_area_shows_not_available_without_console_errors(page: Any) -> None:
    """With the anomaly routes absent from the OpenAPI document, the page says so and requests nothing."""
    requested: list[str] = []
    p = page.page

    def without_anomalies(route: Any) -> None:
        doc = route.fetch().json()
        doc["paths"] = {
            k: v
            for k, v in doc["paths"].items()
            if not k.startswith(("/api/v1/anomalies", "/api/v1/alerts", "/api/v1/forecast"))
        }
        route.fulfill(json=doc)

    p.route("**/api/v1/openapi.json", without_anomalies)
    p.on("request", lambda r: requested.append(r.url))
    page.open("anomalies")
    assert p.locator(".card.na").count() == 1
    assert "Not available" in p.locator(".card.na").inner_text()
    assert not [u for u in requested if "/api/v1/anomalies" in u or "/api/v1/alerts" in u]
    assert page.errors == []


def test_a_401_asks_for_an_api_key_and_sends_it(page: Any, server: str) -> None:
    p = page.page
    seen: list[str | None] = []

    def gate(route: Any) -> None:
        auth = route.request.headers.get("authorization")
        seen.append(auth)
        if auth != "Bearer k-123":
            route.fulfill(
                status=401,
                json={"error": {"code": "unauthorized", "message": "an API key is required", "details": []}},
            )
        else:  # the real demo server is keyless: pass the request on without the key it does not know
            headers = {k: v for k, v in route.request.headers.items() if k != "authorization"}
            route.continue_(headers=headers)

    p.route("**/api/v1/**", gate)
    p.goto(f"{server}/#/health")
    p.wait_for_selector("dialog#keydialog[open]")
    p.fill("#keyinput", "k-123")
    p.click("dialog button[value='save']")
    p.wait_for_selector("[data-api]")
    page.wait("health")
    assert p.evaluate("localStorage.getItem('aifinops.key')") == "k-123"
    assert "Bearer k-123" in seen
    assert p.locator(".card.error").count() == 0
    assert check_numbers(p, server) > 0


def test_explorer_groups_and_filters_by_a_tag(page: Any, server: str) -> None:
    """GPU records carry an `endpoint` tag: group by it, then filter by one endpoint from the filter box."""
    p = page.open("explorer?by=provider")
    p.fill("input[name='tag']", "endpoint")
    p.press("input[name='tag']", "Enter")
    p.wait_for_selector("section[data-title='By tag:endpoint']")
    page.wait("explorer")
    rows = httpx.get(
        server + "/api/v1/costs", params={"by": "tag:endpoint", "since": "30d", "limit": 500}
    ).json()
    endpoints = [r["tag:endpoint"] for r in rows if r["tag:endpoint"]]
    assert endpoints and p.locator("section[data-title='By tag:endpoint'] tbody tr").count() == len(rows)
    check_numbers(p, server)
    p.fill("input[name='filter']", f"endpoint={endpoints[0]}")
    p.click("form#xform button[type='submit']")
    p.wait_for_selector(".chip")
    page.wait("explorer")
    total = httpx.get(
        server + "/api/v1/costs", params={"since": "30d", "where": f"endpoint={endpoints[0]}"}
    ).json()
    assert (
        p.locator("section[data-title='Total'] [data-path='0.cost']").get_attribute("data-raw")
        == total[0]["cost"]
    )
    assert page.errors == []


def test_explorer_any_period_from_the_date_fields(page: Any, server: str) -> None:
    p = page.open("explorer?by=team")
    start = httpx.get(server + "/api/v1/overview").json()["window"]["since"][:10]
    p.fill("input[name='from']", start)
    page.wait("explorer")
    p.wait_for_function(f"location.hash.includes('since={start}')")
    page.wait("explorer")
    p.fill("input[name='to']", "2030-01-01")
    p.wait_for_function("location.hash.includes('until=2030-01-01')")
    page.wait("explorer")
    total = httpx.get(server + "/api/v1/costs", params={"since": start, "until": "2030-01-01"}).json()
    assert (
        p.locator("section[data-title='Total'] [data-path='0.cost']").get_attribute("data-raw")
        == total[0]["cost"]
    )
    check_numbers(p, server)
    assert page.errors == []
