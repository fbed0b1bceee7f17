"""The composition root: the services one process builds once and its HTTP routes and GraphQL
resolvers share (neither owns it, so neither imports the other)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from lineage_graph.auth.keys import ApiKeyService
from lineage_graph.db.connection import Database
from lineage_graph.forensics.diffs import DiffService
from lineage_graph.forensics.regression import RegressionService
from lineage_graph.ingest.durable import DurableIngest, SpoolDrainer
from lineage_graph.ingest.plan_refresh import WritePlanRefresher
from lineage_graph.ingest.service import IngestService
from lineage_graph.ingest.spool import Spool
from lineage_graph.labeling.labels import LabelingSessionService
from lineage_graph.labeling.queries import LabelQueries
from lineage_graph.labeling.schemas import LabelingSchemaService
from lineage_graph.ledger.verify import SharedVerification
from lineage_graph.lineage.service import LineageService
from lineage_graph.marquez.service import MarquezService
from lineage_graph.ml.queries import ModelQueries
from lineage_graph.settings import Settings
from lineage_graph.usage.service import UsageService
from lineage_graph.usd.queries import SceneQueries


@dataclass(frozen=True)
class AppState:
    settings: Settings
    db: Database
    ingest: IngestService
    durable: DurableIngest
    drainer: SpoolDrainer
    plan_refresher: WritePlanRefresher
    lineage: LineageService
    scenes: SceneQueries
    labeling: LabelingSchemaService
    sessions: LabelingSessionService
    labels: LabelQueries
    marquez: MarquezService
    models: ModelQueries
    regression: RegressionService
    diffs: DiffService
    keys: ApiKeyService
    ledger: SharedVerification
    usage: UsageService
    # Ingestion's own threads: GraphQL resolvers and key lookups use the event loop's default
    # pool, so a burst of heavy queries cannot make emitters wait for a thread.
    ingest_pool: ThreadPoolExecutor

    @classmethod
    def build(cls, settings: Settings) -> AppState:
        db = Database(settings)
        lineage = LineageService(db, settings.max_lineage_depth, settings.max_list_limit)
        ingest = IngestService(db, chunk_size=settings.write_chunk_events)
        durable = DurableIngest(ingest, Spool(settings.spool_dir), db)
        return cls(
            settings=settings,
            db=db,
            ingest=ingest,
            durable=durable,
            drainer=SpoolDrainer(durable),
            plan_refresher=WritePlanRefresher(db),
            lineage=lineage,
            scenes=SceneQueries(db, settings.max_list_limit),
            labeling=LabelingSchemaService(db),
            sessions=LabelingSessionService(db),
            labels=LabelQueries(db, settings.max_list_limit),
            marquez=MarquezService(db, lineage, settings.max_lineage_depth,
                                   settings.max_list_limit),
            models=ModelQueries(db, settings.max_list_limit),
            usage=UsageService(db, settings),
            regression=RegressionService(db, settings.max_lineage_depth,
                                         settings.max_list_limit),
            diffs=DiffService(db, lineage),
            keys=ApiKeyService(db),
            ledger=SharedVerification(db),
            ingest_pool=ThreadPoolExecutor(max_workers=settings.ingest_workers,
                                           thread_name_prefix="ingest"),
        )
