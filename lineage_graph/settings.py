"""The one settings object, read from the environment.

Every entry point (API server, CLI, tests, benchmarks) builds its configuration here, so an
operator has a single table of variables to look at (documented in docs/configuration.md).
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

NEO4J_VERSION = "5.26.30"  # latest 5.26 LTS patch on Maven Central; runs on Java 17
KAFKA_VERSION = "4.1.1"  # Apache Kafka 4.1 (KRaft only); its broker runs on Java 17


def _switch_interval(env: Mapping[str, str], default: int) -> int:
    """LINEAGE_GRAPH_THREAD_SWITCH_INTERVAL_US: 0 (or less: Python's own) or 100 to 100,000
    microseconds. Shorter would make threads hand the GIL over constantly; longer lets a busy
    thread keep a waiting one (the event loop) for a tenth of a second."""
    name = "LINEAGE_GRAPH_THREAD_SWITCH_INTERVAL_US"
    value = _int(env, name, default)
    if 0 < value < 100 or value > 100_000:
        raise ValueError(f"{name} must be 0 (Python's own interval) or 100 to 100000 "
                         f"microseconds, got {value}")
    return value


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


def _budget(env: Mapping[str, str], name: str) -> int | None:
    """A positive integer, or None when unset (no budget)."""
    value = _int(env, name, 0)
    if value < 0:
        raise ValueError(f"{name} must be a positive integer (unset: no budget), got {value}")
    return value or None


@dataclass(frozen=True)
class Settings:
    """Configuration of one lineage-graph process.

    ``neo4j_uri`` set means "use that Neo4j and never download or start one"; unset means the
    managed local Neo4j under ``home``.
    """

    neo4j_uri: str | None = None
    neo4j_user: str = "neo4j"
    neo4j_password: str | None = None
    neo4j_database: str = "neo4j"
    home: Path = field(default_factory=lambda: Path.home() / ".local/share/lineage-graph")
    instance: str = "default"
    bolt_port: int = 7687
    http_port: int = 7474
    heap_size: str = "1g"
    pagecache_size: str = "512m"
    # How much transaction log the managed Neo4j keeps beyond what recovery needs (Neo4j's
    # retention-policy syntax). The event record lives in the store, and Community has no
    # incremental backup to feed, so old logs only cost disk (Neo4j's default: 2 days).
    tx_log_retention: str = "128M size"
    neo4j_version: str = NEO4J_VERSION
    api_host: str = "127.0.0.1"
    api_port: int = 5000
    max_lineage_depth: int = 20
    max_list_limit: int = 1000
    max_batch_events: int = 10_000
    max_body_bytes: int = 64 * 1024 * 1024
    write_chunk_events: int = 100
    # Python's collector in long-running processes (gc_tuning.py); 0 leaves it as Python sets it.
    gc_young_threshold: int = 10_000
    # How soon a thread waiting for the GIL gets it in those processes (process_tuning.py), in
    # microseconds; 0 leaves Python's 5 ms.
    thread_switch_interval_us: int = 500
    ingest_workers: int = 4
    neo4j_retry_seconds: int = 15
    spool_dir_override: Path | None = None
    auth: str = "auto"  # auto: on unless the API binds a loopback address; on; off
    query_timeout_seconds: float = 30.0
    graphql_max_depth: int = 15
    graphql_max_aliases: int = 30
    graphql_max_tokens: int = 5000
    graphql_max_bytes: int = 1024 * 1024
    # Host names (besides loopback ones) the API answers to when authentication is off: the
    # Host header is checked so a DNS-rebinding page cannot reach an unauthenticated API.
    allowed_hosts: tuple[str, ...] = ()
    # Cost budgets (docs/costs.md): records received per day, and bytes of the managed store;
    # None: no budget. Exceeded budgets are gauges on /metrics and warnings on /healthz.
    budget_records_per_day: int | None = None
    budget_store_bytes: int | None = None
    # The managed local Kafka broker (`lineage-graph kafka up`: development and tests; a team
    # points `consume --bootstrap-servers` at its own Kafka).
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    kafka_heap: str = "512m"
    kafka_version: str = KAFKA_VERSION

    @property
    def managed(self) -> bool:
        return self.neo4j_uri is None

    @property
    def instance_dir(self) -> Path:
        return self.home / "instances" / self.instance

    @property
    def kafka_instance_dir(self) -> Path:
        return self.home / "kafka" / "instances" / self.instance

    @property
    def loopback(self) -> bool:
        return is_loopback_host(self.api_host)

    @property
    def auth_enabled(self) -> bool:
        """API keys are required unless the API binds loopback only and auth is not forced on.
        Turning auth off for a non-loopback address is refused."""
        if self.auth == "on":
            return True
        if self.auth == "off":
            if not self.loopback:
                raise ValueError(f"LINEAGE_GRAPH_AUTH=off is only allowed when binding a loopback "
                                 f"address, not {self.api_host}")
            return False
        return not self.loopback

    @property
    def spool_dir(self) -> Path:
        """Where accepted events wait while Neo4j is unreachable (LINEAGE_GRAPH_SPOOL_DIR)."""
        return self.spool_dir_override or self.home / "spool" / self.instance

    @property
    def bolt_uri(self) -> str:
        return self.neo4j_uri or f"bolt://127.0.0.1:{self.bolt_port}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        defaults = cls()
        home = e.get("LINEAGE_GRAPH_HOME")
        return cls(
            neo4j_uri=e.get("NEO4J_URI") or None,
            neo4j_user=e.get("NEO4J_USER") or defaults.neo4j_user,
            neo4j_password=e.get("NEO4J_PASSWORD") or None,
            neo4j_database=e.get("NEO4J_DATABASE") or defaults.neo4j_database,
            home=Path(home).expanduser() if home else defaults.home,
            instance=e.get("LINEAGE_GRAPH_NEO4J_INSTANCE") or defaults.instance,
            bolt_port=_int(e, "LINEAGE_GRAPH_NEO4J_BOLT_PORT", defaults.bolt_port),
            http_port=_int(e, "LINEAGE_GRAPH_NEO4J_HTTP_PORT", defaults.http_port),
            heap_size=e.get("LINEAGE_GRAPH_NEO4J_HEAP") or defaults.heap_size,
            pagecache_size=e.get("LINEAGE_GRAPH_NEO4J_PAGECACHE") or defaults.pagecache_size,
            tx_log_retention=_retention(e, "LINEAGE_GRAPH_NEO4J_TX_LOG_RETENTION",
                                        defaults.tx_log_retention),
            neo4j_version=e.get("LINEAGE_GRAPH_NEO4J_VERSION") or defaults.neo4j_version,
            api_host=e.get("LINEAGE_GRAPH_HOST") or defaults.api_host,
            api_port=_int(e, "LINEAGE_GRAPH_PORT", defaults.api_port),
            max_lineage_depth=_int(e, "LINEAGE_GRAPH_MAX_DEPTH", defaults.max_lineage_depth),
            max_list_limit=_int(e, "LINEAGE_GRAPH_MAX_LIMIT", defaults.max_list_limit),
            max_batch_events=_int(e, "LINEAGE_GRAPH_MAX_BATCH_EVENTS", defaults.max_batch_events),
            max_body_bytes=_int(e, "LINEAGE_GRAPH_MAX_BODY_BYTES", defaults.max_body_bytes),
            write_chunk_events=_int(e, "LINEAGE_GRAPH_WRITE_CHUNK", defaults.write_chunk_events),
            gc_young_threshold=_int(e, "LINEAGE_GRAPH_GC_YOUNG_THRESHOLD",
                                    defaults.gc_young_threshold),
            thread_switch_interval_us=_switch_interval(e, defaults.thread_switch_interval_us),
            ingest_workers=_int(e, "LINEAGE_GRAPH_INGEST_WORKERS", defaults.ingest_workers),
            neo4j_retry_seconds=_int(e, "LINEAGE_GRAPH_NEO4J_RETRY_SECONDS",
                                     defaults.neo4j_retry_seconds),
            spool_dir_override=Path(e["LINEAGE_GRAPH_SPOOL_DIR"]).expanduser()
            if e.get("LINEAGE_GRAPH_SPOOL_DIR") else None,
            auth=_choice(e, "LINEAGE_GRAPH_AUTH", ("auto", "on", "off"), defaults.auth),
            budget_records_per_day=_budget(e, "LINEAGE_GRAPH_BUDGET_RECORDS_PER_DAY"),
            budget_store_bytes=_budget(e, "LINEAGE_GRAPH_BUDGET_STORE_BYTES"),
            query_timeout_seconds=float(_int(e, "LINEAGE_GRAPH_QUERY_TIMEOUT_SECONDS",
                                             int(defaults.query_timeout_seconds))),
            graphql_max_depth=_int(e, "LINEAGE_GRAPH_GRAPHQL_MAX_DEPTH",
                                   defaults.graphql_max_depth),
            graphql_max_aliases=_int(e, "LINEAGE_GRAPH_GRAPHQL_MAX_ALIASES",
                                     defaults.graphql_max_aliases),
            graphql_max_tokens=_int(e, "LINEAGE_GRAPH_GRAPHQL_MAX_TOKENS",
                                    defaults.graphql_max_tokens),
            graphql_max_bytes=_int(e, "LINEAGE_GRAPH_GRAPHQL_MAX_BYTES",
                                   defaults.graphql_max_bytes),
            kafka_port=_int(e, "LINEAGE_GRAPH_KAFKA_PORT", defaults.kafka_port),
            kafka_controller_port=_int(e, "LINEAGE_GRAPH_KAFKA_CONTROLLER_PORT",
                                       defaults.kafka_controller_port),
            kafka_heap=e.get("LINEAGE_GRAPH_KAFKA_HEAP") or defaults.kafka_heap,
            kafka_version=e.get("LINEAGE_GRAPH_KAFKA_VERSION") or defaults.kafka_version,
            allowed_hosts=tuple(h.strip().lower() for h in
                                (e.get("LINEAGE_GRAPH_ALLOWED_HOSTS") or "").split(",")
                                if h.strip()),
        )


def is_loopback_host(host: str) -> bool:
    """Only literal loopback addresses (127.0.0.0/8, ::1) and ``localhost`` count: a name such
    as ``127.0.0.1.example.com`` resolves wherever its owner wants."""
    host = host.strip().lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.removeprefix("[").removesuffix("]")).is_loopback
    except ValueError:
        return False


# Neo4j's db.tx_log.rotation.retention_policy values: keep all, keep none, or an amount.
_RETENTION = re.compile(r"^(true|false|keep_all|keep_none|"
                        r"\d+[kKmMgG]? (files|size|txs|entries|hours|days))$")


def _retention(env: Mapping[str, str], name: str, default: str) -> str:
    value = (env.get(name) or default).strip()
    if not _RETENTION.match(value):
        raise ValueError(f"{name}={value!r}: expected keep_all, keep_none or '<n> "
                         "files|size|txs|hours|days' (e.g. '128M size', '7 days')")
    return value


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = (env.get(name) or default).strip().lower()
    if value not in choices:
        raise ValueError(f"{name}={value!r}: expected one of {', '.join(choices)}")
    return value
