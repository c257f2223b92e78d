"""A loopback OpenML server for the tests: OpenML's REST XML, written from a small catalog.

The responses follow the real formats recorded in ``openml_api_samples/`` (task,
data description / features / qualities, flow, study, evaluation list, setup
list, user list, error documents), so the real openml-python client can talk to
it. Two classification tasks (10 and 20), flow 6969 in the shape of the
OpenML100 RandomForest pipeline, one generic pipeline flow (5000), and
evaluations with their setups. Faults (HTTP 500, a hang, malformed XML) are
switched on per path fragment.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

NS = 'xmlns:oml="http://openml.org/openml"'

RF_FLOW = 6969
GB_FLOW = 5000
# The OpenML100 RandomForest flow's shape: study-14 pipeline, the forest as "classifier".
RF_NAME = (
    "sklearn.pipeline.Pipeline(imputation=openmlstudy14.preprocessing.ConditionalImputer,"
    "hotencoding=sklearn.preprocessing.data.OneHotEncoder,"
    "variencethreshold=sklearn.feature_selection.variance_threshold.VarianceThreshold,"
    "classifier=sklearn.ensemble.forest.RandomForestClassifier)"
)
GB_NAME = (
    "sklearn.pipeline.Pipeline(simpleimputer=sklearn.impute._base.SimpleImputer,"
    "gradientboostingclassifier=sklearn.ensemble._gb.GradientBoostingClassifier)"
)


@dataclass
class Flow:
    id: int
    name: str
    params: dict[str, Any]  # parameter -> default value
    components: dict[str, Flow] = field(default_factory=dict)
    version: int = 1

    def full_name(self, param: str) -> str:
        return f"{self.name}({self.version})_{param}"

    def owner_of(self, path: str) -> tuple[Flow, str]:
        """Return the (sub)flow and parameter name of an ``a__b__param`` path."""
        *steps, param = path.split("__")
        flow = self
        for step in steps:
            flow = flow.components[step]
        return flow, param


def _rf_flow() -> Flow:
    imputer = Flow(6952, "openmlstudy14.preprocessing.ConditionalImputer", {"strategy": "mean"})
    onehot = Flow(6953, "sklearn.preprocessing.data.OneHotEncoder", {"handle_unknown": "error"})
    variance = Flow(
        6954, "sklearn.feature_selection.variance_threshold.VarianceThreshold", {"threshold": 0.0}
    )
    forest = Flow(
        6968,
        "sklearn.ensemble.forest.RandomForestClassifier",
        {
            "bootstrap": True,
            "criterion": "gini",
            "max_depth": None,
            "max_features": "auto",
            "max_leaf_nodes": None,
            "min_samples_leaf": 1,
            "min_samples_split": 2,
            "min_weight_fraction_leaf": 0.0,
            "n_estimators": 10,
            "n_jobs": 1,
            "random_state": None,
        },
    )
    return Flow(
        RF_FLOW,
        RF_NAME,
        {"memory": None, "steps": None},
        {
            "imputation": imputer,
            "hotencoding": onehot,
            "variencethreshold": variance,
            "classifier": forest,
        },
    )


def _gb_flow() -> Flow:
    imputer = Flow(5001, "sklearn.impute._base.SimpleImputer", {"strategy": "mean"})
    boosting = Flow(
        5002,
        "sklearn.ensemble._gb.GradientBoostingClassifier",
        {"learning_rate": 0.1, "max_depth": 3, "n_estimators": 100},
    )
    return Flow(
        GB_FLOW,
        GB_NAME,
        {"memory": None, "verbose": False},
        {"simpleimputer": imputer, "gradientboostingclassifier": boosting},
    )


def rf_setup(
    bootstrap: bool, criterion: str, max_features: float, leaf: int, split: int, strategy: str
) -> dict[str, Any]:
    """A RandomForest setup as the OpenML100 runs sampled them (constants filled in)."""
    return {
        "imputation__strategy": strategy,
        "hotencoding__handle_unknown": "ignore",
        "variencethreshold__threshold": 0.0,
        "classifier__bootstrap": bootstrap,
        "classifier__criterion": criterion,
        "classifier__max_depth": None,
        "classifier__max_features": max_features,
        "classifier__max_leaf_nodes": None,
        "classifier__min_samples_leaf": leaf,
        "classifier__min_samples_split": split,
        "classifier__min_weight_fraction_leaf": 0.0,
        "classifier__n_estimators": 100,
        "classifier__n_jobs": 1,
        "classifier__random_state": None,
        "memory": None,
    }


@dataclass
class Dataset:
    id: int
    name: str
    target: str
    qualities: dict[str, float | None]
    parquet: bool = False  # announce a Parquet file in a MinIO bucket (as openml.org does)

    def arff(self) -> str:
        rows = [f"{i * 0.5:.1f},{(i * 7) % 5}.0,{'yes' if i % 3 else 'no'}" for i in range(12)]
        return (
            f"@RELATION {self.name}\n\n@ATTRIBUTE a NUMERIC\n@ATTRIBUTE b NUMERIC\n"
            f"@ATTRIBUTE {self.target} {{yes,no}}\n\n@DATA\n" + "\n".join(rows) + "\n"
        )


@dataclass
class Task:
    id: int
    dataset: int
    target: str
    task_type_id: int = 1  # 1 classification, 2 regression, 5 clustering


@dataclass
class Evaluation:
    run_id: int
    task_id: int
    setup_id: int
    flow_id: int
    value: float


@dataclass
class Fault:
    """Misbehave on requests whose path contains ``fragment``.

    ``kind`` is ``"status500"``, ``"hang"``, ``"malformed"``, ``"xml_bomb"`` or
    ``"wrong_root"``; the first ``after`` matching requests are served normally.
    """

    fragment: str
    kind: str
    after: int = 0
    seen: int = 0


def _qualities(n: int, classes: int) -> dict[str, float | None]:
    return {
        "NumberOfInstances": float(n),
        "NumberOfFeatures": 3.0,
        "NumberOfClasses": float(classes),
        "NumberOfMissingValues": 0.0,
        "ClassEntropy": 0.918,
        "DecisionStumpAUC": 0.75,
        "MeanSkewnessOfNumericAtts": None,  # OpenML leaves some qualities uncomputed
    }


class Catalog:
    """What the fake server knows: the default content the tests rely on."""

    def __init__(self) -> None:
        self.datasets = {
            61: Dataset(61, "tiny-a", "class", _qualities(12, 2)),
            62: Dataset(62, "tiny-b", "class", _qualities(12, 2)),
        }
        self.tasks = {10: Task(10, 61, "class"), 20: Task(20, 62, "class")}
        self.flows = {RF_FLOW: _rf_flow(), GB_FLOW: _gb_flow()}
        self.suites = {14: [10, 20]}
        grid = [
            (True, "gini", 0.5, 1, 2, "mean"),
            (False, "entropy", 0.25, 5, 10, "median"),
            (True, "entropy", 0.75, 2, 4, "most_frequent"),
            (False, "gini", 0.1, 20, 20, "mean"),
            (True, "gini", 0.9, 10, 3, "median"),
            (True, "entropy", 0.3, 3, 5, "mean"),
            (False, "gini", 0.6, 7, 8, "median"),
            (True, "gini", 0.45, 4, 6, "mean"),
        ]
        self.setups: dict[int, tuple[int, dict[str, Any]]] = {
            101 + i: (RF_FLOW, rf_setup(*g)) for i, g in enumerate(grid)
        }
        misfit = rf_setup(True, "gini", 0.2, 1, 2, "mean")
        del misfit["classifier__max_features"]  # cannot be mapped onto the flow's space
        self.setups[109] = (RF_FLOW, misfit)
        self.setups[201] = (
            GB_FLOW,
            {
                "simpleimputer__strategy": "median",
                "gradientboostingclassifier__learning_rate": 0.05,
                "gradientboostingclassifier__max_depth": 3,
                "gradientboostingclassifier__n_estimators": 200,
                "memory": None,
                "verbose": False,
            },
        )
        self.setups[202] = (
            GB_FLOW,
            {
                "simpleimputer__strategy": "mean",
                "gradientboostingclassifier__learning_rate": 0.2,
                "gradientboostingclassifier__max_depth": 5,
                "gradientboostingclassifier__n_estimators": 50,
                "memory": None,
                "verbose": False,
            },
        )
        evals = [Evaluation(1000 + i, 10, 101 + i, RF_FLOW, 0.80 + i / 100) for i in range(7)]
        # Task 20: setup 105 again (the same setting on another task), one new, one misfit.
        evals += [
            Evaluation(2001, 20, 105, RF_FLOW, 0.71),
            Evaluation(2002, 20, 108, RF_FLOW, 0.72),
            Evaluation(2003, 20, 109, RF_FLOW, 0.73),
        ]
        evals += [Evaluation(3001, 10, 201, GB_FLOW, 0.9), Evaluation(3002, 10, 202, GB_FLOW, 0.85)]
        self.evaluations = evals


class FakeOpenML:
    """The loopback server: ``start()``, ``url`` (the API base), ``stop()``."""

    def __init__(self, catalog: Catalog | None = None) -> None:
        self.catalog = catalog or Catalog()
        self.faults: list[Fault] = []
        self.requests: list[str] = []
        self._stop = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.root = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.root}/api/v1/xml"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def start(self) -> FakeOpenML:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def fail(self, fragment: str, kind: str, after: int = 0) -> None:
        self.faults.append(Fault(fragment, kind, after))

    # -- responses -----------------------------------------------------------------

    def respond(self, path: str) -> tuple[int, str | bytes]:
        self.requests.append(path)
        for fault in self.faults:
            if fault.fragment in path:
                fault.seen += 1
                if fault.seen > fault.after:
                    if fault.kind == "hang":
                        self._stop.wait(10)
                        return 500, "stopped"
                    if fault.kind == "status500":
                        return 500, "<html><body>Internal Server Error</body></html>"
                    if fault.kind == "malformed":
                        return 200, f"<oml:task {NS}><oml:task_id>1</oml:task_id><oml:inp"
                    if fault.kind == "xml_bomb":
                        return 200, XML_BOMB
                    if fault.kind == "wrong_root":
                        # Well-formed OpenML XML, but a flow where a task was asked for.
                        return 200, _flow_xml(_rf_flow(), top=True)
        if path.startswith("/data/v1/download/"):
            did = int(path.split("/")[4])
            return 200, self.catalog.datasets[did].arff()
        if not path.startswith("/api/v1/xml/"):
            return 404, "not found"
        parts = [p for p in path[len("/api/v1/xml/") :].split("/") if p]
        return self._api(parts)

    def _api(self, parts: list[str]) -> tuple[int, str]:
        c = self.catalog
        head = parts[0]
        if head == "evaluationmeasure":
            return 200, (
                f"<oml:evaluation_measures {NS}><oml:measures>"
                "<oml:measure>predictive_accuracy</oml:measure></oml:measures>"
                "</oml:evaluation_measures>"
            )
        if head == "study":
            sid = int(parts[1])
            if sid not in c.suites:
                return _error(601, "Unknown study")
            return 200, self._study(sid)
        if head == "task":
            tid = int(parts[1])
            if tid not in c.tasks:
                return _error(151, "Unknown task")
            return 200, self._task(c.tasks[tid])
        if head == "data":
            if parts[1] in ("features", "qualities"):
                did = int(parts[2])
                ds = c.datasets.get(did)
                if ds is None:
                    return _error(111, "Unknown dataset")
                return 200, self._features(ds) if parts[1] == "features" else self._qualities(ds)
            ds = c.datasets.get(int(parts[1]))
            return (200, self._description(ds)) if ds else _error(111, "Unknown dataset")
        if head == "flow":
            fid = int(parts[1])
            if fid not in c.flows:
                return _error(181, "Unknown flow")
            return 200, '<?xml version="1.0"?>\n' + _flow_xml(c.flows[fid], top=True)
        if head == "evaluation" and parts[1] == "list":
            return self._evaluations(_filters(parts[2:]))
        if head == "setup" and parts[1] == "list":
            return self._setups(_filters(parts[2:]))
        if head == "user" and parts[1] == "list":
            ids = _filters(parts[2:])["user_id"].split(",")
            users = "".join(
                f"<oml:user><oml:id>{u}</oml:id><oml:username>user{u}</oml:username></oml:user>"
                for u in ids
            )
            return 200, f"<oml:users {NS}>{users}</oml:users>"
        return 404, "unknown endpoint"

    def _study(self, sid: int) -> str:
        tasks = "".join(f"<oml:task_id>{t}</oml:task_id>" for t in self.catalog.suites[sid])
        return (
            f"<oml:study {NS}><oml:id>{sid}</oml:id><oml:alias>OpenML100</oml:alias>"
            "<oml:main_entity_type>task</oml:main_entity_type><oml:name>fixture suite</oml:name>"
            "<oml:description>tests</oml:description><oml:visibility>public</oml:visibility>"
            "<oml:status>active</oml:status><oml:creation_date>2019-02-21T18:47:13</oml:creation_date>"
            f"<oml:creator>1</oml:creator><oml:tasks>{tasks}</oml:tasks></oml:study>"
        )

    def _task(self, task: Task) -> str:
        kind = {1: "Supervised Classification", 2: "Supervised Regression", 5: "Clustering"}
        return f"""<oml:task {NS}>
  <oml:task_id>{task.id}</oml:task_id>
  <oml:task_type_id>{task.task_type_id}</oml:task_type_id>
  <oml:task_type>{kind[task.task_type_id]}</oml:task_type>
  <oml:input name="source_data"><oml:data_set>
    <oml:data_set_id>{task.dataset}</oml:data_set_id>
    <oml:target_feature>{task.target}</oml:target_feature>
  </oml:data_set></oml:input>
  <oml:input name="estimation_procedure"><oml:estimation_procedure>
    <oml:id>1</oml:id><oml:type>crossvalidation</oml:type>
    <oml:data_splits_url>{self.root}/api_splits/get/{task.id}/Task_{task.id}_splits.arff</oml:data_splits_url>
    <oml:parameter name="number_repeats">1</oml:parameter>
    <oml:parameter name="number_folds">10</oml:parameter>
    <oml:parameter name="percentage"></oml:parameter>
    <oml:parameter name="stratified_sampling">true</oml:parameter>
  </oml:estimation_procedure></oml:input>
  <oml:input name="evaluation_measures"><oml:evaluation_measures>
    <oml:evaluation_measure>predictive_accuracy</oml:evaluation_measure>
  </oml:evaluation_measures></oml:input>
  <oml:tag>study_14</oml:tag>
