"""Forensic query benchmark: latency of lineage (depth 10), regressionSuspects and impact on
graphs of 10k, 100k and 1M nodes with the demo's shape.

    python benchmarks/queries.py [--sizes 10000 100000 1000000] [--samples 100]

The graph grows in place from one size to the next (the database is WIPED first) through the
real ingest path (batched UNWIND statements, 2,000 events per call). It is made of independent
"teams", each one copy of the demo's pipeline: 4 scene variants (usdScene facets), a render run
per variant plus a re-render with changed code, a labels dataset (labelingSchema facet), two
training runs producing model v1 and its fine-tune v2 (mlModel facets), two evaluation runs with
an overall and a per-variant metric (evaluation facets). Each size prints its build time, then
p50/p95 over --samples random teams of:

- lineage depth 10 (BOTH, from a team's v2 model dataset): GraphQL over HTTP, the Python
  service (its per-hop Cypher, no HTTP), and one hand-written Cypher statement (a quantified
  path pattern over the same relationship types);
- regressionSuspects (v2 vs v1, mAP): GraphQL over HTTP and the Python service;
- impact (depth 10, from a team's first scene variant): GraphQL over HTTP and the service.

Runs against the managed "bench" Neo4j (Bolt 7689; heap 2g and page cache 4g unless
LINEAGE_GRAPH_NEO4J_HEAP / _PAGECACHE say otherwise) or NEO4J_URI.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, LiteralString

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from benchmarks.ingest import bench_settings, wipe
from lineage_graph.db.connection import Database
from lineage_graph.db.migrations import migrate
from lineage_graph.forensics.regression import RegressionService
from lineage_graph.ids import dataset_id, placeholder_scene_variant_id
from lineage_graph.ingest.service import IngestService
from lineage_graph.lineage.service import JOB_LEVEL, Direction, LineageService
from tests.events import T0, ds, facet, run_event
from tests.serving import served_api

VARIANTS = [{"lighting": light, "layout": layout}
            for light in ("day", "night") for layout in ("aisle_wide", "aisle_narrow")]
_IDS = uuid.UUID("2b0f5d0e-8a51-4bfa-9a3c-6f2f1f0d7e11")

LINEAGE_QUERY = """query($id: ID!) { lineage(nodeId: $id, direction: BOTH, depth: 10) {
  nodes { id } } }"""
IMPACT_QUERY = """query($id: ID!) { impact(nodeId: $id, depth: 10) { nodes { id } } }"""
SUSPECTS_QUERY = """query($model: String!) {
  regressionSuspects(model: $model, version: "v2", baseline: "v1", metric: "mAP") {
    suspects { rank score } } }"""

RELS = JOB_LEVEL[0] + JOB_LEVEL[1]
# The same answer as the lineage walk, in one statement: every node within 10 job-level hops,
# either direction.
ONE_STATEMENT_LINEAGE: LiteralString = """
MATCH (n:LineageNode {nodeId: $id})
OPTIONAL MATCH (n)(()-[r]-() WHERE type(r) IN $rels){1,10}(m:LineageNode)
RETURN count(DISTINCT m) AS reached
"""


def team_events(team: int) -> list[dict[str, Any]]:
    """One copy of the demo pipeline, its names prefixed by the team."""
    events: list[dict[str, Any]] = []
    prefix = f"team{team:06d}"
    scene_id = f"{prefix}_warehouse"

    def run(job: str, key: str, day: int, inputs: list[dict[str, Any]],
            outputs: list[dict[str, Any]], run_facets: dict[str, Any] | None = None,
            job_facets: dict[str, Any] | None = None) -> None:
        run_id = str(uuid.uuid5(_IDS, f"{prefix}/{key}"))
        at = T0 + timedelta(days=day)
        for state, when in (("START", at), ("COMPLETE", at + timedelta(minutes=30))):
            events.append(run_event(state, run_id, (prefix, job), when, inputs, outputs,
                                    run_facets, job_facets))

    def scene(i: int) -> dict[str, Any]:
        dataset = ds(f"usd://{prefix}", f"warehouse/v{i}")
        dataset["facets"]["usdScene"] = facet("UsdSceneDatasetFacet", sceneId=scene_id,
                                              rootLayer="warehouse.usda",
                                              variantSelections=VARIANTS[i])
        return dataset

    def code(text: str) -> dict[str, Any]:
        return {"sourceCode": facet("SourceCodeJobFacet", language="python", sourceCode=text)}

    for i in range(len(VARIANTS)):
        run("render", f"render/{i}/0", 0, [scene(i)], [ds("s3://frames", f"{prefix}/v{i}")],
            job_facets=code("render(exposure='auto')"))
    labels = ds("s3://labels", f"{prefix}/labels")
    labels["facets"]["labelingSchema"] = facet("LabelingSchemaDatasetFacet",
                                               schemas=[{"name": f"{prefix}_pallet",
                                                         "version": 1}])
    run("import_labels", "labels/1", 1, [], [labels])
    for version, day, base in (("v1", 2, None), ("v2", 4, "v1")):
        if version == "v2":
            run("render", "render/1/3", 3, [scene(1)], [ds("s3://frames", f"{prefix}/v1")],
                job_facets=code("render(exposure=0.2)"))
        model = ds("s3://models", f"{prefix}/detector/{version}")
        model["facets"]["mlModel"] = facet(
            "MlModelDatasetFacet", name=f"{prefix}_detector", version=version,
            digest=f"sha256:{prefix}-{version}", derivedFrom=[f"sha256:{prefix}-{base}"]
            if base else [])
        run("train", f"train/{version}", day,
            [ds("s3://frames", f"{prefix}/v{i}") for i in range(len(VARIANTS))]
            + [ds("s3://labels", f"{prefix}/labels")], [model])
    for version, scores in (("v1", [0.8, 0.84, 0.78, 0.8, 0.79]),
                            ("v2", [0.74, 0.85, 0.52, 0.81, 0.8])):
        metrics = [{"name": "mAP", "value": scores[0], "higherIsBetter": True}]
        metrics += [{"name": "mAP", "value": scores[i + 1], "higherIsBetter": True,
                     "slice": {"sceneVariant": {"sceneId": scene_id,
                                                "selections": VARIANTS[i]}}}
                    for i in range(len(VARIANTS))]
        run("evaluate", f"evaluate/{version}", 5,
            [ds("s3://models", f"{prefix}/detector/{version}")], [],
            run_facets={"evaluation": facet("EvaluationRunFacet", model={
                "name": f"{prefix}_detector", "version": version}, metrics=metrics)})
    return events


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def timed_each(fn: Callable[[int], Any], teams: list[int]) -> tuple[float, float]:
    for team in teams[:5]:
        fn(team)  # warm caches and plans
    samples = []
    for team in teams:
        start = time.perf_counter()
        fn(team)
        samples.append(time.perf_counter() - start)
    return percentiles(samples)


def count_nodes(db: Database) -> int:
    rows = db.read(lambda tx: [r["n"] for r in tx.run("MATCH (n) RETURN count(n) AS n")])
    return int(rows[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--samples", type=int, default=100)
    args = parser.parse_args()

    # A 1M-node graph does not fit the default 512 MB page cache; the bench instance gets more
    # (applied when it starts: stop it first if it runs with other settings).
    os.environ.setdefault("LINEAGE_GRAPH_NEO4J_HEAP", "2g")
    os.environ.setdefault("LINEAGE_GRAPH_NEO4J_PAGECACHE", "4g")
    settings = bench_settings()
    if settings.managed:
        from lineage_graph.neo4j_server import ManagedNeo4j

        ManagedNeo4j(settings).up()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, Neo4j {settings.neo4j_version} at {settings.bolt_uri} "
          f"(heap {settings.heap_size}, page cache {settings.pagecache_size})")
    with Database(settings) as db, served_api(settings) as url:
        migrate(db)
        wipe(db)
        ingest = IngestService(db, chunk_size=500)
        lineage = LineageService(db, max_depth=20, max_limit=1000, max_nodes=10_000)
        regression = RegressionService(db, max_depth=20, max_limit=1000)
        http = httpx.Client(timeout=120)

        def graphql(query: str, **variables: Any) -> None:
            body = http.post(f"{url}/graphql", json={"query": query,
                                                     "variables": variables}).json()
            assert not body.get("errors"), body["errors"]

        teams = 0
        nodes = 0
        build_seconds = 0.0
        per_team = 0.0
        for target in args.sizes:
            start = time.perf_counter()
            while nodes < target:
                needed = 1 if per_team == 0 else max(1, int((target - nodes) / per_team))
                batch: list[dict[str, Any]] = []
                for team in range(teams, teams + min(needed, 100)):
                    batch.extend(team_events(team))
                result = ingest.ingest_raw([(e, None) for e in batch])
                assert result.count("rejected") == 0
                teams += min(needed, 100)
                nodes = count_nodes(db)
                per_team = nodes / teams
                print(f"\r  building: {nodes:,} nodes, {teams:,} teams", end="", flush=True)
            build_seconds += time.perf_counter() - start
            print(f"\r{nodes:,} nodes ({teams:,} teams, {per_team:.0f} nodes each): built in "
                  f"{build_seconds:.0f} s so far ({nodes / build_seconds:,.0f} nodes/s)")
            sample = random.Random(target).choices(range(teams), k=args.samples)

            def model_ds(t: int) -> str:
                return dataset_id("s3://models", f"team{t:06d}/detector/v2")

            def variant(t: int) -> str:
                return placeholder_scene_variant_id(f"team{t:06d}_warehouse", None, None,
                                                    VARIANTS[0])

            rows = [
                ("lineage depth 10", "GraphQL (HTTP)",
                 timed_each(lambda t: graphql(LINEAGE_QUERY, id=model_ds(t)), sample)),
                ("lineage depth 10", "service (per-hop Cypher)",
                 timed_each(lambda t: lineage.lineage(model_ds(t), Direction.BOTH, 10), sample)),
                ("lineage depth 10", "one Cypher statement",
                 timed_each(lambda t: db.read(lambda tx: tx.run(
                     ONE_STATEMENT_LINEAGE, id=model_ds(t), rels=RELS).consume()), sample)),
                ("regressionSuspects", "GraphQL (HTTP)",
                 timed_each(lambda t: graphql(SUSPECTS_QUERY, model=f"team{t:06d}_detector"),
                            sample)),
                ("regressionSuspects", "service (per-hop Cypher)",
                 timed_each(lambda t: regression.regression_suspects(
                     f"team{t:06d}_detector", "v2", "v1", "mAP"), sample)),
                ("impact depth 10", "GraphQL (HTTP)",
                 timed_each(lambda t: graphql(IMPACT_QUERY, id=variant(t)), sample)),
                ("impact depth 10", "service (per-hop Cypher)",
                 timed_each(lambda t: lineage.lineage(variant(t), Direction.DOWNSTREAM, 10),
                            sample)),
            ]
            answer = len(lineage.lineage(model_ds(sample[0]), Direction.BOTH, 10).nodes)
            print(f"  {'query':<20} {'through':<26} {'p50 ms':>8} {'p95 ms':>8}   "
                  f"(lineage answer: {answer} nodes)")
            for name, through, (p50, p95) in rows:
                print(f"  {name:<20} {through:<26} {p50:8.1f} {p95:8.1f}")


if __name__ == "__main__":
    main()
