"""What the lineage costs to keep: counts, record and store sizes, records per day, budgets."""
