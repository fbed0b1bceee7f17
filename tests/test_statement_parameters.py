"""The driver spells out every statement's parameters for its debug log line, logging on or not
(db/parameters.py): a batch's rows must not be turned into text on every write. Watched at
that log line, with the driver's debug logging on, against the real Neo4j."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from lineage_graph.db.connection import Database
from lineage_graph.db.parameters import UnloggedMap, UnloggedRows, unlogged
from lineage_graph.ingest.service import IngestService
from lineage_graph.usd.extract import read_scene
from lineage_graph.usd.store import store_scene
from tests.conftest import SHARED
from tests.events import T0, ds, new_run_id, run_event

# characters: a statement's text (the write statement's is about 16,000) and small parameters
LONGEST_LINE = 30_000


@contextmanager
def driver_debug_lines() -> Iterator[list[str]]:
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger = logging.getLogger("neo4j")
    handler, level = Keep(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_an_event_batch_is_not_spelt_out_for_the_drivers_log(db: Database) -> None:
    events = [run_event("COMPLETE", new_run_id(), ("spark", f"job_{i}"), T0,
                        [ds("s3://lake", f"in_{i}", ["id", "ts", "value"])],
                        [ds("s3://lake", f"out_{i}", ["id", "ts", "value"])])
              for i in range(200)]
    assert len(json.dumps(events)) > 5 * LONGEST_LINE
    with driver_debug_lines() as lines:
        result = IngestService(db, chunk_size=200).ingest_raw([(e, None) for e in events])
    assert result.count("accepted") == 200
    runs = [line for line in lines if " C: RUN " in line]
    assert runs and max(len(line) for line in runs) < LONGEST_LINE


def test_a_scenes_prims_are_not_spelt_out_for_the_drivers_log(db: Database) -> None:
    usd = SHARED / "conformance" / "usd"
    document = read_scene(usd / "kitchen" / "kitchen.usda", asset_root=usd).as_dict()
    with driver_debug_lines() as lines:
        store_scene(db, document)
    runs = [line for line in lines if " C: RUN " in line]
    assert runs
    # a prim row as the driver would spell it
    assert not [line for line in runs if "'path': '/Kitchen/Fridge/Door'" in line]


def test_wrapped_parameters_are_the_same_values_on_the_wire(db: Database) -> None:
    params = unlogged({"rows": [{"a": 1}, {"a": 2}], "map": {"k": [1, 2]}, "n": 3})
    assert isinstance(params["rows"], UnloggedRows) and isinstance(params["map"], UnloggedMap)
    assert repr(params["rows"]) == "<2 rows, not logged>"
    echoed = db.read(lambda tx: tx.run("RETURN $rows AS rows, $map AS map, $n AS n",
                                       params).single(strict=True).data())
    assert echoed == {"rows": [{"a": 1}, {"a": 2}], "map": {"k": [1, 2]}, "n": 3}
