"""The label cells of a table: which separator joins the labels in a cell, list literals (``['dog', 'cat']``),
and splitting every cell into labels at once (vectorised with Arrow).
"""

from __future__ import annotations

import ast
import io
import itertools
import json
import tokenize
from collections.abc import Collection

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from labelprep.errors import InputError

__all__ = ["NO_SEP", "WHITESPACE", "is_list_literal", "normalise_sep", "separator_note", "sniff_separator", "split_labels"]

WHITESPACE = "whitespace"
NO_SEP = "\x00one label per cell"  # a separator decided (by sniffing a first block): none
_SEP_CANDIDATES = ("|", ";", ",")
_SEP_WORDS = {"space": WHITESPACE, " ": WHITESPACE, WHITESPACE: WHITESPACE, "tab": "\t", "\\t": "\t", "pipe": "|", "none": NO_SEP}


def normalise_sep(sep: str | None) -> str | None:
    if sep is None:
        return None
    return _SEP_WORDS.get(sep.lower() if sep.strip() else sep, sep)


def sniff_separator(cells: pa.ChunkedArray | pa.Array, none_labels: Collection[str] = ()) -> str | None:
    """Pick the label separator used inside cells: '|', ';', ',', whitespace, or None (one label)."""
    cells = pc.utf8_trim_whitespace(cells)
    if none_labels:
        cells = pc.filter(cells, pc.invert(pc.is_in(cells, pa.array(list(none_labels), pa.string()))))
    for cand in _SEP_CANDIDATES:
        if pc.sum(pc.count_substring(cells, cand)).as_py():
            return cand
    if pc.any(pc.match_substring_regex(cells, r"\s")).as_py():
        return WHITESPACE
    return None


def is_list_literal(cells: pa.ChunkedArray) -> npt.NDArray[np.bool_]:
    """Cells written as a list (``[...]``), or as a Python tuple or set of quoted names that parses.

    ``('dog', 'cat')`` and ``{'dog'}`` are what ``to_csv`` writes for tuple and set columns; a cell
    like ``(benign)`` is a label, and so is any parenthesised cell that is not a literal. Only cells
    opening with a bracket are looked at further (one pass over the column for the rest).
    """
    t = pc.utf8_trim_whitespace(cells)
    first = pc.utf8_slice_codeunits(t, 0, 1)
    opening = pc.fill_null(pc.is_in(first, value_set=pa.array(["[", "(", "{"])), False)
    out = np.asarray(opening.to_numpy(zero_copy_only=False), dtype=bool)
    idx = np.flatnonzero(out)
    if not len(idx):
        return out
    sub = pc.take(t, pa.array(idx))
    is_list = np.asarray(pc.and_(pc.starts_with(sub, "["), pc.ends_with(sub, "]")).to_numpy(zero_copy_only=False))
    closed = pc.or_(pc.and_(pc.starts_with(sub, "("), pc.ends_with(sub, ")")),
                    pc.and_(pc.starts_with(sub, "{"), pc.ends_with(sub, "}")))  # fmt: skip
    maybe = np.asarray(pc.and_(closed, pc.match_substring_regex(sub, "['\"]")).to_numpy(zero_copy_only=False))
    out[idx] = is_list
    for k in np.flatnonzero(maybe).tolist():  # tuples and sets: rare, parsed to be sure
        out[idx[k]] = _parse_list(sub[k].as_py()) is not None
    return out


def _numpy_style_list(cell: str) -> list[str] | None:
    """``['dog' 'cat']`` or ``[16  0]`` (``str()`` of a numpy array, as ``to_csv`` writes it): no commas.

    ``ast.literal_eval`` would join adjacent string literals into one label
    (``'dogcat'``), so a cell with adjacent literals is read token by token here.
    Returns None when the cell has no adjacent literals (the ordinary parsers
    handle it); raises ValueError when it has some but is not a flat bracketed
    list of strings or numbers.
    """
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(cell.strip()).readline)
                  if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.ENDMARKER)]  # fmt: skip
    except (tokenize.TokenError, SyntaxError):
        return None
    literal = (tokenize.STRING, tokenize.NUMBER)
    if not any(a.type in literal and b.type in literal for a, b in itertools.pairwise(tokens)):
        return None
    if tokens[0].string != "[" or tokens[-1].string != "]":
        raise ValueError("not a list")
    out = []
    for t in tokens[1:-1]:
        if t.type in literal:
            value = ast.literal_eval(t.string)
            if not isinstance(value, (str, int, float)):
                raise ValueError("not a string or a number")
            out.append(value if isinstance(value, str) else str(value))
        elif t.string != ",":
            raise ValueError(f"unexpected {t.string!r}")
    return out


