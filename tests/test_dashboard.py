"""The dashboard at `/`, in a real browser (headless Chromium driven by Playwright) against the
demo graph: search finds the night scene variant, its lineage view draws what the API answers,
the model page lists the planted suspects in order, a deep link reloads the same view, and the
console stays free of errors. Without Chromium these tests skip saying how to install it,
unless LINEAGE_GRAPH_REQUIRE_BROWSER=1 (CI sets it)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import DemoGraph, query

STATIC = Path(__file__).resolve().parents[1] / "lineage_graph" / "web" / "static"


def test_the_page_is_served_open_with_a_content_security_policy(client: Any) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "<title>lineage-graph</title>" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/static/app.js").status_code == 200


def test_vendored_scripts_are_the_pinned_releases() -> None:
    manifest = (STATIC / "vendor" / "VENDOR.md").read_text()
    rows = re.findall(r"^\| `([^`]+\.js)` .*`([0-9a-f]{64})` \|$", manifest, flags=re.M)
    assert len(rows) == 2
    for name, digest in rows:
        assert hashlib.sha256((STATIC / "vendor" / name).read_bytes()).hexdigest() == digest
        assert f'src="/static/vendor/{name}"' in (STATIC / "index.html").read_text()


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = ("Chromium is not installed: `apt-get install chromium` (Debian) to run the "
                   "dashboard's browser tests")
        if os.environ.get("LINEAGE_GRAPH_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable,
                                              args=["--no-sandbox"])
        yield launched
        launched.close()


class Page:
    """A browser tab on the dashboard that records console errors."""

    def __init__(self, browser: Any, base: str) -> None:
        self.page = browser.new_page(viewport={"width": 1400, "height": 900})
        self.base = base
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error"
                     else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, hash_route: str) -> None:
        self.page.goto(f"{self.base}/{hash_route}")
        self.wait()

    def screenshot(self, name: str) -> None:
        """With LINEAGE_GRAPH_SCREENSHOTS=DIR, keep a picture of the view (docs/dashboard.md's
        come from here)."""
        where = os.environ.get("LINEAGE_GRAPH_SCREENSHOTS")
        if where:
            self.page.screenshot(path=str(Path(where) / f"{name}.png"))

    def wait(self) -> None:
        """Until the view for the current URL is drawn (app.js marks body[data-ready]). Polled
        from here: the page's content security policy forbids evaluating strings in it."""
        deadline = time.monotonic() + 30
        while True:
            ready = self.page.get_attribute("body", "data-ready")
            if ready is not None and ready == self.page.evaluate("() => location.hash"):
                return
            assert time.monotonic() < deadline, f"the view for {self.page.url} never drew"
            time.sleep(0.05)


@pytest.fixture()
def tab(browser: Any, demo_graph: DemoGraph) -> Iterator[Page]:
    page = Page(browser, demo_graph.url)
    yield page
    assert page.errors == [], page.errors
    page.page.close()


def _night_variant(demo: DemoGraph) -> str:
    [row] = query(demo.db, "MATCH (v:SceneVariant {sceneId: 'demo_warehouse'}) "
                           "WHERE v.selections CONTAINS '\"lighting\": \"night\"' "
                           "AND v.selections CONTAINS 'aisle_wide' RETURN v.nodeId AS id")
    return str(row["id"])


def test_search_finds_the_night_scene_variant(tab: Page, demo_graph: DemoGraph) -> None:
    tab.open("#/search?q=night")
    items = tab.page.eval_on_selector_all(
        "#search-results li", "items => items.map(i => [i.dataset.kind, i.innerText])")
    tab.screenshot("search")
    variants = [text for kind, text in items if kind == "SCENE_VARIANT"]
    assert any("lighting=night" in text for text in variants), items
    link = tab.page.locator(f'#search-results a[href*="{_night_variant(demo_graph)[:12]}"]')
    assert link.count() >= 1


