"""Reading CSV/TSV files as they come: BOM, CRLF, quoted fields, trailing delimiters, odd headers.

Every cell is read as text with pyarrow (fast, bounded by the data), after the
header has been sniffed with Python's csv module so that its quirks can be
repaired and reported instead of silently shifting columns.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from labelprep.errors import InputError
from labelprep.safeio import read_regular_file

__all__ = [
    "BLOCK_BYTES", "LABELS_COLUMNS", "PATH_COLUMNS", "Table", "block_ranges", "find_column", "header_line", "iter_tables",
    "norm_name", "read_block", "read_table",
]  # fmt: skip

PATH_COLUMNS = (
    "path", "filepath", "imagepath", "filename", "file", "image", "imagename",
    "imageindex", "imageid", "imagefile", "img", "id", "name", "url", "imageurl",
)  # fmt: skip
LABELS_COLUMNS = (
    "labels", "tags", "label", "tag", "findinglabels", "target", "targets", "classes",
    "class", "categories", "category", "labelname", "labelnames", "classname", "annotations", "attributeids",
    "labelids", "classids", "categoryids", "predictionstring",
)  # fmt: skip

_SNIFF_BYTES = 1 << 16
# Tables larger than this are read block by block (readers.read_source): memory follows the result, not the text.
BLOCK_BYTES = 64 << 20


def norm_name(name: str) -> str:
    """Column name folded for matching: lower case, letters and digits only."""
    return re.sub(r"[^0-9a-z]", "", name.casefold())


@dataclass
class Table:
    """A delimited file read as text columns, with what was repaired on the way."""

    source: str
    data: pa.Table
    columns: list[str]
    delimiter: str
    notes: list[str] = field(default_factory=list)
    _lines: npt.NDArray[np.int64] | None = None
    _exact_lines: bool = True
    _path: Path | None = None
    _encoding: str = "utf-8"
    _line_offset: int = 0  # a block of a larger file: lines before it, less the header
    _block: bytes | None = None  # a block's UTF-8 text, header first, kept when lines must be counted

    @property
    def n_rows(self) -> int:
        return self.data.num_rows

    def column(self, name: str) -> pa.ChunkedArray:
        return self.data.column(self.columns.index(name))

    def lines(self) -> npt.NDArray[np.int64]:
        """1-based line number of each data row in the file."""
        if self._lines is None:
            if self._exact_lines:
                lines = np.arange(self.n_rows, dtype=np.int64) + 2
            elif self._block is not None:
                lines = _row_lines_of(self._block.decode("utf-8", errors="replace"), self.delimiter, self.source)
            else:
                lines = _row_lines(self._path, self.delimiter, self._encoding)
            if len(lines) != self.n_rows:  # defensive: fall back to the simple count
                lines = np.arange(self.n_rows, dtype=np.int64) + 2
            self._lines = lines + self._line_offset
            self._block = None
        return self._lines

    def strings(self, name: str) -> npt.NDArray[np.object_]:
        """A column as a numpy object array of str ('' for missing cells)."""
        col = pc.fill_null(self.column(name), "")
        return np.asarray(col.to_numpy(zero_copy_only=False), dtype=object)


def find_column(
    table: Table,
    requested: str | None,
    candidates: tuple[str, ...],
    *,
    role: str,
    option: str,
    exclude: tuple[str, ...] = (),
    required: bool = True,
) -> str | None:
    """Resolve a column by explicit name (exact, then case/space-insensitive) or by known names."""
    cols = [c for c in table.columns if c not in exclude]
    data_like = [c for c in table.columns if _looks_like_data(c)]
    if requested is not None and requested in data_like:
        raise InputError(
            f"the header cell {requested!r} looks like data, not a column name: the file has no header line, and "
            "reading one would drop its first row",
            file=table.source, line=1, hint="convert it as a list without a header: --format list",
        )  # fmt: skip
    if requested is not None:
        if requested in table.columns:
            return requested
        folded = [c for c in table.columns if norm_name(c) == norm_name(requested)]
        if len(folded) == 1:
            return folded[0]
        import difflib

        close = difflib.get_close_matches(requested, table.columns, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"columns are: {_list(table.columns)}"
        raise InputError(
            f"{role} column {requested!r} not found", file=table.source, line=1, hint=hint
        )
    by_norm = {norm_name(c): c for c in reversed(cols)}
    for cand in candidates:
        if cand in by_norm:
            return by_norm[cand]
    if required:
        if data_like:
            raise InputError(
                f"no {role} column: the first line ({_list(table.columns, 4)}) looks like a row, not a header",
                file=table.source, line=1, hint="convert it as a list without a header: --format list",
            )  # fmt: skip
        raise InputError(
            f"no {role} column found among: {_list(table.columns)}",
            file=table.source,
            line=1,
            hint=f"name it with {option}",
        )
    return None


_DATA_CELL = re.compile(r"^([a-z][a-z0-9+.-]*://.*|.*\.(jpe?g|png|gif|bmp|webp|tiff?|ppm|pgm|jp2))$", re.IGNORECASE)


def _looks_like_data(cell: str) -> bool:
    """A header cell that can only be data: an image file name or a URL (numbers may name class columns)."""
    return bool(_DATA_CELL.match(cell.strip()))


def _list(items: list[str], n: int = 12) -> str:
    shown = ", ".join(repr(x) for x in items[:n])
    return shown + (f", ... ({len(items)} in all)" if len(items) > n else "")


def _read_bytes(p: Path, source: str) -> bytes:
    if p.is_dir():
        raise InputError("is a folder, not a table", file=source, hint="pass --format folder or sidecar")
    if not p.exists():
        raise InputError("file not found", file=source)
    return read_regular_file(p)


def read_table(path: str | Path, *, encoding: str = "utf-8", delimiter: str | None = None) -> Table:
    """Read a CSV/TSV file as text columns, repairing and reporting header quirks."""
    p = Path(path)
    return _parse(_read_bytes(p, str(path)), p, str(path), encoding, delimiter)


def iter_tables(
    path: str | Path, *, encoding: str = "utf-8", delimiter: str | None = None, block_bytes: int | None = None
) -> Iterator[Table]:
    """Read a CSV/TSV file as consecutive :class:`Table` blocks of about ``block_bytes`` of text.

    Memory is bounded by one block, not the file. Blocks end at a line end outside
    quotes; each keeps the file's header (as repaired for the first block) and the
    file's own line numbers. A file under ``block_bytes`` (or in an encoding whose
    line ends are not single bytes) is one block.
    """
    p = Path(path)
    source = str(path)
    size = block_bytes or BLOCK_BYTES
    try:
        total = p.stat().st_size
    except OSError:
        total = 0
    if total <= size or not _line_ends_are_bytes(encoding):
        yield read_table(p, encoding=encoding, delimiter=delimiter)
        return
    try:
        ranges = block_ranges(p, size)
    except OSError:
        yield read_table(p, encoding=encoding, delimiter=delimiter)  # raises the usual clear error
        return
    if len(ranges) == 1:
        yield read_table(p, encoding=encoding, delimiter=delimiter)
        return
    start, stop, _ = ranges[0]
    first = _parse(_read_range(p, start, stop), p, source, encoding, delimiter, block=True)
    yield first
    head = header_line(p)
    for start, stop, line in ranges[1:]:
        table = read_block(p, start, stop, line, header=head, columns=first.columns, delimiter=first.delimiter,
                           encoding=encoding)  # fmt: skip
        if table is not None:
            yield table


def _read_range(p: Path, start: int, stop: int) -> bytes:
    with p.open("rb") as fh:
        fh.seek(start)
        return fh.read(stop - start)


def header_line(path: str | Path) -> bytes:
    """The first line of a file, with its line end."""
    with Path(path).open("rb") as fh:
        line = fh.readline()
    return line if line.endswith(b"\n") else line + b"\n"


def block_ranges(path: str | Path, block_bytes: int | None = None) -> list[tuple[int, int, int]]:
    """Where the blocks of a table file are: (start byte, end byte, file line of the block's first line).

    Each block ends at a line end outside quotes; the first holds the header and at least one row (and the
    first 64 KiB, for sniffing the header). Reads the file once, a block at a time.
    """
    size = block_bytes or BLOCK_BYTES
    out: list[tuple[int, int, int]] = []
    with Path(path).open("rb") as fh:
        pos, line, carry = 0, 1, b""
        while True:
            chunk = fh.read(size if out else max(size, _SNIFF_BYTES))
            buf = carry + chunk
            if not buf:
                break
            cut = len(buf) if not chunk else _safe_cut(buf)
            if cut == 0 or (not out and chunk and buf.count(b"\n", 0, cut) < 2):
                carry = buf  # no complete line (or, first, no row after the header) yet: read on
                continue
            out.append((pos, pos + cut, line))
            line += buf.count(b"\n", 0, cut)
            pos += cut
            carry = buf[cut:]
            if not chunk:
                break
    return out or [(0, 0, 1)]


def read_block(
    path: str | Path,
    start: int,
    stop: int,
    line: int,
    *,
    header: bytes,
    columns: list[str],
    delimiter: str,
    encoding: str = "utf-8",
) -> Table | None:
    """One later block of a table file (see :func:`block_ranges`) under the file's header; None when blank."""
    p = Path(path)
    data = _read_range(p, start, stop)
    if not data.strip():
        return None
    return _parse(header + data, p, str(path), encoding, delimiter, header=columns, line_offset=line - 2, block=True)


def _line_ends_are_bytes(encoding: str) -> bool:
    """True for encodings in which a line end is the single byte 0x0a (UTF-8, Latin-1, cp125x...)."""
    try:
        return "a\nb".encode(encoding) == b"a\nb"
    except LookupError:
        return True  # the per-block decode reports the unknown encoding


def _safe_cut(buf: bytes) -> int:
    """End of the last complete line of ``buf`` that is outside a quoted field (0 when there is none)."""
    end = buf.rfind(b"\n")
    if end < 0:
        return 0
    quotes = buf.count(b'"', 0, end)
    while quotes % 2:  # inside quotes: step back a line
        prev = buf.rfind(b"\n", 0, end)
        if prev < 0:
            return 0
        quotes -= buf.count(b'"', prev, end)
        end = prev
    return end + 1


def _parse(
    raw: bytes,
    p: Path,
    source: str,
    encoding: str,
    delimiter: str | None,
    *,
    header: list[str] | None = None,
    line_offset: int = 0,
    block: bool = False,
) -> Table:
    """Parse CSV text (header line first); ``header`` names the columns instead of sniffing them."""
    notes: list[str] = []
    data = _to_utf8(raw, encoding, source, line_offset)
    del raw
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data or data.isspace():  # (no copy of the text, as strip() would make)
        raise InputError("file is empty", file=source, hint="expected a header line and one row per image")
    if header is None:
        _refuse_bare_cr(data, source)

    if delimiter is None:
        delimiter = _sniff_delimiter(data, p.suffix.lower())
    if header is None:
        header = _sniff_header(data, delimiter, source, notes)

    newlines_in_values = _quoted_body(data)
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1, use_threads=True),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, newlines_in_values=newlines_in_values, ignore_empty_lines=True
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        line, got = _first_ragged_line(data, delimiter, len(header), source)
        if line is not None:
            raise InputError(
                f"row has {got} fields where the header has {len(header)}",
                file=source,
                line=line + line_offset,
                hint="quote fields that contain the delimiter, or fix the row",
            ) from None
        raise InputError(f"cannot parse table: {exc}", file=source) from None
    if table.num_rows == 0:
        raise InputError("file has a header line but no rows", file=source, line=1)

    # exact when every line after the header is a row: the count of line ends says so at once; only when it
    # disagrees is the text searched for blank lines (which Arrow skips)
    # (a blank line, or a line end inside a quoted value, makes fewer rows than line ends: equal counts are exact)
    exact = table.num_rows == _line_ends(data) or (not newlines_in_values
                                                   and not re.search(rb"\n\s*\r?\n", data.rstrip()))  # fmt: skip
    # a block of a larger file keeps its text for exact line numbers (whole files are re-read when asked)
    kept = data if (block and not exact) else None
    return Table(source, table, header, delimiter, notes, None, exact, p, encoding, line_offset, kept)


