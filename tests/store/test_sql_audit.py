"""Every SQL statement built with an f-string has been audited; a new one fails here.

Values always travel as parameters (``?`` or ``$name``). Identifiers cannot, so
a few statements splice table and column names into an f-string; each of those
sites is listed in :data:`AUDITED` with where its identifiers come from. A new
site must be audited the same way (identifiers from code constants or the
schema only, never from user input) and added here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import metakb

ROOT = Path(metakb.__file__).resolve().parent
AUDITED = {
    # table checked against _KEYS and TABLES; columns against the table's own;
    # keys, fillable columns and defaults are module constants; the view name is generated.
    ("store/_write.py", "upsert"),
    ("store/_write.py", "_count"),  # table: from upsert, already checked
    ("store/_write.py", "_table_columns"),  # table: from upsert, already checked
    ("store/_read.py", "get_stats"),  # table: the module constant _COUNTED
}


SQL_VERBS = ("SELECT ", "INSERT ", "UPDATE ", "DELETE ", "CREATE ", "DROP ", "WITH ", "ALTER ")


def _is_sql_f_string(node: ast.AST) -> bool:
    """An f-string that starts like a statement, even if it is executed elsewhere."""
    if not isinstance(node, ast.JoinedStr) or not node.values:
        return False
    text = " ".join(
        str(part.value).upper() for part in node.values if isinstance(part, ast.Constant)
    )
    # A verb first and a clause later: "SELECT ... FROM", not a message " with flow x".
    return text.lstrip().startswith(SQL_VERBS) and any(
        clause in text for clause in (" FROM ", " INTO ", " TABLE ", " SET ")
    )


def _f_string_sql_sites() -> set[tuple[str, str]]:
    sites = set()
    for path in ROOT.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                if _is_sql_f_string(node) or (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("execute", "executemany", "sql", "query")
                    and node.args
                    and isinstance(node.args[0], ast.JoinedStr)
                ):
                    sites.add((path.relative_to(ROOT).as_posix(), func.name))
    return sites


def test_f_string_sql_only_at_audited_sites() -> None:
    found = _f_string_sql_sites()
    assert found <= AUDITED, f"audit these f-string SQL sites: {sorted(found - AUDITED)}"
    assert found, "the scan found nothing: has the code moved?"


def _outside_store() -> list[tuple[str, ast.Module]]:
    return [
        (path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(encoding="utf-8")))
        for path in ROOT.rglob("*.py")
        if path.relative_to(ROOT).parts[0] != "store"
    ]


def test_only_store_writes_by_table_name() -> None:
    """Outside store/, writes go through the typed writers: no upsert, no table name spelled."""
    from metakb.store import TABLES

    found = []
    for name, tree in _outside_store():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("metakb.store"):
                private = (node.module or "") != "metakb.store"
                generic = [a.name for a in node.names if a.name == "upsert"]
                if private or generic:
                    found.append(f"{name}:{node.lineno} imports {node.module} {generic}")
            if isinstance(node, ast.Call):
                callee = node.func.attr if isinstance(node.func, ast.Attribute) else None
                callee = callee or (node.func.id if isinstance(node.func, ast.Name) else "")
                tables = [
                    a.value
                    for a in node.args
                    if isinstance(a, ast.Constant)
                    and isinstance(a.value, str)
                    and a.value in TABLES
                ]
                if callee == "upsert" or (tables and callee.startswith(("put", "upsert", "write"))):
                    found.append(f"{name}:{node.lineno} calls {callee}{tables}")
    assert not found, f"writes by table name outside metakb/store/: {found}"
