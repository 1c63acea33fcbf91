"""tinyflash's own ahead-of-time runtime: the graph becomes straight-line C with planned memory."""