def _api_lineage(demo: DemoGraph, node_id: str, direction: str, depth: int
                 ) -> tuple[set[str], set[tuple[str, str]]]:
    body = httpx.post(f"{demo.url}/graphql", timeout=60, json={"query": """
        query($id: ID!, $d: LineageDirection!, $n: Int!) { lineage(nodeId: $id, direction: $d,
          depth: $n) { nodes { id } edges { source target } } }""",
        "variables": {"id": node_id, "d": direction, "n": depth}}).json()["data"]["lineage"]
    return ({n["id"] for n in body["nodes"]},
            {(e["source"], e["target"]) for e in body["edges"]})


def _drawn(tab: Page) -> tuple[set[str], set[tuple[str, str]]]:
    nodes, edges = tab.page.evaluate("""() => [
        window.lineageGraphView.nodes().map(n => n.id()),
        window.lineageGraphView.edges().map(e => [e.source().id(), e.target().id()])]""")
    return set(nodes), {(s, t) for s, t in edges}


def test_the_lineage_view_draws_what_the_api_answers_and_a_deep_link_reloads_it(
        tab: Page, demo_graph: DemoGraph) -> None:
    variant = _night_variant(demo_graph)
    tab.open(f"#/node/{variant}?direction=DOWNSTREAM&depth=3")
    tab.screenshot("lineage")
    drawn = _drawn(tab)
    assert drawn == _api_lineage(demo_graph, variant, "DOWNSTREAM", 3)
    assert "dataset:s3://frames:warehouse/night_wide" in drawn[0]
    assert len(drawn[1]) >= 3
    tab.page.reload()
    tab.wait()
    assert _drawn(tab) == drawn
    assert tab.page.locator("select[name=direction]").input_value() == "DOWNSTREAM"
    # Clicking a node re-centres the view on it (its own deep link).
    tab.page.evaluate("""() => window.lineageGraphView
        .getElementById('dataset:s3://frames:warehouse/night_wide').emit('tap')""")
    tab.wait()
    assert "night_wide" in tab.page.evaluate("decodeURIComponent(location.hash)")
    assert "warehouse/night_wide" in tab.page.inner_text("#details")


def test_the_model_page_lists_the_planted_suspects_in_order(tab: Page,
                                                            demo_graph: DemoGraph) -> None:
    tab.open("#/model/detector/v2?baseline=v1&metric=mAP")
    tab.screenshot("model")
    rows = tab.page.eval_on_selector_all(
        "#suspects tr[data-rank]", "rows => rows.map(r => [...r.cells].map(c => c.innerText))")
    api = demo_graph.result.report["suspects"]
    assert [(int(r[0]), r[2]) for r in rows] == [(s["rank"], s["kind"]) for s in api]
    assert [r[2] for r in rows[:4]] == ["DATASET_VERSION", "JOB_CODE", "DATASET_VERSION",
                                        "LABELING_SCHEMA_VERSION"]
    regressed = tab.page.eval_on_selector_all(
        "rect.regressed", "bars => bars.map(b => b.dataset.slice)")
    # The demo's numbers: overall 0.81 -> 0.74 and the night slice 0.78 -> 0.52 got worse,
    # both day slices better.
    assert sorted(regressed) == ["layout=aisle_wide,lighting=night split=holdout", "overall"]
    assert "lighting=night" in tab.page.inner_text("#implicated")
    # A suspect opens its lineage with the evidence path highlighted.
    tab.page.click("#suspects tr[data-rank] a")
    tab.wait()
    tab.screenshot("evidence")
    highlighted = tab.page.evaluate(
        "() => window.lineageGraphView.nodes('.evidence').map(n => n.id())")
    assert highlighted and api[0]["evidence"][0][-1] in highlighted


