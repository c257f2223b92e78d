"""Mapping OpenML flows and their setups onto the knowledge base's flows and configurations.

For the OpenML100 flows 6969, 6970 and 8784 the parameters get the names of
the published OpenML100 tables, so the same setting is the same ``configs``
row whichever way it arrived; other flows keep their own step-path names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from metakb.configs import JsonScalar
from metakb.spaces import ALGORITHMS

# The OpenML flows of the algorithm records: flow id -> (algorithm, published
# parameter name -> (component class fragment, OpenML parameter name)), so the
# same setting gets the parameter names of the published OpenML100 tables.
_PUBLISHED_FLOWS: dict[int, tuple[str, dict[str, tuple[str, str]]]] = {
    flow: (algorithm.name, dict(algorithm.openml_params))
    for algorithm in ALGORITHMS.values()
    for flow in algorithm.openml_flow_ids
}
# Lower-case component class name -> algorithm name, for the other flows. XGBoost
# has no record (no space): its flows are named, never searched.
_ALGORITHMS = {
    **{
        cls: algorithm.name for algorithm in ALGORITHMS.values() for cls in algorithm.openml_classes
    },
    "xgbclassifier": "xgboost",
    "xgbregressor": "xgboost",
}
_FULL_NAME = re.compile(r"^(?P<owner>.*)\((?P<version>[^()]*)\)_(?P<param>[^()]+)$")


class _MisfitError(Exception):
    """A setup whose parameters cannot be mapped onto its flow's parameters."""


def _decode(raw: Any) -> JsonScalar:
    """Turn an OpenML parameter value (JSON text for scikit-learn flows) into a scalar."""
    if raw is None or not isinstance(raw, str):
        return raw
    try:
        value = json.loads(raw)
    except ValueError:
        return raw  # not JSON: a plain string value (e.g. Weka options)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return value


def _split_full_name(full_name: str) -> tuple[str, str]:
    """Split ``'pkg.Class(3)_param'`` into the owning flow's class name and the parameter.

    A name that does not have this form gives ``('', full_name)``.
    """
    match = _FULL_NAME.match(full_name)
    if match is None:
        return "", full_name
    owner = match.group("owner").split("(", 1)[0].rsplit(".", 1)[-1]
    return owner.lower(), match.group("param")


@dataclass(frozen=True)
class _FlowMapper:
    """How the setups of one flow become configurations."""

    openml_id: int
    name: str
    algorithm: str
    # full parameter name -> step path key (``classifier__max_depth``) from the flow's tree
    keys: Mapping[str, str]
    # published key -> (class fragment, parameter), for the OpenML100 flows
    published: Mapping[str, tuple[str, str]] | None = None

    @property
    def flow_id(self) -> str:
        return f"openml:{self.openml_id}"

    def parameters(self) -> list[str]:
        """Return the parameter names configurations of this flow are keyed by."""
        return (
            sorted(self.published)
            if self.published is not None
            else sorted(set(self.keys.values()))
        )

    def map(self, setup: Mapping[str, Any]) -> dict[str, JsonScalar]:
        """Return the configuration of one setup (full parameter name -> raw value)."""
        if self.published is not None:
            return self._map_published(setup, self.published)
        params: dict[str, JsonScalar] = {}
        for full_name, raw in setup.items():
            key = self.keys.get(full_name)
            if key is None:
                raise _MisfitError(f"parameter {full_name!r} is not in flow {self.openml_id}")
            params[key] = _decode(raw)
        return params

    def _map_published(
        self, setup: Mapping[str, Any], published: Mapping[str, tuple[str, str]]
    ) -> dict[str, JsonScalar]:
        parsed = [(*_split_full_name(full), raw) for full, raw in setup.items()]
        by_step_names = {self.keys.get(full): raw for full, raw in setup.items()}
        params: dict[str, JsonScalar] = {}
        for key, (fragment, name) in published.items():
            if key in by_step_names:
                # Newer pipelines name their steps as the published tables do (e.g. the
                # numeric, not the nominal, imputer of a ColumnTransformer).
                params[key] = _decode(by_step_names[key])
                continue
            for owner, param, raw in parsed:
                if param == name and owner and fragment in owner:
                    params[key] = _decode(raw)
                    break
            else:
                raise _MisfitError(f"setup of flow {self.openml_id} has no value for {key}")
        # The published tables leave the parameters a setting's conditions switch off
        # (SVC's degree and coef0 under most kernels) empty.
        for name in ALGORITHMS[self.algorithm].space.inactive(params):
            params[name] = None
        return params


def _flow_mapper(flow: Any) -> _FlowMapper:
    """Build the mapper of an ``openml.flows.OpenMLFlow`` (components included)."""
    fid = int(flow.flow_id)
    keys: dict[str, str] = {}

    def walk(node: Any, prefix: str) -> None:
        for param in node.parameters:
            keys[f"{node.name}({node.version})_{param}"] = prefix + param
        for ident, sub in node.components.items():
            walk(sub, f"{prefix}{ident}__")

    walk(flow, "")
    if fid in _PUBLISHED_FLOWS:
        algorithm, published = _PUBLISHED_FLOWS[fid]
        return _FlowMapper(fid, flow.name, algorithm, keys, published)
    last = flow
    while last.components:  # the estimator is the last step of a pipeline
        last = list(last.components.values())[-1]
    owner = last.name.split("(", 1)[0].rsplit(".", 1)[-1]
    algorithm = _ALGORITHMS.get(owner.lower(), _snake(owner))
    return _FlowMapper(fid, flow.name, algorithm, keys)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower() or "unknown"
