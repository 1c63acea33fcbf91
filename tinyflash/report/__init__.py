"""Report: results as one JSON object (the source of truth), a text table, atomic files."""
