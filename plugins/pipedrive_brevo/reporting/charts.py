"""PNG charts of the report for people: the funnel, won revenue by source, time in stage.

matplotlib is imported inside the functions (never at DAG parse time) and drawn through its
object API on a :class:`~matplotlib.figure.Figure` with the Agg canvas: no pyplot state, no
display, safe in a worker thread. Each function takes a report table and returns PNG bytes; an
empty table gives a chart that says so rather than no file (``index.html`` links every chart).
"""

from __future__ import annotations

import io
from typing import Any

import pandas as pd

#: File names of the charts, in the order ``index.html`` shows them.
CHARTS: tuple[str, ...] = ("funnel.png", "revenue_by_source.png", "time_in_stage.png")
TOP_SOURCES = 7


def _figure(rows: int, height_per_row: float = 3.2) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(10, max(3.0, rows * height_per_row)), dpi=100, layout="constrained")


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _pipeline_panels(rows: pd.DataFrame) -> tuple[Any, list[tuple[Any, pd.DataFrame]]]:
    """A figure with one panel per pipeline of ``rows``, each with its rows in stage order."""
    pipelines = list(dict.fromkeys(rows["pipeline_id"]))
    figure = _figure(len(pipelines))
    axes_list = figure.subplots(len(pipelines), 1, squeeze=False)[:, 0]
    return figure, [(axes, rows[rows["pipeline_id"] == pipeline_id].sort_values("stage_order"))
                    for axes, pipeline_id in zip(axes_list, pipelines, strict=True)]


def _empty(title: str) -> bytes:
    figure = _figure(1)
    axes = figure.subplots()
    axes.set_axis_off()
    axes.text(0.5, 0.5, f"{title}\n(no data for this date)", ha="center", va="center", fontsize=14)
    return _png(figure)


def funnel_chart(funnel: pd.DataFrame) -> bytes:
    """Deals that reached each stage (all periods), one panel per pipeline, conversion on the bars."""
    rows = funnel[funnel["period"] == "all"]
    if not len(rows) or not rows["deals_reached"].sum():
        return _empty("Funnel")
    figure, panels = _pipeline_panels(rows)
    for axes, mine in panels:
        labels = [str(n) for n in mine["stage_name"].fillna("?")]
        reached = mine["deals_reached"].astype(int).tolist()
        bars = axes.barh(labels[::-1], reached[::-1], color="#4c72b0")
        last = len(reached) - 1
        notes = [f"{n}  ({c:.0%} to {'won' if i == last else 'next'})" if pd.notna(c) else str(n)
                 for i, (n, c) in enumerate(zip(reached, mine["conversion_to_next"], strict=True))][::-1]
        axes.bar_label(bars, labels=notes, padding=3, fontsize=8)
        axes.set_title(f"{mine['pipeline_name'].iloc[0]}: deals that reached each stage")
        axes.set_xlabel("deals")
        axes.margins(x=0.25)
    return _png(figure)


def revenue_chart(revenue: pd.DataFrame) -> bytes:
    """Won value in the base currency per cohort month, stacked by lead source (top sources)."""
    won = revenue[revenue["won_value_base"].fillna(0) > 0]
    if not len(won):
        return _empty("Won revenue by source")
    totals = won.groupby("lead_source")["won_value_base"].sum().sort_values(ascending=False)
    top = list(totals.index[:TOP_SOURCES])
    source = won["lead_source"].where(won["lead_source"].isin(top), "other")
    table = (won.assign(source=source).groupby(["cohort_month", "source"])["won_value_base"].sum()
             .unstack("source", fill_value=0.0).sort_index())
    figure = _figure(1, 4.5)
    axes = figure.subplots()
    bottom = None
    for name in [*top, "other"]:
        if name not in table:
            continue
        values = table[name].astype(float).to_numpy()
        axes.bar(table.index.astype(str), values, bottom=bottom, label=str(name))
        bottom = values if bottom is None else bottom + values
    base = str(revenue["base_currency"].iloc[0]) if len(revenue) else ""
    axes.set_title(f"Won revenue by lead source and month created ({base})")
    axes.set_ylabel(base)
    axes.tick_params(axis="x", labelrotation=60, labelsize=7)
    axes.legend(fontsize=8)
    return _png(figure)


def time_in_stage_chart(velocity: pd.DataFrame) -> bytes:
    """Median days in each stage (bars) and the 90th percentile (markers), one panel per pipeline."""
    rows = velocity[(velocity["level"] == "stage") & velocity["median_days_in_stage"].notna()]
    if not len(rows):
        return _empty("Time in stage")
    figure, panels = _pipeline_panels(rows)
    for axes, mine in panels:
        labels = [str(n) for n in mine["stage_name"].fillna("?")][::-1]
        axes.barh(labels, mine["median_days_in_stage"].astype(float).to_numpy()[::-1], color="#55a868",
                  label="median")
        axes.plot(mine["p90_days_in_stage"].astype(float).to_numpy()[::-1], labels, "k|", markersize=14,
                  label="90th percentile")
        axes.set_title(f"{mine['pipeline_name'].iloc[0]}: days in stage")
        axes.set_xlabel("days")
        axes.legend(fontsize=8, loc="lower right")
    return _png(figure)


def render_charts(tables: dict[str, pd.DataFrame]) -> dict[str, bytes]:
    """Every chart of :data:`CHARTS` from the report tables."""
    return {
        "funnel.png": funnel_chart(tables["funnel"]),
        "revenue_by_source.png": revenue_chart(tables["revenue_by_source"]),
        "time_in_stage.png": time_in_stage_chart(tables["velocity"]),
    }
