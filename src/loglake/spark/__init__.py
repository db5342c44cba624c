"""loglake on Spark: ingest with the same parsers in Spark tasks, query and detect with SQL translated to Spark's."""
