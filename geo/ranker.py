"""What ranks a run's base sites under new weights: the one interface of re-ranking and site search."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import numpy as np


class Ranker(Protocol):
    """Ranks of the base sites under a set of weights: a site re-ranker or a site follower."""

    n_sites: int

    def ranks(self, weights: Mapping[str, float]) -> tuple[np.ndarray, int]:
        """Rank of each base site under ``weights``, and the number of sites ranked.

        Parameters
        ----------
        weights
            Weight by criterion name.

        Returns
        -------
        tuple[numpy.ndarray, int]
            One rank per base site (1 = best; inf where no site of the weights covers it),
            and how many sites the weights rank.
        """
        ...
