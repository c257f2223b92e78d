"""Hyperparameter importance: functional ANOVA of surrogates on the unit cube."""

from metakb.importance._fanova import Function, VarianceDecomposition, sobol_decomposition

__all__ = ["Function", "VarianceDecomposition", "sobol_decomposition"]
