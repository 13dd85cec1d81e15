"""reports/<date>/: files per format, charts that render, index.html, and the atomic rewrite of a date."""

from __future__ import annotations

import io
import json
import re

import pandas as pd
import pytest

from pipedrive_brevo.reporting.build import build_report
from pipedrive_brevo.reporting.charts import CHARTS, render_charts
from pipedrive_brevo.reporting.exports import write_exports
from pipedrive_brevo.storage import DataLocation
from tests.reports import report_builders as rb

DAY = rb.REPORT_DATE


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return build_report(rb.inputs(), rb.mapping(), DAY)


@pytest.fixture(scope="module")
def charts(tables) -> dict[str, bytes]:
    return render_charts(tables)


def publish(store, tables, charts, formats=("csv", "parquet")):
    return write_exports(store, DAY, tables, formats=formats, charts=charts, base_currency="EUR", run_id="r")


def test_charts_render_as_png_of_sane_size(charts):
    from PIL import Image

    assert list(charts) == list(CHARTS)
    for name, data in charts.items():
        assert data[:8] == b"\x89PNG\r\n\x1a\n", name
        assert 10_000 < len(data) < 1_000_000, (name, len(data))
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "PNG" and image.width >= 600 and image.height >= 250


def test_an_empty_report_still_draws_every_chart():
    empty = build_report(rb.inputs(deals=pd.DataFrame()), rb.mapping(), DAY)
    assert all(data[:4] == b"\x89PNG" for data in render_charts(empty).values())


def test_exports_hold_every_table_in_every_format(tmp_path, tables, charts):
    publish(DataLocation(str(tmp_path)), tables, charts)
    folder = tmp_path / "reports" / DAY
    names = {p.name for p in folder.iterdir()}
    assert names == {f"{t}.{f}" for t in tables for f in ("csv", "parquet")} | set(CHARTS) | {
        "index.html", "_manifest.json"}
    csv = pd.read_csv(folder / "deals_attribution.csv")
    assert list(csv.columns) == list(tables["deals_attribution"].columns)
    assert csv.set_index("deal_id").loc[2, "value_base"] == 1800
    assert csv.set_index("deal_id").loc[2, "won_time"] == "2026-02-20T00:00:00Z"
    parquet = pd.read_parquet(folder / "funnel.parquet")
    assert len(parquet) == len(tables["funnel"]) and set(parquet["report_date"]) == {DAY}


def test_only_the_configured_formats_are_written(tmp_path, tables, charts):
    publish(DataLocation(str(tmp_path)), tables, charts, formats=("csv",))
    assert not list((tmp_path / "reports" / DAY).glob("*.parquet"))


def test_index_links_every_file_and_shows_every_chart(tmp_path, tables, charts):
    publish(DataLocation(str(tmp_path)), tables, charts)
    folder = tmp_path / "reports" / DAY
    page = (folder / "index.html").read_text()
    links = set(re.findall(r'href="([^"]+)"', page))
    files = {p.name for p in folder.iterdir()} - {"index.html", "_manifest.json"}
    assert links == files
    assert set(re.findall(r'<img src="([^"]+)"', page)) == set(CHARTS)
    assert f"Pipeline report {DAY}" in page and "EUR" in page


def test_index_escapes_what_it_shows():
    from pipedrive_brevo.reporting.index_page import render_index

    page = render_index("<script>", ['a"b<.csv'], [], {"a\"b<": 3})
    assert "<script>" not in page and "&lt;script&gt;" in page and 'href="a&quot;b&lt;.csv"' in page


def test_a_rerun_replaces_the_date_atomically(tmp_path, tables, charts):
    store = DataLocation(str(tmp_path))
    first = publish(store, tables, charts)
    smaller = {**tables, "deals_attribution": tables["deals_attribution"].head(2)}
    second = publish(store, smaller, charts)
    folder = tmp_path / "reports" / DAY
    assert folder.is_symlink()  # switched with one rename
    assert len(pd.read_parquet(folder / "deals_attribution.parquet")) == 2
    manifest = json.loads((folder / "_manifest.json").read_text())
    assert manifest["version"] == second["version"] != first["version"]
    assert manifest["rows"]["deals_attribution"] == 2
    versions = {p.name for p in (tmp_path / "reports" / ".versions" / DAY).iterdir()}
    assert versions == {first["version"], second["version"]}  # the previous kept for readers inside it
    third = publish(store, tables, charts)
    versions = {p.name for p in (tmp_path / "reports" / ".versions" / DAY).iterdir()}
    assert versions == {second["version"], third["version"]}


def test_a_run_that_fails_midway_leaves_the_previous_report_whole(tmp_path, tables, charts, monkeypatch):
    store = DataLocation(str(tmp_path))
    publish(store, tables, charts)
    folder = tmp_path / "reports" / DAY
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    writes = []
    real = DataLocation.write_bytes

    def failing(self, relpath, data):
        writes.append(relpath)
        if len(writes) == 4:
            raise OSError("disk full")
        return real(self, relpath, data)

    monkeypatch.setattr(DataLocation, "write_bytes", failing)
    with pytest.raises(OSError, match="disk full"):
        publish(store, {**tables, "funnel": tables["funnel"].head(1)}, charts)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_a_plain_folder_left_at_the_date_is_replaced(tmp_path, tables, charts):
    folder = tmp_path / "reports" / DAY
    folder.mkdir(parents=True)
    (folder / "old.csv").write_text("x\n")
    publish(DataLocation(str(tmp_path)), tables, charts)
    assert folder.is_symlink() and not (folder / "old.csv").exists()


def test_object_storage_gets_every_file_and_the_manifest_last(tables, charts):
    import fsspec

    store = DataLocation("memory://report-test")
    try:
        first = publish(store, tables, charts)
        second = publish(store, tables, charts, formats=("csv",))
        files = {p.rsplit("/", 1)[-1] for p in store.list(f"reports/{DAY}")}
        assert files == {f"{t}.csv" for t in tables} | set(CHARTS) | {"index.html", "_manifest.json"}
        manifest = store.read_json(f"reports/{DAY}/_manifest.json")
        assert manifest["version"] == second["version"] != first["version"]
        assert store.exists(f"{manifest['version_folder']}/deals_attribution.csv")
    finally:
        fsspec.filesystem("memory").rm("/report-test", recursive=True)


def test_a_range_of_dates_makes_one_report_per_day(tmp_path, charts):
    store = DataLocation(str(tmp_path))
    for day in ("2026-02-28", "2026-03-01", "2026-03-02"):
        tables = build_report(rb.inputs(), rb.mapping(), day)
        write_exports(store, day, tables, formats=("csv",), charts=charts)
    folders = sorted(p.name for p in (tmp_path / "reports").iterdir() if not p.name.startswith("."))
    assert folders == ["2026-02-28", "2026-03-01", "2026-03-02"]
    first = pd.read_csv(tmp_path / "reports" / "2026-02-28" / "deals_attribution.csv").set_index("deal_id")
    assert set(first["report_date"]) == {"2026-02-28"}
    assert first.loc[3, "status"] == "open"  # lost on 03-01 at 00:00: still open at the end of 02-28
    second = pd.read_csv(tmp_path / "reports" / "2026-03-01" / "deals_attribution.csv").set_index("deal_id")
    assert second.loc[3, "status"] == "lost" and 4 not in second.index  # deal 4 added on 03-05
