// lineage-graph: uniqueness constraints and indexes (Neo4j 5.26).
// Applied idempotently at start-up and by `lineage-graph db migrate`; one statement per ';'.
// The graph model these keys belong to is documented in docs/graph-model.md.

// Every node a lineage query can return carries :LineageNode and a stable, opaque nodeId.
// Keys are bounded (lineage_graph.ids.bounded): names and namespaces themselves are not indexed,
// because Neo4j's range indexes refuse values over ~8 KB and names can be longer.
CREATE CONSTRAINT lineage_node_id IF NOT EXISTS FOR (n:LineageNode) REQUIRE n.nodeId IS UNIQUE;
CREATE CONSTRAINT dataset_id IF NOT EXISTS FOR (n:Dataset) REQUIRE n.nodeId IS UNIQUE;
CREATE CONSTRAINT job_id IF NOT EXISTS FOR (n:Job) REQUIRE n.nodeId IS UNIQUE;
CREATE CONSTRAINT run_id IF NOT EXISTS FOR (n:Run) REQUIRE n.runId IS UNIQUE;
CREATE CONSTRAINT namespace_key IF NOT EXISTS FOR (n:Namespace) REQUIRE n.key IS UNIQUE;
CREATE CONSTRAINT dataset_version_id IF NOT EXISTS FOR (n:DatasetVersion) REQUIRE n.nodeId IS UNIQUE;
CREATE CONSTRAINT field_id IF NOT EXISTS FOR (n:Field) REQUIRE n.fieldId IS UNIQUE;
CREATE CONSTRAINT facet_id IF NOT EXISTS FOR (n:Facet) REQUIRE n.facetId IS UNIQUE;
CREATE CONSTRAINT event_seq IF NOT EXISTS FOR (n:Event) REQUIRE n.seq IS UNIQUE;
CREATE CONSTRAINT event_sha IF NOT EXISTS FOR (n:Event) REQUIRE n.sha256 IS UNIQUE;
CREATE CONSTRAINT sequence_name IF NOT EXISTS FOR (n:Sequence) REQUIRE n.name IS UNIQUE;

// USD scenes
CREATE CONSTRAINT scene_id IF NOT EXISTS FOR (n:Scene) REQUIRE n.sceneId IS UNIQUE;
CREATE CONSTRAINT scene_version_id IF NOT EXISTS FOR (n:SceneVersion) REQUIRE n.nodeId IS UNIQUE;
CREATE CONSTRAINT pending_scene_version_id IF NOT EXISTS FOR (n:PendingSceneVersion) REQUIRE n.nodeId IS UNIQUE;
CREATE CONSTRAINT scene_variant_id IF NOT EXISTS FOR (n:SceneVariant) REQUIRE n.nodeId IS UNIQUE;
CREATE CONSTRAINT layer_sha IF NOT EXISTS FOR (n:Layer) REQUIRE n.sha256 IS UNIQUE;
CREATE CONSTRAINT arc_id IF NOT EXISTS FOR (n:CompositionArc) REQUIRE n.arcId IS UNIQUE;
CREATE CONSTRAINT prim_id IF NOT EXISTS FOR (n:Prim) REQUIRE n.primId IS UNIQUE;
CREATE CONSTRAINT variant_set_id IF NOT EXISTS FOR (n:VariantSet) REQUIRE n.variantSetId IS UNIQUE;
CREATE INDEX scene_variant_scene IF NOT EXISTS FOR (n:SceneVariant) ON (n.sceneId);
CREATE CONSTRAINT variant_option_id IF NOT EXISTS FOR (n:VariantOption) REQUIRE n.optionId IS UNIQUE;

CREATE INDEX run_state IF NOT EXISTS FOR (n:Run) ON (n.state);
CREATE INDEX run_started IF NOT EXISTS FOR (n:Run) ON (n.startedAt);
// A job's latest runs and a dataset's newest versions, read in index order: their cost does not
// grow with the history (a job with 100,000 runs, a dataset with as many versions).
CREATE INDEX run_job_started IF NOT EXISTS FOR (n:Run) ON (n.jobId, n.startedAt);
CREATE INDEX dataset_version_created IF NOT EXISTS FOR (n:DatasetVersion) ON (n.datasetId, n.createdAt);
CREATE INDEX event_run IF NOT EXISTS FOR (n:Event) ON (n.runId);
CREATE INDEX event_time IF NOT EXISTS FOR (n:Event) ON (n.eventTime);
CREATE FULLTEXT INDEX lineage_node_search IF NOT EXISTS FOR (n:LineageNode) ON EACH [n.name, n.namespace];
// Other names of datasets (symlinks facet): looked up by the dataset id they stand for.
CREATE CONSTRAINT dataset_alias_id IF NOT EXISTS FOR (n:DatasetAlias) REQUIRE n.aliasId IS UNIQUE;
CREATE FULLTEXT INDEX dataset_alias_search IF NOT EXISTS FOR (n:DatasetAlias) ON EACH [n.name, n.namespace];

// Labeling
CREATE CONSTRAINT labeling_schema_name IF NOT EXISTS FOR (n:LabelingSchema) REQUIRE n.name IS UNIQUE;
CREATE CONSTRAINT labeling_schema_version_id IF NOT EXISTS FOR (n:LabelingSchemaVersion) REQUIRE n.nodeId IS UNIQUE;
CREATE CONSTRAINT labeling_session_id IF NOT EXISTS FOR (n:LabelingSession) REQUIRE n.nodeId IS UNIQUE;
CREATE CONSTRAINT label_id IF NOT EXISTS FOR (n:Label) REQUIRE n.labelId IS UNIQUE;
CREATE INDEX label_item IF NOT EXISTS FOR (n:Label) ON (n.itemId);

// Models
CREATE CONSTRAINT model_version_id IF NOT EXISTS FOR (n:ModelVersion) REQUIRE n.nodeId IS UNIQUE;
CREATE INDEX model_version_digest IF NOT EXISTS FOR (n:ModelVersion) ON (n.digest);
CREATE INDEX model_version_name IF NOT EXISTS FOR (n:ModelVersion) ON (n.name, n.version);
CREATE CONSTRAINT tensor_digest IF NOT EXISTS FOR (n:Tensor) REQUIRE n.digest IS UNIQUE;
CREATE CONSTRAINT metric_id IF NOT EXISTS FOR (n:Metric) REQUIRE n.metricId IS UNIQUE;
CREATE INDEX metric_name IF NOT EXISTS FOR (n:Metric) ON (n.name);

// API keys
CREATE CONSTRAINT api_key_id IF NOT EXISTS FOR (n:ApiKey) REQUIRE n.keyId IS UNIQUE;

// Retired in 0.1.0 (names can exceed the range-index key limit): dropped where they exist.
DROP CONSTRAINT namespace_name IF EXISTS;
DROP INDEX dataset_name IF EXISTS;
DROP INDEX job_name IF EXISTS;
DROP INDEX lineage_node_name IF EXISTS;
