"""Model-based meta-features: the shape of one fitted decision tree (``metakb.tree.*``).

OpenML has no such qualities; these follow the model-based group of Rivolli
et al. (2022) / pymfe. One entropy (classification) or squared-error
(regression) tree with ``min_samples_leaf=2`` is fitted on the design matrix
of :mod:`metakb.metafeatures.landmarking`, on at most :data:`MAX_ROWS` rows.

References
----------
A. Rivolli, L. P. F. Garcia, C. Soares, J. Vanschoren, A. C. P. L. F. de
Carvalho. "Meta-features for meta-learning." Knowledge-Based Systems 240 (2022).
"""

from __future__ import annotations

import numpy as np
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from metakb.metafeatures._base import Family, Prepared, Sink, subsample_rows, take_rows
from metakb.metafeatures._design import build_design

MAX_ROWS = 5_000
_NAMES = [
    "metakb.tree.Nodes",
    "metakb.tree.Leaves",
    "metakb.tree.Depth",
    "metakb.tree.MeanLeafDepth",
    "metakb.tree.StdLeafDepth",
    "metakb.tree.NodesPerInstance",
    "metakb.tree.NodesPerFeature",
    "metakb.tree.LeavesPerClass",
    "metakb.tree.FeaturesUsed",
    "metakb.tree.FractionOfFeaturesUsed",
    "metakb.tree.MaxFeatureImportance",
    "metakb.tree.MeanLeafSize",
]


def names(task_type: str) -> list[str]:
    """Return the names this family reports for a task type."""
    return list(_NAMES)


def compute(data: Prepared, sink: Sink) -> None:
    """Fill ``sink`` with the properties of a decision tree fitted on ``data``."""
    if data.n < 2 or data.n_features == 0:
        sink.skip(_NAMES, "needs two rows and a feature")
        return
    rows = subsample_rows(data, MAX_ROWS, sink.rng)
    sample = take_rows(data, rows)
    sink.rows_used = int(rows.size)
    design = build_design(sample)
    seed = int(sink.rng.integers(2**31 - 1))
    model: DecisionTreeClassifier | DecisionTreeRegressor
    if data.classification:
        model = DecisionTreeClassifier(criterion="entropy", min_samples_leaf=2, random_state=seed)
    else:
        model = DecisionTreeRegressor(min_samples_leaf=2, random_state=seed)
    matrix = design.matrix if isinstance(design.matrix, np.ndarray) else design.matrix.tocsc()
    model.fit(matrix, sample.y)
    tree = model.tree_
    leaf = tree.children_left < 0
    depth = np.zeros(tree.node_count, dtype=np.int64)
    for node in range(tree.node_count):  # parents precede children in sklearn's numbering
        for child in (tree.children_left[node], tree.children_right[node]):
            if child >= 0:
                depth[child] = depth[node] + 1
    used_columns = np.unique(tree.feature[~leaf])
    used = np.unique(design.source[used_columns]) if used_columns.size else np.zeros(0)
    importance = np.bincount(
        design.source, weights=model.feature_importances_, minlength=data.n_features
    )
    put = sink.put
    put("metakb.tree.Nodes", tree.node_count)
    put("metakb.tree.Leaves", int(leaf.sum()))
    put("metakb.tree.Depth", int(depth.max()))
    put("metakb.tree.MeanLeafDepth", float(depth[leaf].mean()))
    put("metakb.tree.StdLeafDepth", float(depth[leaf].std()))
    put("metakb.tree.NodesPerInstance", tree.node_count / sample.n)
    put("metakb.tree.NodesPerFeature", tree.node_count / data.n_features)
    if data.classification:
        put("metakb.tree.LeavesPerClass", leaf.sum() / max(data.n_classes, 1))
    else:
        put("metakb.tree.LeavesPerClass", None, "not defined for a regression target")
    put("metakb.tree.FeaturesUsed", used.size)
    put("metakb.tree.FractionOfFeaturesUsed", used.size / data.n_features)
    put("metakb.tree.MaxFeatureImportance", float(importance.max()) if used.size else 0.0)
    put("metakb.tree.MeanLeafSize", float(tree.n_node_samples[leaf].mean()))


FAMILY = Family("model_based", names, compute)
