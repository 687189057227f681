"""Provenance: where a stored layer came from and how far it can be trusted."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from geo.types import STORE_CRS


class Provenance(BaseModel):
    """The record kept beside every stored layer.

    ``coverage_wkt`` is the area (EPSG:4326) inside which the layer is complete; the
    analysis treats anything outside it as *unknown* for this layer, never as absent.
    ``None`` means the layer covers everything it was asked for.
    """

    model_config = ConfigDict(extra="forbid")

    layer: str
    source: str = Field(description="Publisher and dataset name")
    url: str = Field(description="Endpoint or file the data was read from")
    license: str
    retrieved_at: datetime
    sha256: str = Field(description="Checksum of the stored data file")
    feature_count: int
    crs: str = STORE_CRS
    synthetic: bool = Field(False, description="Generated data, not observations")
    proxy_for: str | None = Field(None, description="What the layer stands in for, if it is a proxy")
    partial: bool = Field(False, description="Covers only part of the requested area")
    coarse: str | None = Field(None, description="How coarse the layer is, when too coarse for parcel-level use")
    limitation: str | None = Field(None, description="What the data cannot tell, in one line")
    vintage: str | None = Field(None, description="When the data describes, as its publisher dates it")
    coverage_wkt: str | None = None
    states: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    source_checksum: str | None = Field(None, description="sha256 of the downloaded or read source file")

    @property
    def caveat(self) -> str | None:
        """A one-line warning for outputs, or None for an observed, complete layer."""
        parts = []
        if self.synthetic:
            parts.append("SYNTHETIC demo data")
        if self.proxy_for:
            parts.append(f"proxy: {self.proxy_for}")
        if self.partial:
            parts.append("partial coverage")
        if self.coarse:
            parts.append(f"coarse: {self.coarse}")
        if self.limitation:
            parts.append(self.limitation)
        return "; ".join(parts) or None

    def age_days(self, now: datetime | None = None) -> float:
        """Days since retrieval.

        Parameters
        ----------
        now
            The time to measure to (default: now, UTC).

        Returns
        -------
        float
            Days, with fractions, from ``retrieved_at`` to ``now``.
        """
        now = now or datetime.now(UTC)
        return (now - self.retrieved_at).total_seconds() / 86400


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks.

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    str
        64 lowercase hex digits.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def utc_now() -> datetime:
    """The current time in UTC, to the second.

    Returns
    -------
    datetime
        Timezone-aware, microseconds dropped.
    """
    return datetime.now(UTC).replace(microsecond=0)
