"""A managed local Apache Kafka broker (KRaft mode, from Maven Central's jars, no Docker): for
development, tests and benchmarks of ``lineage-graph consume``."""

from lineage_graph.kafka_broker.manager import BrokerStatus, ManagedKafka

__all__ = ["BrokerStatus", "ManagedKafka"]
