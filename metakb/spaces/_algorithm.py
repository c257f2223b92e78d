"""One record per algorithm: everything metakb knows about it, in one place.

An :class:`Algorithm` joins the algorithm's search space to what is needed to
evaluate, import and describe its configurations: the estimator per task type,
the preprocessing it needs, the fidelity a multi-fidelity search shrinks, the
OpenML flows whose runs are its configurations and how their setup parameters
map onto the space, and the hyperparameters whose meaning depends on the
training size (:class:`TreeSize`, which :meth:`Algorithm.fit_to_rows` caps for
small tables). Adding an algorithm means adding one record to
:data:`~metakb.spaces.ALGORITHMS`; the contract test in ``tests/spaces`` runs
over every record.

scikit-learn and LightGBM are imported only when an estimator is built: the
records are read by the CLI and the importers, which never fit a model.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

import pandas as pd

from metakb.configs import JsonScalar
from metakb.spaces._space import Params, SearchSpace

if TYPE_CHECKING:
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

TaskType = Literal["classification", "regression"]
FidelityKind = Literal["rows", "rounds"]
Categoricals = Literal["one_hot", "ordinal"]
FlowParameterMap = Mapping[str, tuple[str, str]]
"""Published parameter name -> (component class fragment, OpenML parameter name)."""

# The default numeric imputer of every pipeline; an OpenML flow's configurations
# choose their own strategy (see `Algorithm.imputer_param`).
_NUMERIC_STRATEGY = "median"

# `Algorithm.fit_to_rows` keeps room for this many leaves in every tree: two
# levels of splits, enough to model an interaction, while the caps stay as
# close to the configuration's own leaf sizes as that allows.
TREE_LEAVES = 4
# Past this every cap is far above any leaf size, and the bootstrap share's
# floats stay exact.
_MANY_ROWS = 2**40


def categorical_columns(x: pd.DataFrame) -> list[str]:
    """Return the columns that are not numeric (object, string, category, bool)."""
    return [
        str(c)
        for c in x.columns
        if not pd.api.types.is_numeric_dtype(x[c]) or pd.api.types.is_bool_dtype(x[c])
    ]


@dataclass(frozen=True, eq=False)
class BaseModel:
    """The model an ensemble algorithm is made of (AdaBoost's decision trees).

    Attributes
    ----------
    param : str
        The ensemble's keyword argument that takes the base model (``"estimator"``).
    estimators : mapping
        Task type -> import path of the base model's class.
    params : mapping
        Estimator-native keyword arguments that belong to the base model,
        with the values used when they are absent (``{"max_depth": 1}``).
    """

    param: str
    estimators: Mapping[str, str]
    params: Mapping[str, JsonScalar] = field(default_factory=dict)


@dataclass(frozen=True)
class TreeSize:
    """The hyperparameters that bound a tree by counts of training rows.

    They are the algorithm's size-dependent hyperparameters:
    :meth:`Algorithm.fit_to_rows` caps them on small tables so that every tree
    can split.

    Attributes
    ----------
    min_leaf : str
        The rows every leaf must hold (``min_data_in_leaf``, ``min_samples_leaf``).
    min_split : str or None
        The rows a node must hold to be split (``min_samples_split``).
    max_leaves : str or None
        The most leaves a tree may grow (``num_leaves``).
    bootstrap : str or None
        A boolean hyperparameter: when true, each tree learns from a bootstrap
        sample of the rows, and the counts above count its distinct rows (as
        scikit-learn's trees do, skipping rows drawn zero times).
    """

    min_leaf: str
    min_split: str | None = None
    max_leaves: str | None = None
    bootstrap: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """The size-dependent hyperparameters: ``min_leaf``, ``min_split``, ``max_leaves``."""
        return tuple(n for n in (self.min_leaf, self.min_split, self.max_leaves) if n is not None)


@dataclass(frozen=True, eq=False)
class Algorithm:
    """Everything about one algorithm: space, estimators, preprocessing, fidelity, OpenML map.

    Records are compared by identity (there is one per algorithm) and pickle
    by name, as :class:`~metakb.spaces.SearchSpace` does: a loaded object uses
    this metakb's definition of the algorithm.

    Attributes
    ----------
    name : str
        The algorithm's name, the key of :data:`~metakb.spaces.ALGORITHMS`.
    space : SearchSpace
        Its search space (configurations keyed by the flow's parameter names).
    estimators : mapping
        Task type -> import path of the estimator class; its keys are the
        task types the algorithm supports.
    fidelity : {'rounds', 'rows'}
        What a multi-fidelity search shrinks: the ensemble's ``n_estimators``
        or the training rows.
    categoricals : {'one_hot', 'ordinal'}
        How categorical columns are encoded.
    scale : bool
        Whether numeric columns are standardized (kernel methods).
    seed_param : str or None
        The estimator's seed argument, None when it takes no seed.
    fixed_params : mapping
        Estimator keyword arguments of every fit (one thread, no logging).
    base : BaseModel or None
        The base model of an ensemble, for estimator-native keyword arguments.
    imputer_param : str or None
        The hyperparameter holding the numeric imputer's strategy (part of
        the OpenML flows' pipelines), None when the imputer is fixed.
    openml_flow_ids : tuple of int
        OpenML flows whose runs are configurations of the space.
    openml_params : mapping
        For those flows: published parameter name -> (component class
        fragment, OpenML parameter name). A setup parameter fits a key when
        its owning component's class name contains the fragment and the
        parameter name matches.
    openml_classes : tuple of str
        Lower-case OpenML component class names that mean this algorithm.
    tree_size : TreeSize or None
        The hyperparameters whose effect depends on the number of training
        rows (leaf sizes, leaf counts), which :meth:`fit_to_rows` caps; None
        for an algorithm without them.
    library_default : mapping
        The values that turn the space's default into the estimator library's
        own defaults (:meth:`library_config`), where those differ and lie in
        the space.
    task_params : mapping
        Task type -> estimator keyword arguments that replace a configuration's
        for that task type (:meth:`estimator_params`): what a space made for
        one task type's estimator means for another's.
    """

    name: str
    space: SearchSpace
    estimators: Mapping[str, str]
    fidelity: FidelityKind
    categoricals: Categoricals = "one_hot"
    scale: bool = False
    seed_param: str | None = "random_state"
    fixed_params: Mapping[str, JsonScalar] = field(default_factory=dict)
    base: BaseModel | None = None
    imputer_param: str | None = None
    openml_flow_ids: tuple[int, ...] = ()
    openml_params: FlowParameterMap = field(default_factory=dict)
    openml_classes: tuple[str, ...] = ()
    tree_size: TreeSize | None = None
    library_default: Mapping[str, JsonScalar] = field(default_factory=dict)
    task_params: Mapping[str, Mapping[str, JsonScalar]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.space.name != self.name:
            raise ValueError(f"algorithm {self.name!r} has the space of {self.space.name!r}")
        if not self.estimators:
            raise ValueError(f"{self.name}: no estimator for any task type")
        if self.base is not None and set(self.base.estimators) != set(self.estimators):
            raise ValueError(f"{self.name}: the base model must cover the same task types")
        if not set(self.task_params) <= set(self.estimators):
            raise ValueError(f"{self.name}: task_params for task types without an estimator")
        missing = [
            f"openml:{i}" for i in self.openml_flow_ids if f"openml:{i}" not in self.space.flow_ids
        ]
        if missing:
            raise ValueError(f"{self.name}: flows {missing} are not flows of the space")
        hyperparameters = set(self.space.names)
        sizes = () if self.tree_size is None else (*self.tree_size.names, self.tree_size.bootstrap)
        unknown = sorted({n for n in sizes if n is not None} - hyperparameters)
        if self.imputer_param is not None and self.imputer_param not in hyperparameters:
            unknown.append(self.imputer_param)
        unknown += sorted(set(self.library_default) - hyperparameters)
        if unknown:
            raise ValueError(f"{self.name}: {unknown} are not hyperparameters of the space")
        self.space.validate(self.library_config())

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (_registered_algorithm, (self.name,))

    def __repr__(self) -> str:
        return f"Algorithm({self.name!r}, task_types={list(self.task_types)})"

    @property
    def task_types(self) -> tuple[str, ...]:
        """The task types the algorithm supports."""
        return tuple(self.estimators)

    @property
    def size_dependent(self) -> tuple[str, ...]:
        """The hyperparameters whose effect depends on the number of training rows."""
        return () if self.tree_size is None else self.tree_size.names

    # -- sizes ----------------------------------------------------------------------

    def fit_to_rows(self, config: Mapping[str, Any], n_rows: int) -> Params:
        """Return the configuration with its size-dependent values capped for ``n_rows`` rows.

        Leaf sizes come from runs on large tables; on a small one they can
        forbid every split (``min_data_in_leaf=60`` on 48 training rows, and
        LightGBM fits a constant). The rule keeps room for
        :data:`TREE_LEAVES` (4) leaves in every tree of the rows a model
        learns from. With ``n`` those rows (:attr:`tree_size`):

        * ``n`` is ``n_rows``, or, when the configuration bootstraps, the
          expected distinct rows of a bootstrap sample,
          ``floor(n_rows * (1 - (1 - 1 / n_rows) ** n_rows))`` (63%);
        * a leaf holds at most ``max(1, n // 4)`` rows, so four leaves fit;
        * a node needs at most ``max(2, n // 2)`` rows to be split, so both
          halves of a first split can be split again;
        * when the leaf size was capped, a tree has at most
          ``max(2, n // leaf size)`` leaves, the most its rows can fill. A
          larger leaf count changes no tree (it is an upper bound that is never
          reached), so it is otherwise left as it is.

        A value within its cap is left unchanged: the rule is the identity on
        tables of a few hundred rows and more (every configuration of the
        spaces here from 240 rows on), so nothing changes on the tasks the
        knowledge base learned from.

        Capped values may lie below the space's lower bounds (LightGBM's
        ``num_leaves`` starts at 16): what matters is the fitted model, and the
        estimators accept them. The result is then not a configuration of the
        space; :meth:`estimator_params` turns it into keyword arguments, and
        the knowledge base keeps storing and learning from the configuration
        as given.

        Parameters
        ----------
        config : mapping
            A configuration of the space.
        n_rows : int
            The rows the model is fitted on (a cross-validation fold's training rows).

        Returns
        -------
        dict
            The validated configuration, its size-dependent values capped.

        Raises
        ------
        ValueError
            ``config`` is not a configuration of the space, or ``n_rows < 1``.

        Examples
        --------
        >>> from metakb.spaces import get_algorithm
        >>> lightgbm = get_algorithm("lightgbm")
        >>> config = {**lightgbm.space.default(), "min_data_in_leaf": 60, "num_leaves": 255}
        >>> fitted = lightgbm.fit_to_rows(config, 48)
        >>> fitted["min_data_in_leaf"], fitted["num_leaves"]
        (12, 4)
        >>> lightgbm.fit_to_rows(config, 5000) == lightgbm.space.validate(config)
        True
        """
        if n_rows < 1:
            raise ValueError(f"{self.name}: a model needs at least 1 row, not {n_rows}")
        fitted = self.space.validate(config)
        size = self.tree_size
        if size is None:
            return fitted
        n = min(n_rows, _MANY_ROWS)
        if size.bootstrap is not None and fitted.get(size.bootstrap) is True:
            n = _bootstrap_rows(n)
        leaf_capped = _cap(fitted, size.min_leaf, max(1, n // TREE_LEAVES))
        _cap(fitted, size.min_split, max(2, n // 2))
        leaf = fitted.get(size.min_leaf)
        if leaf_capped and isinstance(leaf, int):
            _cap(fitted, size.max_leaves, max(2, n // leaf))
        return fitted

    def adaptations(
        self, config: Mapping[str, Any], n_rows: int
    ) -> dict[str, tuple[JsonScalar, JsonScalar]]:
        """Return ``{argument: (value, value for n_rows)}`` for what :meth:`fit_to_rows` caps.

        Keyed by the estimator's keyword argument names, as
        :meth:`estimator_params` shows the configuration (LightGBM's
        ``min_child_samples``, not the flow's ``min_data_in_leaf``; a base
        model's argument in the nested ``estimator__name`` form). Empty when
        the configuration fits ``n_rows`` rows as it is.

        Examples
        --------
        >>> from metakb.spaces import get_algorithm
        >>> lightgbm = get_algorithm("lightgbm")
        >>> lightgbm.adaptations({**lightgbm.space.default(), "min_data_in_leaf": 60}, 48)
        {'num_leaves': (31, 4), 'min_child_samples': (60, 12)}
        """
        valid = self.space.validate(config)
        fitted = self.fit_to_rows(valid, n_rows)
        if fitted == valid:
            return {}
        # Named as shown: the difference of the two configurations' keyword arguments.
        before = self.space.to_estimator_params(valid, validated=True)
        after = self.space.to_estimator_params(fitted, validated=True)
        base = {} if self.base is None else {k: self.base.param for k in self.base.params}
        return {
            f"{base[name]}__{name}" if name in base else name: (value, after[name])
            for name, value in before.items()
            if after.get(name) != value
        }

    def library_config(self) -> dict[str, Any]:
        """Return the configuration of the space closest to the library's own defaults.

        For LightGBM it is exactly ``LGBMClassifier()``'s setting (100 rounds
        at rate 0.1); where a library default lies outside the space
        (RandomForest's ``max_features="sqrt"``, SVC's ``gamma="scale"``) the
        space's default stands in for it.
        """
        return {**self.space.default(), **self.library_default}

    def check_task_type(self, task_type: str) -> TaskType:
        """Return ``task_type`` if the algorithm supports it.

        Raises
        ------
        ValueError
            The algorithm has no estimator for ``task_type``; the one-line
            message names the task types it supports.
        """
        if task_type not in self.estimators:
            supported = " and ".join(self.task_types)
            raise ValueError(f"{self.name} supports {supported} only, not {task_type!r}")
        return cast(TaskType, task_type)

    # -- estimators -----------------------------------------------------------------

    def estimator(self, params: Mapping[str, Any], task_type: str, seed: int = 0) -> Any:
        """Return the bare estimator for estimator-native keyword arguments.

        Parameters
        ----------
        params : mapping
            The estimator's own keyword arguments (absent ones keep the
            library's defaults); for an ensemble with a :attr:`base` model,
            the base model's arguments (``max_depth``) may be given too.
        task_type : {'classification', 'regression'}
        seed : int
            The model's seed (when it takes one).
        """
        task_type = self.check_task_type(task_type)
        kwargs = self._with_base(params, task_type)
        seeded = {} if self.seed_param is None else {self.seed_param: seed}
        return _load(self.estimators[task_type])(**{**seeded, **self.fixed_params, **kwargs})

    def estimator_params(
        self, config: Mapping[str, Any], task_type: str, n_rows: int | None = None
    ) -> dict[str, Any]:
        """Return a configuration of the space as keyword arguments of the task type's estimator.

        ``estimators[task_type](**kwargs)`` builds the configuration's model
        (with the library's seed and thread defaults): the space's mapping
        (:meth:`~metakb.spaces.SearchSpace.to_estimator_params`), the task
        type's :attr:`task_params` over it, an ensemble's base model built
        for the task type.

        Parameters
        ----------
        config : mapping
            A configuration of the space (flow parameter names).
        task_type : {'classification', 'regression'}
        n_rows : int, optional
            The rows the model is fitted on: the size-dependent values are
            capped for them (:meth:`fit_to_rows`). None keeps the configuration
            as it is.

        Raises
        ------
        ValueError
            An invalid configuration, or a task type the algorithm does not support.
        """
        task_type = self.check_task_type(task_type)
        valid = self.space.validate(config) if n_rows is None else self.fit_to_rows(config, n_rows)
        params = self.space.to_estimator_params(valid, validated=True)
        return self._with_base({**params, **self.task_params.get(task_type, {})}, task_type)

    def estimator_code(
        self, config: Mapping[str, Any], task_type: str, n_rows: int | None = None
    ) -> str:
        """Return Python source that builds a configuration's model, ready to paste.

        The estimator with :meth:`estimator_params` (``n_rows`` caps the
        size-dependent values, as there), in a pipeline after the numeric
        imputer the configuration chooses (:attr:`imputer_param`) and the
        scaler the algorithm needs (:attr:`scale`), as a search fits it on
        numeric columns; categorical columns still need encoding first.

        Examples
        --------
        >>> from metakb.spaces import get_algorithm
        >>> forest = get_algorithm("random_forest")
        >>> print(forest.estimator_code(forest.space.default(), "classification"))
        ... # doctest: +NORMALIZE_WHITESPACE
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import make_pipeline
        <BLANKLINE>
        model = make_pipeline(SimpleImputer(strategy='mean'), RandomForestClassifier(max_depth=None,
        max_leaf_nodes=None, min_weight_fraction_leaf=0, n_estimators=100, bootstrap=True,
        criterion='gini', max_features=0.5, min_samples_leaf=1, min_samples_split=2))
        """
        from metakb.spaces._code import estimator_code

        task_type = self.check_task_type(task_type)
        strategy = None
        if self.imputer_param is not None:
            strategy = self.space.validate(config).get(self.imputer_param)
        return estimator_code(
            self.estimators[task_type],
            self.estimator_params(config, task_type, n_rows),
            imputer=None if strategy is None else str(strategy),
            scale=self.scale,
        )

    def model(
        self, config: Mapping[str, Any], task_type: str, seed: int = 0, n_rows: int | None = None
    ) -> Any:
        """Return the bare estimator for a configuration of the space (flow parameter names).

        ``n_rows``, the rows it will be fitted on, caps the size-dependent
        values (:meth:`fit_to_rows`); None keeps the configuration as it is.
        """
        return self.estimator(self.estimator_params(config, task_type, n_rows), task_type, seed)

    def _with_base(self, params: Mapping[str, Any], task_type: TaskType) -> dict[str, Any]:
        # The base model's arguments (AdaBoost's max_depth) become the task type's base model.
        kwargs = dict(params)
        if self.base is not None and self.base.param not in kwargs:
            base_kwargs = {k: kwargs.pop(k, v) for k, v in self.base.params.items()}
            kwargs[self.base.param] = _load(self.base.estimators[task_type])(**base_kwargs)
        return kwargs

    def preprocessor(
        self, x: pd.DataFrame, numeric_strategy: str | None = None
    ) -> ColumnTransformer:
        """Return the column transformer the algorithm's estimator needs for ``x``'s columns.

        Numeric columns are imputed (with ``numeric_strategy``, default the
        median) and standardized when :attr:`scale`; categorical ones imputed
        with the most frequent value and one-hot or ordinal encoded.
        """
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

        categorical = categorical_columns(x)
        numeric = [str(c) for c in x.columns if str(c) not in categorical]
        numeric_steps: list[Any] = [SimpleImputer(strategy=numeric_strategy or _NUMERIC_STRATEGY)]
        if self.scale:
            numeric_steps.append(StandardScaler())
        encoder: Any = (
            OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=32)
            if self.categoricals == "one_hot"
            else OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
        )
        categorical_steps = make_pipeline(
            SimpleImputer(strategy="most_frequent", missing_values=pd.NA), encoder
        )
        return ColumnTransformer(
            [("numeric", make_pipeline(*numeric_steps), numeric)]
            + ([("categorical", categorical_steps, categorical)] if categorical else []),
            sparse_threshold=0.0,
        )

    def pipeline(
        self, config: Mapping[str, Any], x: pd.DataFrame, task_type: str, seed: int = 0
    ) -> Pipeline:
        """Return preprocessing + model for a configuration of the space, unfitted, for ``x``.

        ``x`` is the table the pipeline will be fitted on: its column kinds
        choose the preprocessing, and its number of rows caps the
        configuration's size-dependent values (:meth:`fit_to_rows`; the
        identity on tables of a few hundred rows and more), so that no
        configuration fits a constant model on a small table; a frame without
        rows only describes the columns and keeps the values. The numeric
        imputer takes the configuration's strategy when the space has one
        (:attr:`imputer_param`, as in the OpenML flows).
        """
        from sklearn.pipeline import Pipeline

        valid = self.space.validate(config)
        strategy = None if self.imputer_param is None else valid.get(self.imputer_param)
        model = self.model(valid, task_type, seed, n_rows=len(x) or None)
        return Pipeline(
            [
                ("prep", self.preprocessor(x, None if strategy is None else str(strategy))),
                ("model", model),
            ]
        )

    def default_pipeline(
        self,
        x: pd.DataFrame,
        task_type: str,
        seed: int = 0,
        params: Mapping[str, Any] | None = None,
    ) -> Pipeline:
        """Return preprocessing + the estimator with the library's defaults, unfitted.

        ``params`` (estimator-native keyword arguments, see :meth:`estimator`)
        override the defaults.
        """
        from sklearn.pipeline import Pipeline

        model = self.estimator(params or {}, task_type, seed)
        return Pipeline([("prep", self.preprocessor(x)), ("model", model)])


def _bootstrap_rows(n_rows: int) -> int:
    """Return the expected distinct rows of a bootstrap sample, ``n (1 - (1 - 1/n) ** n)``."""
    # log1p / expm1, as 1 - 1/n rounds to 1 for a large n.
    share = -math.expm1(n_rows * math.log1p(-1.0 / n_rows)) if n_rows > 1 else 1.0
    return max(1, math.floor(n_rows * share))


def _cap(config: Params, name: str | None, cap: int) -> bool:
    """Lower ``config[name]`` to ``cap`` when it is above; return whether it was."""
    value = None if name is None else config.get(name)
    if name is None or not isinstance(value, int | float) or value <= cap:
        return False
    config[name] = cap
    return True


def _load(path: str) -> Any:
    """Return the class at an import path (``"sklearn.svm.SVC"``), importing its module now."""
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _registered_algorithm(name: str) -> Algorithm:
    from metakb.spaces._algorithms import ALGORITHMS

    return ALGORITHMS[name]
