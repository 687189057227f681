"""Nodes of GraphML network maps (the Internet Topology Zoo archive) as one table."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd

from geo.errors import FetchError

_NS = {"g": "http://graphml.graphdrawing.org/xmlns"}


def read_graphml_nodes(paths: list[Path]) -> pd.DataFrame:
    """One row per node of every GraphML file: ``network`` (file name), ``label``, ``Latitude``, ``Longitude``.

    Node attributes are named by the file's ``<key attr.name=...>`` declarations; nodes
    without coordinates are kept with missing values (the normaliser drops them).

    Parameters
    ----------
    paths
        The GraphML files.

    Returns
    -------
    pandas.DataFrame
        Also ``node_id``; coordinates as text, in degrees.

    Raises
    ------
    FetchError
        Naming a file that is not well-formed XML, or when no file holds a node.
    """
    rows = []
    for path in paths:
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as exc:
            raise FetchError(f"{path}: not a readable GraphML file: {exc}") from exc
        names = {key.get("id"): key.get("attr.name") for key in root.iterfind("g:key", _NS)}
        for node in root.iterfind(".//g:node", _NS):
            attrs = {names.get(d.get("key"), d.get("key")): d.text for d in node.iterfind("g:data", _NS)}
            rows.append({"network": path.stem, "node_id": node.get("id"), "label": attrs.get("label"),
                         "Latitude": attrs.get("Latitude"), "Longitude": attrs.get("Longitude")})
    if not rows:
        raise FetchError(f"no GraphML nodes in {', '.join(p.name for p in paths) or 'the archive'}")
    return pd.DataFrame(rows)
