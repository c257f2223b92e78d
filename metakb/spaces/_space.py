"""One search space: a ConfigSpace definition plus its mappings to a flow and an estimator.

A configuration is a plain dict keyed by the flow's OWN parameter names (the
keys of ``configs.params`` in the knowledge base), so that what the knowledge
base stores, what the models see and what an optimizer suggests are the same
object. The space adds three views of it:

* the flow's full parameter dict (with the flow's constant parameters) for storage;
* the estimator's keyword arguments, ready for ``Estimator(**kwargs)``;
* a numeric vector in ``[0, 1]^d`` for surrogate models (log scales, one-hot
  categoricals, a fixed value for inactive conditionals).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from ConfigSpace import (
    CategoricalHyperparameter,
    Configuration,
    ConfigurationSpace,
    Constant,
)
from ConfigSpace.hyperparameters import Hyperparameter, NumericalHyperparameter

from metakb.configs import JsonScalar, canonical_value

Params = dict[str, JsonScalar]

# The value an inactive numerical parameter takes in the encoded vector. Any
# fixed value in [0, 1] works: the one-hot columns of its parent already tell a
# model whether the parameter is in use.
INACTIVE_VALUE = 0.0


class SearchSpace:
    """A search space over one algorithm's hyperparameters.

    Parameters
    ----------
    name : str
        The algorithm's name (``"random_forest"``, ``"lightgbm"``, ...).
    flow_ids : sequence of str
        Knowledge base flow keys whose configurations live in this space.
    configspace : ConfigSpace.ConfigurationSpace
        The hyperparameters, named with the flow's parameter names, with their
        ranges, scales, defaults and conditions.
    constants : mapping
        Flow parameters that never vary (e.g. ``n_estimators = 100`` in the
        OpenML RandomForest runs); added by :meth:`to_flow_params` and
        ignored on input.
    to_estimator : callable
        Maps a validated configuration to the estimator's own keyword
        arguments (an ensemble's base model given by its arguments, as
        :meth:`~metakb.spaces.Algorithm.estimator` takes them).
    estimator : str
        The import path of the estimator of the flow's task type, for messages
        and documentation; :attr:`~metakb.spaces.Algorithm.estimators` has one
        per task type.
    absent_means_default : bool
        Whether a missing active parameter means its default (AutoGluon's
        convention in the TabRepo configurations) instead of an error.
    """

    def __init__(
        self,
        name: str,
        flow_ids: Sequence[str],
        configspace: ConfigurationSpace,
        *,
        constants: Mapping[str, JsonScalar] | None = None,
        to_estimator: Callable[[dict[str, Any]], dict[str, Any]],
        estimator: str,
        absent_means_default: bool = False,
    ) -> None:
        self.name = name
        self.flow_ids = tuple(flow_ids)
        self.configspace = configspace
        self.constants: Params = dict(constants or {})
        self._to_estimator = to_estimator
        self.estimator = estimator
        self.absent_means_default = absent_means_default
        self._hps: list[Hyperparameter] = [
            hp for hp in configspace.values() if not isinstance(hp, Constant)
        ]
        self.feature_names: tuple[str, ...] = tuple(
            f"{hp.name}={_label(choice)}" if isinstance(hp, CategoricalHyperparameter) else hp.name
            for hp in self._hps
            for choice in (hp.choices if isinstance(hp, CategoricalHyperparameter) else [None])
        )

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        # Pickled models refer to their space by name: spaces hold closures, and
        # a loaded model must use this metakb's definition of the space anyway.
        return (_registered_space, (self.name,))

    def __repr__(self) -> str:
        return f"SearchSpace({self.name!r}, flows={list(self.flow_ids)}, d={self.n_dims})"

    @property
    def names(self) -> tuple[str, ...]:
        """The hyperparameter names (the flow's parameter names), in encoding order."""
        return tuple(hp.name for hp in self._hps)

    @property
    def n_dims(self) -> int:
        """The length of an encoded vector."""
        return len(self.feature_names)

    # -- validation and flow parameters -------------------------------------------

    def validate(self, params: Mapping[str, Any]) -> Params:
        """Return ``params`` as a canonical configuration of this space.

        Keys that are not hyperparameters of the space (the flow's constants
        and other fixed settings) are dropped, values are canonicalized,
        inactive conditional parameters are removed.

        Raises
        ------
        ValueError
            A hyperparameter is missing, out of range or not a legal choice.
        """
        values: dict[str, Any] = {}
        for hp in self._hps:
            value = canonical_value(params.get(hp.name))
            if value is None:
                continue
            if isinstance(hp, CategoricalHyperparameter):
                value = _match_choice(hp, value)
            elif isinstance(hp, NumericalHyperparameter):
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ValueError(f"{self.name}: {hp.name}={value!r} is not a number")
                if _is_integer(hp):
                    value = round(value)
            values[hp.name] = value
        values = self._drop_inactive(values)
        if self.absent_means_default:
            values = self._fill_defaults(values)
        try:
            config = Configuration(self.configspace, values=values)
            config.check_valid_configuration()
        except Exception as exc:  # ConfigSpace raises several unrelated types
            raise ValueError(f"{self.name}: invalid configuration {values}: {exc}") from None
        # The given values, not ConfigSpace's: its vector round trip rounds floats
        # (to ~13 digits), which would give a published setting another config id.
        return {name: canonical_value(values[name]) for name in sorted(config.keys())}

    def contains(self, params: Mapping[str, Any]) -> bool:
        """Return whether ``params`` is a complete, legal configuration of the space."""
        try:
            return self.validate(params) == {k: canonical_value(v) for k, v in params.items()}
        except ValueError:
            return False

    def from_flow_params(self, params: Mapping[str, Any]) -> Params:
        """Return the configuration stored under the flow's parameter names (alias of validate)."""
        return self.validate(params)

    def to_flow_params(self, params: Mapping[str, Any]) -> Params:
        """Return the flow's full parameter dict: constants added, inactive parameters None."""
        # Inactive conditional parameters are part of the flow's parameters (as None,
        # as in the published runs), so the same setting has the same config id.
        inactive: Params = {name: None for name in self.names}
        return dict(sorted({**inactive, **self.constants, **self.validate(params)}.items()))

    def to_estimator_params(
        self, params: Mapping[str, Any], *, validated: bool = False
    ) -> dict[str, Any]:
        """Return the estimator's own keyword arguments for a configuration.

        They follow the flow's estimator (:attr:`estimator`), with an
        ensemble's base model given by its arguments (AdaBoost's
        ``max_depth``); :meth:`~metakb.spaces.Algorithm.estimator_params` turns
        them into the constructor arguments of a task type's estimator.

        Parameters
        ----------
        params : mapping
            A configuration of the space.
        validated : bool
            Skip validation: ``params`` come from :meth:`validate`, or from
            :meth:`~metakb.spaces.Algorithm.fit_to_rows`, whose size-dependent
            values may lie below the space's bounds.

        Examples
        --------
        >>> from metakb.spaces import SPACES
        >>> space = SPACES["lightgbm"]
        >>> kwargs = space.to_estimator_params(space.default())
        >>> sorted(kwargs)[:3]
        ['colsample_bytree', 'extra_trees', 'learning_rate']
        """
        values: dict[str, Any] = dict(params if validated else self.validate(params))
        for hp in self._hps:
            # Canonical JSON turns 1.0 into 1; estimators read an int fraction as a count.
            if (
                hp.name in values
                and not _is_integer(hp)
                and not isinstance(hp, CategoricalHyperparameter)
            ):
                values[hp.name] = float(values[hp.name])
        return self._to_estimator(values)

    def default(self) -> Params:
        """Return the space's default configuration."""
        return self.validate(dict(self.configspace.get_default_configuration()))

    def sample(self, n: int, seed: int | None = None) -> list[Params]:
        """Return ``n`` configurations drawn uniformly (on each parameter's scale).

        Parameters
        ----------
        n : int
            How many configurations.
        seed : int, optional
            Seed of the draw; the same seed gives the same configurations.
        """
        rng = np.random.default_rng(seed)
        return [self.decode(rng.random(self.n_dims)) for _ in range(n)]

    # -- numeric encoding ---------------------------------------------------------

    def encode(self, params: Mapping[str, Any]) -> np.ndarray:
        """Return the configuration as a vector in ``[0, 1]^d`` (see :attr:`feature_names`)."""
        return self._encode_valid(self.validate(params))

    def encode_many(
        self, configs: Iterable[Mapping[str, Any]], *, validated: bool = False
    ) -> np.ndarray:
        """Encode several configurations into an ``(n, d)`` matrix.

        Parameters
        ----------
        configs : iterable of mapping
            The configurations.
        validated : bool
            Skip validation: the configurations come from :meth:`validate`.
        """
        if validated:
            return self._encode_columns(list(configs))
        rows = [self.encode(c) for c in configs]
        return np.vstack(rows) if rows else np.empty((0, self.n_dims))

    def _encode_columns(self, configs: Sequence[Mapping[str, Any]]) -> np.ndarray:
        # `_encode_valid` on every row, one hyperparameter at a time: a BO ask
        # encodes a few hundred candidates, where per-value calls dominated.
        out = np.empty((len(configs), self.n_dims))
        i = 0
        for hp in self._hps:
            values = [c.get(hp.name) for c in configs]
            if isinstance(hp, CategoricalHyperparameter):
                for choice in hp.choices:
                    out[:, i] = [1.0 if v == choice else 0.0 for v in values]
                    i += 1
                continue
            active = [r for r, v in enumerate(values) if v is not None]
            out[:, i] = INACTIVE_VALUE
            if active:
                vector = hp.to_vector(np.asarray([values[r] for r in active]))
                out[active, i] = np.clip(np.asarray(vector, dtype=float), 0.0, 1.0)
            i += 1
        return out

    def _encode_valid(self, values: Mapping[str, Any]) -> np.ndarray:
        out: list[float] = []
        for hp in self._hps:
            value = values.get(hp.name)
            if isinstance(hp, CategoricalHyperparameter):
                out.extend(1.0 if value == choice else 0.0 for choice in hp.choices)
            elif value is None:
                out.append(INACTIVE_VALUE)
            else:
                out.append(float(np.clip(hp.to_vector(value), 0.0, 1.0)))
        return np.asarray(out, dtype=float)

    def decode(self, vector: Sequence[float] | np.ndarray) -> Params:
        """Return the configuration nearest to ``vector`` (any point of ``[0, 1]^d``).

        Categorical parameters take the choice with the largest one-hot entry;
        numerical parameters are mapped back through their scale and rounded
        for integers; inactive conditionals are dropped.
        """
        x = np.asarray(vector, dtype=float)
        if x.shape != (self.n_dims,):
            raise ValueError(
                f"{self.name}: expected a vector of length {self.n_dims}, got {x.shape}"
            )
        values: dict[str, Any] = {}
        i = 0
        for hp in self._hps:
            if isinstance(hp, CategoricalHyperparameter):
                width = len(hp.choices)
                values[hp.name] = hp.choices[int(np.argmax(x[i : i + width]))]
                i += width
            else:
                v = hp.to_value(float(np.clip(x[i], 0.0, 1.0)))
                values[hp.name] = round(v) if _is_integer(hp) else float(v)
                i += 1
        return self.validate(self._drop_inactive(values))

    # -- helpers --------------------------------------------------------------------

    def _drop_inactive(self, values: dict[str, Any]) -> dict[str, Any]:
        # Parents are resolved before children because conditions only look upward.
        active: dict[str, Any] = {}
        for hp in self._hps:
            if hp.name in values and self._is_active(hp.name, active):
                active[hp.name] = values[hp.name]
        return active

    def inactive(self, params: Mapping[str, Any]) -> list[str]:
        """Return the hyperparameters of ``params`` that its conditions switch off.

        Examples
        --------
        >>> from metakb.spaces import SPACES
        >>> SPACES["svc"].inactive({"svc__kernel": "rbf", "svc__degree": 3})
        ['svc__degree']
        """
        return [name for name in self.names if name in params and not self._is_active(name, params)]

    def _is_active(self, name: str, values: Mapping[str, Any]) -> bool:
        if any(parent.name not in values for parent in self.configspace.parents_of[name]):
            return False
        return all(
            condition.satisfied_by_value(dict(values))
            for condition in self.configspace.parent_conditions_of[name]
        )

    def _fill_defaults(self, values: dict[str, Any]) -> dict[str, Any]:
        filled = dict(values)
        for hp in self._hps:
            if hp.name not in filled and self._is_active(hp.name, filled):
                filled[hp.name] = hp.default_value
        return self._drop_inactive(filled)


def _registered_space(name: str) -> SearchSpace:
    from metakb.spaces._algorithms import SPACES

    return SPACES[name]


def _is_integer(hp: Hyperparameter) -> bool:
    return type(hp).__name__.endswith("IntegerHyperparameter")


def _label(choice: Any) -> str:
    return str(canonical_value(choice))


def _match_choice(hp: CategoricalHyperparameter, value: JsonScalar) -> Any:
    for choice in hp.choices:
        if canonical_value(choice) == value:
            return choice
    raise ValueError(f"{hp.name}={value!r} is not one of {[_label(c) for c in hp.choices]}")
