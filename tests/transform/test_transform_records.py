"""The shared helpers: the rejects shape, and reading API records (ids, flags, times) out of frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipedrive_brevo.transform import records, rejects


def test_rejects_have_the_documented_columns_all_text_without_nulls():
    frame = rejects.make("person", [3, 4.0], "invalid_phone", field="phone", values=["n/a", None], detail="x")
    assert list(frame.columns) == ["entity", "id", "field", "reason", "value", "detail"]
    assert frame.to_dict("records") == [
        {"entity": "person", "id": "3", "field": "phone", "reason": "invalid_phone", "value": "n/a", "detail": "x"},
        {"entity": "person", "id": "4", "field": "phone", "reason": "invalid_phone", "value": "", "detail": "x"},
    ]
    assert set(frame.dtypes.astype(str)) == {"string"}


def test_an_unknown_reason_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown reject reason"):
        rejects.make("person", [1], "because")


def test_rejects_concat_keeps_order_and_empty_is_well_formed():
    a = rejects.make("person", [1], "no_email")
    b = rejects.make("deal", [9], "no_currency_rate", values=["JPY"])
    assert rejects.concat([a, rejects.empty(), b])["id"].tolist() == ["1", "9"]
    assert list(rejects.concat([]).columns) == list(rejects.COLUMNS)


def test_ids_read_v1_nested_objects_and_refuse_what_is_not_a_whole_number():
    column = pd.Series([3, {"value": 5, "name": "Acme"}, None, "7", 2.5, "a1b2"], dtype="object")
    assert records.ids(column).tolist() == [3, 5, pd.NA, 7, pd.NA, pd.NA]


def test_deleted_reads_v2_and_v1_flags():
    frame = pd.DataFrame({"is_deleted": [True, False, None, False], "active_flag": [True, True, True, False]})
    assert records.is_deleted(frame).tolist() == [True, False, False, True]
    assert records.is_deleted(pd.DataFrame({"id": [1]})).tolist() == [False]


def test_timestamps_in_the_three_api_forms():
    times = records.timestamps(pd.Series(["2026-01-02T03:04:05Z", "2026-01-02T03:04:05.551Z",
                                          "2026-01-02 03:04:05", None, "garbage"]))
    assert times.iloc[0] == times.iloc[2] == pd.Timestamp("2026-01-02T03:04:05Z")
    assert times.iloc[1] == pd.Timestamp("2026-01-02T03:04:05.551Z")
    assert times.iloc[3:].isna().all()


def test_isin_and_positions_on_text_and_numbers():
    emails = pd.Series(["a@x", None, "b@x", "c@x"], dtype="string")
    assert records.isin(emails, pd.Series(["c@x", "a@x"], dtype="string")).tolist() == [True, False, False, True]
    assert records.isin(emails, []).tolist() == [False] * 4
    assert records.positions(pd.Series(["c@x", "z@x", None], dtype="string"), emails).tolist() == [3, -1, -1]
    assert records.isin(pd.Series([1, 2, 3]), [3]).tolist() == [False, False, True]


def test_lookup_keeps_tuples_as_python_objects():
    table = pd.Series({"a": (60, 61), "b": ()})
    found = records.lookup(pd.Series(["b", "a", "zz"], dtype="string"), table, default=())
    assert isinstance(found, np.ndarray) and list(found) == [(), (60, 61), ()]
