"""Provision, start and stop a local Apache Kafka broker in KRaft mode without Docker.

One process is both controller and broker (``process.roles=broker,controller``), listening on
loopback only. Layout under ``Settings.home``::

    kafka/<version>/lib-<pom>/          the broker's jars, resolved once by Maven (shared cache)
    kafka/instances/<name>/server.properties, log4j2.yaml
    kafka/instances/<name>/data/        the topics' logs and the KRaft metadata log
    kafka/instances/<name>/cluster-id   the cluster id the data directory was formatted with
    kafka/instances/<name>/kafka.pid    pid of the running broker
    kafka/instances/<name>/console.log  the JVM's output (warnings and errors)

It is for development, tests and benchmarks: plaintext, no authentication, one replica. A team
runs ``lineage-graph consume`` against its own Kafka (docs/scaling.md).
"""

from __future__ import annotations

import base64
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from lineage_graph.errors import ManagedKafkaError
from lineage_graph.local_server import (
    PRIVATE_UMASK,
    ServerProcess,
    jar_dir,
    last_error_line,
    packaged_pom,
    port_open,
    require_java,
    resolve_jars,
)
from lineage_graph.private_files import write_private
from lineage_graph.settings import Settings

BROKER_MAIN = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"
FALLBACK = "pass --bootstrap-servers of an existing Kafka"
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 60.0

LOG_CONFIG = """\
# Written by lineage-graph: the broker's warnings and errors, on its console (console.log).
Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: WARN
      AppenderRef:
        - ref: STDOUT
"""


@dataclass(frozen=True)
class BrokerStatus:
    running: bool
    pid: int | None
    bootstrap_servers: str
    instance_dir: Path
    log: Path


class ManagedKafka:
    """One managed Kafka broker, described by a :class:`Settings`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pom_text = packaged_pom("lineage_graph.kafka_broker", "KAFKA_VERSION",
                                     settings.kafka_version)
        self.lib_dir = jar_dir(settings.home / "kafka" / settings.kafka_version, self.pom_text)
        self.dir = settings.kafka_instance_dir
        self.data_dir = self.dir / "data"
        self.properties = self.dir / "server.properties"
        self.log_config = self.dir / "log4j2.yaml"
        self.pid_file = self.dir / "kafka.pid"
        self.console_log = self.dir / "console.log"
        self.process = ServerProcess("Kafka", self.pid_file, self.console_log, BROKER_MAIN,
                                     str(self.properties), ManagedKafkaError)

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.settings.kafka_port}"

    def up(self, progress: bool = True) -> BrokerStatus:
        """Make sure the broker runs and accepts connections; idempotent."""
        self.process.ensure_running(self.settings.kafka_port, "its listener", START_TIMEOUT_S,
                                    lambda: self._start_new(progress))
        return self.status()

    def _start_new(self, progress: bool) -> None:
        java = require_java(f"Kafka {self.settings.kafka_version}", ManagedKafkaError, FALLBACK)
        resolve_jars(self.pom_text, self.lib_dir, f"Kafka {self.settings.kafka_version}",
                     ManagedKafkaError, FALLBACK, progress)
        self._write_config()
        if not (self.data_dir / "meta.properties").exists():
            self._format(java)
        for port in (self.settings.kafka_port, self.settings.kafka_controller_port):
            if port_open(port):
                raise ManagedKafkaError(
                    f"port {port} is taken by another process; set LINEAGE_GRAPH_KAFKA_PORT "
                    "and LINEAGE_GRAPH_KAFKA_CONTROLLER_PORT to free ports")
        self._start(java)

    def down(self) -> bool:
        """Stop the broker cleanly (SIGTERM, then SIGKILL after a timeout). True if it ran."""
        return self.process.stop(STOP_TIMEOUT_S)

    def status(self) -> BrokerStatus:
        pid = self.process.running_pid()
        return BrokerStatus(running=pid is not None, pid=pid,
                            bootstrap_servers=self.bootstrap_servers, instance_dir=self.dir,
                            log=self.console_log)

    # -- internals ---------------------------------------------------------------------------

    def _write_config(self) -> None:
        s = self.settings
        for directory in (self.dir, self.data_dir):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        broker = f"127.0.0.1:{s.kafka_port}"
        controller = f"127.0.0.1:{s.kafka_controller_port}"
        lines = [
            "# Written by lineage-graph; edits are overwritten at the next `kafka up`.",
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.bootstrap.servers={controller}",
            f"listeners=PLAINTEXT://{broker},CONTROLLER://{controller}",
            f"advertised.listeners=PLAINTEXT://{broker}",
            "controller.listener.names=CONTROLLER",
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            f"log.dirs={self.data_dir}",
            # Topics made on first use (the events' topic, its dead-letter topic) get four
            # partitions, so several consumers of one group have something to share.
            "num.partitions=4",
            "auto.create.topics.enable=true",
            # One broker: every internal topic has one replica.
            "offsets.topic.replication.factor=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            # A consumer joining an empty group starts at once instead of waiting 3 s.
            "group.initial.rebalance.delay.ms=0",
        ]
        write_private(self.properties, "\n".join(lines) + "\n")
        write_private(self.log_config, LOG_CONFIG)

    def _format(self, java: str) -> None:
        """Format the data directory for a one-node KRaft cluster (once per instance)."""
        id_file = self.dir / "cluster-id"
        if not id_file.exists():
            write_private(id_file, _cluster_id())
        proc = subprocess.run(
            [java, "-cp", f"{self.lib_dir}/*", f"-Dlog4j2.configurationFile={self.log_config}",
             STORAGE_TOOL, "format", "--standalone", "--ignore-formatted",
             f"--cluster-id={id_file.read_text().strip()}", "-c", str(self.properties)],
            capture_output=True, text=True, check=False, umask=PRIVATE_UMASK,
        )
        if proc.returncode != 0:
            raise ManagedKafkaError(f"formatting the Kafka data directory failed: "
                                    f"{last_error_line(proc.stdout + proc.stderr)}")

    def _start(self, java: str) -> None:
        s = self.settings
        self.process.launch(
            [java, f"-Xms{s.kafka_heap}", f"-Xmx{s.kafka_heap}", "-XX:+UseG1GC",
             "-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={self.log_config}",
             "-cp", f"{self.lib_dir}/*", BROKER_MAIN, str(self.properties)],
            s.kafka_port, "its listener", START_TIMEOUT_S)


def _cluster_id() -> str:
    """A KRaft cluster id: a random UUID in URL-safe base64, as Kafka makes them, never
    starting with '-' (Kafka's tools would read it as an option; Kafka's own generator skips
    those too)."""
    while True:
        found = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not found.startswith("-"):
            return found
