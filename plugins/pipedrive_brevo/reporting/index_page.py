"""``index.html``: one short page per report date that shows the charts and links every file.

Everything interpolated is escaped (file names, the date, counts); the page loads nothing from the
network, so it can be opened from a folder, a bucket browser or an artifact store as it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

_STYLE = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:60em}"
          "table{border-collapse:collapse}td,th{padding:.2em .8em;border-bottom:1px solid #ddd;text-align:left}"
          "img{max-width:100%;border:1px solid #eee;margin:.5em 0}")


def render_index(report_date: str, files: Sequence[str], charts: Sequence[str],
                 rows: Mapping[str, int] | None = None, *, base_currency: str = "") -> str:
    """The page: a title, the charts (``<img>``) and a table linking each file with its row count."""
    rows = rows or {}
    date = escape(str(report_date))
    lines = [
        "<!doctype html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f"<title>Pipeline report {date}</title>", f"<style>{_STYLE}</style>", "</head>", "<body>",
        f"<h1>Pipeline report {date}</h1>",
        f"<p>The pipeline at the end of {date} (UTC)"
        + (f"; values in {escape(base_currency)}" if base_currency else "") + ".</p>",
        "<h2>Files</h2>", "<table>", "<tr><th>file</th><th>rows</th></tr>",
    ]
    for name in files:
        table = name.rsplit(".", 1)[0]
        count = rows.get(table)
        lines.append(f'<tr><td><a href="{escape(name, quote=True)}">{escape(name)}</a></td>'
                     f"<td>{'' if count is None else int(count)}</td></tr>")
    lines.append("</table>")
    if charts:
        lines.append("<h2>Charts</h2>")
    for name in charts:
        title = escape(name.rsplit(".", 1)[0].replace("_", " "))
        lines.append(f'<h3>{title}</h3><a href="{escape(name, quote=True)}">'
                     f'<img src="{escape(name, quote=True)}" alt="{title}"></a>')
    lines += ["</body>", "</html>", ""]
    return "\n".join(lines)
