"""The health page (`crawler serve` at /health, `crawler report --html FILE`): per source, charts
of its runs (pages archived, unchanged, blocked and failed; the median word count) and its
current anomalies. The charts are SVG drawn here: nothing is fetched when the page is viewed.
"""

from __future__ import annotations

from typing import Any

from crawler.archive.pages import document, text

WIDTH, HEIGHT, PAD = 560, 140, 30
SERIES = (("archived", "#2a7", "archived"), ("unchanged", "#9bd", "unchanged"),
          ("blocked", "#d33", "blocked"), ("failed", "#e90", "failed"))
HEALTH_STYLE = """
.source { border: 1px solid #ccc; border-radius: 6px; padding: .6em 1em; margin: 1em 0; }
.source.degraded { border-color: #d33; }
.anomaly { color: #a00; font-weight: bold; }
.ok { color: #060; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5em; }
.legend span { margin-right: 1em; font-size: 85%; }
.legend i { display: inline-block; width: .8em; height: .8em; margin-right: .3em; }
svg text { font: 10px sans-serif; fill: #444; }
"""


def _bars(runs: list[dict[str, Any]]) -> str:
    """Stacked bars, one per run: archived, unchanged, blocked, failed pages."""
    tallest = max([sum(r.get(key) or 0 for key, _c, _l in SERIES) for r in runs] + [1])
    step = (WIDTH - PAD) / max(len(runs), 1)
    parts = []
    for i, run in enumerate(runs):
        y = HEIGHT - PAD / 2
        for key, colour, label in SERIES:
            value = run.get(key) or 0
            if not value:
                continue
            height = (HEIGHT - PAD) * value / tallest
            y -= height
            parts.append(f'<rect x="{PAD + i * step + 1:.1f}" y="{y:.1f}" width="{max(step - 2, 1):.1f}" '
                         f'height="{height:.1f}" fill="{colour}"><title>{text(run["started"][:16])}: '
                         f'{value} {label}</title></rect>')
    axis = (f'<line x1="{PAD}" y1="{HEIGHT - PAD / 2}" x2="{WIDTH}" y2="{HEIGHT - PAD / 2}" stroke="#888"/>'
            f'<text x="0" y="12">{tallest}</text><text x="0" y="{HEIGHT - PAD / 2}">0</text>')
    return _svg("pages per run", axis + "".join(parts) + _dates(runs))


def _line(runs: list[dict[str, Any]]) -> str:
    """The median word count per run (runs without pages with text left out)."""
    values = [(i, run.get("median_words")) for i, run in enumerate(runs)]
    known = [(i, v) for i, v in values if v is not None]
    top = max([v for _i, v in known] + [1])
    step = (WIDTH - PAD) / max(len(runs), 1)

    def point(i: int, v: float) -> tuple[float, float]:
        return PAD + (i + 0.5) * step, HEIGHT - PAD / 2 - (HEIGHT - PAD) * v / top

    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in (point(i, v) for i, v in known))
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#36c"><title>{text(runs[i]["started"][:16])}: '
                   f'{v:g} words</title></circle>' for (i, v), (x, y) in ((k, point(*k)) for k in known))
    axis = (f'<line x1="{PAD}" y1="{HEIGHT - PAD / 2}" x2="{WIDTH}" y2="{HEIGHT - PAD / 2}" stroke="#888"/>'
            f'<text x="0" y="12">{top:g}</text><text x="0" y="{HEIGHT - PAD / 2}">0</text>')
    line = f'<polyline points="{points}" fill="none" stroke="#36c" stroke-width="2"/>' if len(known) > 1 else ""
    return _svg("median word count", axis + line + dots + _dates(runs))


def _dates(runs: list[dict[str, Any]]) -> str:
    """The first and the last run's day under the axis."""
    if not runs:
        return ""
    first, last = runs[0]["started"][:16].replace("T", " "), runs[-1]["started"][:16].replace("T", " ")
    return (f'<text x="{PAD}" y="{HEIGHT - 2}">{text(first)}</text>'
            f'<text x="{WIDTH}" y="{HEIGHT - 2}" text-anchor="end">{text(last)}</text>')


def _svg(label: str, body: str) -> str:
    return (f'<figure><figcaption>{text(label)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" '
            f'width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
            f'aria-label="{text(label)}">{body}</svg></figure>')


def health_page(report: dict[str, Any], *, title: str, last: int = 30) -> str:
    """Every source of the report: anomalies first, then its charts over its last runs."""
    entries = sorted(report["sources"], key=lambda e: (not e["anomalies"], e["source"]))
    degraded = sum(1 for e in entries if e["anomalies"])
    legend = "".join(f'<span><i style="background:{c}"></i>{text(label)}</span>' for _k, c, label in SERIES)
    blocks = []
    for entry in entries:
        runs = entry["runs"][-last:]  # (each run file says what it archived: new + changed)
        found = "".join(f'<li class="anomaly">{text(a["kind"])}: {text(a["detail"])}</li>' for a in entry["anomalies"])
        state = f"<ul>{found}</ul>" if found else '<p class="ok">no anomaly in the latest run</p>'
        blocks.append(f'<section class="source{" degraded" if found else ""}" id="{text(entry["source"])}">'
                      f'<h2>{text(entry["source"])}</h2>{state}'
                      f'<p>{len(entry["runs"])} run(s); the latest started {text(entry["runs"][-1]["started"][:16].replace("T", " "))}.</p>'
                      f'<div class="charts">{_bars(runs)}{_line(runs)}</div></section>')
    summary = (f'<p id="summary">{len(entries)} source(s); {degraded} degraded in their latest run.</p>'
               if entries else '<p id="summary">No runs recorded yet: a crawl writes its figures to runs/ when it ends.</p>')
    body = (f'<h1>{text(title)}: capture health</h1><p><a href="/">search the archive</a></p>{summary}'
            f'<p class="legend">{legend}</p>' + "\n".join(blocks))
    return document(f"{title}: health", f"<style>{HEALTH_STYLE}</style>" + body)
