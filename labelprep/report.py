"""Findings and the report that collects them: text, JSON, GitHub annotations, JUnit XML."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any
from xml.etree import ElementTree as ET

from labelprep.errors import LabelprepError, place

__all__ = ["CHECKS", "SEVERITIES", "Finding", "Report", "ValidationFailed"]

SEVERITIES = ("error", "warning", "info")

# code -> (default severity, check group, what it means). Stable: documented in the README.
CHECKS: dict[str, tuple[str, str, str]] = {
    "schema-error": ("error", "schema", "the annotations cannot be read, or the frame fails its pandera schema"),
    "duplicate-path": ("warning", "labels", "one path listed twice in a split with the same labels"),
    "conflicting-labels": ("error", "labels", "one path listed twice in a split with different labels"),
    "empty-labels": ("warning", "labels", "an image with no label"),
    "name-conflict": ("warning", "labels", "one file name under several label folders with different bytes"),
    "left-out": ("warning", "labels", "an image the source gives no labels: no sidecar, or outside any label folder"),
    "join-unmatched": ("warning", "labels", "an image with no row in the --join file: its joined columns are blank"),
    "none-label-conflict": ("error", "labels", "a none-label sentinel together with real labels"),
    "unknown-label": ("error", "labels", "a label not in the declared vocabulary"),
    "unused-label": ("warning", "labels", "a declared label that no image uses"),
    "label-variant": ("warning", "labels", "two spellings of one label"),
    "exclusive-labels": ("error", "labels", "two or more labels of a group the rules make mutually exclusive"),
    "missing-exclusive-label": ("error", "labels", "none of the labels of an exactly-one group of the rules"),
    "implied-label-missing": ("error", "labels", "a label without one it implies by the rules (husky without dog)"),
    "label-below-min-count": ("error", "labels", "fewer positives in the training split than the rules' min-count"),
    "rare-label": ("warning", "labels", "fewer positives than --min-positives in a split"),
    "label-not-in-train": ("error", "splits", "a label used in a val/test split but absent from train"),
    "label-missing-from-split": ("warning", "splits", "a train label absent from another split"),
    "split-mismatch": ("error", "splits", "converted splits with different vocabularies or column orders"),
    "missing-file": ("error", "files", "the file does not exist"),
    "path-escapes-root": ("error", "files", "'..', absolute, or a symlink leaving the images root"),
    "unreadable-file": ("error", "files", "permissions or I/O error"),
    "empty-file": ("error", "files", "zero bytes"),
    "not-an-image": ("error", "images", "HTML error page, text or unknown bytes"),
    "extension-mismatch": ("warning", "images", "the bytes are another format than the extension says"),
    "corrupt-image": ("error", "images", "truncated or fails to decode"),
    "decompression-bomb": ("error", "images", "more pixels than the limit"),
    "cmyk-image": ("warning", "images", "CMYK/YCCK JPEG (the loader converts it)"),
    "unusual-mode": ("warning", "images", "16-bit, palette or alpha (the loader converts it)"),
    "animated-image": ("warning", "images", "an animated GIF, PNG (APNG) or WebP: only its first frame is used"),
    "oversized-metadata": ("warning", "images", "more than 1 MiB of metadata (text, EXIF, ICC): export strips it"),
    "exif-orientation": ("warning", "images", "EXIF orientation other than 1 (TensorFlow ignores it)"),
    "image-out-of-memory": ("error", "images", "export ran out of memory preparing the image (--skip-invalid leaves it out)"),
    "image-too-small": ("warning", "images", "smaller than --min-size"),
    "duplicate-image": ("warning", "leakage", "the same content twice in one split"),
    "leaked-image": ("error", "leakage", "the same content in two splits"),
    "leaked-group": ("error", "leakage", "one group (patient, study, user) in two splits"),
    "near-duplicate": ("warning", "leakage", "near-copies in one split (re-encoded, resized, cropped, flipped, rotated)"),
    "near-duplicate-leak": ("error", "leakage", "near-copies in two splits (re-encoded, resized, cropped, flipped, rotated)"),
    "dark-image": ("warning", "quality", "nearly every pixel dark"),
    "light-image": ("warning", "quality", "nearly every pixel bright: overexposed or washed out"),
    "blurry-image": ("warning", "quality", "blurred"),
    "low-information": ("warning", "quality", "nearly one flat colour"),
    "grayscale-image": ("warning", "quality", "grayscale (as L, or as RGB with equal channels) in a colour dataset"),
    "odd-aspect-ratio": ("warning", "quality", "an aspect ratio far from the dataset's median"),
    "odd-size": ("warning", "quality", "much smaller or larger than the dataset's median"),
    "label-issue": ("warning", "predictions", "with --predictions: a cell the model's probabilities say is likely wrong"),
    "predictions-missing": ("warning", "predictions", "with --predictions: images the predictions file does not cover"),
    "shard-missing": ("error", "shards", "a shard the manifest lists is not in the export folder"),
    "shard-checksum": ("error", "shards", "a shard's size or SHA-256 differs from the manifest"),
    "shard-truncated": ("error", "shards", "a shard ends inside a record"),
    "shard-record-count": ("error", "shards", "a shard holds another number of records than the manifest says"),
    "shard-corrupt-record": ("error", "shards", "a record's length or data CRC is wrong, or it is not an Example"),
    "shard-bad-example": ("error", "shards", "an example lacks a feature of the spec or has another"),
    "shard-bad-image": ("error", "shards", "a stored image does not decode, or not to its height and width"),
    "shard-bad-label": ("error", "shards", "a label index outside the vocabulary, or both positive and unknown"),
    "shard-totals": ("error", "shards", "a split's examples, positives, unknown or pos_weight differ from its records"),
    "shard-omitted": ("error", "shards", "a file named like a shard of a listed split that the manifest leaves out"),
    "shard-unlisted": ("warning", "shards", "a file named like a shard of the export that the manifest omits"),
}
_ORDER = {code: i for i, code in enumerate(CHECKS)}


@dataclass(frozen=True)
class Finding:
    """One problem, with a stable code, a severity and where it is."""

    code: str
    severity: str
    message: str
    hint: str = ""
    path: str | None = None
    label: str | None = None
    split: str | None = None
    source: str | None = None
    line: int | None = None
    members: tuple[tuple[str, str], ...] | None = None  # a group's (path, split) pairs, e.g. near-duplicates
    score: float | None = None  # a model's probability behind the finding (label issues from predictions)

    def to_dict(self) -> dict[str, Any]:
        """The finding as JSON-ready data; keys that do not apply are left out."""
        out = {k: v for k, v in asdict(self).items() if v is not None and v != ""} | {
            "code": self.code, "severity": self.severity, "message": self.message,
        }  # fmt: skip
        if self.members is not None:
            out["members"] = [{"path": p, "split": s} for p, s in self.members]
        return out

    def where(self) -> str:
        return place(self.source, self.line)


class ValidationFailed(LabelprepError):
    """Raised by :meth:`Report.raise_for_errors` when a report holds errors."""


@dataclass
class Report:
    """Every finding of one validation, and how to render it.

    ``checks`` names the check groups that ran (a JUnit test case each);
    ``stats`` holds counts such as images and splits checked.
    """

    findings: list[Finding] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    strict: bool = False
    muted: frozenset[str] = frozenset()  # codes switched off (--severity CODE=off): never collected
    # for the HTML page: where images are and their labels ({"images": {"split\0path": {...}}, "examples": ...}),
    # or a function that makes it when the page is rendered
    gallery: dict[str, Any] | Callable[[], dict[str, Any]] | None = field(default=None, repr=False, compare=False)

    # -- building -------------------------------------------------------------
    def add(self, code: str, message: str, *, hint: str = "", severity: str | None = None, **where: Any) -> None:
        if code not in CHECKS:
            raise ValueError(f"unknown finding code {code!r}")
        if code in self.muted:
            return
        self.findings.append(Finding(code, severity or CHECKS[code][0], message, hint, **where))

    def extend(self, findings: Iterable[Finding]) -> None:
        self.findings.extend(f for f in findings if f.code not in self.muted)

    def with_severities(self, overrides: Mapping[str, str]) -> Report:
        """A copy with the severities of some codes changed (``"off"`` removes the code)."""
        out = []
        for f in self.findings:
            level = overrides.get(f.code)
            if level == "off":
                continue
            out.append(replace(f, severity=level) if level else f)
        return Report(out, list(self.checks), dict(self.stats), self.strict, gallery=self.gallery)

    def sort(self) -> None:
        """By code, then place; findings with a score (ranked label issues) keep their rank order."""
        self.findings.sort(key=lambda f: (_ORDER.get(f.code, 99),) if f.score is not None else (
            _ORDER.get(f.code, 99), f.source or "", f.line or 0, f.split or "", f.path or "", f.label or ""))  # fmt: skip

    # -- reading --------------------------------------------------------------
    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when nothing is at error level (nor at warning level when strict)."""
        return not self.errors and not (self.strict and self.warnings)

    def codes(self) -> Counter[str]:
        return Counter(f.code for f in self.findings)

    def summary(self) -> dict[str, Any]:
        sev = Counter(f.severity for f in self.findings)
        return {
            "errors": sev.get("error", 0),
            "warnings": sev.get("warning", 0),
            "info": sev.get("info", 0),
            "by_code": dict(sorted(self.codes().items(), key=lambda kv: _ORDER.get(kv[0], 99))),
            **self.stats,
        }

    def raise_for_errors(self) -> None:
        """Raise :class:`ValidationFailed` when the report is not ok."""
        if not self.ok:
            first = (self.errors or self.warnings)[0]
            raise ValidationFailed(
                f"validation failed: {self.summary_line()}; first: [{first.code}] {first.message}",
                file=first.source, line=first.line, hint=first.hint or None,
            )  # fmt: skip

    # -- rendering ------------------------------------------------------------
    def summary_line(self) -> str:
        s = self.summary()
        parts = [f"{s['errors']} error(s)", f"{s['warnings']} warning(s)"]
        if s["info"]:
            parts.append(f"{s['info']} info")
        images = f" in {self.stats['images']} image(s)" if "images" in self.stats else ""
        verdict = "OK" if self.ok else "FAILED"
        return f"{verdict}: " + ", ".join(parts) + images

    def to_dict(self) -> dict[str, Any]:
        # lines (and a DataFrame source's row numbers) count from 1: said in the JSON itself
        return {"ok": self.ok, "position_base": 1, "summary": self.summary(),
                "findings": [f.to_dict() for f in self.findings]}  # fmt: skip

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n"

    def to_text(self, *, max_per_code: int = 10, quiet: bool = False) -> str:
        """Grouped by code, errors first, then warnings, then info (each in the code table's order); each group
        capped with '... and N more'; then a one-line summary.

        ``quiet`` keeps only what fails (errors, and warnings when strict), and says nothing when nothing does.
        """
        lines: list[str] = []
        by_code: dict[str, list[Finding]] = {}
        for f in self.findings:
            if quiet and not (f.severity == "error" or (self.strict and f.severity == "warning")):
                continue
            by_code.setdefault(f.code, []).append(f)
        if quiet and not by_code:
            return ""

        def severity(group: list[Finding]) -> str:
            return Counter(f.severity for f in group).most_common(1)[0][0]

        rank = {level: i for i, level in enumerate(SEVERITIES)}
        for code in sorted(by_code, key=lambda c: (rank.get(severity(by_code[c]), 9), _ORDER.get(c, 99))):
            group = by_code[code]
            sev = severity(group)
            lines.append(f"{sev.upper()} {code} ({len(group)}): {CHECKS.get(code, ('', '', ''))[2]}")
            for f in group[:max_per_code]:
                where = f.where()
                ctx = ", ".join(x for x in (f"split {f.split}" if f.split else "",) if x)
                head = f"{where}: " if where else ""
                tail = f" [{ctx}]" if ctx else ""
                hint = f" ({f.hint})" if f.hint else ""
                lines.append(f"  {head}{f.message}{hint}{tail}")
            if len(group) > max_per_code:
                lines.append(f"  ... and {len(group) - max_per_code} more")
        lines.append(self.summary_line())
        return "\n".join(lines) + "\n"

    def to_github(self) -> str:
        """GitHub Actions workflow commands: ``::error file=...,line=...::message``."""
        out = []
        for f in self.findings:
            level = {"error": "error", "warning": "warning"}.get(f.severity, "notice")
            props = []
            if f.source:
                props.append(f"file={_gh_prop(f.source)}")
            if f.line:
                props.append(f"line={f.line}")
            props.append(f"title={_gh_prop(f.code)}")
            msg = f.message + (f" ({f.hint})" if f.hint else "")
            out.append(f"::{level} {','.join(props)}::{_gh_data(msg)}")
        out.append(self.summary_line())
        return "\n".join(out) + "\n"

    def to_junit(self) -> str:
        """JUnit XML: one test case per check group that ran, failing with its findings."""
        groups = self.checks or sorted({CHECKS[f.code][1] for f in self.findings if f.code in CHECKS})
        suite = ET.Element("testsuite", name="labelprep validate", tests=str(len(groups)))
        failures = 0
        for group in groups:
            case = ET.SubElement(suite, "testcase", classname="labelprep.validate", name=group)
            found = [f for f in self.findings if CHECKS.get(f.code, ("", "", ""))[1] == group]
            failing = [f for f in found if f.severity == "error" or (self.strict and f.severity == "warning")]
            text = "\n".join(
                f"[{f.severity}] {f.code}: {f.where() + ': ' if f.where() else ''}{f.message}"
                + (f" ({f.hint})" if f.hint else "")
                for f in found
            )
            if failing:
                failures += 1
                rest = len(found) - len(failing)  # the body lists every finding of the group, warnings too
                message = f"{len(failing)} failing finding(s)" + (f", {rest} more not failing" if rest else "")
                el = ET.SubElement(case, "failure", message=message, type=failing[0].code)
                el.text = text
            elif found:
                ET.SubElement(case, "system-out").text = text
        suite.set("failures", str(failures))
        suites = ET.Element("testsuites", name="labelprep", tests=str(len(groups)), failures=str(failures))
        suites.append(suite)
        ET.indent(suites)
        return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"

    def to_html(self) -> str:
        """One self-contained page with thumbnails of the images the findings are about (see reporthtml)."""
        from labelprep.reporthtml import report_html

        return report_html(self, CHECKS)

    def render(self, fmt: str) -> str:
        renderers = {"text": self.to_text, "json": self.to_json, "github": self.to_github, "junit": self.to_junit,
                     "html": self.to_html}  # fmt: skip
        if fmt not in renderers:
            raise ValueError(f"unknown report format {fmt!r}")
        return renderers[fmt]()


def _gh_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_prop(s: str) -> str:
    return _gh_data(s).replace(":", "%3A").replace(",", "%2C")
