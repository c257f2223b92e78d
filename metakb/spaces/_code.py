"""Estimator keyword arguments written as Python: what every shown configuration looks like.

A configuration shown to a user (the ``recommend`` table, a search's trials and
best line, the app's "Use it" snippet) is the estimator's keyword arguments
(:meth:`~metakb.spaces.Algorithm.estimator_params`) written as Python source:
Python literals (``None``, ``True``), floats that read back exactly, and an
argument that is an estimator (AdaBoost's base tree) as its constructor call.
Pasted after the imports :func:`estimator_code` writes, it builds the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from metakb.configs import JsonScalar


def python_value(value: Any) -> str:
    """Return ``value`` as Python source: a literal, or an estimator's constructor call.

    An estimator is written with the parameters that differ from its class's
    defaults (``DecisionTreeClassifier(max_depth=3)``); NumPy scalars as the
    Python numbers they hold.

    Raises
    ------
    TypeError
        A value that is neither a JSON-like scalar nor a scikit-learn estimator.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | float | str):
        # repr: None and True, not null and true; floats that read back to the same value.
        return repr(value)
    if _is_estimator(value):
        return f"{type(value).__name__}({python_kwargs(_changed_params(value))})"
    raise TypeError(f"cannot write {value!r} ({type(value).__name__}) as Python source")


def python_kwargs(kwargs: Mapping[str, Any]) -> str:
    """Return keyword arguments as they are written in a call: ``a=1, b=None``."""
    return ", ".join(f"{name}={python_value(value)}" for name, value in kwargs.items())


def estimator_code(
    estimator: str,
    kwargs: Mapping[str, Any],
    *,
    imputer: str | None = None,
    scale: bool = False,
    name: str = "model",
) -> str:
    """Return Python source that imports the estimator and builds it from ``kwargs``.

    Parameters
    ----------
    estimator : str
        The estimator's import path (``"lightgbm.LGBMClassifier"``).
    kwargs : mapping
        Its keyword arguments (estimator objects among them are imported too).
    imputer : str, optional
        A numeric imputer's strategy: the model becomes a pipeline of a
        ``SimpleImputer`` (and a ``StandardScaler`` with ``scale``) before the
        estimator, as the search fitted it on numeric columns.
    scale : bool
        Standardize the columns before the estimator.
    name : str
        The variable the model is assigned to.

    Returns
    -------
    str
        Lines that run as they are: imports, then ``name = ...``.

    Examples
    --------
    >>> print(estimator_code("sklearn.svm.SVC", {"C": 2.0, "max_iter": -1}))
    from sklearn.svm import SVC
    <BLANKLINE>
    model = SVC(C=2.0, max_iter=-1)
    """
    imports = [_import_line(estimator)]
    imports += [_import_line(_class_path(v)) for v in kwargs.values() if _is_estimator(v)]
    call = f"{estimator.rsplit('.', 1)[1]}({python_kwargs(kwargs)})"
    steps = []
    if imputer is not None:
        imports.append("from sklearn.impute import SimpleImputer")
        steps.append(f"SimpleImputer(strategy={imputer!r})")
    if scale:
        imports.append("from sklearn.preprocessing import StandardScaler")
        steps.append("StandardScaler()")
    if steps:
        imports.append("from sklearn.pipeline import make_pipeline")
        call = f"make_pipeline({', '.join([*steps, call])})"
    return "\n".join([*dict.fromkeys(imports), "", f"{name} = {call}"])


def jsonable_kwargs(kwargs: Mapping[str, Any]) -> dict[str, JsonScalar]:
    """Return keyword arguments as JSON values.

    An estimator argument is written as its class path under its name plus
    its non-default parameters in scikit-learn's nested ``name__param`` form
    (ready for ``set_params`` once the class is built); NumPy scalars become
    Python numbers.
    """
    out: dict[str, JsonScalar] = {}
    for key, value in kwargs.items():
        if _is_estimator(value):
            out[key] = _class_path(value)
            for param, v in _changed_params(value).items():
                out[f"{key}__{param}"] = v.item() if isinstance(v, np.generic) else v
        elif isinstance(value, np.generic):
            out[key] = value.item()
        else:
            out[key] = value
    return out


def _is_estimator(value: Any) -> bool:
    # Imported here: the records are read by commands that never build a model.
    from sklearn.base import BaseEstimator

    return isinstance(value, BaseEstimator)


def _changed_params(estimator: Any) -> dict[str, Any]:
    defaults = type(estimator)().get_params(deep=False)
    return {
        p: v
        for p, v in estimator.get_params(deep=False).items()
        if p not in defaults or v != defaults[p]
    }


def _class_path(value: Any) -> str:
    # sklearn.tree._classes.DecisionTreeClassifier is imported from sklearn.tree.
    cls = type(value)
    return f"{cls.__module__.split('._')[0]}.{cls.__name__}"


def _import_line(path: str) -> str:
    module, _, name = path.rpartition(".")
    return f"from {module} import {name}"
