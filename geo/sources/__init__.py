"""Public sources of the canonical layers: fetching, offline ingestion and normalisation."""