def _quoted_body(data: bytes) -> bool:
    """Whether a value may hold a line end: a quote after the first line (or a first line whose quotes do not
    pair up). A header with quoted names (as pyarrow writes it) over unquoted rows parses without the slow mode."""
    nl = data.find(b"\n")
    if nl < 0:
        return b'"' in data
    return data.count(b'"', 0, nl) % 2 == 1 or data.find(b'"', nl) >= 0


def _line_ends(data: bytes) -> int:
    """Line ends before the last line with text: the rows of a table without blank lines (header excluded)."""
    end = len(data)
    while end and data[end - 1] in b" \t\r\n\x0b\x0c":
        end -= 1
    return data.count(b"\n", 0, end)


def _refuse_bare_cr(data: bytes, source: str) -> None:
    """Line ends that are bare carriage returns (classic Mac OS): an error saying how to convert them.

    Told from the first line: a CR in it that is not the CR of a CRLF, outside quotes.
    """
    nl = data.find(b"\n", 0, _SNIFF_BYTES)
    first = data[: nl if nl >= 0 else _SNIFF_BYTES]
    cr = first.rstrip(b"\r").find(b"\r")
    if cr >= 0 and first.count(b'"', 0, cr) % 2 == 0:
        raise InputError(
            "line ends are bare carriage returns (\\r, as classic Mac OS wrote them): the whole file reads as one line",
            file=source, line=1,
            hint="convert the line ends to \\n, e.g. tr '\\r' '\\n' < in.csv > out.csv, or save it again as CSV",
        )  # fmt: skip


