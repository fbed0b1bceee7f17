"""Scene benchmark: extraction and storage of a generated USD scene.

    python benchmarks/scenes.py [--prims 100000] [--quick]

Generates a scene of about `--prims` prims under /World with three variant sets on the root
prim (lighting: 2 options, layout: 2, wear: 2; each option adds or removes a few prims), then
measures, in one run against the managed "bench" Neo4j (Bolt 7689; or NEO4J_URI; the database
is WIPED):

- extraction: `read_scene(..., all_variants=True)`, prims composed per second over all 8
  scene variants;
- raw ceiling: the same nodes and edges written with plain ``UNWIND ... CREATE`` Cypher in
  chunks of the platform's size, rows prepared outside the timed region: what storage could
  reach if it did nothing but write;
- storage: `store_scene` (validation, content hash, the record, staged chunks, publication),
  stored prims per second, and its ratio to the raw ceiling;
- store size: growth of the database folder on disk per stored prim (managed instance only);
- granularity: the same scene stored with ``--prims summary`` (counts per variant, no prims)
  next to the full store: time, growth on disk, the record's size, nodes and relationships.

``--quick`` runs a 20,000-prim scene (about a minute). The last line printed is one JSON object:
``{"benchmark": "scenes", "store_ratio": ..., "summary_time_ratio": ...,
"summary_disk_ratio": ...}`` (the ratios: summary over full).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.ingest import bench_neo4j, machine_line, wipe
from lineage_graph.db.connection import Database
from lineage_graph.db.migrations import migrate
from lineage_graph.settings import Settings
from lineage_graph.usd.extract import read_scene
from lineage_graph.usd.staging import DEFAULT_CHUNK_PRIMS
from lineage_graph.usd.store import scene_parameters, store_scene
from lineage_graph.usd.summary import summarize


def footprint(db: Database) -> dict[str, int]:
    """What a stored scene costs in the database: the scene records' text, nodes, edges."""
    [row] = db.read(lambda tx: tx.run(
        "MATCH (e:Event {recordType: 'scene'}) WITH sum(size(e.raw)) AS record "
        "RETURN record, COUNT { MATCH (n) WHERE NOT n:Event AND NOT n:Sequence } AS nodes, "
        "COUNT { ()-[]->() } AS relationships").data())
    return {k: int(v or 0) for k, v in row.items()}

# The raw ceiling: the nodes and edges a scene version is, CREATEd with no checks at all.
RAW_VERSION = """
MERGE (scene:Scene {sceneId: $version.sceneId})
CREATE (sv:SceneVersion:LineageNode {nodeId: $version.nodeId, sceneId: $version.sceneId,
        version: $version.version, contentHash: $version.contentHash,
        rootLayer: $version.rootLayer, rootPrim: $version.rootPrim, name: $version.name,
        missingAssets: $version.missingAssets, defaultSelections: $version.defaultSelections})
CREATE (scene)-[:HAS_VERSION]->(sv)
"""
RAW_PRIMS = """
MATCH (sv:SceneVersion {nodeId: $nodeId})
UNWIND $prims AS row
CREATE (prim:Prim {primId: row.primId, path: row.path, type: row.type, kind: row.kind,
                   instanceable: row.instanceable, instanceProxy: row.instanceProxy})
CREATE (sv)-[:HAS_PRIM {inDefault: row.inDefault}]->(prim)
"""
RAW_REST = """
MATCH (sv:SceneVersion {nodeId: $version.nodeId})
CALL (sv) { UNWIND $layers AS row MERGE (layer:Layer {sha256: row.sha256})
            CREATE (sv)-[:USES_LAYER {path: row.path}]->(layer) }
CALL (sv) { UNWIND $arcs AS row CREATE (arc:CompositionArc {arcId: row.arcId, kind: row.kind})
            CREATE (sv)-[:HAS_ARC]->(arc) }
CALL (sv) { UNWIND $variantSets AS row
            CREATE (vs:VariantSet {variantSetId: row.variantSetId, name: row.name})
            CREATE (sv)-[:HAS_VARIANT_SET]->(vs)
            WITH vs, row UNWIND row.options AS option
            CREATE (vs)-[:HAS_OPTION]->(:VariantOption {optionId: option.optionId,
                                                        name: option.name}) }
CALL (sv) { UNWIND $variants AS row
            CREATE (v:SceneVariant:LineageNode {nodeId: row.nodeId, name: row.name,
                                                selections: row.selections})
            CREATE (sv)-[:HAS_VARIANT]->(v)
            WITH v, row
            CALL (v, row) { UNWIND row.optionIds AS id MATCH (o:VariantOption {optionId: id})
                            CREATE (v)-[:SELECTS]->(o) }
            CALL (v, row) { UNWIND row.adds AS id MATCH (p:Prim {primId: id})
                            CREATE (v)-[:ADDS_PRIM]->(p) }
            CALL (v, row) { UNWIND row.removes AS id MATCH (p:Prim {primId: id})
                            CREATE (v)-[:REMOVES_PRIM]->(p) } }
"""


