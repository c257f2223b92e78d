"""The typed batch records and writers: validation on construction, upsert semantics kept."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metakb.store import (
    Configs,
    Datasets,
    Evaluations,
    Flows,
    MetaFeatures,
    Store,
    Tasks,
    put_configs,
    put_datasets,
    put_evaluations,
    put_flows,
    put_meta_features,
    put_rows,
    put_tasks,
    transaction,
)


def _rows(store: Store, sql: str) -> list[tuple[object, ...]]:
    with store.read() as con:
        return con.execute(sql).fetchall()


def test_columns_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match=r"Evaluations: columns differ in length"):
        Evaluations(
            task_id=["t1", "t2"],
            config_id=["c1"],
            metric="m",
            source="s",
            provenance="p",
        )


@pytest.mark.parametrize(
    "make",
    [
        lambda: Datasets(dataset_id=None, source="s"),
        lambda: Tasks(task_id="t", source=None),
        lambda: Configs(config_id=["a", "b"], flow_id="f", params=None),
    ],
)
def test_a_missing_required_field_is_refused(make: object) -> None:
    with pytest.raises(ValueError, match="is required"):
        make()  # type: ignore[operator]


def test_a_null_in_a_required_column_names_its_row() -> None:
    with pytest.raises(ValueError, match=r"Configs\.config_id must not be null \(row 1\)"):
        Configs(config_id=["a", None, "c"], flow_id="f", params="{}")
    with pytest.raises(ValueError, match=r"MetaFeatures\.name must not be null \(row 2\)"):
        MetaFeatures(
            dataset_id="d", name=np.array(["a", "b", np.nan], dtype=object), computed_by="x"
        )
    with pytest.raises(ValueError, match=r"Evaluations\.metric must not be null"):
        Evaluations(
            task_id=["t"], config_id=["c"], metric=pd.Series([None]), source="s", provenance="p"
        )


def test_fidelity_is_left_out_rather_than_null() -> None:
    with pytest.raises(ValueError, match="fidelity must not be null"):
        Evaluations(
            task_id=["t", "t"],
            config_id=["a", "b"],
            metric="m",
            fidelity=[1.0, None],
            source="s",
            provenance="p",
        )


def test_flow_parameters_are_one_list_of_names_per_flow() -> None:
    with pytest.raises(ValueError, match="one sequence of names per flow"):
        Flows(flow_id="f", name="n", algorithm="a", source="s", parameters=["x", "y"])


def test_scalars_broadcast_and_an_all_scalar_batch_is_one_row() -> None:
    assert len(Datasets(dataset_id="d", source="s")) == 1
    batch = Evaluations(
        task_id="t", config_id=["a", "b", "c"], metric="m", source="s", provenance="p"
    )
    assert len(batch) == 3
    empty = Evaluations(task_id="t", config_id=[], metric="m", source="s", provenance="p")
    assert len(empty) == 0


def test_concat_keeps_the_rows_in_order() -> None:
    first = MetaFeatures(dataset_id="d1", name=["a", "b"], value=[1.0, None], computed_by="x")
    second = MetaFeatures(dataset_id="d2", name=["c"], computed_by="x", family="f")
    both = MetaFeatures.concat([first, second])
    assert len(both) == 3
    assert list(both.dataset_id) == ["d1", "d1", "d2"]  # type: ignore[arg-type]
    assert list(both.family) == [None, None, "f"]  # type: ignore[arg-type]
    assert both.n_missing() == 2
    with pytest.raises(ValueError, match="at least one batch"):
        MetaFeatures.concat([])


def test_writers_store_each_table_and_count_new_rows(store: Store) -> None:
    with store.write() as con, transaction(con):
        assert put_datasets(con, Datasets(dataset_id="d", n_classes=[None], source="s")) == 1
        assert put_tasks(con, Tasks(task_id="t", dataset_id="d", openml_task_id=3, source="s")) == 1
        flows = Flows(
            flow_id=["f", "g"],
            name=["F", "G"],
            algorithm="a",
            parameters=[["b", "a"], []],
            openml_flow_id=[7, None],
            source="s",
        )
        assert put_flows(con, flows) == 2
        assert put_configs(con, Configs(config_id=["c1", "c2"], flow_id="f", params="{}")) == 2
        evaluations = Evaluations(
            task_id="t",
            config_id=["c1", "c2"],
            metric="m",
            value=[0.5, None],
            runtime_s=[1.0, None],
            source="s",
            provenance="p",
        )
        assert put_evaluations(con, evaluations) == 2
        assert put_meta_features(con, MetaFeatures(dataset_id="d", name="q", computed_by="x")) == 1
    assert _rows(store, "SELECT flow_id, openml_flow_id, parameters FROM flows ORDER BY 1") == [
        ("f", 7, '["a", "b"]'),
        ("g", None, "[]"),
    ]
    assert _rows(
        store, "SELECT config_id, value, fidelity, runtime_s FROM evaluations ORDER BY 1"
    ) == [
        ("c1", 0.5, 1.0, 1.0),
        ("c2", None, 1.0, None),
    ]
    assert _rows(store, "SELECT openml_task_id FROM tasks") == [(3,)]


def test_an_empty_field_of_a_stored_row_is_filled_and_nothing_else_changes(store: Store) -> None:
    with store.write() as con:
        put_rows(con, Datasets(dataset_id="d", name="first", source="s"))
        added = put_rows(
            con, Datasets(dataset_id="d", name="second", openml_dataset_id=31, source="t")
        )
    assert added == 0
    assert _rows(store, "SELECT name, openml_dataset_id, source FROM datasets") == [
        ("first", 31, "s")
    ]


_keys = st.tuples(
    st.sampled_from(["t1", "t2"]),
    st.sampled_from(["c1", "c2", "c3"]),
    st.sampled_from([1.0, 0.5]),
    st.sampled_from(["p1", "p2"]),
)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(_keys, st.none() | st.floats(0, 1)), max_size=12))
def test_writing_a_batch_twice_adds_nothing_the_second_time(
    rows: list[tuple[tuple[str, str, float, str], float | None]],
) -> None:
    batch = Evaluations(
        task_id=[k[0] for k, _ in rows],
        config_id=[k[1] for k, _ in rows],
        metric="m",
        fidelity=[k[2] for k, _ in rows],
        provenance=[k[3] for k, _ in rows],
        value=[v for _, v in rows],
        source="s",
    )
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "kb.duckdb")
        with store.write() as con:
            first = put_evaluations(con, batch)
            second = put_evaluations(con, batch)
        assert first == len({k for k, _ in rows})
        assert second == 0
        assert _rows(store, "SELECT count(*) FROM evaluations") == [(first,)]


def test_from_frame_is_the_inverse_of_reading_a_table(store: Store) -> None:
    with store.write() as con, transaction(con):
        put_flows(
            con,
            Flows(
                flow_id=["f:1", "f:2"],
                name="est",
                algorithm="algo",
                parameters=[["b", "a"], None],
                openml_flow_id=[7, None],
                source="s",
            ),
        )
        stored = con.execute("SELECT * EXCLUDE (created_at) FROM flows ORDER BY flow_id").df()
    again = Flows.from_frame(stored)
    assert again.parameters == [["a", "b"], None]
    other = Store(store.path.with_name("other.duckdb"))
    with other.write() as con:
        assert put_flows(con, again) == 2
        copied = con.execute("SELECT * EXCLUDE (created_at) FROM flows ORDER BY flow_id").df()
    pd.testing.assert_frame_equal(copied, stored)


def test_from_frame_refuses_a_column_the_table_lacks() -> None:
    frame = pd.DataFrame({"dataset_id": ["d"], "source": ["s"], "colour": ["red"]})
    with pytest.raises(ValueError, match=r"Datasets has no column\(s\) \['colour'\]"):
        Datasets.from_frame(frame)
