"""The daily pipeline report (``pipedrive_pipeline_report``): attribution, funnel, velocity, revenue.

Built only from what the sync already keeps under the data location (entity snapshots, reference
data, the stage history), as pure pandas functions, one module per concept:

- :mod:`.inputs` reads the snapshots and reference lists into :class:`.inputs.ReportInputs`;
- :mod:`.as_of` applies the as-of rule (the pipeline at the end of the report date, UTC) and
  gives one typed row per deal; :mod:`.attribution` adds names, base-currency values and the
  attribution fields (``deals_attribution``);
- :mod:`.funnel`, :mod:`.velocity`, :mod:`.revenue` aggregate it (``funnel``, ``velocity``,
  ``revenue_by_source``); :mod:`.build` puts the four tables together;
- :mod:`.charts` (matplotlib, imported only inside tasks), :mod:`.index_page` and :mod:`.exports`
  publish ``reports/<date>/``; :mod:`.sql` writes the same tables to a database.
"""

from __future__ import annotations

#: The report's tables, in the order they are written and linked.
TABLES: tuple[str, ...] = ("deals_attribution", "funnel", "velocity", "revenue_by_source")
