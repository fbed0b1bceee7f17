"""The record of every write, as a tamper-evident hash chain: receipts (when a write arrived and
which key sent it), the chain formulas, appending records under the sequence lock, verifying
the chain, and signed checkpoints of its head. Sits above ``db`` (its queries) and below every
writer (ingest, usd, labeling, auth)."""
