"""Query pieces: the builder, the reference picker, method columns, the vocabulary editor and saving a query."""
