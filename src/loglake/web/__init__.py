"""`loglake serve`: a JSON API over the lake (api.py holds its contract) and the one page in static/ that uses it."""
