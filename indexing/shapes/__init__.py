"""The shapes world: rendered scenes with known attributes, the bundled model trained on them, and the demo collection."""
