// lineage-graph: what lineage_graph/graph_model.py cannot declare through neomodel, hand-written:
// composite and full-text indexes, and constraints retired by earlier versions. Applied after
// constraints.cypher (generated from the model), idempotently; one statement per ';'.

// A job's latest runs and a dataset's newest versions, read in index order: their cost does not
// grow with the history (a job with 100,000 runs, a dataset with as many versions).
CREATE INDEX run_job_started IF NOT EXISTS FOR (n:Run) ON (n.jobId, n.startedAt);
CREATE INDEX dataset_version_created IF NOT EXISTS FOR (n:DatasetVersion) ON (n.datasetId, n.createdAt);
CREATE INDEX model_version_name IF NOT EXISTS FOR (n:ModelVersion) ON (n.name, n.version);

// A dataset's readers that started since a time (a new version re-links them): READ carries
// copies of its dataset's id and its run's startedAt, so this costs those readers, not every
// run started since then (a version of a hub dated in its past).
CREATE INDEX read_dataset_started IF NOT EXISTS FOR ()-[r:READ]-() ON (r.datasetId, r.startedAt);

// Search: lineage nodes by name and namespace, datasets by their other names (symlinks facet).
CREATE FULLTEXT INDEX lineage_node_search IF NOT EXISTS FOR (n:LineageNode) ON EACH [n.name, n.namespace];
CREATE FULLTEXT INDEX dataset_alias_search IF NOT EXISTS FOR (n:DatasetAlias) ON EACH [n.name, n.namespace];

// Retired in 0.1.0 (names can exceed the range-index key limit): dropped where they exist.
DROP CONSTRAINT namespace_name IF EXISTS;
DROP INDEX dataset_name IF EXISTS;
DROP INDEX job_name IF EXISTS;
DROP INDEX lineage_node_name IF EXISTS;
