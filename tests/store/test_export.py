"""The provenance slice: a sweep's evaluations and exactly the rows they reference."""

from __future__ import annotations

import pytest

from metakb.store import EXPORT_DROPPED, TABLES, Store, get_provenance_slice


def test_the_slice_holds_the_sweep_and_only_what_it_references(sweep_store: Store) -> None:
    with sweep_store.read() as con:
        tables = get_provenance_slice(con, "sweep:")
        everything = {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in EXPORT_DROPPED
        }
    rows = {name: table.num_rows for name, table in tables.items()}
    # 3 datasets x 2 algorithms x 12 configurations; the search's task, dataset,
    # meta-features, configurations and evaluations stay behind.
    assert rows == {
        "datasets": 3,
        "tasks": 3,
        "flows": 2,
        "configs": 24,
        "evaluations": 72,
        "meta_features": 12,
    }
    assert everything == {
        **rows,
        "datasets": 4,
        "tasks": 4,
        "configs": 26,
        "evaluations": 74,
        "meta_features": 16,
    }
    assert set(tables["evaluations"].column("provenance").to_pylist()) == {"sweep:standard"}


def test_the_slice_leaves_out_the_dropped_columns_only(sweep_store: Store) -> None:
    with sweep_store.read() as con:
        tables = get_provenance_slice(con, "sweep:")
        for name, table in tables.items():
            cur = con.execute(f"SELECT * FROM {name} LIMIT 0")
            stored = [d[0] for d in cur.description]
            kept = [c for c in stored if c not in EXPORT_DROPPED[name]]
            assert table.column_names == kept, name
    assert set(EXPORT_DROPPED) <= set(TABLES)


def test_the_slice_is_in_natural_key_order(sweep_store: Store) -> None:
    with sweep_store.read() as con:
        evaluations = get_provenance_slice(con, "sweep:")["evaluations"].to_pandas()
    columns = evaluations[["task_id", "config_id", "metric"]]
    keys = list(columns.itertuples(index=False, name=None))
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


@pytest.mark.parametrize("prefix", ["search:", "nothing:"])
def test_another_prefix_selects_its_own_rows(sweep_store: Store, prefix: str) -> None:
    with sweep_store.read() as con:
        tables = get_provenance_slice(con, prefix)
    expected = 2 if prefix == "search:" else 0
    assert tables["evaluations"].num_rows == expected
    assert tables["tasks"].num_rows == expected
