"""GraphQL types of the forensic queries."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from lineage_graph.forensics.diffs import LineageDiff as LineageDiffResult
from lineage_graph.forensics.diffs import SceneVariantDiff as SceneVariantDiffResult
from lineage_graph.forensics.regression import RegressionReport as Report
from lineage_graph.forensics.regression import SliceResult
from lineage_graph.forensics.regression import Suspect as SuspectResult
from lineage_graph.graphql.scene_types import SceneVariant
from lineage_graph.graphql.types import LineageNode, NodeKind
from lineage_graph.lineage.names import display_name


def forensic_node(node: dict[str, Any]) -> LineageNode:
    return LineageNode(id=strawberry.ID(node["nodeId"]), kind=NodeKind(node["kind"]),
                       namespace=node.get("namespace") or node.get("datasetNamespace"),
                       name=display_name(node))


@strawberry.type(description="A slice a metric was measured on, compared between two models.")
class SliceComparison:
    dimensions: JSON
    scene_variant_id: strawberry.ID | None
    selections: JSON | None = strawberry.field(description="The scene variant's selections.")
    baseline_value: float
    candidate_value: float

    @classmethod
    def from_result(cls, s: SliceResult) -> SliceComparison:
        return cls(dimensions=cast(JSON, s.dimensions),
                   scene_variant_id=strawberry.ID(s.scene_variant_id)
                   if s.scene_variant_id else None,
                   selections=cast(JSON, s.selections), baseline_value=s.baseline,
                   candidate_value=s.candidate)


@strawberry.type(description="One step of an evidence path, as a person reads it.")
class EvidenceStep:
    id: strawberry.ID
    kind: str
    name: str = strawberry.field(description="e.g. `run train_detector (2026-03-01)`.")


@strawberry.type(description="Something upstream of the candidate and not of the baseline.")
class Suspect:
    rank: int = strawberry.field(description="1 is the most likely; equal scores share a rank.")
    kind: str = strawberry.field(description="SCENE_VARIANT, SCENE, DATASET_VERSION, DATASET, "
                                             "LABELING_SCHEMA_VERSION, JOB_CODE or "
                                             "MODEL_VERSION.")
    node: LineageNode
    score: float = strawberry.field(description="0..1; see docs/forensics.md#ranking.")
    reason: str
    slice: SliceComparison | None = strawberry.field(
        description="The tied slice with the largest drop, if any.")
    metric_delta: float | None = strawberry.field(
        description="candidate - baseline on that slice.")
    evidence: list[list[strawberry.ID]] = strawberry.field(
        description="Paths of node ids from the candidate model version to the suspect.")
    evidence_paths: list[list[EvidenceStep]] = strawberry.field(
        description="The same paths, each step with its kind and a readable name.")

    @strawberry.field(description="Each evidence path in one line, from the model back to the "
                                  "suspect: `model detector v2 <- run train_detector "
                                  "(2026-03-01) <- dataset version ...`.")
    def evidence_text(self) -> list[str]:
        return [" <- ".join(step.name for step in path) for path in self.evidence_paths]

    @classmethod
    def from_result(cls, s: SuspectResult) -> Suspect:
        return cls(rank=s.rank, kind=s.kind, node=forensic_node(s.node), score=s.score,
                   reason=s.reason,
                   slice=SliceComparison.from_result(s.slice) if s.slice else None,
                   metric_delta=s.metric_delta,
                   evidence=[[strawberry.ID(n) for n in path] for path in s.evidence],
                   evidence_paths=[[EvidenceStep(id=strawberry.ID(step["nodeId"]),
                                                 kind=step["kind"], name=step["name"])
                                    for step in path] for path in s.steps])


@strawberry.type(description="Candidate vs baseline on one metric, and the ranked suspects.")
class RegressionReport:
    metric: str
    baseline_value: float
    candidate_value: float
    delta: float = strawberry.field(description="candidateValue - baselineValue.")
    higher_is_better: bool
    regressed: bool = strawberry.field(
        description="Whether the candidate is worse by more than the tolerance; when false, "
                    "every suspect scores 0.")
    suspects: list[Suspect]
    truncated: bool
    implicated_scene_variants: list[EvidenceStep] = strawberry.field(
        description="Scene variants that are a top-ranked suspect or upstream of one: which "
                    "scene variants fed the regression (empty when it did not regress).")

    @classmethod
    def from_result(cls, r: Report) -> RegressionReport:
        return cls(metric=r.metric, baseline_value=r.baseline_value,
                   candidate_value=r.candidate_value, delta=r.delta,
                   higher_is_better=r.higher_is_better, regressed=r.regressed,
                   suspects=[Suspect.from_result(s) for s in r.suspects],
                   truncated=r.truncated,
                   implicated_scene_variants=[
                       EvidenceStep(id=strawberry.ID(v["nodeId"]), kind=v["kind"],
                                    name=v["stepName"]) for v in r.implicated_scene_variants])


@strawberry.type(description="Version-accurate upstream closures of two nodes compared.")
class LineageDiff:
    only_in_a: list[LineageNode]
    only_in_b: list[LineageNode]
    common: int
    truncated: bool

    @classmethod
    def from_result(cls, d: LineageDiffResult) -> LineageDiff:
        return cls(only_in_a=[forensic_node(n) for n in d.only_in_a],
                   only_in_b=[forensic_node(n) for n in d.only_in_b],
                   common=d.common, truncated=d.truncated)


@strawberry.type
class SelectionChange:
    variant_set: str
    a: str | None = strawberry.field(description="The option in a (null: set absent).")
    b: str | None


@strawberry.type(description="Two scene variants compared: selections and composed prims.")
class SceneVariantDiff:
    a: SceneVariant
    b: SceneVariant
    selection_changes: list[SelectionChange]
    prims_only_in_a: list[str]
    prims_only_in_b: list[str]
    common_prims: int
    prims_compared: bool = strawberry.field(description=(
        "False when either variant has no stored prims (a placeholder, or a scene stored "
        "with --prims summary): the prim lists are then empty, not a finding."))

    @classmethod
    def from_result(cls, d: SceneVariantDiffResult) -> SceneVariantDiff:
        return cls(a=SceneVariant.from_row(d.a), b=SceneVariant.from_row(d.b),
                   selection_changes=[SelectionChange(variant_set=c.variant_set, a=c.a, b=c.b)
                                      for c in d.selection_changes],
                   prims_only_in_a=d.prims_only_in_a, prims_only_in_b=d.prims_only_in_b,
                   common_prims=d.common_prims, prims_compared=d.prims_compared)


@strawberry.type(description="The result of recomputing the event record's hash chain.")
class LedgerReport:
    ok: bool
    checked: int = strawberry.field(description="Records verified before the first bad one.")
    first_bad_sequence: int | None
    reason: str | None


@strawberry.type(description="The event record at a glance, for dashboards (no verification "
                             "is run: that is verifyLedger, with the admin scope).")
class LedgerStatus:
    records: int = strawberry.field(description="Records in the ledger (its head's sequence).")
    last_verified_at: datetime | None = strawberry.field(
        description="When this API process last finished a verification (null: not since it "
                    "started).")
    last_verification: LedgerReport | None