def _csv_rows(text: str, delimiter: str, source: str, line_offset: int = 0) -> Iterator[tuple[int, list[str]]]:
    """(line where the row starts, fields) of CSV text, line ends as in the file; csv.Error is an InputError."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(f"cannot parse the table: {exc}", file=source, line=reader.line_num + line_offset,
                             hint="check the quoting and line ends around this line") from None  # fmt: skip
        yield start, row
        start = reader.line_num + 1


def _sniff_header(data: bytes, delimiter: str, source: str, notes: list[str]) -> list[str]:
    """The header names, repaired for rows wider than the header, made unique."""
    # the first 64 KiB, and at least the header and the first row whole (a header may be longer than that)
    second = data.find(b"\n", data.find(b"\n") + 1)
    head_text = data[: max(_SNIFF_BYTES, second + 1 if second >= 0 else len(data))].decode("utf-8", errors="replace")
    sample_rows = [row for _, row in itertools.islice(_csv_rows(head_text, delimiter, source), 50)]
    sample_rows = [r for r in sample_rows if r]
    header = [h.strip() for h in sample_rows[0]]
    body = sample_rows[1:]
    if not body:
        raise InputError(
            "file has a header line but no rows", file=source, line=1,
            hint="expected one row per image (or per image and label) after the header",
        )  # fmt: skip

    # Rows with more fields than the header (trailing delimiter; header names holding
    # an unquoted delimiter such as ChestX-ray14's "OriginalImage[Width,Height]").
    # Only when most rows agree on the wider width: one odd row is a ragged row to report.
    complete = body[:-1] if len(data) > _SNIFF_BYTES and len(body) > 1 else body  # the last may be cut off
    widths = Counter(len(r) for r in complete)
    width, n_width = widths.most_common(1)[0]
    extra = width - len(header) if n_width > widths[len(header)] else 0
    if extra > 0:
        for k in range(extra):
            header.append(f"_extra_{k + 1}")
        notes.append(
            f"rows have {extra} more field(s) than the header (a trailing delimiter?); "
            f"the extra field(s) are named {', '.join(header[-extra:])}"
        )
    header = _unique_names(header, notes)
    return header


def _to_utf8(raw: bytes, encoding: str, source: str, line_offset: int = 0) -> bytes:
    enc = encoding.lower().replace("_", "-")
    if enc in ("utf-8", "utf8", "utf-8-sig"):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1 + line_offset
            raise InputError(
                f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
                file=source,
                line=line,
                hint="pass --encoding with the file's encoding, for example --encoding latin-1",
            ) from None
        return raw
    try:
        return raw.decode(encoding).encode("utf-8")
    except LookupError:
        raise InputError(f"unknown encoding {encoding!r}", file=source, hint="use a Python codec name such as latin-1 or cp1252") from None
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1 + line_offset
        raise InputError(f"not valid {encoding}", file=source, line=line, hint="check --encoding") from None


def _sniff_delimiter(data: bytes, suffix: str) -> str:
    if suffix in (".tsv", ".tab"):
        return "\t"
    nl = data.find(b"\n")
    first = data[: nl if nl >= 0 else len(data)]  # (split() would copy the whole text)
    counts = {d: first.count(d.encode()) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    if counts[best] == 0:
        # one column only, or space separated ("<id> <flag>"); let the caller decide
        return "," if suffix == ".csv" else (" " if b" " in first else ",")
    return best


def _unique_names(header: list[str], notes: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, h in enumerate(header):
        name = h or f"_column_{i + 1}"
        if name in seen:
            seen[name] += 1
            new = f"{name}.{seen[name]}"
            notes.append(f"header names column {i + 1} {name!r} twice; calling it {new!r}")
            name = new
        else:
            seen[name] = 0
        out.append(name)
    return out


def _first_ragged_line(data: bytes, delimiter: str, width: int, source: str = "") -> tuple[int | None, int]:
    text = data.decode("utf-8", errors="replace")
    for start, row in _csv_rows(text, delimiter, source):
        if start == 1 or not row:
            continue
        if len(row) != width:
            return start, len(row)
    return None, 0


def _row_lines(path: Path | None, delimiter: str, encoding: str = "utf-8") -> npt.NDArray[np.int64]:
    """Exact line of each data row, counted with Python's csv module (quoted newlines, blank lines)."""
    assert path is not None
    text = _to_utf8(read_regular_file(path), encoding, str(path)).decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    return _row_lines_of(text, delimiter, str(path))


def _row_lines_of(text: str, delimiter: str, source: str = "") -> npt.NDArray[np.int64]:
    out = [start for start, row in _csv_rows(text, delimiter, source) if start > 1 and row]
    return np.asarray(out, dtype=np.int64)