def _parse_list(cell: str) -> list[str] | None:
    try:
        value = json.loads(cell)
    except RecursionError:  # '[[[[...]]]]' 20,000 deep: no list of labels
        return None
    except ValueError:
        try:
            numpy_style = _numpy_style_list(cell)
            if numpy_style is not None:
                return numpy_style
            value = ast.literal_eval(cell.strip())
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return None
    if not isinstance(value, (list, tuple, set, frozenset)):
        return None
    out = []
    for v in sorted(value, key=str) if isinstance(value, (set, frozenset)) else value:
        if isinstance(v, (list, tuple, dict)) or v is None:
            return None
        out.append(v if isinstance(v, str) else str(v))
    return out


def split_labels(
    cells: pa.ChunkedArray | pa.Array,
    sep: str | None,
    *,
    source: str = "",
    lines: npt.NDArray[np.int64] | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], list[str], int]:
    """Split label cells into (row, code, names) pairs, vectorised with Arrow.

    Cells holding a Python or JSON list literal (``['dog', 'cat']``) are parsed as
    lists; other cells are split on ``sep`` (``WHITESPACE`` for runs of white
    space, None for one label per cell). Labels are stripped; blank ones dropped.
    Returns the pairs and the number of list-literal cells.
    """
    if isinstance(cells, pa.Array):
        cells = pa.chunked_array([cells])
    cells = pc.fill_null(cells.cast(pa.string()), "")
    n = len(cells)
    literal = is_list_literal(cells)
    n_literal = int(literal.sum())
    if n_literal:
        rows_l: list[int] = []
        labs_l: list[str] = []
        idx = np.flatnonzero(literal)
        values = pc.take(cells, pa.array(idx)).to_pylist()
        for i, cell in zip(idx.tolist(), values, strict=True):
            parsed = _parse_list(cell)
            if parsed is None:
                line = int(lines[i]) if lines is not None else None
                raise InputError(
                    f"cell looks like a list but cannot be parsed: {cell[:80]!r}",
                    file=source or None,
                    line=line,
                    hint="write lists as JSON '[\"dog\", \"cat\"]' or Python \"['dog', 'cat']\"",
                )
            rows_l.extend([i] * len(parsed))
            labs_l.extend(parsed)
        plain = pc.filter(cells, pa.array(~literal))
        plain_rows = np.flatnonzero(~literal)
    else:
        plain = cells
        plain_rows = None

    if sep is None:
        lists = pc.split_pattern(plain, "\x00\x00never\x00")
    elif sep == WHITESPACE:
        lists = pc.split_pattern_regex(pc.utf8_trim_whitespace(plain), r"\s+")
    else:
        lists = pc.split_pattern(plain, sep)
    lengths = pc.fill_null(pc.list_value_length(lists), 0).to_numpy()
    flat = pc.list_flatten(lists)
    del lists
    # int32 indices halve the pair arrays; a table of more than 2**31 rows keeps int64
    idx_t = np.int32 if len(cells) < 2**31 else np.int64
    base = np.arange(len(plain), dtype=idx_t) if plain_rows is None else plain_rows.astype(idx_t)
    rows = np.repeat(base, lengths)
    if n_literal:
        flat = pa.concat_arrays([*pa.chunked_array(flat).chunks, pa.array(labs_l, pa.string())])
        rows = np.concatenate([rows, np.asarray(rows_l, dtype=idx_t)])
    # Encode first, then strip the (few) distinct names: no second copy of every label string.
    enc = pc.dictionary_encode(flat)
    del flat
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    raw_codes = enc.indices.to_numpy(zero_copy_only=False)
    names: list[str] = []
    index: dict[str, int] = {}
    remap = np.empty(len(enc.dictionary), dtype=np.int32)
    for i, name in enumerate(enc.dictionary.to_pylist()):
        name = name.strip()
        if not name:
            remap[i] = -1
            continue
        if name not in index:
            index[name] = len(names)
            names.append(name)
        remap[i] = index[name]
    del enc
    codes = remap[raw_codes] if len(remap) else raw_codes
    del raw_codes
    if (remap < 0).any():
        keep = codes >= 0
        rows, codes = rows[keep], codes[keep]
    pa.default_memory_pool().release_unused()
    del n
    return rows, codes, names, n_literal


def separator_note(sep: str | None, how: str) -> str:
    """The note convert prints for a sniffed separator; whitespace warns about labels that hold spaces."""
    shown = {None: "none (one label per cell; a column named in the singular, such as 'label', holds one)",
             WHITESPACE: "whitespace"}.get(sep, repr(sep))
    note = f"label separator: {shown} ({how}; force it with --sep)"
    if sep == WHITESPACE:
        note += "; if a label holds spaces ('golden retriever'), pass --sep none (one label a cell) or the real one"
    return note
