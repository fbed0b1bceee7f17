"""DVC pipeline states as OpenLineage events (docs/importers.md#dvc), deterministically.

- A stage is a job (``<stage>``, or ``<folder>:<stage>`` for a dvc.yaml in a sub-folder) in the
  repository's namespace (default ``dvc://<repository folder name>``), with its ``cmd`` as the
  ``sourceCode`` job facet (language ``shell``), so a changed command shows as a code change.
- A *lock state* (the stage's dvc.lock entry: cmd, dep and out hashes, params) is one run, its
  id derived from the state: a stage DVC did not re-run between two revisions is the same run,
  and re-importing sends the same events.
- Deps and outs are datasets named by their path in the repository, pinned to their DVC hash by
  the ``version`` facet, so every revision whose data changed gives a new dataset version.
- Params and the commit ride along in the ``dvcStage`` run facet.
- Events are START and COMPLETE at the time the stage reached the lock state: the commit time of
  the oldest commit back through dvc.lock's history with the same entry (dvc_lock_history), so a
  state gives the same events from any revision. The working tree counts as HEAD when its
  dvc.lock files are HEAD's; uncommitted locks take the newest dvc.lock's modification time.
"""

from __future__ import annotations

import uuid
from typing import Any

import attr
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import dataset_version_dataset, job_type_job, source_code_job
from openlineage.client.generated.base import RunFacet
from openlineage.client.serde import Serde

from lineage_graph import PRODUCER
from lineage_graph.importers.dvc_reader import DvcArtifact, DvcStage, DvcState

_SPEC = "https://lineage-graph.dev/spec/facets/1-0-0"
_RUN_IDS = uuid.UUID("5d0f7f2e-5d38-5f65-9b7c-1f0d7c0a9e42")


@attr.define
class DvcStageRunFacet(RunFacet):
    """The DVC lock state this run was imported from (schema/facets/DvcStageRunFacet.json)."""

    stage: str
    dvcfile: str
    lockDigest: str
    params: dict[str, dict[str, Any]]
    commit: str | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return f"{_SPEC}/DvcStageRunFacet.json#/$defs/DvcStageRunFacet"


def default_namespace(repository_name: str) -> str:
    return f"dvc://{repository_name}"


def dvc_events(states: list[DvcState], namespace: str) -> list[dict[str, Any]]:
    """Every lock state met in ``states`` (in their order) as START and COMPLETE events."""
    events: list[dict[str, Any]] = []
    seen: set[str] = set()
    for state in states:
        for stage in state.stages:
            digest = stage.digest
            run_id = str(uuid.uuid5(_RUN_IDS, f"{namespace}\n{stage.address}\n{digest}"))
            if run_id in seen:
                continue
            seen.add(run_id)
            events.extend(Serde.to_dict(e) for e in _stage_events(state, stage, namespace,
                                                                   run_id, digest))
    return events


def _stage_events(state: DvcState, stage: DvcStage, namespace: str, run_id: str,
                  digest: str) -> list[RunEvent]:
    job = Job(namespace=namespace, name=stage.address, facets={
        "jobType": job_type_job.JobTypeJobFacet(processingType="BATCH", integration="DVC",
                                                jobType="STAGE", producer=PRODUCER),
        "sourceCode": source_code_job.SourceCodeJobFacet(language="shell", sourceCode=stage.cmd,
                                                         producer=PRODUCER)})
    run = Run(runId=run_id, facets={"dvcStage": DvcStageRunFacet(
        stage=stage.name, dvcfile=stage.dvcfile, lockDigest=digest, params=stage.params,
        commit=stage.locked_in or state.commit, producer=PRODUCER)})
    inputs = [InputDataset(namespace=namespace, name=a.path, facets=_version(a))
              for a in stage.deps]
    outputs = [OutputDataset(namespace=namespace, name=a.path, facets=_version(a))
               for a in stage.outs]
    at = (stage.since or state.time).isoformat()
    return [RunEvent(eventType=kind, eventTime=at, producer=PRODUCER, run=run, job=job,
                     inputs=inputs, outputs=outputs if kind == RunState.COMPLETE else [])
            for kind in (RunState.START, RunState.COMPLETE)]


def _version(artifact: DvcArtifact) -> dict[str, Any]:
    return {"version": dataset_version_dataset.DatasetVersionDatasetFacet(
        datasetVersion=artifact.hash_value, producer=PRODUCER)}
