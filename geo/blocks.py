"""Loops over the cells of a grid, a block of cells at a time, on every core of the machine."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

#: Cells handled at once by loops over flat cell indices: their temporaries stay in cache.
CELL_BLOCK = 1 << 16


def for_each_block(size: int, work: Callable[[slice], object], block: int = CELL_BLOCK) -> None:
    """Call ``work`` once for every slice of ``block`` positions of ``range(size)``, on threads.

    NumPy lets go of the interpreter lock inside its loops, so the blocks of a large array
    run side by side on the machine's cores. ``work`` must write only its own slice.

    Parameters
    ----------
    size
        The number of positions (cells, or values per cell).
    work
        Called with each slice; what it returns is ignored, what it raises is raised here.
    block
        Positions per slice.
    """
    slices = [slice(start, start + block) for start in range(0, size, block)]
    if len(slices) < 2:
        for part in slices:
            work(part)
        return
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for _ in pool.map(work, slices):
            pass
