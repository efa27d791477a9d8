"""The /ui page: plain HTML listing records, states, countdowns and explanations."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any

from leasedns.lease.explain import duration

_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 2em; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 4px 8px; border-bottom: 1px solid #ddd; }
th { background: #f4f4f4; } td.data { font-family: monospace; }
.state { padding: 1px 6px; border-radius: 3px; font-size: 0.9em; }
.active { background: #e3f4e3; } .grace { background: #fff2cc; }
.proposed { background: #fde0d0; } .pinned { background: #dde8ff; }
.paused { background: #fde0d0; padding: 8px; border: 1px solid #e0a080; }
ul.why { margin: 0; padding-left: 1.2em; } code { background: #f4f4f4; padding: 0 3px; }
"""

# Countdowns tick in the browser; the page reloads itself every 30 s to pick up changes.
_SCRIPT = """
function human(s) {
  if (s <= 0) return "now";
  const u = [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]], out = [];
  for (const [l, n] of u) { const q = Math.floor(s / n); if (q || out.length) { out.push([q, l]); s -= q * n; }
    if (out.length == 2) break; }
  return "in " + out.filter(x => x[0]).map(x => x[0] + " " + x[1]).join(" ");
}
function tick() {
  const now = Date.now() / 1000;
  for (const el of document.querySelectorAll("[data-deadline]"))
    el.textContent = human(Number(el.dataset.deadline) - now);
}
setInterval(tick, 1000);
"""


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _unix(iso_text: str | None) -> float | None:
    if not iso_text:
        return None
    return datetime.fromisoformat(iso_text.replace("Z", "+00:00")).timestamp()


def _countdown(iso_text: str | None, now: float) -> str:
    when = _unix(iso_text)
    if when is None:
        return ""
    left = when - now
    text = f"in {duration(left)}" if left > 0 else "now"
    return f'<span data-deadline="{int(when)}" title="{_e(iso_text)}">{_e(text)}</span>'


def render_page(
    sections: Sequence[tuple[dict[str, Any], list[dict[str, Any]]]], now: float, tz: tzinfo = UTC
) -> str:
    """``sections`` is (zone summary, record rows) per zone, as the API returns them."""
    stamp = datetime.fromtimestamp(now, tz).strftime("%Y-%m-%d %H:%M:%S %Z")
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="refresh" content="30">',
        "<title>leasedns: records</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>leasedns: records, states and why</h1>",
        f"<p>As of {_e(stamp)}. JSON: <code>/api/v1/zones</code>. "
        "Pin, approve, restore and resume with the <code>leasedns</code> command.</p>",
    ]
    if not sections:
        parts.append("<p>No zones are served.</p>")
    for zone, rows in sections:
        parts.append(_zone_section(zone, rows, now))
    parts.append(f"<script>{_SCRIPT}</script></body></html>")
    return "\n".join(parts)


def _zone_section(zone: dict[str, Any], rows: list[dict[str, Any]], now: float) -> str:
    name = zone["zone"]
    states = ", ".join(f"{n} {s}" for s, n in zone["states"].items() if n)
    out = [
        f'<h2 id="{_e(name)}">{_e(name)}</h2>',
        f"<p>serial {_e(zone['serial'])} · profile {_e(zone['profile'])} · "
        f"{_e(zone['rrsets'])} RRsets ({_e(states)}) · {_e(zone['tombstones'])} tombstones</p>",
    ]
    if zone.get("paused"):
        out.append(
            f'<p class="paused">Automatic removal is paused for this zone: {_e(zone["paused"])}. '
            f"Resume with <code>leasedns cleanup resume {_e(name)}</code>.</p>"
        )
    out.append(
        "<table><tr><th>name</th><th>type</th><th>TTL</th><th>data</th><th>state</th>"
        "<th>provenance</th><th>role</th><th>next deadline</th><th>why</th></tr>"
    )
    for row in rows:
        deadline = row["state_deadline"] or row["lease_expires"]
        why = "".join(
            f'<li title="{_e(x["code"])}">{_e(x["text"])}</li>' for x in row["explanation"]
        )
        out.append(
            "<tr>"
            f"<td>{_e(row['name'])}</td><td>{_e(row['type'])}</td><td>{_e(row['ttl'])}</td>"
            f'<td class="data">{"<br>".join(_e(d) for d in row["rdata"])}</td>'
            f'<td><span class="state {_e(row["state"])}">{_e(row["state"])}</span></td>'
            f"<td>{_e(row['provenance'])}</td><td>{_e(row['role'])}</td>"
            f"<td>{_countdown(deadline, now)}</td>"
            f'<td><ul class="why">{why}</ul></td>'
            "</tr>"
        )
    out.append("</table>")
    return "\n".join(out)
