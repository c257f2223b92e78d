"""Columns no model of the search spaces can use as they are: dates, ids, free text.

Read as categories, a date, an id or a sentence is one level per row: the
one-hot or ordinal encoders learn nothing from it, and the meta-features count
it as a categorical feature with as many values as rows. These rules find such
columns among a table's features so :func:`metakb.datasets.load_table` can
encode or drop them, with a one-line note for each.

The rules are deliberately narrow; a column the file declares categorical (a
pandas ``category`` or boolean column, an ARFF nominal attribute) is never
touched, and none of the statistical rules fires on fewer than
:data:`MIN_ROWS` rows.

``"date"``
    A datetime column, or a string column at least :data:`DATE_SHARE` (90%)
    of whose values look like a date (a four-digit year before or after two
    more numbers, ``2021-03-04``, ``04/03/2021``, optionally with a time; or a
    month name and a four-digit year, ``March 4, 2021``) and parse as one.
    Requiring a year keeps codes such as ``10-12`` or ``1.2.3`` out.
    Encoded as days since 1970-01-01 (a float; a value that does not parse
    becomes missing): one numeric column that keeps the order and the
    distances between dates, which trees split on and a linear model can use,
    without adding columns (year, month, weekday would change the feature
    count the meta-features describe, and guess at a seasonality).
``"id"``
    No missing value and a different value on every row, and either a string
    column (one level per row is never a category), or an integer column
    named like an id (``id``, ``uuid``, ``key``, ``index``, ``customer_id``,
    ``PassengerId``, pandas' ``Unnamed: 0``) or numbering the rows
    (``0, 1, 2, ...`` or ``1, 2, 3, ...`` in file order). Unnamed integers that
    merely differ on every row (a year per row, a price) stay numeric. Dropped.
``"text"``
    A string column with at least :data:`MIN_ROWS` distinct values that make
    at least half of its values, whose median value has at least
    :data:`TEXT_WORDS` (3) words. Dropped: the spaces' encoders have no bag of
    words, and a length or word count would be a guess at what matters. Checked
    before ``"id"``, so a column of distinct sentences is called text.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Collection, Mapping

import numpy as np
import pandas as pd

MIN_ROWS = 20
DATE_SHARE = 0.9
TEXT_WORDS = 3
TEXT_DISTINCT_SHARE = 0.5

_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DATE = re.compile(
    r"^\s*(?:"
    r"[12]\d{3}[-/.]\d{1,2}[-/.]\d{1,2}"  # 2021-03-04
    r"|\d{1,2}[-/.]\d{1,2}[-/.][12]\d{3}"  # 04/03/2021
    rf"|(?=.*\b[12]\d{{3}}\b).*\b{_MONTHS}(?:\s|,|$).*"  # March 4, 2021 / 4 Mar 2021
    r")(?:[ T].*)?$",
    re.IGNORECASE,
)
_ID_NAME = re.compile(
    r"^(?:id|uuid|guid|key|index|idx|row_?(?:id|num|number)?|unnamed: ?\d+)$"
    r"|[_\s.-](?:id|uuid|guid|key)$",
    re.IGNORECASE,
)
_CAMEL_ID = re.compile(r"[a-z](?:Id|ID)$")  # PassengerId, CustomerID (not "paid", "valid")
_EPOCH = pd.Timestamp("1970-01-01", tz="UTC")
_DAY = pd.Timedelta(days=1)

ACTIONS = {
    "date": "encoded as days since 1970-01-01",
    "id": "dropped",
    "text": "dropped",
}
"""What :func:`encode_columns` does with each kind of column."""

_WHY = {
    "date": "holds dates",
    "id": "is id-like (a different value on every row)",
    "text": "is free text",
}


def detect_columns(x: pd.DataFrame, *, declared: Collection[str] = ()) -> dict[str, str]:
    """Return ``{column: "date" | "id" | "text"}`` for the features the rules flag.

    Parameters
    ----------
    x : pandas.DataFrame
        The feature columns (not the target).
    declared : collection of str
        Columns the file declares categorical (ARFF nominal attributes): never flagged.

    Returns
    -------
    dict
        Only the flagged columns, in ``x``'s order (rules in the module doc).
    """
    found: dict[str, str] = {}
    for name in x.columns:
        if str(name) in declared:
            continue
        kind = _kind(str(name), x[name])
        if kind is not None:
            found[str(name)] = kind
    return found


def encode_columns(
    x: pd.DataFrame, kinds: Mapping[str, str], detected: Mapping[str, str]
) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """Encode or drop the columns :func:`detect_columns` flagged.

    Parameters
    ----------
    x : pandas.DataFrame
        The feature columns.
    kinds : mapping
        ``"categorical"`` or ``"numeric"`` per column (the target's may be in it).
    detected : mapping
        :func:`detect_columns`'s result.

    Returns
    -------
    x, kinds, notes
        The new features and kinds (dates numeric, dropped columns gone) and
        one note per flagged column, e.g. ``column 'id' is id-like (a
        different value on every row): dropped``.
    """
    x = x.copy()
    kinds = dict(kinds)
    notes = []
    for name, kind in detected.items():
        if kind == "date":
            x[name] = days_since_epoch(x[name])
            kinds[name] = "numeric"
        else:
            x = x.drop(columns=[name])
            kinds.pop(name, None)
        notes.append(f"column {name!r} {_WHY[kind]}: {ACTIONS[kind]}")
    return x, kinds, notes


def days_since_epoch(column: pd.Series) -> pd.Series:
    """Return a date column as float days since 1970-01-01 UTC (missing where it does not parse)."""
    dates = _parse_dates(column)
    return ((dates - _EPOCH) / _DAY).astype("float64")


def _kind(name: str, column: pd.Series) -> str | None:
    if isinstance(column.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(column):
        return None  # the file says categorical
    if pd.api.types.is_datetime64_any_dtype(column):
        return "date"
    values = column.dropna()
    if len(values) < MIN_ROWS:
        return None
    if pd.api.types.is_numeric_dtype(column):
        return "id" if _is_integer_id(name, column) else None
    strings = values.astype(str)
    if _is_date(strings):
        return "date"
    n_distinct = strings.nunique()
    if (
        n_distinct >= MIN_ROWS
        and n_distinct >= TEXT_DISTINCT_SHARE * len(strings)
        and strings.str.count(r"\S+").median() >= TEXT_WORDS
    ):
        return "text"
    if len(values) == len(column) and n_distinct == len(column):
        return "id"
    return None


def _is_integer_id(name: str, column: pd.Series) -> bool:
    if column.isna().any():
        return False
    values = column.to_numpy(dtype=float)
    if not np.all(np.isfinite(values)) or not np.all(values == np.round(values)):
        return False
    if np.unique(values).size != values.size:
        return False
    if _ID_NAME.search(name) or _CAMEL_ID.search(name):
        return True
    # A row number: consecutive in file order from 0 or 1 (a year per row starts elsewhere).
    return bool(values[0] in (0.0, 1.0) and np.all(np.diff(values) == 1.0))


def _is_date(strings: pd.Series) -> bool:
    looks = strings.str.match(_DATE)
    if looks.mean() < DATE_SHARE:
        return False
    parsed = _parse_dates(strings)
    return bool(parsed.notna().mean() >= DATE_SHARE)


def _parse_dates(column: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(column):
        dates = pd.Series(column)
        if getattr(dates.dt, "tz", None) is None:
            return dates.dt.tz_localize("UTC")
        return dates.dt.tz_convert("UTC")
    with warnings.catch_warnings():
        # Mixed formats parse value by value; pandas warns that it could not infer one.
        warnings.simplefilter("ignore", UserWarning)
        return pd.to_datetime(column, errors="coerce", format="mixed", utc=True)