def test_the_scene_page_lists_versions_layers_variants_and_compares_two(
        tab: Page, demo_graph: DemoGraph) -> None:
    variant = _night_variant(demo_graph)
    tab.open(f"#/node/{variant}?direction=DOWNSTREAM&depth=1")
    tab.page.wait_for_selector("#scene-link")
    tab.page.click("#scene-link")
    tab.wait()
    tab.screenshot("scene")
    scene = httpx.post(f"{demo_graph.url}/graphql", timeout=60, json={"query": """{
        scene(sceneId: "demo_warehouse") { versions { version } layers { path missing }
          variants { id primCount datasets { id } } } }"""}).json()["data"]["scene"]
    rows = tab.page.eval_on_selector_all(
        "#scene-variants tr[data-variant]", "rows => rows.map(r => [r.dataset.variant, "
        "r.cells[1].innerText, [...r.cells[2].querySelectorAll('a')].length])")
    assert sorted(rows) == sorted([v["id"], str(v["primCount"]), len(v["datasets"])]
                                  for v in scene["variants"])
    layers = tab.page.eval_on_selector_all(
        "#scene-layers li", "items => items.map(i => [i.dataset.path, i.dataset.missing])")
    assert sorted(layers) == sorted([layer["path"], str(layer["missing"]).lower()]
                                    for layer in scene["layers"])
    versions = tab.page.eval_on_selector_all("#scene-versions a", "a => a.map(x => x.innerText)")
    assert versions == [v["version"] for v in scene["versions"]]
    # Compare the night variant (A) with another (B): the page shows the API's diff.
    other = next(v["id"] for v in scene["variants"] if v["id"] != variant)
    tab.page.click(f'#scene-variants tr[data-variant="{variant}"] a:has-text("as A")')
    tab.wait()
    tab.page.click(f'#scene-variants tr[data-variant="{other}"] a:has-text("as B")')
    tab.wait()
    diff = httpx.post(f"{demo_graph.url}/graphql", timeout=60, json={
        "query": "query($a: ID!, $b: ID!) { sceneVariantDiff(a: $a, b: $b) { commonPrims } }",
        "variables": {"a": variant, "b": other}}).json()["data"]["sceneVariantDiff"]
    assert f"{diff['commonPrims']} prims in common" in tab.page.inner_text("#variant-diff")


def test_the_health_page_shows_the_spool_and_the_ledger(tab: Page,
                                                       demo_graph: DemoGraph) -> None:
    tab.open("#/health")
    [records] = query(demo_graph.db, "MATCH (s:Sequence {name: 'event'}) RETURN s.value AS n")
    assert tab.page.inner_text("#health-neo4j") == "up"
    assert tab.page.inner_text("#health-spool") == "0"
    assert tab.page.inner_text("#health-records") == str(records["n"])
    assert "none since this API started" in tab.page.inner_text("#health-verified")
    tab.page.click("#verify")  # auth is off on loopback: the admin query runs
    deadline = time.monotonic() + 30
    while "none since" in tab.page.inner_text("#health-verified"):
        assert time.monotonic() < deadline, "the verification never showed"
        tab.page.wait_for_timeout(100)
    assert tab.page.inner_text("#health-verified").startswith(f"ok, {records['n']} records")
    tab.screenshot("health")


def test_the_column_lineage_mode_draws_the_fields_the_api_links(tab: Page,
                                                                demo_graph: DemoGraph) -> None:
    [target] = query(demo_graph.db, """
        MATCH (d:Dataset)-[:HAS_FIELD]->(:Field)-[:DERIVED_FROM]->()
        RETURN DISTINCT d.nodeId AS id, d.namespace AS namespace, d.name AS name
        ORDER BY id LIMIT 1""")
    encoded = quote(target["id"], safe="")  # as the page's own links encode it
    tab.open(f"#/node/{encoded}?direction=UPSTREAM&depth=1")
    tab.page.click("#columns-link")
    tab.wait()
    tab.screenshot("columns")
    one = httpx.post(f"{demo_graph.url}/graphql", timeout=60, json={
        "query": """query($n: String!, $m: String!) { dataset(namespace: $n, name: $m) {
          columnLineage { field inputs { namespace name field } } } }""",
        "variables": {"n": target["namespace"], "m": target["name"]}}).json()
    expected = {(f"datasetField:{i['namespace']}:{i['name']}:{i['field']}",
                 f"datasetField:{target['namespace']}:{target['name']}:{c['field']}")
                for c in one["data"]["dataset"]["columnLineage"] for i in c["inputs"]}
    assert expected
    _, edges = _drawn(tab)
    assert expected <= edges  # depth 2 (the default) also draws the inputs' own inputs
    tab.open(f"#/columns/{encoded}?depth=1")
    assert _drawn(tab)[1] == expected
