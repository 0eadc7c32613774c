"""Map page pieces: the figure, its data and images, controls, the query overlay, region names and model comparison."""
