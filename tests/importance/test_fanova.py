"""The Sobol-index estimator against a function with a known variance decomposition."""

import numpy as np
import pytest

from metakb.importance import sobol_decomposition

A, B, C = 1.0, 2.0, 3.0


def _f(x: np.ndarray) -> np.ndarray:
    return A * x[:, 0] + B * x[:, 1] ** 2 + C * x[:, 0] * x[:, 2]


def test_known_decomposition() -> None:
    # With x ~ U[0,1]^4 and u_i = x_i - 1/2 (Var u_i = 1/12):
    #   f = const + (a + c/2) u0 + b x1^2 + (c/2) u2 + c u0 u2, orthogonal terms, so
    #   V0 = (a + c/2)^2 / 12, V1 = b^2 (1/5 - 1/9) = 4 b^2 / 45,
    #   V2 = c^2 / 48, V02 = c^2 / 144, x3 has no effect.
    v0, v1, v2, v02 = (A + C / 2) ** 2 / 12, 4 * B**2 / 45, C**2 / 48, C**2 / 144
    total = v0 + v1 + v2 + v02
    out = sobol_decomposition(_f, ["x0", "x1", "x2", "x3"], n=4096, seed=1)
    assert out.variance == pytest.approx(total, rel=0.02)
    np.testing.assert_allclose(out.main, [v0 / total, v1 / total, v2 / total, 0.0], atol=0.02)
    np.testing.assert_allclose(
        out.total, [(v0 + v02) / total, v1 / total, (v2 + v02) / total, 0.0], atol=0.02
    )
    assert out.pairs[0, 2] == pytest.approx(v02 / total, abs=0.02)
    assert out.pairs[2, 0] == out.pairs[0, 2]
    others = [out.pairs[i, j] for i in range(4) for j in range(i + 1, 4) if (i, j) != (0, 2)]
    assert max(others) < 0.02
    assert out.top_pairs(1)[0][:2] == ("x0", "x2")


def test_constant_function_has_nothing_to_attribute() -> None:
    out = sobol_decomposition(lambda x: np.ones(len(x)), ["a", "b"], n=64)
    assert out.variance == 0.0
    assert not out.main.any() and not out.total.any() and not out.pairs.any()


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="at least one input"):
        sobol_decomposition(_f, [])
    with pytest.raises(ValueError, match="at least 2"):
        sobol_decomposition(_f, ["x"], n=1)
