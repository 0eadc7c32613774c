"""Where vectors live: the Chroma collection, blobs (originals and thumbnails), float32 and int8 vector files,
the collection's generation and the write lock."""
