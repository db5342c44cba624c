"""SQL over the lake: DuckDB reading the Iceberg tables (partition-pruned), and dialect translation."""
