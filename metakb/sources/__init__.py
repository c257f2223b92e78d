"""Where runs come from: published OpenML meta-datasets, the live OpenML server, local searches."""
