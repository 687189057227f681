"""Criterion weights from an AHP pairwise comparison matrix, with Saaty's consistency check."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

#: Random index of Saaty (1980) for matrices of size n, used by the AHP consistency ratio.
_RANDOM_INDEX = {1: 0.0, 2: 0.0, 3: 0.58, 4: 0.90, 5: 1.12, 6: 1.24, 7: 1.32, 8: 1.41, 9: 1.45, 10: 1.49}
MAX_CONSISTENCY_RATIO = 0.1


class AHP(BaseModel):
    """Analytic Hierarchy Process: weights from a pairwise comparison matrix (Saaty 1-9 scale)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    criteria: list[str] = Field(min_length=2)
    matrix: list[list[float]]

    @model_validator(mode="after")
    def _check(self) -> AHP:
        n = len(self.criteria)
        if len(self.matrix) != n or any(len(row) != n for row in self.matrix):
            raise ValueError(f"ahp: the matrix must be {n}x{n}, one row and column per criterion")
        m = np.asarray(self.matrix, dtype=float)
        if (m <= 0).any():
            raise ValueError("ahp: every matrix entry must be positive")
        if not np.allclose(m * m.T, 1.0, rtol=1e-2):
            raise ValueError("ahp: the matrix must be reciprocal (a[j][i] = 1 / a[i][j])")
        cr = ahp_weights(m)[1]
        if cr > MAX_CONSISTENCY_RATIO:
            raise ValueError(
                f"ahp: consistency ratio {cr:.3f} exceeds {MAX_CONSISTENCY_RATIO}; "
                "revise the pairwise judgements"
            )
        return self

    def weights(self) -> tuple[dict[str, float], float]:
        """Weights by criterion name, and the consistency ratio.

        Returns
        -------
        tuple[dict[str, float], float]
            Weights summing to 1, and Saaty's consistency ratio of the matrix.
        """
        w, cr = ahp_weights(np.asarray(self.matrix, dtype=float))
        return dict(zip(self.criteria, w.tolist(), strict=True)), cr


def ahp_weights(matrix: np.ndarray) -> tuple[np.ndarray, float]:
    """Principal-eigenvector weights of a pairwise matrix and its consistency ratio (Saaty).

    Parameters
    ----------
    matrix
        Square reciprocal matrix of pairwise judgements on Saaty's 1-9 scale.

    Returns
    -------
    tuple[numpy.ndarray, float]
        Weights summing to 1 in the matrix's order, and the consistency ratio.
    """
    eigenvalues, eigenvectors = np.linalg.eig(matrix)
    k = int(np.argmax(eigenvalues.real))
    weights = np.abs(eigenvectors[:, k].real)
    weights = weights / weights.sum()
    n = matrix.shape[0]
    ci = (eigenvalues[k].real - n) / (n - 1) if n > 1 else 0.0
    ri = _RANDOM_INDEX.get(n, 1.49)
    return weights, (ci / ri if ri > 0 else 0.0)

