"""How far an input lies from the material a model was trained on, and how much to trust it there.

A network answers confidently everywhere, also far outside its training material. mixai's model
learned from General-MIDI renderings; on recorded loops it over-corrects (see the model card's
"Recorded material"). :class:`InputDomain` keeps the mean, spread and (regularised) precision
matrix of the training inputs' features, and measures a new input by its squared Mahalanobis
distance ``d2``. Up to ``edge_d2`` (a high percentile of the training inputs' own distances) the
model is trusted fully; beyond, its corrections are scaled by ``edge_d2 / d2``, moving toward
neutral as the input gets less like anything the model has seen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

EDGE_PERCENTILE = 99.0
RIDGE = 1e-3  # added to the standardised covariance's diagonal: near-collinear features stay finite


@dataclass(frozen=True)
class InputDomain:
    """The training inputs' feature distribution (one row of features per training example)."""

    mean: np.ndarray
    std: np.ndarray
    precision: np.ndarray  # inverse covariance of the standardised features
    edge_d2: float

    @classmethod
    def fit(cls, features: np.ndarray, percentile: float = EDGE_PERCENTILE) -> "InputDomain":
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] <= x.shape[1]:
            raise ValueError(f"need more examples than features, got an array of shape {x.shape}")
        mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
        z = (x - mean) / std
        precision = np.linalg.inv(np.cov(z.T) + RIDGE * np.eye(x.shape[1]))
        domain = cls(mean, std, precision, 0.0)
        return cls(mean, std, precision, float(np.percentile(domain.distance2(x), percentile)))

    def distance2(self, features: np.ndarray) -> np.ndarray | float:
        """Squared Mahalanobis distance of one feature vector (a float) or of rows (an array)."""
        x = np.asarray(features, dtype=np.float64)
        z = (np.atleast_2d(x) - self.mean) / self.std
        d2 = np.einsum("ij,jk,ik->i", z, self.precision, z)
        return float(d2[0]) if x.ndim == 1 else d2

    def trust(self, features: np.ndarray) -> float:
        """1 inside the training domain, ``edge_d2 / d2`` beyond it."""
        d2 = self.distance2(features)
        return 1.0 if d2 <= self.edge_d2 else float(self.edge_d2 / d2)

    # --- JSON (the model file's metadata) --------------------------------------------------------
    def to_json(self) -> str:
        return json.dumps({"mean": _rounded(self.mean), "std": _rounded(self.std),
                           "precision": [_rounded(row) for row in self.precision],
                           "edge_d2": round(self.edge_d2, 4), "edge_percentile": EDGE_PERCENTILE})

    @classmethod
    def from_json(cls, text: str, n_features: int) -> "InputDomain":
        data = json.loads(text)
        domain = cls(np.asarray(data["mean"], dtype=np.float64), np.asarray(data["std"], dtype=np.float64),
                     np.asarray(data["precision"], dtype=np.float64), float(data["edge_d2"]))
        shapes = (domain.mean.shape, domain.std.shape, domain.precision.shape)
        if shapes != ((n_features,), (n_features,), (n_features, n_features)) or not domain.edge_d2 > 0:
            raise ValueError(f"input domain does not describe {n_features} features")
        return domain


def _rounded(values: np.ndarray) -> list[float]:
    return [float(f"{v:.7g}") for v in np.asarray(values, dtype=np.float64)]


__all__ = ["InputDomain"]