def raw_store(db: Database, params: dict[str, object]) -> None:
    prims = params["prims"]
    assert isinstance(prims, list)
    node_id = params["version"]["nodeId"]  # type: ignore[index]
    db.write(lambda tx: tx.run(RAW_VERSION, params).consume())
    for start in range(0, len(prims), DEFAULT_CHUNK_PRIMS):
        chunk = prims[start:start + DEFAULT_CHUNK_PRIMS]
        db.write(lambda tx, c=chunk: tx.run(RAW_PRIMS, nodeId=node_id, prims=c).consume())
    db.write(lambda tx: tx.run(RAW_REST, params).consume())


def write_scene(path: Path, prims: int) -> int:
    """Write a .usda with about `prims` prims; returns the default composition's prim count."""
    groups = max(1, prims // 100)
    lines = [
        "#usda 1.0",
        '(\n    defaultPrim = "World"\n    customLayerData = {\n'
        '        string sceneId = "bench_city"\n    }\n)',
        'def Xform "World" (',
        '    variants = {\n        string lighting = "day"\n        string layout = "a"\n'
        '        string wear = "clean"\n    }',
        '    prepend variantSets = ["lighting", "layout", "wear"]',
        ")",
        "{",
    ]
    for g in range(groups):
        lines.append(f'    def Xform "Block_{g}"\n    {{')
        for i in range(99):
            lines.append(f'        def Cube "Item_{i}"\n        {{\n        }}')
        lines.append("    }")
    lines.append('    variantSet "lighting" = {')
    lines.append('        "day" {\n            def DomeLight "Sky"\n            {\n            }\n'
                 "        }")
    lines.append('        "night" {')
    for i in range(20):
        lines.append(f'            def SphereLight "Lamp_{i}"\n            {{\n            }}')
    lines.append("        }\n    }")
    lines.append('    variantSet "layout" = {\n        "a" {\n        }\n        "b" {')
    for i in range(10):
        lines.append(f'            def Cube "Barrier_{i}"\n            {{\n            }}')
    lines.append("        }\n    }")
    lines.append('    variantSet "wear" = {\n        "clean" {\n        }\n        "worn" {')
    lines.append('            over "Block_0"\n            {')
    for i in range(30):
        lines.append(f'                def Cube "Decal_{i}"\n                {{\n'
                     "                }")
    lines.append("            }\n        }\n    }")
    lines.append("}")
    path.write_text("\n".join(lines) + "\n")
    return 1 + groups * 100 + 1  # World, blocks with items, Sky


def fresh_database_size(settings: Settings) -> int:
    """Stop the managed server, delete its user database (Neo4j recreates it empty at start),
    start it, stop it again so everything is flushed, and return the store's size on disk."""
    import shutil

    from lineage_graph.neo4j_server import ManagedNeo4j

    manager = ManagedNeo4j(settings)
    manager.down()
    for sub in ("databases", "transactions"):
        shutil.rmtree(manager.dir / "data" / sub / "neo4j", ignore_errors=True)
    manager.up(progress=False)
    return flushed_size(settings)


def flushed_size(settings: Settings) -> int:
    from lineage_graph.neo4j_server import ManagedNeo4j, managed_disk_usage

    manager = ManagedNeo4j(settings)
    manager.down()  # a clean shutdown checkpoints: the files hold every record
    usage = managed_disk_usage(settings)
    manager.up(progress=False)
    assert usage is not None
    return usage.store_bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prims", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="a 20,000-prim scene")
    args = parser.parse_args()
    if args.quick:
        args.prims = 20_000
    settings = bench_neo4j()
    print(machine_line(settings))
    with tempfile.TemporaryDirectory() as tmp:
        scene = Path(tmp) / "bench_city.usda"
        started = time.perf_counter()
        write_scene(scene, args.prims)
        print(f"generated {scene.stat().st_size / 1e6:.1f} MB of usda in "
              f"{time.perf_counter() - started:.1f} s")

        started = time.perf_counter()
        doc = read_scene(scene, all_variants=True)
        extract_s = time.perf_counter() - started
        composed = sum(len(v.prims) for v in doc.variants) + len(doc.default_prims)
        print(f"extraction: {len(doc.variants)} scene variants, {len(doc.default_prims)} prims "
              f"in the default composition, {composed} prims composed in {extract_s:.1f} s "
              f"= {composed / extract_s:,.0f} prims/s")

        data = doc.as_dict()
        before = fresh_database_size(settings) if settings.managed else 0
        with Database(settings) as db:
            migrate(db)
            wipe(db)
            from lineage_graph.usd import record
            from lineage_graph.usd.document import validate_scene_document

            params = scene_parameters(record.compact(
                validate_scene_document(data)))
            started = time.perf_counter()
            raw_store(db, params)
            raw_s = time.perf_counter() - started
            raw_rate = len(params["prims"]) / raw_s
            print(f"raw ceiling: {len(params['prims'])} prims CREATEd in chunks of "
                  f"{DEFAULT_CHUNK_PRIMS} in {raw_s:.1f} s = {raw_rate:,.0f} prims/s")
            wipe(db)
            started = time.perf_counter()
            stored = store_scene(db, data)
            store_s = time.perf_counter() - started
            store_rate = stored.prims / store_s
            print(f"storage: {stored.prims} prims (stored once), {stored.variants} scene "
                  f"variants in {store_s:.1f} s = {store_rate:,.0f} prims/s "
                  f"({store_rate / raw_rate:.1%} of the raw ceiling; goal >= 50%)")
            [row] = db.read(lambda tx: tx.run(
                "MATCH (:SceneVariant)-[r:ADDS_PRIM|REMOVES_PRIM]->() RETURN count(r) AS n"
            ).data())
            print(f"differences stored: {row['n']} ADDS_PRIM/REMOVES_PRIM edges "
                  f"(vs {composed - len(doc.default_prims)} prims if every variant stored all)")
            again = time.perf_counter()
            store_scene(db, data)
            print(f"re-ingest of the unchanged scene: {time.perf_counter() - again:.1f} s")
            ratio = store_rate / raw_rate
            full = footprint(db)
        grown = 0
        if settings.managed:
            grown = flushed_size(settings) - before
            print(f"store size: the database grew {grown / 1e6:.1f} MB on disk = "
                  f"{grown / max(1, stored.prims):,.0f} bytes per stored prim (everything the "
                  "scene wrote: prims, edges, variants, layers, arcs, indexes)")

        # Granularity: the same scene as a summary (counts per variant, no prims).
        before = fresh_database_size(settings) if settings.managed else 0
        with Database(settings) as db:
            migrate(db)
            wipe(db)
            started = time.perf_counter()
            store_scene(db, summarize(data))
            summary_s = time.perf_counter() - started
            summary = footprint(db)
        summary_grown = flushed_size(settings) - before if settings.managed else 0
    print("granularity, the same scene and variants (--prims full | summary):")
    for name, seconds, disk, cost in (("full", store_s, grown, full),
                                      ("summary", summary_s, summary_grown, summary)):
        print(f"  {name:8} store {seconds:6.2f} s, disk {disk / 1e6:6.1f} MB, record "
              f"{cost['record'] / 1e6:6.2f} MB, {cost['nodes']:,} nodes, "
              f"{cost['relationships']:,} relationships")
    print("  summary keeps layers, arcs, variant sets, variants and per composition the prim "
          "count, counts by type and prims added/removed; it loses which prims (paths, kinds, "
          "instancing), so prim-level queries have no answer")
    print(json.dumps({"benchmark": "scenes", "store_ratio": round(ratio, 3),
                      "summary_time_ratio": round(summary_s / store_s, 4),
                      "summary_disk_ratio": round(summary_grown / grown, 4) if grown else None}))


if __name__ == "__main__":
    main()
