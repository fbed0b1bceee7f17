"""What every resolver receives: the services, built once per process."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import strawberry

from lineage_graph.forensics.diffs import DiffService
from lineage_graph.forensics.regression import RegressionService
from lineage_graph.ingest.ledger import LedgerReport as LedgerReportResult
from lineage_graph.labeling.labels import LabelingSessionService
from lineage_graph.labeling.schemas import LabelingSchemaService
from lineage_graph.lineage.service import LineageService
from lineage_graph.ml.queries import ModelQueries
from lineage_graph.usd.queries import SceneQueries

T = TypeVar("T")


@dataclass(frozen=True)
class Services:
    lineage: LineageService
    scenes: SceneQueries
    labeling: LabelingSchemaService
    sessions: LabelingSessionService
    models: ModelQueries
    regression: RegressionService
    diffs: DiffService
    ledger: Callable[[], LedgerReportResult]


def services(info: strawberry.Info[Any, Any]) -> Services:
    found: Services = info.context["services"]
    return found


async def off_loop(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking (Neo4j) call in a worker thread so the event loop keeps serving."""
    return await asyncio.to_thread(fn, *args, **kwargs)
