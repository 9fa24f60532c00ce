"""The HTML report: one self-contained file with plotly.js inlined (no network needed to view it).

Two charts drawn by plotly (the ``plotly`` package ships ``plotly.min.js``; install the ``load`` extra):
latency over time (p50 / p90 / p99 / max per second, with the achieved rate on a second axis) and the
HDR percentile distribution (x axis ``1 / (1 - percentile)`` on a log scale, the usual HdrHistogram
plot, where the 99.99th percentile is as visible as the median). The data is the run's JSON report.
"""

from __future__ import annotations

import html
import json
from functools import cache
from importlib import resources
from typing import Any

from simulator.errors import ConfigError

PLOTLY_HINT = "the HTML report needs plotly: pip install plotly (from a clone: pip install '.[load]')"


@cache
def plotly_js() -> str:
    try:
        return (resources.files("plotly") / "package_data" / "plotly.min.js").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        raise ConfigError(PLOTLY_HINT) from None


def check_available() -> None:
    """Fail before a run whose ``--html`` could not be written."""
    try:
        spec = resources.files("plotly") / "package_data" / "plotly.min.js"
        ok = spec.is_file()
    except ModuleNotFoundError:
        ok = False
    if not ok:
        raise ConfigError(PLOTLY_HINT)


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>feishu-sim load report: {title}</title>
<style>
 body {{ font-family: system-ui, sans-serif; margin: 24px; color: #222; }}
 table {{ border-collapse: collapse; margin: 12px 0 20px; }}
 td, th {{ padding: 3px 12px 3px 0; text-align: left; font-variant-numeric: tabular-nums; }}
 th {{ color: #666; font-weight: normal; }}
 .chart {{ width: 100%; max-width: 1100px; height: 420px; }}
</style>
<script>{plotly}</script>
</head><body>
<h1>Load report</h1>
<table>{rows}</table>
<div id="latency" class="chart"></div>
<div id="distribution" class="chart"></div>
<p id="status" data-charts="0">charts not drawn (JavaScript disabled?)</p>
<script>
const R = {data};
const secs = R.seconds.map(r => r.second + 1);
const line = (name, key, color) => ({{x: secs, y: R.seconds.map(r => r[key]), name: name, mode: "lines",
  line: {{color: color}}}});
const latency = [line("p50", "p50_ms", "#1f77b4"), line("p90", "p90_ms", "#2ca02c"),
  line("p99", "p99_ms", "#ff7f0e"), line("max", "max_ms", "#d62728"),
  {{x: secs, y: R.seconds.map(r => r.sent), name: "sent/s", yaxis: "y2", type: "bar", opacity: 0.25,
    marker: {{color: "#7f7f7f"}}}}];
const pts = R.distribution.filter(p => p[0] < 100);
const dist = [{{x: pts.map(p => 1 / (1 - p[0] / 100)), y: pts.map(p => p[1]), mode: "lines", name: "latency",
  text: pts.map(p => p[0].toFixed(4) + "%"), hovertemplate: "%{{text}}: %{{y}} ms<extra></extra>"}}];
const ticks = [1, 2, 10, 100, 1000, 10000, 100000];
const labels = ["0%", "50%", "90%", "99%", "99.9%", "99.99%", "99.999%"];
Promise.all([
  Plotly.newPlot("latency", latency, {{title: {{text: "Latency over time (from intended send time)"}},
    xaxis: {{title: {{text: "second of the run"}}}}, yaxis: {{title: {{text: "ms"}}, rangemode: "tozero"}},
    yaxis2: {{title: {{text: "requests sent"}}, overlaying: "y", side: "right", rangemode: "tozero",
    showgrid: false}}, legend: {{orientation: "h"}}}}, {{displaylogo: false, responsive: true}}),
  Plotly.newPlot("distribution", dist, {{title: {{text: "Latency by percentile"}},
    xaxis: {{type: "log", title: {{text: "percentile"}}, tickvals: ticks, ticktext: labels}},
    yaxis: {{title: {{text: "ms"}}, rangemode: "tozero"}}}}, {{displaylogo: false, responsive: true}}),
]).then(() => {{ const s = document.getElementById("status"); s.dataset.charts = "2";
  s.textContent = "2 charts drawn with plotly " + Plotly.version; }});
</script>
</body></html>
"""


def _rows(doc: dict[str, Any]) -> str:
    c = doc["counts"]
    pct = doc["latency_ms"]["percentiles_ms"]
    items = [
        ("target", doc["target"] + ("  (built-in reference receiver)" if doc.get("embedded_receiver") else "")),
        ("event type", doc["event_type"] + (", AES-encrypted and signed" if doc.get("encrypted") else ", plaintext")),
        ("schedule", f"{doc['scheduled']:,} requests over {doc['schedule']['duration_s']:g} s; "
                     f"{doc['connections']} connections, {doc['workers']} process(es), {doc['loop']}"),
        ("achieved", f"{doc['achieved_rate']:,.1f} requests/s"),
        ("verdicts", f"acked {c['acked']:,} · non-200 {c['non_200']:,} · timeout {c['timeout']:,} · "
                     f"error {c['error']:,} · unsent {c['unsent']:,}"),
        ("within budget", f"{doc['within_budget_share'] * 100:.2f}% acked within {doc['budget_s']:g} s"),
        ("latency", "  ".join(f"{k} {v:.2f} ms" for k, v in pct.items())),
    ]
    return "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in items)


def render(doc: dict[str, Any]) -> str:
    """The report page for a run's JSON document (``LoadResult.to_json()``)."""
    slim = {k: doc[k] for k in ("seconds", "distribution")}
    data = json.dumps(slim, separators=(",", ":")).replace("</", "<\\/")
    return _PAGE.format(title=html.escape(doc["target"]), plotly=plotly_js(), rows=_rows(doc), data=data)
