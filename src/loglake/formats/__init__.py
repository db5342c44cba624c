"""One module per AWS log format: how to recognise it and how to parse it into Arrow rows."""
