"""The HTML page of label statistics: one self-contained file, inline CSS and SVG charts, nothing fetched.

Also the number formats the text rendering shares (:func:`fmt_pct`, :func:`fmt_num`, :func:`fmt_count`).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from labelprep.labelstats import SplitStats, Stats

__all__ = ["fmt_count", "fmt_num", "fmt_pct", "stats_html"]


def fmt_pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def fmt_num(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def fmt_count(x: float | None) -> str:
    return "-" if x is None else f"{x:g}"


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;margin:24px;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;margin:6px 0 12px}th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:right}
th{background:#f6f8fa}td.l,th.l{text-align:left}
.muted{color:#656d76}.charts{display:flex;flex-wrap:wrap;gap:24px}figure{margin:0}figcaption{font-weight:600;margin:0 0 4px}
svg{background:#fff}svg text{font:11px system-ui,sans-serif;fill:#1f2328}
.bar{fill:#2f81f7}.hist{fill:#8250df}.axis{stroke:#8c959f;stroke-width:1}
text.zero{fill:#cf222e;font-weight:600}line.zero{stroke:#cf222e;stroke-width:2}
td.l{max-width:28em;overflow-wrap:anywhere}
"""


def stats_html(st: Stats) -> str:
    """The page of :meth:`labelprep.labelstats.Stats.to_html`."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>labelprep stats</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Label statistics</h1>",
        f'<p class="muted">{st.total.images} image(s), {len(st.labels)} label(s), '
        f"{len(st.splits) - 1 if len(st.splits) > 1 else 1} split(s). Prevalence and pos_weight leave out unknown "
        "(-1) cells.</p>",
        "<h2>Splits</h2>",
        "<table><tr><th class=l>split</th><th>images</th><th>cardinality</th><th>density</th>"
        "<th>no label</th></tr>",
    ]
    for s in st.splits:
        parts.append(f"<tr><td class=l>{e(s.name)}</td><td>{s.images}</td><td>{s.cardinality:.3f}</td>"
                     f"<td>{s.density:.4f}</td><td>{s.empty}</td></tr>")  # fmt: skip
    parts.append("</table>")

    order, rest = _chart_labels(st)
    parts.append('<h2>Label frequency</h2><p class="muted">Positives per label, every split in one order: by '
                 "frequency over all images. A label with no positive in a split shows 0 there, in red. Hover a "
                 "name for it in full.</p>"
                 '<div class="charts" id="frequency">')  # fmt: skip
    for s in st.splits:
        parts.append(f"<figure><figcaption>{e(s.name)}</figcaption>{_bar_chart(s, order, rest)}</figure>")
    parts.append("</div>")

    parts.append('<h2>Co-occurrence</h2><p class="muted">Images carrying both labels, for the '
                 f"{len(st.heatmap_labels)} most frequent labels: darker is more; the grey diagonal is the label "
                 "itself. Hover a cell for its count.</p>"
                 '<div id="cooccurrence">')  # fmt: skip
    parts.append(_heatmap(st.heatmap_labels, st.heatmap))
    parts.append("</div>")

    parts.append('<h2>Labels per image</h2><div class="charts" id="labels-per-image">')
    parts.append(f"<figure><figcaption>{e(st.total.name)}</figcaption>{_histogram(st.total)}</figure></div>")

    parts.append("<h2>Labels</h2><table><tr><th class=l>label</th>")
    for s in st.splits:
        parts.append(f"<th>{e(s.name)} positives</th><th>prevalence</th><th>pos_weight</th>")
    parts.append("</tr>")
    for i, label in enumerate(st.labels):
        row = [f"<tr><td class=l>{e(label)}</td>"]
        for s in st.splits:
            ls = s.labels[i]
            row.append(f"<td>{ls.positives}</td><td>{fmt_pct(ls.prevalence)}</td><td>{fmt_num(ls.pos_weight)}</td>")
        parts.append("".join(row) + "</tr>")
    parts.append("</table>")

    parts.append("<h2>Top co-occurring pairs</h2>")
    if st.pairs:
        parts.append("<table><tr><th class=l>label</th><th class=l>label</th><th>images</th><th>Jaccard</th>"
                     "<th>lift</th></tr>")  # fmt: skip
        for p in st.pairs:
            parts.append(f"<tr><td class=l>{e(p.a)}</td><td class=l>{e(p.b)}</td><td>{p.count}</td>"
                         f"<td>{p.jaccard:.3f}</td><td>{p.lift:.2f}</td></tr>")  # fmt: skip
        parts.append("</table>")
    else:
        parts.append("<p>No two labels share an image.</p>")

    parts.append("<h2>Frequent labels that never co-occur</h2>")
    parts.append(f'<p class="muted">Labels on at least {fmt_pct(st.settings.get("min_support"))} of images, in pairs '
                 f"expected to share at least {fmt_count(st.settings.get('min_expected'))} image(s) if they were "
                 "independent (expected: positives of one x positives of the other / images; "
                 "at 5, sharing none by chance happens less than 1% of the time). Rarer pairs never "
                 "meeting says nothing, and is not listed (--min-expected).</p>")  # fmt: skip
    if st.exclusive_pairs:
        parts.append("<table><tr><th class=l>label</th><th>positives</th><th class=l>label</th><th>positives</th>"
                     "<th>expected</th></tr>")  # fmt: skip
        for x in st.exclusive_pairs:
            parts.append(f"<tr><td class=l>{e(x.a)}</td><td>{x.positives_a}</td><td class=l>{e(x.b)}</td>"
                         f"<td>{x.positives_b}</td><td>{x.expected:.1f}</td></tr>")  # fmt: skip
        parts.append("</table>")
    else:
        parts.append("<p>None.</p>")
    if st.exclusive_groups:
        parts.append("<h3>Candidate mutually exclusive groups</h3><p class=muted>Labels every two of which are such a "
                     "pair: a possible one-of-K (softmax) group.</p><table><tr><th class=l>labels</th>"
                     "<th>images</th><th>coverage</th></tr>")  # fmt: skip
        for g in st.exclusive_groups:
            parts.append(f"<tr><td class=l>{e(', '.join(g.labels))}</td><td>{g.images}</td>"
                         f"<td>{fmt_pct(g.coverage)}</td></tr>")  # fmt: skip
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _short(label: str, n: int = 26) -> str:
    return label if len(label) <= n else label[: n - 1] + "…"


def _wrap(label: str, width: int = 24, lines: int = 2) -> list[str]:
    """A label over at most ``lines`` lines of about ``width`` characters, broken at spaces where it can; the
    last line ends in an ellipsis when the name is longer still (the full name is in the hover title)."""
    out: list[str] = []
    rest = label
    while rest and len(out) < lines:
        if len(rest) <= width:
            out.append(rest)
            rest = ""
            break
        cut = rest.rfind(" ", 0, width + 1)
        cut = cut if cut > width // 3 else width
        out.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        out[-1] = _short(out[-1] + " " + rest, width)
    return out or [""]


def _chart_labels(st: Stats, limit: int = 40) -> tuple[list[int], int]:
    """The labels every frequency chart shows, in one order (positives over all images, then vocabulary order):
    the ``limit`` most frequent, and after them any label with no positive in some split but positives in
    another (those matter most when comparing splits), up to ``limit`` more; and how many are left out."""
    totals = [ls.positives for ls in st.total.labels]
    order = sorted(range(len(st.labels)), key=lambda i: (-totals[i], i))
    shown = order[:limit]
    parts = st.splits[:-1] if len(st.splits) > 1 else st.splits
    gaps = [i for i in order[limit:] if totals[i] > 0 and any(s.labels[i].positives == 0 for s in parts)]
    shown += gaps[:limit]
    return shown, len(order) - len(shown)


def _bar_chart(s: SplitStats, order: list[int], rest: int) -> str:
    """Horizontal bars of positives per label, in the given label order (the same for every split); zeros shown."""
    e = html.escape
    wrapped = [_wrap(s.labels[i].label) for i in order]
    left, bar_w, line_h, top = 170, 320, 12, 6
    heights = [max(16, 4 + line_h * len(w)) for w in wrapped]
    height = top + sum(heights) + (18 if rest else 6) + (0 if order else 16)
    width = left + bar_w + 60
    peak = max((s.labels[i].positives for i in order), default=0) or 1
    out = [f'<svg class="chart-frequency" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'role="img" aria-label="label frequency, split {e(s.name)}">']  # fmt: skip
    if not order:
        out.append(f'<text x="4" y="{top + 11}">no labels</text>')
    y = top
    for i, lines, h in zip(order, wrapped, heights):
        r = s.labels[i]
        tip = f"{r.label}: {r.positives} ({fmt_pct(r.prevalence)})"
        first = y + (h - line_h * len(lines)) / 2 + 10
        name = "".join(f'<tspan x="{left - 6}" y="{first + k * line_h:.0f}">{e(ln)}</tspan>' for k, ln in enumerate(lines))
        if r.positives:
            w = max(1.0, bar_w * r.positives / peak)
            bar = (f'<rect class="bar" x="{left}" y="{y + h / 2 - 6:.0f}" width="{w:.1f}" height="12"/>'
                   f'<text x="{left + w + 4:.1f}" y="{y + h / 2 + 4:.0f}">{r.positives}</text>')  # fmt: skip
        else:
            bar = (f'<line class="zero" x1="{left}" y1="{y + 2}" x2="{left}" y2="{y + h - 2}"/>'
                   f'<text class="zero" x="{left + 4}" y="{y + h / 2 + 4:.0f}">0</text>')  # fmt: skip
        out.append(f'<g><title>{e(tip)}</title><text text-anchor="end">{name}</text>{bar}</g>')
        y += h
    if rest:
        out.append(f'<text x="{left}" y="{height - 5}" class="muted">… and {rest} more label(s), in the table '
                   "below</text>")  # fmt: skip
    out.append("</svg>")
    return "".join(out)


def _heatmap(labels: list[str], counts: list[list[int]]) -> str:
    """Co-occurrence counts of the most frequent labels; the diagonal (positives) in grey."""
    e = html.escape
    n = len(labels)
    if n == 0:
        return '<svg class="chart-cooccurrence" width="300" height="30"><text x="4" y="18">no positive labels</text></svg>'
    longest = max(len(_short(x)) for x in labels)
    cell, left, top = 18, min(170, 16 + 6 * longest), min(150, 16 + 6 * longest)  # ~6 px a character
    width, height = left + cell * n + 110, top + cell * n + 10  # room for the last rotated name
    off = [counts[i][j] for i in range(n) for j in range(n) if i != j]
    peak = max(off, default=0) or 1
    out = [f'<svg class="chart-cooccurrence" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           'role="img" aria-label="co-occurrence heatmap">']  # fmt: skip
    for i, label in enumerate(labels):
        y = top + i * cell
        out.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end"><title>{e(label)}</title>'
                   f"{e(_short(label))}</text>")  # fmt: skip
        x = left + i * cell + 12
        out.append(f'<text x="{x}" y="{top - 6}" transform="rotate(-60 {x} {top - 6})"><title>{e(label)}</title>'
                   f"{e(_short(label))}</text>")  # fmt: skip
    for i in range(n):
        for j in range(n):
            c = counts[i][j]
            if i == j:
                fill = "#d0d7de"
            elif c == 0:
                fill = "#f6f8fa"  # never together: a faint cell keeps the grid readable
            else:
                t = (c / peak) ** 0.5  # square root so that small counts stay visible
                r, g, b = (int(255 + (a - 255) * t) for a in (9, 105, 218))
                fill = f"#{r:02x}{g:02x}{b:02x}"
            tip = f"{labels[i]}: {c} image(s)" if i == j else f"{labels[i]} + {labels[j]}: {c} image(s)"
            out.append(f'<rect x="{left + j * cell}" y="{top + i * cell}" width="{cell - 1}" height="{cell - 1}" '
                       f'fill="{fill}"><title>{e(tip)}</title></rect>')  # fmt: skip
    out.append("</svg>")
    return "".join(out)


def _histogram(s: SplitStats, cap: int = 20) -> str:
    """Images per number of positive labels; counts above ``cap`` share the last bar."""
    e = html.escape
    hist = list(s.labels_per_image)
    if len(hist) > cap + 1:
        hist = [*hist[:cap], sum(hist[cap:])]
        names = [str(k) for k in range(cap)] + [f"{cap}+"]
    else:
        names = [str(k) for k in range(len(hist))]
    bar, gap, left, top, plot_h = 28, 6, 50, 14, 200
    width = left + (bar + gap) * len(hist) + 20
    height = top + plot_h + 40
    peak = max(hist, default=0) or 1
    out = [f'<svg class="chart-labels-per-image" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           'role="img" aria-label="labels per image histogram">',
           f'<line class="axis" x1="{left - 4}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}"/>',
           f'<text x="{left - 8}" y="{top + 8}" text-anchor="end">{peak}</text>',
           f'<text x="{left - 8}" y="{top + plot_h}" text-anchor="end">0</text>']  # fmt: skip
    for k, (name, v) in enumerate(zip(names, hist)):
        x = left + k * (bar + gap)
        h = plot_h * v / peak
        out.append(f'<g><title>{e(name)} label(s): {v} image(s)</title>'
                   f'<rect class="hist" x="{x}" y="{top + plot_h - h:.1f}" width="{bar}" height="{h:.1f}"/>'
                   f'<text x="{x + bar / 2}" y="{top + plot_h + 14}" text-anchor="middle">{e(name)}</text></g>')  # fmt: skip
    out.append(f'<text x="{left + (width - left) / 2}" y="{height - 6}" text-anchor="middle">labels per image</text>')
    out.append("</svg>")
    return "".join(out)
