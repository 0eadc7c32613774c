"""Maps of a collection: projections (and their background jobs), clusters, region names and model comparison."""
