"""regressionSuspects: what is upstream of a candidate model version and not of its baseline,
ranked by the evidence (docs/forensics.md#ranking).

1. Both versions' provenance is walked (versions read, the runs that wrote them, scene
   variants, labeling schema versions, base models).
2. A *suspect* is a node upstream of the candidate and not of the baseline: a scene variant or
   scene version, a dataset version (a changed version of a dataset the baseline also read, or a
   new input), a labeling schema version, a base model; or a job whose code (sql / sourceCode
   facets) differs between the runs that fed each model.
3. Its score is ``0.7 * slice evidence + 0.3 * data share``:
   - slice evidence: the largest relative drop of the metric on a slice *tied* to the suspect
     (the slice's scene variant is the suspect, upstream of it, or downstream of it), capped
     at 1;
   - data share: the part of the candidate's training inputs that came through the suspect
     (by rows when every input reports them in inputStatistics/dataQualityMetrics, else by
     count).
   When the candidate did not regress on the metric, every score is 0: changes are listed but
   no suspect is claimed.
4. Equal scores share a rank.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from lineage_graph.db import forensic_reads as q
from lineage_graph.db.connection import Database
from lineage_graph.errors import InvalidRequestError, NotFoundError
from lineage_graph.forensics.provenance import Provenance, walk_provenance
from lineage_graph.limits import check_limit
from lineage_graph.lineage.names import display_name, step_name

SLICE_WEIGHT = 0.7
SHARE_WEIGHT = 0.3
OVERALL_SLICE = json.dumps({"dimensions": {}, "sceneVariant": None}, sort_keys=True)
# Upstream node kinds that can be suspects by themselves (runs and sessions are containers:
# what changed in them shows as their outputs' versions and their jobs' code).
_SUSPECT_KINDS = {"SCENE_VARIANT", "SCENE", "DATASET_VERSION", "DATASET",
                  "LABELING_SCHEMA_VERSION", "MODEL_VERSION"}
_KIND_ORDER = {kind: i for i, kind in enumerate(
    ["SCENE_VARIANT", "SCENE", "DATASET_VERSION", "DATASET", "LABELING_SCHEMA_VERSION",
     "JOB_CODE", "MODEL_VERSION"])}


@dataclass(frozen=True)
class SliceResult:
    slice_key: str
    dimensions: dict[str, Any]
    scene_variant_id: str | None
    scene_id: str | None
    selections: dict[str, str] | None
    baseline: float
    candidate: float
    drop: float  # relative, > 0 when the candidate is worse

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in sorted(self.dimensions.items())]
        if self.selections is not None:
            parts.append(f"{self.scene_id} " + ",".join(
                f"{k}={v}" for k, v in sorted(self.selections.items())))
        return " ".join(parts) or "overall"


@dataclass
class Suspect:
    kind: str
    node: dict[str, Any]
    score: float
    reason: str
    evidence: list[list[str]]
    slice: SliceResult | None = None
    rank: int = 0
    # The evidence paths as a person reads them: each step's id, kind and name (step_name).
    steps: list[list[dict[str, str]]] = field(default_factory=list)

    @property
    def metric_delta(self) -> float | None:
        return None if self.slice is None else self.slice.candidate - self.slice.baseline


@dataclass
class RegressionReport:
    metric: str
    baseline_value: float
    candidate_value: float
    higher_is_better: bool
    regressed: bool
    suspects: list[Suspect] = field(default_factory=list)
    truncated: bool = False
    # Scene variants upstream of the top-ranked suspects (or suspects themselves): the answer
    # to "which scene variants fed this regression".
    implicated_scene_variants: list[dict[str, Any]] = field(default_factory=list)

    @property
    def delta(self) -> float:
        return self.candidate_value - self.baseline_value


class RegressionService:
    def __init__(self, db: Database, max_depth: int, max_limit: int, max_nodes: int = 10_000):
        self.db = db
        self.max_depth = max_depth
        self.max_limit = max_limit
        self.max_nodes = max_nodes

    def regression_suspects(self, model: str, version: str, baseline: str, metric: str,
                            limit: int = 10, tolerance: float = 0.0) -> RegressionReport:
        limit = check_limit(limit, self.max_limit)
        if tolerance < 0:
            raise InvalidRequestError("tolerance must be 0 or more", field="tolerance")
        candidate_node = self._model(model, version, "version")
        baseline_node = self._model(model, baseline, "baseline")
        cand = self._metrics(candidate_node, metric)
        base = self._metrics(baseline_node, metric)
        higher = next((r["higherIsBetter"] for r in [*cand.values(), *base.values()]
                       if r["higherIsBetter"] is not None), True)
        slices = _compare_slices(cand, base, higher)
        base_value, cand_value = _overall(cand, base, slices, model, version, baseline, metric)
        worse = (base_value - cand_value) if higher else (cand_value - base_value)
        regressed = worse > tolerance

        prov_c = walk_provenance(self.db, candidate_node, self.max_depth, self.max_nodes)
        prov_b = walk_provenance(self.db, baseline_node, self.max_depth, self.max_nodes)
        shares = self._shares(prov_c)
        suspects = [*self._node_suspects(prov_c, prov_b), *_code_suspects(prov_c, prov_b)]
        for suspect in suspects:
            _score(suspect, prov_c, slices, shares, regressed)
            suspect.steps = [_steps(prov_c, path, suspect.node) for path in suspect.evidence]
        _rank(suspects)
        return RegressionReport(
            metric=metric, baseline_value=base_value, candidate_value=cand_value,
            higher_is_better=higher, regressed=regressed, suspects=suspects[:limit],
            truncated=prov_c.truncated or prov_b.truncated,
            implicated_scene_variants=_implicated_variants(prov_c, suspects))

    # -- reads --------------------------------------------------------------------------------

    def _model(self, name: str, version: str, argument: str) -> dict[str, Any]:
        node = self.db.read(lambda tx: q.model_version_node(tx, name, version))
        if node is None:
            raise NotFoundError(f"{argument}: no model version {name}@{version}")
        return node

    def _metrics(self, node: dict[str, Any], metric: str) -> dict[str, dict[str, Any]]:
        found = self.db.read(lambda tx: q.metrics_by_slice(tx, node["nodeId"], metric))
        if not found:
            names = self.db.read(lambda tx: q.metric_names(tx, node["nodeId"]))
            known = ", ".join(sorted(names)) or "none"
            raise NotFoundError(f"metric: model version {node['name']}@{node['version']} has "
                                f"no metric {metric!r} (it has: {known})")
        return {r["sliceKey"]: r for r in found}

    def _shares(self, prov: Provenance) -> dict[str, float]:
        """Each training input's share of the candidate's training data."""
        training_runs = [n for n, (src, via) in prov.reached_from.items()
                         if src == prov.root and via == "TRAINED"]
        inputs: dict[str, float] = {}
        for run in training_runs:
            run_inputs = sorted(prov.parents.get(run, set()))
            rows_read = self._input_rows(prov.nodes[run].get("runId"), run_inputs, prov)
            total = sum(rows_read.values()) if rows_read else float(len(run_inputs))
            for node_id in run_inputs:
                weight = rows_read[node_id] if rows_read else 1.0
                share = weight / total / len(training_runs) if total else 0.0
                inputs[node_id] = inputs.get(node_id, 0.0) + share
        return inputs

    def _input_rows(self, run_id: str | None, inputs: list[str], prov: Provenance
                    ) -> dict[str, float]:
        if run_id is None or not inputs:
            return {}
        found = self.db.read(lambda tx: q.input_row_counts(tx, run_id))
        by_dataset: dict[str, float] = {}
        for row in found:
            count = json.loads(row["payload"]).get("rowCount")
            if isinstance(count, int | float) and count >= 0:
                by_dataset[row["datasetId"]] = float(count)
        out: dict[str, float] = {}
        for node_id in inputs:
            node = prov.nodes[node_id]
            dataset = node.get("datasetId") or node_id
            if dataset not in by_dataset:
                return {}  # rows only when every input reports them
            out[node_id] = by_dataset[dataset]
        return out

    def _node_suspects(self, prov_c: Provenance, prov_b: Provenance) -> list[Suspect]:
        baseline_versions: dict[str, list[str]] = {}  # dataset id / schema name -> versions
        for node in prov_b.nodes.values():
            key = _version_group(node)
            if key is not None:
                baseline_versions.setdefault(key, []).append(str(node.get("version")))
        suspects = []
        for nid, node in prov_c.nodes.items():
            if nid == prov_c.root or nid in prov_b.nodes or node["kind"] not in _SUSPECT_KINDS:
                continue
            group = _version_group(node)
            previous = sorted(baseline_versions.get(group, [])) if group else []
            suspects.append(Suspect(kind=node["kind"], node=node, score=0.0,
                                    reason=_change(node, previous), evidence=[prov_c.path(nid)]))
        return suspects


def _steps(prov: Provenance, path: list[str], suspect: dict[str, Any]
           ) -> list[dict[str, str]]:
    """A path of node ids as readable steps (the last one may be a suspect outside the
    closure: a job whose code changed)."""
    nodes = [prov.nodes.get(nid, suspect if nid == suspect["nodeId"] else None) for nid in path]
    return [{"nodeId": nid, "kind": node["kind"], "name": step_name(node)}
            for nid, node in zip(path, nodes, strict=True) if node is not None]


def _implicated_variants(prov: Provenance, suspects: list[Suspect]) -> list[dict[str, Any]]:
    """Scene variants that are a top-ranked suspect or upstream of one (only when something
    scored: no regression, no claim)."""
    found: dict[str, dict[str, Any]] = {}
    for suspect in suspects:
        if suspect.rank != 1 or suspect.score <= 0:
            continue
        start = suspect.node.get("runNodeId") or suspect.node["nodeId"]
        for nid in {start, *prov.ancestors(start)}:
            node = prov.nodes.get(nid)
            if node is not None and node["kind"] == "SCENE_VARIANT":
                found[nid] = {**node, "stepName": step_name(node)}
    return sorted(found.values(), key=lambda n: n["stepName"])


def _version_group(node: dict[str, Any]) -> str | None:
    if node["kind"] == "DATASET_VERSION":
        return f"dataset:{node.get('datasetId')}"
    if node["kind"] == "LABELING_SCHEMA_VERSION":
        return f"schema:{node.get('name')}"
    if node["kind"] == "SCENE":
        return f"scene:{node.get('sceneId')}"
    if node["kind"] == "MODEL_VERSION":
        return f"model:{node.get('name')}"
    return None


def _change(node: dict[str, Any], previous: list[str]) -> str:
    name = display_name(node)
    kind = node["kind"].replace("_", " ").lower()
    if previous:
        return f"{kind} {name} replaces {', '.join(previous)} used by the baseline"
    return f"{kind} {name} is upstream of the candidate only"


def _code_suspects(prov_c: Provenance, prov_b: Provenance) -> list[Suspect]:
    """Jobs whose runs fed both models but ran different code."""
    baseline_code: dict[str, set[str]] = {}
    for node in prov_b.nodes.values():
        if node["kind"] == "RUN" and node.get("codeDigest") and node.get("jobId"):
            baseline_code.setdefault(node["jobId"], set()).add(node["codeDigest"])
    suspects: dict[str, Suspect] = {}
    for nid, node in prov_c.nodes.items():
        job, code = node.get("jobId"), node.get("codeDigest")
        if node["kind"] != "RUN" or not job or not code or job in suspects:
            continue
        before = baseline_code.get(job)
        if before and code not in before:
            job_node = {"nodeId": job, "kind": "JOB", "name": node.get("jobName"),
                        "namespace": node.get("jobNamespace"), "runNodeId": nid}
            suspects[job] = Suspect(
                kind="JOB_CODE", node=job_node, score=0.0,
                reason=f"job {node.get('jobName')} ran different code "
                       f"({code[:19]}, baseline {', '.join(c[:19] for c in sorted(before))})",
                evidence=[[*prov_c.path(nid), job]])
    return list(suspects.values())


def _compare_slices(cand: dict[str, dict[str, Any]], base: dict[str, dict[str, Any]],
                    higher: bool) -> list[SliceResult]:
    out = []
    for key in sorted(set(cand) & set(base)):
        c, b = cand[key]["value"], base[key]["value"]
        worse = (b - c) if higher else (c - b)
        out.append(SliceResult(
            slice_key=key, dimensions=json.loads(cand[key]["dimensions"] or "{}"),
            scene_variant_id=cand[key]["sceneVariantId"], scene_id=cand[key]["sceneId"],
            selections=json.loads(cand[key]["selections"]) if cand[key]["selections"] else None,
            baseline=b, candidate=c, drop=worse / max(abs(b), 1e-9)))
    return out


def _overall(cand: dict[str, dict[str, Any]], base: dict[str, dict[str, Any]],
             slices: list[SliceResult], model: str, version: str, baseline: str,
             metric: str) -> tuple[float, float]:
    """The slice-less value of each, else the mean over the slices both measured."""
    if OVERALL_SLICE in cand and OVERALL_SLICE in base:
        return float(base[OVERALL_SLICE]["value"]), float(cand[OVERALL_SLICE]["value"])
    if not slices:
        raise InvalidRequestError(
            f"metric: {model}@{version} and {model}@{baseline} share no slice of {metric!r} "
            "to compare", field="metric")
    return (sum(s.baseline for s in slices) / len(slices),
            sum(s.candidate for s in slices) / len(slices))


def _score(suspect: Suspect, prov: Provenance, slices: list[SliceResult],
           shares: dict[str, float], regressed: bool) -> None:
    nid = suspect.node["nodeId"]
    # For a job, the run that fed the candidate stands for it in the closure.
    anchor = suspect.node.get("runNodeId", nid)
    upstream = prov.ancestors(anchor) | {anchor}
    tied = [s for s in slices if s.scene_variant_id is not None and (
        s.scene_variant_id in upstream or anchor in prov.ancestors(s.scene_variant_id))]
    # Only slices that got worse are evidence against a suspect.
    strongest = max((s for s in tied if s.drop > 0), key=lambda s: s.drop, default=None)
    slice_evidence = min(strongest.drop, 1.0) if strongest else 0.0
    share = min(sum(v for k, v in shares.items() if k == anchor or anchor in prov.ancestors(k)),
                1.0)
    suspect.slice = strongest
    suspect.score = round(SLICE_WEIGHT * slice_evidence + SHARE_WEIGHT * share, 6) \
        if regressed else 0.0
    details = [f"{share:.0%} of the training data came through it"]
    if strongest is not None:
        details.insert(0, f"on slice {strongest.describe()} the metric went "
                          f"{strongest.baseline:g} -> {strongest.candidate:g}")
    if not regressed:
        details.append("the candidate did not regress on this metric, so no suspect is claimed")
    suspect.reason = f"{suspect.reason}; " + "; ".join(details)


def _rank(suspects: list[Suspect]) -> None:
    suspects.sort(key=lambda s: (-s.score, _KIND_ORDER.get(s.kind, 99),
                                 display_name(s.node), s.node["nodeId"]))
    previous: float | None = None
    for position, suspect in enumerate(suspects, start=1):
        suspect.rank = position if suspect.score != previous else suspects[position - 2].rank
        previous = suspect.score
