"""The write plan and the Cypher that applies it share one declaration of each row list
(lineage_graph/db/lineage_rows.py): every key a statement reads from its rows is declared, every
declared key is read, and the plan builds exactly the declared keys. No Neo4j needed: a
statement reading a key the plan does not send would silently read null."""

from __future__ import annotations

import json
import re
from typing import Any, is_typeddict

import pytest

from lineage_graph.db import lineage_rows as rows
from lineage_graph.db import lineage_writes as w
from lineage_graph.ingest.plan import WritePlan
from lineage_graph.openlineage.parse import parse_event_text
from tests.events import every_row_kind

# Each statement of the plan, the rows it UNWINDs, and the nested rows it reads under another
# name (a variable bound to a row's list or map).
STATEMENTS: list[tuple[str, str, type, dict[str, type]]] = [
    ("MERGE_NAMESPACES", "namespaces", rows.NamespaceRow, {}),
    ("MERGE_JOBS", "jobs", rows.NamedNodeRow, {}),
    ("MERGE_DATASETS", "datasets", rows.NamedNodeRow, {}),
    ("MERGE_RUNS", "runs", rows.RunRow, {}),
    ("MERGE_RUN_JOBS", "runJobs", rows.RunJobRow, {}),
    ("MERGE_PARENTS", "parents", rows.ParentRow, {}),
    ("MERGE_JOB_READS", "jobReads", rows.JobEdgeRow, {}),
    ("MERGE_JOB_WRITES", "jobWrites", rows.JobEdgeRow, {}),
    ("MERGE_VERSIONS", "versions", rows.VersionRow, {}),
    ("MERGE_RUN_READS", "runReads", rows.RunReadRow, {}),
    ("MERGE_RUN_WRITES", "runWrites", rows.RunWriteRow, {}),
    ("MERGE_FACETS", "facets", rows.FacetRow, {}),
    ("MERGE_FIELDS", "fields", rows.FieldRow, {}),
    ("MERGE_COLUMN_LINEAGE", "columnLineage", rows.ColumnLineageRow, {}),
    ("LINK_SCENE_VARIANTS", "sceneLinks", rows.SceneLinkRow, {}),
    ("MERGE_ALIASES", "aliases", rows.AliasRow, {}),
    ("MERGE_MODELS", "models", rows.ModelRow, {"t": rows.TensorRow}),
    ("MERGE_MODEL_LINKS", "modelLinks", rows.ModelLinkRow, {}),
    ("LINK_LABELING_SCHEMAS", "schemaLinks", rows.SchemaLinkRow, {"ref": rows.SchemaVersionRef}),
    ("MERGE_EVALUATIONS", "evaluations", rows.EvaluationRow,
     {"metric": rows.MetricRow, "ref": rows.VariantRef}),
    ("RESOLVE_READ_VERSIONS", "versionedDatasets", rows.VersionedDatasetRow, {}),
]


def _read(cypher: str, variable: str) -> set[str]:
    """The keys a statement reads from ``variable`` (``variable.key``)."""
    return set(re.findall(r"(?<![\w.$])" + variable + r"\.(\w+)", cypher))


def _keys(row_type: type) -> set[str]:
    assert is_typeddict(row_type)
    return set(row_type.__annotations__) | {
        k for base in row_type.__orig_bases__ if is_typeddict(base)  # type: ignore[attr-defined]
        for k in base.__annotations__}


@pytest.mark.parametrize(("statement", "parameter", "row_type", "nested"), STATEMENTS,
                         ids=[s[0] for s in STATEMENTS])
def test_a_statement_reads_exactly_the_declared_keys(
        statement: str, parameter: str, row_type: type, nested: dict[str, type]) -> None:
    cypher = getattr(w, statement)
    assert f"UNWIND $batch.{parameter} AS row" in cypher
    read = _read(cypher, "row")
    if "row AS ref" in cypher:  # the row is itself a scene variant reference (_VARIANT_OF_REF)
        read |= _read(cypher, "ref")
    assert read == _keys(row_type), statement
    for variable, nested_type in nested.items():
        assert _read(cypher, variable) == _keys(nested_type), f"{statement}: {variable}"


def test_a_scene_variant_reference_is_read_as_declared() -> None:
    """_VARIANT_OF_REF reads a usdScene facet's or an evaluation slice's reference as ``ref``."""
    assert _read(w._VARIANT_OF_REF, "ref") == _keys(rows.VariantRef)


def test_every_row_list_of_the_plan_is_applied() -> None:
    """Each declared row list is UNWOUND by one statement of APPLY_PLAN (events go through the
    ledger), and touchedRunIds is read by the version resolution."""
    unwound = {parameter for _, parameter, _, _ in STATEMENTS} | {"touchedRunIds"}
    assert set(rows.PLAN_KEYS) == unwound
    for key in rows.PLAN_KEYS:
        assert f"$batch.{key}" in w.APPLY_PLAN, key


def test_the_plan_sends_the_declared_keys() -> None:
    """A plan built from a realistic event sends rows with exactly the declared keys: the
    runtime side of what mypy checks on the plan's literals."""
    plan = WritePlan()
    for event in every_row_kind():
        plan.add(parse_event_text(json.dumps(event)))
    built: dict[str, Any] = dict(plan.parameters())
    assert set(built) == set(rows.PlanRows.__annotations__)
    declared = {parameter: row_type for _, parameter, row_type, _ in STATEMENTS}
    for parameter, row_type in declared.items():
        assert built[parameter], f"the batch exercises no {parameter} row"
        for row in built[parameter]:
            assert set(row) == _keys(row_type), parameter


def test_the_check_sees_an_undeclared_key() -> None:
    """The comparison above can fail: a statement reading row.colour is caught."""
    assert _read("UNWIND $batch.jobs AS row MERGE (j {c: row.colour, n: row.nodeId})", "row") == {
        "colour", "nodeId"}
    assert _read("WITH known.row.x, $row.y", "row") == set()
