"""Landmarkers: cross-validated simple learners, as OpenML's ``GenericLandmarker`` runs them.

OpenML evaluates each Weka learner with ``Evaluation.crossValidateModel`` on
:data:`N_FOLDS` = 2 stratified folds (the fold count in OpenML's
``CharacterizerFactory``; not 10) and reports, over the pooled out-of-fold
predictions, ``<learner>ErrRate`` (error rate), ``<learner>Kappa`` (Cohen's
kappa) and ``<learner>AUC`` (one-vs-rest ROC AUC of each class weighted by the
class's frequency, Weka's ``weightedAreaUnderROC``). The scikit-learn
equivalents, on numeric features mean-imputed and min-max scaled to [0, 1]
and categorical features one-hot encoded (at most 32 categories per feature,
rarer ones folded together):

==================  ==============================  ==========================================
OpenML name         Weka learner                    here
==================  ==============================  ==========================================
kNN1N               IBk (k=1, normalized Euclid.)   KNeighborsClassifier(1, brute); one-hot
                                                    cells 1/sqrt(2), so a differing category
                                                    adds 1 to the squared distance as in Weka
DecisionStump       DecisionStump                   DecisionTreeClassifier(max_depth=1,
                                                    criterion="entropy")
NaiveBayes          NaiveBayes (Gaussian)           Gaussian per numeric feature (minimum
                                                    std = value precision / 6, as Weka),
                                                    Laplace-smoothed counts per category
RandomTreeDepthD    RandomTree -depth D             DecisionTreeClassifier(max_depth=D,
                                                    max_features=floor(log2 p) + 1,
                                                    criterion="entropy")
REPTreeDepthD       REPTree -L D (reduced-error     DecisionTreeClassifier(max_depth=D,
                    pruning on a 1/3 hold-out)      criterion="entropy", min_samples_leaf=2)
                                                    grown on 2/3 of the fold, then pruned
                                                    bottom-up on the other 1/3
==================  ==============================  ==========================================

OpenML's stored values are not consistent here: for about 60 % of the
OpenML100 tasks ``REPTreeDepth1-3`` (and ``RandomTreeDepth1-3``) are equal to
each other, i.e. the depth option did not take effect and the stored values
are those of unlimited-depth trees; the other tasks have depth-limited values.
metakb computes the documented (depth-limited) definition under OpenML's names
and the unlimited trees as ``metakb.landmark.REPTree`` and
``metakb.landmark.RandomTree``.

metakb also adds ``metakb.landmark.LDA`` (LinearDiscriminantAnalysis, lsqr solver) and
``metakb.landmark.DecisionTree`` (an unpruned entropy tree, min_samples_leaf=2).
OpenML's J48 and CfsSubsetEval_* landmarkers are not computed.

Landmarkers run on a class-stratified sample of at most
:data:`MAX_ROWS` rows (recorded in the result). They need a categorical
target; for regression they are NaN with a reason.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.stats import rankdata
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.neighbors import KNeighborsClassifier
from sklearn.tree import DecisionTreeClassifier

from metakb.metafeatures._base import (
    BudgetExceededError,
    Family,
    Prepared,
    Sink,
    subsample_rows,
    take_rows,
)
from metakb.metafeatures._design import Design, build_design
from metakb.metafeatures.statistical import distinct_counts

N_FOLDS = 2
MAX_ROWS = 5_000
MAX_LDA_COLUMNS = 500
MEASURES = ("AUC", "ErrRate", "Kappa")


def _tree(seed: int, **kwargs: Any) -> DecisionTreeClassifier:
    return DecisionTreeClassifier(criterion="entropy", random_state=seed, **kwargs)


class GaussianCategoricalNB:
    """Weka-style naive Bayes: Gaussian numeric likelihoods, Laplace-smoothed categories.

    Fits on ``(num, cat)`` tuples: raw numeric features (NaN = missing, left
    out of the likelihood as Weka does) and categorical codes (-1 = missing).

    Parameters
    ----------
    min_std : ndarray of shape (p_num,)
        Lower bound of each numeric feature's per-class standard deviation.
    """

    def __init__(self, min_std: np.ndarray) -> None:
        self.min_std = min_std

    def fit(self, X: tuple[np.ndarray, np.ndarray], y: np.ndarray) -> GaussianCategoricalNB:
        """Estimate class priors, per-class means/stds and category frequencies."""
        num, cat = X
        self.classes_ = np.unique(y)
        k = self.classes_.size
        index = np.searchsorted(self.classes_, y)
        self.log_prior_ = np.log(np.bincount(index, minlength=k) / y.size)
        onehot = np.zeros((y.size, k))
        onehot[np.arange(y.size), index] = 1.0
        valid = (~np.isnan(num)).astype(float)
        filled = np.where(valid > 0, num, 0.0)
        count = onehot.T @ valid  # (k, p)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = (onehot.T @ filled) / count
            sq = onehot.T @ (filled**2)
            var = sq / count - mean**2
        self.mean_ = np.where(count > 0, mean, 0.0)
        std = np.sqrt(np.clip(np.where(count > 1, var * count / (count - 1), 0.0), 0, None))
        self.std_ = np.maximum(np.nan_to_num(std), self.min_std[None, :])
        self.levels_ = (
            (cat.max(axis=0, initial=-1) + 1).astype(np.int64)
            if cat.size
            else np.zeros(cat.shape[1], dtype=np.int64)
        )
        tables = []
        for j in range(cat.shape[1]):
            ok = cat[:, j] >= 0
            size = int(self.levels_[j]) + 1  # one spare code for values unseen in training
            flat = cat[ok, j] * k + index[ok]
            counts = np.bincount(flat, minlength=size * k).reshape(size, k).astype(float)
            tables.append(np.log((counts + 1.0) / (counts.sum(axis=0) + size)))
        self.tables_ = tables
        return self

    def predict_proba(self, X: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """Return the posterior class probabilities of each row."""
        num, cat = X
        log_p = np.tile(self.log_prior_, (num.shape[0], 1))
        if num.shape[1]:
            # The Gaussian log-likelihood summed over observed features, expanded into
            # three matrix products: sum_j a_jc x_j^2 + b_jc x_j + c_jc.
            var = self.std_**2
            a = -0.5 / var
            b = self.mean_ / var
            c = -0.5 * self.mean_**2 / var - np.log(self.std_) - 0.5 * math.log(2 * math.pi)
            valid = ~np.isnan(num)
            x = np.where(valid, num, 0.0)
            log_p += (x**2) @ a.T + x @ b.T + valid.astype(float) @ c.T
        for j, table in enumerate(self.tables_):
            codes = cat[:, j]
            ok = codes >= 0
            clipped = np.minimum(codes[ok], table.shape[0] - 1)
            log_p[ok] += table[clipped]
        log_p -= log_p.max(axis=1, keepdims=True)
        proba = np.exp(log_p)
        return np.asarray(proba / proba.sum(axis=1, keepdims=True))


class REPTree:
    """A depth-limited entropy tree with reduced-error pruning, after Weka's REPTree.

    Grows on a random 2/3 of the training rows and prunes bottom-up on the
    rest: a subtree becomes a leaf when that does not raise its errors on the
    pruning rows.
    """

    def __init__(self, max_depth: int | None, seed: int) -> None:
        self.max_depth = max_depth
        self.seed = seed

    def fit(self, X: Any, y: np.ndarray) -> REPTree:
        """Grow on 2/3 of the rows, prune on the remaining 1/3."""
        rng = np.random.default_rng(self.seed)
        order = rng.permutation(y.size)
        cut = max(1, (2 * y.size) // 3)
        grow, prune = order[:cut], order[cut:]
        tree = _tree(self.seed, max_depth=self.max_depth, min_samples_leaf=2)
        tree.fit(X[grow], y[grow])
        self.tree_ = tree
        self.classes_ = tree.classes_
        self.pruned_ = np.zeros(tree.tree_.node_count, dtype=bool)
        if prune.size:
            self._prune(X[prune], y[prune])
        return self

    def _prune(self, X: Any, y: np.ndarray) -> None:
        t = self.tree_.tree_
        left, right = t.children_left, t.children_right
        known = np.isin(y, self.classes_)
        onehot = np.zeros((y.size, self.classes_.size))
        onehot[np.flatnonzero(known), np.searchsorted(self.classes_, y[known])] = 1.0
        # Pruning rows of each class reaching each node, and the errors each node
        # would make predicting its own (growing-set) majority class.
        reach = self.tree_.decision_path(X).T @ onehot
        majority = t.value[:, 0, :].argmax(axis=1)
        as_leaf = reach.sum(axis=1) - reach[np.arange(t.node_count), majority]
        below = as_leaf.astype(float).copy()
        # Children are numbered after their parent: a reverse sweep is bottom-up.
        for node in range(t.node_count - 1, -1, -1):
            if left[node] < 0:
                continue
            subtree = below[left[node]] + below[right[node]]
            if as_leaf[node] <= subtree:
                self.pruned_[node] = True
                below[node] = as_leaf[node]
            else:
                below[node] = subtree

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of the (pruned) leaf each row reaches."""
        t = self.tree_.tree_
        stop = (self.pruned_ | (t.children_left < 0)).astype(float)
        # Nodes are numbered depth first, so the first leaf-or-pruned node on a row's
        # path is the one with the smallest index among them.
        hits = self.tree_.decision_path(X).multiply(stop[None, :]).tocsr()
        hits.eliminate_zeros()
        node = np.minimum.reduceat(hits.indices, hits.indptr[:-1])
        value = t.value[node, 0, :]
        total = value.sum(axis=1, keepdims=True)
        return np.asarray(value / np.where(total > 0, total, 1.0))


