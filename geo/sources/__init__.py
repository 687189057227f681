"""Public sources of the canonical layers: one spec per source (``layers/``), fetching, offline ingestion."""
