// lineage-graph: uniqueness constraints and indexes (Neo4j 5.26), GENERATED from
// lineage_graph/graph_model.py by `lineage-graph api export`: do not edit. What neomodel cannot
// declare (composite and full-text indexes, retired constraints) is in extra-indexes.cypher.
// Applied idempotently at start-up and by `lineage-graph db migrate`; one statement per ';'.
// Keys are bounded (lineage_graph.ids.bounded): names and namespaces themselves are not
// indexed, because Neo4j's range indexes refuse values over ~8 KB and names can be longer.

CREATE CONSTRAINT lineage_node_node_id IF NOT EXISTS FOR (n:LineageNode) REQUIRE n.nodeId IS UNIQUE;
CREATE CONSTRAINT namespace_key IF NOT EXISTS FOR (n:Namespace) REQUIRE n.key IS UNIQUE;
CREATE CONSTRAINT dataset_node_id IF NOT EXISTS FOR (n:Dataset) REQUIRE n.nodeId IS UNIQUE;
CREATE CONSTRAINT dataset_alias_alias_id IF NOT EXISTS FOR (n:DatasetAlias) REQUIRE n.aliasId IS UNIQUE;
CREATE CONSTRAINT job_node_id IF NOT EXISTS FOR (n:Job) REQUIRE n.nodeId IS UNIQUE;
CREATE CONSTRAINT run_run_id IF NOT EXISTS FOR (n:Run) REQUIRE n.runId IS UNIQUE;
CREATE INDEX run_state IF NOT EXISTS FOR (n:Run) ON (n.state);
CREATE INDEX run_started_at IF NOT EXISTS FOR (n:Run) ON (n.startedAt);
CREATE CONSTRAINT dataset_version_node_id IF NOT EXISTS FOR (n:DatasetVersion) REQUIRE n.nodeId IS UNIQUE;
CREATE CONSTRAINT field_field_id IF NOT EXISTS FOR (n:Field) REQUIRE n.fieldId IS UNIQUE;
CREATE CONSTRAINT facet_facet_id IF NOT EXISTS FOR (n:Facet) REQUIRE n.facetId IS UNIQUE;
CREATE CONSTRAINT event_seq IF NOT EXISTS FOR (n:Event) REQUIRE n.seq IS UNIQUE;
CREATE CONSTRAINT event_sha256 IF NOT EXISTS FOR (n:Event) REQUIRE n.sha256 IS UNIQUE;
CREATE INDEX event_event_time IF NOT EXISTS FOR (n:Event) ON (n.eventTime);
CREATE INDEX event_run_id IF NOT EXISTS FOR (n:Event) ON (n.runId);
CREATE INDEX event_received_at IF NOT EXISTS FOR (n:Event) ON (n.receivedAt);
CREATE CONSTRAINT sequence_name IF NOT EXISTS FOR (n:Sequence) REQUIRE n.name IS UNIQUE;
CREATE CONSTRAINT scene_scene_id IF NOT EXISTS FOR (n:Scene) REQUIRE n.sceneId IS UNIQUE;
CREATE CONSTRAINT pending_scene_version_node_id IF NOT EXISTS FOR (n:PendingSceneVersion) REQUIRE n.nodeId IS UNIQUE;
CREATE CONSTRAINT scene_version_node_id IF NOT EXISTS FOR (n:SceneVersion) REQUIRE n.nodeId IS UNIQUE;
CREATE CONSTRAINT scene_variant_node_id IF NOT EXISTS FOR (n:SceneVariant) REQUIRE n.nodeId IS UNIQUE;
CREATE INDEX scene_variant_scene_id IF NOT EXISTS FOR (n:SceneVariant) ON (n.sceneId);
CREATE CONSTRAINT layer_sha256 IF NOT EXISTS FOR (n:Layer) REQUIRE n.sha256 IS UNIQUE;
CREATE CONSTRAINT composition_arc_arc_id IF NOT EXISTS FOR (n:CompositionArc) REQUIRE n.arcId IS UNIQUE;
CREATE CONSTRAINT prim_prim_id IF NOT EXISTS FOR (n:Prim) REQUIRE n.primId IS UNIQUE;
CREATE CONSTRAINT variant_set_variant_set_id IF NOT EXISTS FOR (n:VariantSet) REQUIRE n.variantSetId IS UNIQUE;
CREATE CONSTRAINT variant_option_option_id IF NOT EXISTS FOR (n:VariantOption) REQUIRE n.optionId IS UNIQUE;
CREATE CONSTRAINT labeling_schema_name IF NOT EXISTS FOR (n:LabelingSchema) REQUIRE n.name IS UNIQUE;
CREATE CONSTRAINT labeling_schema_version_node_id IF NOT EXISTS FOR (n:LabelingSchemaVersion) REQUIRE n.nodeId IS UNIQUE;
CREATE CONSTRAINT labeling_session_node_id IF NOT EXISTS FOR (n:LabelingSession) REQUIRE n.nodeId IS UNIQUE;
CREATE CONSTRAINT label_label_id IF NOT EXISTS FOR (n:Label) REQUIRE n.labelId IS UNIQUE;
CREATE INDEX label_item_id IF NOT EXISTS FOR (n:Label) ON (n.itemId);
CREATE CONSTRAINT model_version_node_id IF NOT EXISTS FOR (n:ModelVersion) REQUIRE n.nodeId IS UNIQUE;
CREATE INDEX model_version_digest IF NOT EXISTS FOR (n:ModelVersion) ON (n.digest);
CREATE CONSTRAINT tensor_digest IF NOT EXISTS FOR (n:Tensor) REQUIRE n.digest IS UNIQUE;
CREATE CONSTRAINT metric_metric_id IF NOT EXISTS FOR (n:Metric) REQUIRE n.metricId IS UNIQUE;
CREATE INDEX metric_name IF NOT EXISTS FOR (n:Metric) ON (n.name);
CREATE CONSTRAINT api_key_key_id IF NOT EXISTS FOR (n:ApiKey) REQUIRE n.keyId IS UNIQUE;
