"""The lake: Iceberg tables (catalog, schemas, commits) and the ingest ledger beside them."""
