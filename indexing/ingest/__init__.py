"""From files to stored items: decoding media, texts, archives and metadata, the plan of sources, and the
pipeline that runs it (in this process, on Ray, or as a background job)."""
