"""Rasters shared within one run: each distinct raster is computed once, however many rules use it.

Several criteria and exclusions can need the same raster: the slope criterion and the
steep-slope exclusion both take the slope of the elevation; the relief criterion and the
high-ground exclusion both take the height above the basin floor; a proxy layer (rail
corridors standing in for fiber) can hold the very geometries another criterion measures
distance to. :class:`RunRasters` keeps each such raster under a key made of what it is
computed from (the geometries themselves, not the layer names; the radius; the grid), so
the second rule that asks for it gets the first one's array.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from geo.distance import distance_to_features_km
from geo.grid import Grid, slope_degrees
from geo.scratch import ScratchRasters
from geo.terrain import height_above_basin_m


def geometry_key(frame: gpd.GeoDataFrame) -> str:
    """A digest of a frame's geometries (and CRS): equal for two layers holding the same shapes.

    Parameters
    ----------
    frame
        Features whose geometry identifies the raster made from them.

    Returns
    -------
    str
        A hex digest; attributes other than the geometry do not enter it.
    """
    digest = hashlib.blake2b(digest_size=16)
    digest.update(str(frame.crs).encode())
    for wkb in shapely.to_wkb(frame.geometry.to_numpy()):
        digest.update(b"" if wkb is None else wkb)
    return digest.hexdigest()


@dataclass
class RunRasters:
    """The rasters of one run on one grid, each computed once and handed out read-only.

    Parameters
    ----------
    grid
        The analysis grid; every raster is on it.
    elevation_path
        The elevation raster, for slope and height above the basin floor (None: no elevation).
    shared
        Hand arrays out read-only, as they may stand for several rules (default). False for a
        one-off use whose caller owns, and may change, what it gets.
    cells
        Flat indices of the only cells wanted (see :meth:`restrict`); None: every cell.

    Notes
    -----
    Arrays are returned read-only because one array may stand for several criteria and
    exclusions; a caller that must change one copies it first. The cache keeps a reference
    to every raster it made, and its :attr:`scratch` arrays, so drop it when the run's rasters
    are done. Once restricted to some cells, it keeps and hands out only the values at those
    cells (1-D).
    """

    grid: Grid
    elevation_path: Path | None = None
    shared: bool = True
    cells: np.ndarray | None = None
    computed: dict[str, int] = field(default_factory=dict)
    _rasters: dict[Hashable, np.ndarray] = field(default_factory=dict, repr=False)
    _distances: dict[frozenset[str], tuple[float, np.ndarray]] = field(default_factory=dict, repr=False)
    #: Full-grid arrays lent to the run's rasterizing and distance transforms.
    scratch: ScratchRasters = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.scratch = ScratchRasters(self.grid.shape)

    def distance_km(self, frames: Sequence[gpd.GeoDataFrame], cap_km: float | None) -> np.ndarray:
        """Distance (km, float16, capped) to the union of ``frames``, as :func:`geo.distance.distance_to_features_km`.

        Parameters
        ----------
        frames
            The features measured to; frames without features add nothing.
        cap_km
            Distances beyond this are set to it (None: no cap).

        Returns
        -------
        numpy.ndarray
            Read-only float16 on the grid (at :attr:`cells` when restricted). A request for a
            set already measured with a cap at least as large is answered from the stored raster.
        """
        shapes = frozenset(geometry_key(f) for f in frames if len(f))
        cap = np.inf if cap_km is None else float(cap_km)
        stored_cap, stored = self._distances.get(shapes, (-np.inf, None))
        if stored is not None and stored_cap >= cap:
            self._count("distance reused")
            return stored if stored_cap == cap else self._read_only(np.minimum(stored, np.float16(cap)))
        self._count("distance")
        raster = self._read_only(distance_to_features_km(list(frames), self.grid, cap_km, cells=self.cells,
                                                         scratch=self.scratch))
        self._distances[shapes] = (cap, raster)
        return raster

    def slope_degrees(self) -> np.ndarray:
        """Slope (degrees, float16, read-only) from the elevation, as :func:`geo.grid.slope_degrees`.

        Returns
        -------
        numpy.ndarray
            Slope on the grid (at :attr:`cells` when restricted), computed on the first call and
            shared afterwards.
        """
        return self._once(("slope",), "slope", lambda: slope_degrees(self._elevation(), self.grid))

    def height_above_basin_m(self, radius_km: float) -> np.ndarray:
        """Height above the lowest ground within ``radius_km`` (m, float16, read-only), as
        :func:`geo.terrain.height_above_basin_m`.

        Parameters
        ----------
        radius_km
            How far around each cell the basin floor is looked for, in km.

        Returns
        -------
        numpy.ndarray
            Height on the grid (at :attr:`cells` when restricted), computed on the first call for
            this radius and shared afterwards.
        """
        return self._once(("height_above_basin", float(radius_km)), "height above basin",
                          lambda: height_above_basin_m(self._elevation(), self.grid, radius_km))

    def restrict(self, cells: np.ndarray) -> None:
        """Keep, and hand out from now on, only the values at ``cells``: the run needs no others.

        Parameters
        ----------
        cells
            Flat indices into the grid, e.g. the eligible cells once the exclusions are known.
        """
        if self.cells is not None:
            raise ValueError("the rasters are already restricted to some cells")
        self.cells = cells
        self._rasters = {key: self._read_only(values.ravel()[cells]) for key, values in self._rasters.items()}
        self._distances = {key: (cap, self._read_only(values.ravel()[cells]))
                           for key, (cap, values) in self._distances.items()}

    def _once(self, key: Hashable, what: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
        stored = self._rasters.get(key)
        if stored is not None:
            self._count(f"{what} reused")
            return stored
        self._count(what)
        values = compute()
        stored = self._rasters[key] = self._read_only(values if self.cells is None else values.ravel()[self.cells])
        return stored

    def _elevation(self) -> Path:
        if self.elevation_path is None:
            raise ValueError("no elevation layer: slope and height above the basin floor need one")
        return self.elevation_path

    def _count(self, what: str) -> None:
        self.computed[what] = self.computed.get(what, 0) + 1

    def _read_only(self, values: np.ndarray) -> np.ndarray:
        values.flags.writeable = not self.shared
        return values