def _learners(p_original: int, seed: int) -> dict[str, Callable[[], Any]]:
    k_random = int(math.log2(max(p_original, 1))) + 1
    learners: dict[str, Callable[[], Any]] = {
        "kNN1N": lambda: KNeighborsClassifier(n_neighbors=1, algorithm="brute"),
        "DecisionStump": lambda: _tree(seed, max_depth=1),
        "NaiveBayes": lambda: None,  # built per fold from raw arrays
    }
    for depth in (1, 2, 3):
        learners[f"RandomTreeDepth{depth}"] = lambda d=depth: _tree(  # type: ignore[misc]
            seed, max_depth=d, max_features=min(k_random, p_original) or None
        )
    for depth in (1, 2, 3):
        learners[f"REPTreeDepth{depth}"] = lambda d=depth: REPTree(d, seed)  # type: ignore[misc]
    # Unlimited depth: what OpenML stored under all three REPTreeDepthD/RandomTreeDepthD
    # names for most older tasks (see the module docstring).
    learners["metakb.landmark.RandomTree"] = lambda: _tree(
        seed, max_features=min(k_random, p_original) or None
    )
    learners["metakb.landmark.REPTree"] = lambda: REPTree(None, seed)
    # lsqr (least squares on the pooled covariance): about twice as fast as the SVD
    # solver and indifferent to the collinear one-hot columns.
    learners["metakb.landmark.LDA"] = lambda: LinearDiscriminantAnalysis(solver="lsqr")
    learners["metakb.landmark.DecisionTree"] = lambda: _tree(seed, min_samples_leaf=2)
    return learners


