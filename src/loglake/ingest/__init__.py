"""Getting objects into the lake: list sources, read and decompress, parse in workers, commit exactly once."""
