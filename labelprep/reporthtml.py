"""validate's report as one self-contained HTML page: look at the images, not only read about them.

Near-duplicate groups side by side (each image with its split and labels), a strip of images per quality
finding code and for the likely label errors, a few examples of every label, then every finding in a table.
Thumbnails are small JPEGs embedded as ``data:`` URIs (nothing is fetched); images on remote storage, or
that cannot be read, are shown by name only.
"""

from __future__ import annotations

import base64
import html
import io
import warnings
from collections import Counter
from typing import TYPE_CHECKING, Any

from PIL import Image

if TYPE_CHECKING:
    from collections.abc import Mapping

    from labelprep.report import Finding, Report

__all__ = ["report_html"]

THUMB = 112  # pixels, the longer side
MAX_GROUPS = 60  # near-duplicate groups shown
MAX_STRIP = 16  # images per quality code or label
MAX_ROWS = 200  # findings listed per code in the table

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;margin:24px;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
h3{font-size:15px;margin:16px 0 6px}.muted{color:#656d76}
table{border-collapse:collapse;margin:6px 0 12px}th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:left;
vertical-align:top}th{background:#f6f8fa}
.ok{color:#1a7f37;font-weight:600}.failed{color:#cf222e;font-weight:600}
.error{color:#cf222e}.warning{color:#9a6700}.info{color:#0969da}
.row{display:flex;flex-wrap:wrap;gap:10px;margin:6px 0 14px;padding:8px;background:#f6f8fa;border-radius:6px}
figure{margin:0;width:120px;font-size:11px;overflow-wrap:anywhere}
figure img{display:block;max-width:112px;max-height:112px;border:2px solid #d0d7de;background:#fff}
figure.leak img{border-color:#cf222e}.split{font-weight:600}.noimg{width:112px;height:60px;border:2px dashed #d0d7de;
display:flex;align-items:center;justify-content:center;color:#656d76}
"""


def report_html(report: Report, checks: Mapping[str, tuple[str, str, str]]) -> str:
    """The page; ``report.gallery`` (filled by validate) says where each image is and what labels it has.

    ``checks`` is :data:`labelprep.report.CHECKS` (code -> severity, group, meaning), passed in by
    :meth:`Report.to_html` so that this module does not import the one that imports it.
    """
    quality = [code for code, (_, group, _) in checks.items() if group == "quality"]
    e = html.escape
    gallery: dict[str, Any] = (report.gallery() if callable(report.gallery) else report.gallery) or {}
    thumbs: dict[str, str | None] = {}

    def figure(path: str, split: str | None, note: str = "", cls: str = "") -> str:
        key = f"{split}\x00{path}"
        info = gallery.get("images", {}).get(key, {})
        if key not in thumbs:
            thumbs[key] = _thumbnail(info.get("location"))
        src = thumbs[key]
        img = (f'<img src="{src}" alt="{e(path)}">' if src else '<div class="noimg">no preview</div>')
        labels = ", ".join(info.get("labels", [])) or "(no label)"
        return (f'<figure class="{cls}" title="{e(path)}">{img}<figcaption><span class="split">{e(split or "")}'
                f"</span> {e(path)}<br>{e(labels)}{'<br>' + e(note) if note else ''}</figcaption></figure>")  # fmt: skip

    verdict = '<span class="ok">OK</span>' if report.ok else '<span class="failed">FAILED</span>'
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>labelprep validate</title><style>{_CSS}</style></head><body>",
             f"<h1>Validation report: {verdict}</h1>", f'<p class="muted">{e(report.summary_line())}</p>']  # fmt: skip
    counts = Counter(f.code for f in report.findings)
    if counts:
        parts.append("<table><tr><th>code</th><th>findings</th><th>severity</th><th>what</th></tr>")
        for code in [c for c in checks if c in counts]:
            sev = Counter(f.severity for f in report.findings if f.code == code).most_common(1)[0][0]
            parts.append(f'<tr><td><a href="#{e(code)}">{e(code)}</a></td><td>{counts[code]}</td>'
                         f'<td class="{sev}">{sev}</td><td>{e(checks[code][2])}</td></tr>')  # fmt: skip
        parts.append("</table>")

    groups = [f for f in report.findings if f.code in ("near-duplicate-leak", "near-duplicate") and f.members]
    if groups:
        parts.append(f'<h2 id="near-duplicates">Near-duplicate groups ({len({f.members for f in groups})})</h2>'
                     '<p class="muted">Each row is one group; a red frame marks the copy the finding is about.</p>')
        shown: set[Any] = set()
        for f in groups:
            if f.members in shown or len(shown) >= MAX_GROUPS:
                continue
            shown.add(f.members)
            assert f.members is not None
            parts.append(f'<h3 class="{f.severity}">{e(f.code)}: {e(f.message.split("; group of")[0])}</h3>'
                         '<div class="row">')  # fmt: skip
            for path, split in f.members:
                cls = "leak" if (path, split) == (f.path, f.split) else ""
                parts.append(figure(path, split, cls=cls))
            parts.append("</div>")

    strips = [(code, [f for f in report.findings if f.code == code]) for code in [*quality, "label-issue"]]
    strips = [(code, found) for code, found in strips if found]
    if strips:
        parts.append('<h2 id="images">Images to look at</h2>')
        for code, found in strips:
            parts.append(f'<h3>{e(code)} ({len(found)}{", first " + str(MAX_STRIP) if len(found) > MAX_STRIP else ""})'
                         f'</h3><div class="row">')  # fmt: skip
            for f in found[:MAX_STRIP]:
                note = (f"{f.label}: p = {f.score:.3f}" if f.score is not None and f.label else
                        f.message.split(": ", 1)[-1][:90])  # fmt: skip
                parts.append(figure(f.path or "", f.split, note))
            parts.append("</div>")

    examples: dict[str, list[tuple[str, str]]] = gallery.get("examples", {})
    if examples:
        parts.append('<h2 id="labels">A few examples of each label</h2>')
        for label, items in examples.items():
            parts.append(f'<h3>{e(label)}</h3><div class="row">')
            parts.extend(figure(path, split) for path, split in items)
            parts.append("</div>")

    parts.append('<h2 id="findings">Findings</h2>')
    if not report.findings:
        parts.append("<p>None.</p>")
    for code in [c for c in checks if c in counts]:
        found = [f for f in report.findings if f.code == code]
        parts.append(f'<h3 id="{e(code)}">{e(code)} ({len(found)})</h3><table><tr><th>severity</th><th>where</th>'
                     "<th>split</th><th>message</th><th>hint</th></tr>")  # fmt: skip
        parts.extend(_row(f) for f in found[:MAX_ROWS])
        if len(found) > MAX_ROWS:
            parts.append(f'<tr><td colspan="5" class="muted">... and {len(found) - MAX_ROWS} more (the JSON report '
                         "lists every one)</td></tr>")  # fmt: skip
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _row(f: Finding) -> str:
    e = html.escape
    return (f'<tr><td class="{f.severity}">{f.severity}</td><td>{e(f.where())}</td><td>{e(f.split or "")}</td>'
            f"<td>{e(f.message)}</td><td>{e(f.hint)}</td></tr>")  # fmt: skip


def _thumbnail(location: str | None) -> str | None:
    """A small JPEG of a local image as a data: URI, or None."""
    if not location:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(location) as im:
                im.draft("RGB", (THUMB * 2, THUMB * 2))
                im.thumbnail((THUMB, THUMB))
                rgb = im.convert("RGB")
        buf = io.BytesIO()
        rgb.save(buf, "JPEG", quality=75)
    except Exception:
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