LEARNERS = tuple(_learners(1, 0))


def names(task_type: str) -> list[str]:
    """Return the names this family reports for a task type."""
    return [f"{learner}{measure}" for learner in LEARNERS for measure in MEASURES]


def stratified_folds(y: np.ndarray, n_folds: int, rng: np.random.Generator) -> np.ndarray:
    """Assign each row a fold so that every class is spread evenly over the folds."""
    folds = np.empty(y.size, dtype=np.int64)
    offset = 0
    for cls in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == cls))
        folds[rows] = (np.arange(rows.size) + offset) % n_folds
        offset += rows.size
    return folds


def scores(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Error rate, Cohen's kappa and class-frequency-weighted one-vs-rest AUC.

    Parameters
    ----------
    y : ndarray of shape (n,)
        Class codes ``0..K-1``.
    proba : ndarray of shape (n, K)
        Predicted class probabilities (pooled out-of-fold predictions).
    """
    n, k = proba.shape
    pred = proba.argmax(axis=1)
    err = float(np.mean(pred != y))
    confusion = np.bincount(y * k + pred, minlength=k * k).reshape(k, k).astype(float)
    observed = np.trace(confusion) / n
    expected = float((confusion.sum(axis=0) * confusion.sum(axis=1)).sum()) / n**2
    kappa = (observed - expected) / (1 - expected) if expected < 1 else math.nan
    counts = np.bincount(y, minlength=k)
    auc_sum, weight = 0.0, 0
    for cls in np.flatnonzero((counts > 0) & (counts < n)):
        positive = y == cls
        ranks = rankdata(proba[:, cls])
        n_pos = int(counts[cls])
        auc = (ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * (n - n_pos))
        auc_sum += n_pos * auc
        weight += n_pos
    auc_value = auc_sum / weight if weight else math.nan
    return {"ErrRate": err, "Kappa": kappa, "AUC": auc_value}


def _precision(num: np.ndarray) -> np.ndarray:
    """Weka's minimum standard deviation per numeric column: value precision / 6."""
    if num.shape[1] == 0:
        return np.zeros(0)
    distinct = distinct_counts(num)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        span = np.nanmax(num, axis=0) - np.nanmin(num, axis=0)
    precision = np.where(distinct > 1, span / np.maximum(distinct - 1, 1), 1.0)
    return np.asarray(np.nan_to_num(precision, nan=1.0) / 6.0)


def compute(data: Prepared, sink: Sink) -> None:
    """Fill ``sink`` with the landmarkers of ``data`` (classification only)."""
    all_names = names(data.task_type)
    if not data.classification:
        sink.skip(all_names, "landmarkers need a categorical target")
        return
    if data.n_classes < 2:
        sink.skip(all_names, "needs at least two classes")
        return
    if data.n < 2 * N_FOLDS:
        sink.skip(all_names, f"needs at least {2 * N_FOLDS} rows")
        return
    rows = subsample_rows(data, MAX_ROWS, sink.rng)
    sample = take_rows(data, rows)
    sink.rows_used = int(rows.size)
    seed = int(sink.rng.integers(2**31 - 1))
    folds = stratified_folds(sample.y, N_FOLDS, sink.rng)
    design = build_design(sample)
    knn_design = build_design(sample, categorical_weight=1 / math.sqrt(2))
    min_std = _precision(sample.num)
    learners = _learners(data.n_features, seed)
    done: set[str] = set()
    try:
        for learner, make in learners.items():
            sink.check_budget()
            measures = [f"{learner}{m}" for m in MEASURES]
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    proba = _cross_validate(
                        learner, make, sample, design, knn_design, folds, min_std
                    )
            except _UnsuitableError as exc:
                sink.skip(measures, str(exc))
            except (ValueError, np.linalg.LinAlgError, MemoryError) as exc:
                sink.skip(measures, f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
            else:
                for measure, value in scores(sample.y, proba).items():
                    sink.put(f"{learner}{measure}", value, f"{measure} undefined")
            done.add(learner)
    except BudgetExceededError as exc:
        left = [f"{lr}{m}" for lr in learners if lr not in done for m in MEASURES]
        sink.skip(left, str(exc))


class _UnsuitableError(Exception):
    """The learner cannot run on this data (say why)."""


def _cross_validate(
    learner: str,
    make: Callable[[], Any],
    data: Prepared,
    design: Design,
    knn_design: Design,
    folds: np.ndarray,
    min_std: np.ndarray,
) -> np.ndarray:
    k = data.n_classes
    proba = np.zeros((data.n, k))
    if learner == "kNN1N":
        matrix: Any = knn_design.matrix
    elif learner == "NaiveBayes":
        matrix = None
    else:
        matrix = design.matrix
        if learner == "metakb.landmark.LDA" and (
            not design.dense or matrix.shape[1] > MAX_LDA_COLUMNS
        ):
            raise _UnsuitableError(f"more than {MAX_LDA_COLUMNS} columns after one-hot encoding")
    if learner.startswith(
        ("DecisionStump", "RandomTree", "REPTree", "metakb.landmark.Dec")
    ) and sp.issparse(matrix):
        matrix = matrix.tocsc()
    for fold in range(int(folds.max()) + 1):
        test = folds == fold
        train = ~test
        if learner == "NaiveBayes":
            model: Any = GaussianCategoricalNB(min_std)
            model.fit((data.num[train], data.cat[train]), data.y[train])
            fold_proba = model.predict_proba((data.num[test], data.cat[test]))
        else:
            model = make()
            if learner == "metakb.landmark.LDA":
                present = np.unique(data.y[train]).size
                if present < 2 or train.sum() <= present:
                    raise _UnsuitableError("a training fold has too few rows or classes for LDA")
            model.fit(matrix[np.flatnonzero(train)], data.y[train])
            fold_proba = model.predict_proba(matrix[np.flatnonzero(test)])
        proba[np.ix_(np.flatnonzero(test), np.asarray(model.classes_, dtype=np.int64))] = fold_proba
    return proba


FAMILY = Family("landmarking", names, compute)
