"""Functional ANOVA of a function on the unit cube, by quasi-Monte Carlo pick-freeze estimators.

The maintained fANOVA package (``fanova`` 2.0.19, 2020) needs ``pyrfr``, a
SWIG/C++ build, and only decomposes its own random forests; a Sobol-index
estimator works on any surrogate (the knowledge base's per-task forests) and
is a few lines of NumPy.

For a subset ``u`` of the inputs, the closed variance ``Var(E[f | x_u])`` is
estimated with Jansen's formula from two independent (scrambled Sobol) sample
matrices ``A`` and ``B``: ``V - E[(f(A) - f(C_u))^2] / 2``, where ``C_u``
takes the columns ``u`` from ``A`` and the rest from ``B``. The main effect of
``i`` is the closed variance of ``{i}``, the pairwise interaction of ``i, j``
the closed variance of ``{i, j}`` minus both main effects, and the total
effect of ``i`` is ``E[(f(A) - f(A with column i from B))^2] / 2``.

Reference: Saltelli et al., "Variance based sensitivity analysis of model
output", Computer Physics Communications 181 (2010).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy.stats import qmc

Function = Callable[[np.ndarray], np.ndarray]
"""Maps an ``(n, d)`` matrix of points in ``[0, 1]^d`` to ``(n,)`` values."""


@dataclass(frozen=True)
class VarianceDecomposition:
    """Variance fractions of a function of independent uniform inputs.

    Attributes
    ----------
    names : tuple of str
        One name per input.
    variance : float
        The function's total variance.
    main : numpy.ndarray
        ``(d,)`` first-order (main-effect) fractions of the variance.
    total : numpy.ndarray
        ``(d,)`` total-effect fractions (main effect plus every interaction involving the input).
    pairs : numpy.ndarray
        ``(d, d)`` symmetric pairwise-interaction fractions (zero diagonal), the
        second-order term alone, without the two main effects.

    Notes
    -----
    Fractions are Monte Carlo estimates clipped to ``[0, 1]``; all are zero for
    a constant function, whose variance has nothing to attribute.
    """

    names: tuple[str, ...]
    variance: float
    main: np.ndarray
    total: np.ndarray
    pairs: np.ndarray

    def top_pairs(self, k: int) -> list[tuple[str, str, float]]:
        """Return the ``k`` largest pairwise fractions as ``(name, name, fraction)``."""
        rows = [
            (self.names[i], self.names[j], float(self.pairs[i, j]))
            for i, j in combinations(range(len(self.names)), 2)
        ]
        return sorted(rows, key=lambda r: -r[2])[:k]


def sobol_decomposition(
    func: Function,
    names: Sequence[str],
    *,
    n: int = 1024,
    pairs: bool = True,
    seed: int = 0,
) -> VarianceDecomposition:
    """Estimate main, total and pairwise variance fractions of ``func`` on ``[0, 1]^d``.

    Parameters
    ----------
    func : callable
        Vectorized function of ``(m, d)`` points; inputs are independent and uniform.
    names : sequence of str
        The ``d`` input names.
    n : int
        Base sample size (rounded up to a power of two, as Sobol points want);
        ``func`` is called on ``n * (2 + 2d + d(d-1)/2)`` points with ``pairs``,
        ``n * (2 + 2d)`` without.
    pairs : bool
        Whether to estimate pairwise interactions (zero otherwise).
    seed : int
        Seed of the scrambled Sobol sequence.

    Returns
    -------
    VarianceDecomposition

    Raises
    ------
    ValueError
        No inputs, or ``n`` below 2.
    """
    d = len(names)
    if d == 0:
        raise ValueError("need at least one input")
    if n < 2:
        raise ValueError("n must be at least 2")
    m = int(np.ceil(np.log2(n)))
    points = qmc.Sobol(d=2 * d, scramble=True, seed=np.random.default_rng(seed)).random_base2(m)
    a, b = points[:, :d], points[:, d:]
    subsets: list[tuple[int, ...]] = [(i,) for i in range(d)]
    if pairs:
        subsets += list(combinations(range(d), 2))
    # One call over every design matrix: a forest predicts a big batch far
    # faster than many small ones.
    blocks = [a, b]
    for u in subsets:  # C_u: the columns u from A, the rest from B
        c = b.copy()
        c[:, u] = a[:, u]
        blocks.append(c)
    for i in range(d):  # A with column i from B, for the total effects
        c = a.copy()
        c[:, i] = b[:, i]
        blocks.append(c)
    values = np.asarray(func(np.vstack(blocks)), dtype=float).reshape(len(blocks), len(a))
    fa, fb = values[0], values[1]
    variance = float(np.var(np.concatenate([fa, fb])))
    closed = {
        u: variance - 0.5 * float(np.mean((fa - values[2 + k]) ** 2)) for k, u in enumerate(subsets)
    }
    total_var = np.array(
        [0.5 * float(np.mean((fa - values[2 + len(subsets) + i]) ** 2)) for i in range(d)]
    )
    main_var = np.array([closed[(i,)] for i in range(d)])
    pair_var = np.zeros((d, d))
    if pairs:
        for i, j in combinations(range(d), 2):
            pair_var[i, j] = pair_var[j, i] = closed[(i, j)] - main_var[i] - main_var[j]
    if variance <= 1e-12:
        zero = np.zeros(d)
        return VarianceDecomposition(tuple(names), variance, zero, zero.copy(), np.zeros((d, d)))
    return VarianceDecomposition(
        names=tuple(names),
        variance=variance,
        main=np.clip(main_var / variance, 0.0, 1.0),
        total=np.clip(total_var / variance, 0.0, 1.0),
        pairs=np.clip(pair_var / variance, 0.0, 1.0),
    )
