"""CLIP models: which one (the open_clip zoo or the bundled one), encoding, and the dense features behind "Why?"."""