</oml:task>"""

    def _description(self, ds: Dataset) -> str:
        md5 = hashlib.md5(ds.arff().encode("utf-8")).hexdigest()
        parquet = (
            f"<oml:parquet_url>{self.root}/datasets/0000/{ds.id:04d}/dataset_{ds.id}.pq"
            "</oml:parquet_url>"
            if ds.parquet
            else ""
        )
        return f"""<oml:data_set_description {NS}>
  <oml:id>{ds.id}</oml:id>
  <oml:name>{ds.name}</oml:name>
  <oml:version>1</oml:version>
  <oml:description>A tiny dataset written by the tests.</oml:description>
  <oml:format>ARFF</oml:format>
  <oml:upload_date>2014-04-06T23:19:24</oml:upload_date>
  <oml:licence>Public</oml:licence>
  <oml:url>{self.root}/data/v1/download/{ds.id}/{ds.name}.arff</oml:url>
  <oml:file_id>{ds.id}</oml:file_id>
  <oml:default_target_attribute>{ds.target}</oml:default_target_attribute>
  <oml:visibility>public</oml:visibility>
  <oml:status>active</oml:status>
  <oml:md5_checksum>{md5}</oml:md5_checksum>{parquet}
</oml:data_set_description>"""

    @staticmethod
    def _features(ds: Dataset) -> str:
        def feature(i: int, name: str, kind: str, target: bool) -> str:
            nominal = (
                (
                    "<oml:nominal_value>yes</oml:nominal_value>"
                    "<oml:nominal_value>no</oml:nominal_value>"
                )
                if kind == "nominal"
                else ""
            )
            return (
                f"<oml:feature><oml:index>{i}</oml:index><oml:name>{name}</oml:name>"
                f"<oml:data_type>{kind}</oml:data_type>{nominal}"
                f"<oml:is_target>{str(target).lower()}</oml:is_target>"
                "<oml:is_ignore>false</oml:is_ignore>"
                "<oml:is_row_identifier>false</oml:is_row_identifier>"
                "<oml:number_of_missing_values>0</oml:number_of_missing_values></oml:feature>"
            )

        body = (
            feature(0, "a", "numeric", False)
            + feature(1, "b", "numeric", False)
            + feature(2, ds.target, "nominal", True)
        )
        return f"<oml:data_features {NS}>{body}</oml:data_features>"

    @staticmethod
    def _qualities(ds: Dataset) -> str:
        body = "".join(
            f"<oml:quality><oml:name>{k}</oml:name>"
            + (f"<oml:value>{v}</oml:value>" if v is not None else "<oml:value>null</oml:value>")
            + "</oml:quality>"
            for k, v in ds.qualities.items()
        )
        return f"<oml:data_qualities {NS}>{body}</oml:data_qualities>"

    def _evaluations(self, f: dict[str, str]) -> tuple[int, str]:
        rows = [e for e in self.catalog.evaluations]
        if "task" in f:
            rows = [e for e in rows if str(e.task_id) in f["task"].split(",")]
        if "flow" in f:
            rows = [e for e in rows if str(e.flow_id) in f["flow"].split(",")]
        rows.sort(key=lambda e: e.run_id)
        offset, limit = int(f.get("offset", 0)), int(f.get("limit", 10000))
        rows = rows[offset : offset + limit]
        if not rows:
            return _error(542, "No results")
        body = ""
        for e in rows:
            task = self.catalog.tasks[e.task_id]
            ds = self.catalog.datasets[task.dataset]
            flow = self.catalog.flows[e.flow_id]
            body += f"""<oml:evaluation>
    <oml:run_id>{e.run_id}</oml:run_id><oml:task_id>{e.task_id}</oml:task_id>
    <oml:setup_id>{e.setup_id}</oml:setup_id><oml:flow_id>{e.flow_id}</oml:flow_id>
    <oml:flow_name>{escape(flow.name)}(1)</oml:flow_name>
    <oml:data_id>{ds.id}</oml:data_id><oml:data_name>{ds.name}</oml:data_name>
    <oml:function>{f["function"]}</oml:function>
    <oml:upload_time>2017-06-01 10:00:00</oml:upload_time><oml:uploader>1</oml:uploader>
    <oml:value>{e.value}</oml:value></oml:evaluation>"""
        return 200, f"<oml:evaluations {NS}>{body}</oml:evaluations>"

    def _setups(self, f: dict[str, str]) -> tuple[int, str]:
        ids = [int(s) for s in f["setup"].split(",")]
        body = ""
        for sid in ids:
            if sid not in self.catalog.setups:
                continue
            fid, values = self.catalog.setups[sid]
            flow = self.catalog.flows[fid]
            params = ""
            for n, (path, value) in enumerate(sorted(values.items())):
                owner, param = flow.owner_of(path)
                params += f"""<oml:parameter>
      <oml:id>{sid * 100 + n}</oml:id><oml:flow_id>{owner.id}</oml:flow_id>
      <oml:flow_name>{escape(owner.name)}</oml:flow_name>
      <oml:full_name>{escape(owner.full_name(param))}</oml:full_name>
      <oml:parameter_name>{param}</oml:parameter_name><oml:data_type></oml:data_type>
      <oml:default_value>{escape(json.dumps(owner.params.get(param)))}</oml:default_value>
      <oml:value>{escape(json.dumps(value))}</oml:value></oml:parameter>"""
            body += (
                f"<oml:setup><oml:setup_id>{sid}</oml:setup_id>"
                f"<oml:flow_id>{fid}</oml:flow_id>{params}</oml:setup>"
            )
        if not body:
            return _error(672, "No results")
        return 200, f"<oml:setups {NS}>{body}</oml:setups>"


# "Billion laughs": ten levels of ten references expand to 10**10 "lol"s (~30 GB).
XML_BOMB = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n  <!ENTITY lol0 "lol">\n'
    + "".join(f'  <!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">\n' for i in range(1, 11))
    + f"]>\n<oml:task {NS}><oml:task_id>&lol10;</oml:task_id></oml:task>\n"
)


def _flow_xml(flow: Flow, *, top: bool = False) -> str:
    ns = f" {NS}" if top else ""
    params = "".join(
        f"<oml:parameter><oml:name>{p}</oml:name><oml:data_type></oml:data_type>"
        f"<oml:default_value>{escape(json.dumps(v))}</oml:default_value>"
        "<oml:description></oml:description></oml:parameter>"
        for p, v in flow.params.items()
    )
    components = "".join(
        f"<oml:component><oml:identifier>{ident}</oml:identifier>{_flow_xml(sub)}</oml:component>"
        for ident, sub in flow.components.items()
    )
    return (
        f"<oml:flow{ns}><oml:id>{flow.id}</oml:id><oml:uploader>1</oml:uploader>"
        f"<oml:name>{escape(flow.name)}</oml:name><oml:version>{flow.version}</oml:version>"
        "<oml:external_version>sklearn==0.18.1</oml:external_version>"
        "<oml:description>fixture flow</oml:description>"
        "<oml:upload_date>2017-03-27T12:00:00</oml:upload_date><oml:language>English</oml:language>"
        f"<oml:dependencies>sklearn==0.18.1</oml:dependencies>{params}{components}</oml:flow>"
    )


def _filters(parts: list[str]) -> dict[str, str]:
    return {parts[i]: parts[i + 1] for i in range(0, len(parts) - 1, 2)}


def _error(code: int, message: str) -> tuple[int, str]:
    return 412, (
        f"<oml:error {NS}><oml:code>{code}</oml:code>"
        f"<oml:message>{message}</oml:message></oml:error>"
    )


def _handler(fake: FakeOpenML) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer(body=True)

        def do_HEAD(self) -> None:  # MinIO asks for an object's metadata first
            self._answer(body=False)

        def _answer(self, *, body: bool) -> None:
            path = re.sub(r"\?.*$", "", self.path)
            path = re.sub(r"/{2,}", "/", path)  # openml asks for "//setup/<id>" at times
            try:
                status, text = fake.respond(path)
            except Exception as exc:  # a fixture bug must show, not hang the client
                status, text = 599, f"fixture error: {exc!r}"
            packed = gzip.compress(text.encode("utf-8") if isinstance(text, str) else text)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "text/xml; charset=utf-8")
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(packed)))
                self.end_headers()
                if body:
                    self.wfile.write(packed)
            except OSError:
                pass  # the client gave up (timeouts): nothing to do

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
