"""Full-grid arrays lent from one raster operation to the next, instead of allocated afresh."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


class ScratchRasters:
    """Full-grid arrays lent from one raster operation to the next, one per name and dtype.

    A fresh array the size of a large grid costs a page fault per 4 KiB page when first
    written, often more than the operation that fills it; a run that rasterizes and measures
    many layers on one grid lends them the same arrays instead. A lent array is the
    borrower's until the next loan of its name and dtype.

    Parameters
    ----------
    shape
        Rows and columns of the grid.
    """

    def __init__(self, shape: tuple[int, int]) -> None:
        self.shape = shape
        self._arrays: dict[tuple[str, str], np.ndarray] = {}

    def lend(self, name: str, dtype: npt.DTypeLike, fill: float | None = None) -> np.ndarray:
        """The array of ``name`` and ``dtype``, set to ``fill`` on every cell (None: as the last borrower left it).

        Parameters
        ----------
        name
            What the array is for; borrowers that need arrays at the same time use different names.
        dtype
            Its dtype.
        fill
            The value every cell is set to.

        Returns
        -------
        numpy.ndarray
            An array of :attr:`shape`, the same one on every loan of ``name`` and ``dtype``.
        """
        key = (name, np.dtype(dtype).str)
        array = self._arrays.get(key)
        if array is None:
            array = self._arrays[key] = np.empty(self.shape, dtype=dtype)
        if fill is not None:
            array.fill(fill)
        return array
