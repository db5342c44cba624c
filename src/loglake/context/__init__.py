"""Context: the lake's `assets` history joined to log rows, so each row says which asset it touched."""
