"""Cypher out of the box: `lineage-graph cypher` runs the forensics cookbook as written against
the demo graph, refuses writes without --write, stops runaway queries, and says what is wrong
in one line; the managed Neo4j serves Neo4j Browser and `neo4j status` says how to log in."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from lineage_graph.settings import Settings
from tests.conftest import DemoGraph, query, require_managed
from tests.test_cli import assert_one_line_error, cli
from tests.test_forensics_cookbook import CHECKS, QUERIES


def _rows(done: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


@pytest.mark.parametrize("number", sorted(CHECKS))
def test_every_cookbook_query_runs_from_its_file(demo_graph: DemoGraph, neo4j_server: Settings,
                                                 tmp_path: Path, number: int) -> None:
    """As docs/forensics.md says: `lineage-graph cypher -f query.cypher` gives the answer the
    page documents."""
    statement = tmp_path / f"q{number}.cypher"
    statement.write_text(QUERIES[number - 1][2])
    rows = _rows(cli(neo4j_server, "cypher", "-f", str(statement), "--json"))
    assert CHECKS[number](rows), (QUERIES[number - 1][1], rows)


def test_the_default_output_is_an_aligned_table(demo_graph: DemoGraph,
                                                neo4j_server: Settings) -> None:
    done = cli(neo4j_server, "cypher", "MATCH (m:ModelVersion) RETURN m.name AS model, "
               "m.version AS version ORDER BY version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "model     version", "--------  -------", "detector  v1", "detector  v2", "(2 rows)"]


def test_parameters_and_stdin(demo_graph: DemoGraph, neo4j_server: Settings) -> None:
    statement = "MATCH (m:ModelVersion {version: $v}) RETURN m.version AS version, $n AS n"
    via_stdin = subprocess.run(
        [*_cli_args(), "cypher", "-", "--json", "--param", "v=v2", "-p", "n=[1, 2]"],
        input=statement, capture_output=True, text=True, timeout=120,
        env=_cli_env(neo4j_server))
    assert _rows(via_stdin) == [{"version": "v2", "n": [1, 2]}]
    missing = cli(neo4j_server, "cypher", statement)
    assert_one_line_error(missing, "--param NAME=VALUE")


def test_a_write_needs_write(demo_graph: DemoGraph, neo4j_server: Settings) -> None:
    refused = cli(neo4j_server, "cypher", "CREATE (:Scratch {by: 'cypher test'})")
    assert_one_line_error(refused, "add --write")
    assert query(demo_graph.db, "MATCH (n:Scratch) RETURN count(n) AS n") == [{"n": 0}]
    done = cli(neo4j_server, "cypher", "--write", "CREATE (s:Scratch) RETURN count(s) AS made")
    try:
        assert done.returncode == 0, done.stderr
        assert "(1 row)" in done.stdout
        assert query(demo_graph.db, "MATCH (n:Scratch) RETURN count(n) AS n") == [{"n": 1}]
    finally:
        cli(neo4j_server, "cypher", "--write", "MATCH (n:Scratch) DELETE n")


def test_a_syntax_error_and_a_runaway_query_are_one_line(neo4j_server: Settings) -> None:
    assert_one_line_error(cli(neo4j_server, "cypher", "MATC (n) RETURN n"), "syntax error:")
    runaway = cli(neo4j_server, "cypher",
                  "UNWIND range(1, 100000000000) AS i WITH i WHERE i % 7 = 99 RETURN count(*)",
                  LINEAGE_GRAPH_QUERY_TIMEOUT_SECONDS="1")
    assert_one_line_error(runaway, "LINEAGE_GRAPH_QUERY_TIMEOUT_SECONDS")


def test_the_managed_neo4j_serves_browser_and_status_says_how_to_log_in(
        neo4j_server: Settings) -> None:
    require_managed(neo4j_server, "Neo4j Browser is served by the managed instance")
    from lineage_graph.db.connection import resolve_password

    page = httpx.get(f"http://127.0.0.1:{neo4j_server.http_port}/browser/", timeout=30)
    assert page.status_code == 200 and "<title>Neo4j Browser</title>" in page.text
    status = cli(neo4j_server, "neo4j", "status")
    assert status.returncode == 0, status.stderr
    assert f"Neo4j Browser: http://127.0.0.1:{neo4j_server.http_port}/browser/" in status.stdout
    assert "as user neo4j" in status.stdout
    assert resolve_password(neo4j_server) not in status.stdout + status.stderr


def _cli_args() -> list[str]:
    import sys

    return [sys.executable, "-m", "lineage_graph"]


def _cli_env(settings: Settings) -> dict[str, str]:
    from tests.test_cli import _env

    return _env(settings)


def test_the_browser_style_colours_every_kind_of_lineage_node() -> None:
    """docs/examples/browser-style.grass styles each node kind the lineage API names."""
    from lineage_graph.graphql.types import NodeKind

    style = (Path(__file__).resolve().parents[1] / "docs" / "examples"
             / "browser-style.grass").read_text()
    label_of = {"DATASET": "Dataset", "JOB": "Job", "RUN": "Run", "SCENE": "SceneVersion",
                "SCENE_VARIANT": "SceneVariant", "LABELING_SESSION": "LabelingSession",
                "LABELING_SCHEMA_VERSION": "LabelingSchemaVersion",
                "MODEL_VERSION": "ModelVersion", "DATASET_VERSION": "DatasetVersion"}
    assert set(label_of) == {kind.value for kind in NodeKind}
    for label in label_of.values():
        assert f"node.{label} {{" in style, label


def _grass(text: str) -> dict[str, dict[str, str]]:
    """A .grass style sheet as Neo4j Browser keeps it (selector -> properties)."""
    import re

    return {selector.strip(): {key: value.strip().strip('"')
                               for key, value in re.findall(r"([\w-]+):\s*([^;]+);", body)}
            for selector, body in re.findall(r"([^{}]+)\{([^}]*)\}", text)}


def test_neo4j_browser_logs_in_and_draws_the_graph_in_the_documented_style(
        demo_graph: DemoGraph, neo4j_server: Settings) -> None:
    """Neo4j Browser, served by the managed instance, logs in with the password file's content
    and draws a cookbook answer with docs/examples/browser-style.grass (the picture in
    docs/forensics.md comes from here, with LINEAGE_GRAPH_SCREENSHOTS=DIR)."""
    require_managed(neo4j_server, "Neo4j Browser is served by the managed instance")
    import os

    from lineage_graph.db.connection import resolve_password
    from tests.test_dashboard import _chromium

    executable = _chromium()
    from playwright.sync_api import sync_playwright

    style = _grass((Path(__file__).resolve().parents[1] / "docs" / "examples"
                    / "browser-style.grass").read_text())
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        base = f"http://127.0.0.1:{neo4j_server.http_port}/browser/"
        page.goto(base)
        # The Browser saves its state (its default style included) to localStorage while it
        # starts: write the style sheet once it has started, or that save can overwrite it.
        page.wait_for_selector("[data-testid=username]", timeout=60_000)
        page.evaluate("grass => localStorage.setItem('neo4j.grass', JSON.stringify(grass))",
                      style)
        page.goto(base + f"?dbms=bolt://127.0.0.1:{neo4j_server.bolt_port}")
        page.fill("[data-testid=username]", neo4j_server.neo4j_user)
        page.fill("[data-testid=password]", resolve_password(neo4j_server))
        page.click("[data-testid=connect]")
        page.wait_for_selector("text=You are connected", timeout=30_000)
        page.locator("[data-testid=activeEditor]").first.click()
        page.keyboard.type("MATCH p = (:ModelVersion {version: 'v2'})<-[:TRAINED]-(:Run)"
                           "-[:READ_VERSION]->(:DatasetVersion) RETURN p")
        page.keyboard.press("Control+Enter")
        page.wait_for_selector("svg .node", timeout=30_000)
        page.wait_for_timeout(1000)  # the force layout settles
        fills = page.eval_on_selector_all(
            "svg .node circle.b-outline", "cs => cs.map(c => c.getAttribute('fill'))")
        if os.environ.get("LINEAGE_GRAPH_SCREENSHOTS"):
            page.screenshot(path=str(Path(os.environ["LINEAGE_GRAPH_SCREENSHOTS"])
                                     / "neo4j-browser.png"))
        browser.close()
    drawn = {f.upper() for f in fills if f}
    # Each kind in its documented colour, whatever other label (:LineageNode) it carries.
    for label in ("ModelVersion", "DatasetVersion"):
        assert style[f"node.{label}"]["color"].upper() in drawn, (label, drawn)
