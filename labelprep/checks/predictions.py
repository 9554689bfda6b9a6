"""Likely label errors from a model's out-of-fold probabilities (``validate --predictions FILE``).

The file is a table (CSV, TSV or Parquet) with a ``path`` column (or, without one, its first column) keyed like
the dataset's paths, and one column of probabilities per label. Each cell's given label is judged against the
probabilities with cleanlab's multi-label confident learning
(``cleanlab.multilabel_classification.filter.find_multilabel_issues_per_class``, Northcutt et al.'s confident
joint, one-vs-rest per label), which needs the optional ``cleanlab`` package (``pip install
"labelprep[quality]"``). The flagged cells are ranked by how sure the model is of the other value, and the top
ones become ``label-issue`` findings with the cell's label and probability. Unknown (-1) cells are never
reported; rows the file does not cover are counted, per split, as ``predictions-missing``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelprep.checks.labels import SplitFrame
from labelprep.errors import InputError
from labelprep.extras import require_cleanlab
from labelprep.multihot import dense_matrix
from labelprep.report import CHECKS, Finding

__all__ = ["prediction_findings", "read_predictions"]


def read_predictions(path: str | Path) -> pd.DataFrame:
    """The predictions table, indexed by path; every other column a probability in [0, 1] (checked later)."""
    p = Path(path)
    if not p.is_file():
        raise InputError("predictions file not found", file=str(p))
    try:
        if p.suffix.lower() == ".parquet":
            table = pd.read_parquet(p)
        else:
            table = pd.read_csv(p, sep="\t" if p.suffix.lower() == ".tsv" else ",", dtype={0: str})
    except Exception as exc:  # a parser's own error: name the file
        raise InputError(f"cannot read the predictions: {exc}", file=str(p)) from None
    key = "path" if "path" in table.columns else table.columns[0] if len(table.columns) else None
    if key is None or len(table.columns) < 2:
        raise InputError("predictions need a path column and one probability column per label", file=str(p))
    table = table.rename(columns={key: "path"}).astype({"path": str})
    dup = table["path"].duplicated()
    if dup.any():
        first = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(f"path {table['path'].iat[first]!r} has two rows of predictions", file=str(p),
                         line=first + 2 if p.suffix.lower() != ".parquet" else None)  # fmt: skip
    return table.set_index("path")


def prediction_findings(splits: Sequence[SplitFrame], table: pd.DataFrame, *, source: str,
                        top: int = 100) -> tuple[list[Finding], dict[str, int]]:  # fmt: skip
    """``label-issue`` for the ``top`` likeliest wrong cells, ``predictions-missing`` per split; and counts."""
    labels = list(dict.fromkeys(lab for sf in splits for lab in sf.labels))
    missing = [lab for lab in labels if lab not in table.columns]
    if missing:
        raise InputError(f"the predictions lack the label column(s) {', '.join(map(repr, missing[:10]))}",
                         file=source, hint="one column of probabilities per label of the dataset")  # fmt: skip
    probs_all = table[labels]
    numeric = probs_all.apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna() | (numeric < 0) | (numeric > 1)
    if bad.to_numpy().any():
        r, c = (int(x[0]) for x in np.nonzero(bad.to_numpy()))
        raise InputError(f"{labels[c]!r} of {table.index[r]!r} is {probs_all.iat[r, c]!r}, not a probability "
                         "between 0 and 1", file=source)  # fmt: skip
    out: list[Finding] = []
    given_rows: list[npt.NDArray[np.int8]] = []
    prob_rows: list[npt.NDArray[np.float64]] = []
    where: list[tuple[SplitFrame, int]] = []
    matched = 0
    for sf in splits:
        paths = sf.frame["path"].astype(str).to_numpy(dtype=object)
        pos = numeric.index.get_indexer(paths)
        have = np.flatnonzero(pos >= 0)
        if len(have) < len(paths):
            out.append(Finding("predictions-missing", CHECKS["predictions-missing"][0],
                               f"{len(paths) - len(have)} of {len(paths)} image(s) of split {sf.name!r} have no "
                               f"prediction in {Path(source).name}; they were not checked for label errors",
                               "predict every image (out of fold) to check them all", split=sf.name,
                               source=sf.source))  # fmt: skip
        if not len(have):
            continue
        matched += len(have)
        mat = np.zeros((len(have), len(labels)), dtype=np.int8)
        own = dense_matrix(sf.frame.iloc[have], sf.labels, purpose="checking labels against predictions")
        mat[:, [labels.index(lab) for lab in sf.labels]] = own
        given_rows.append(mat)
        prob_rows.append(numeric.to_numpy(dtype=np.float64)[pos[have]])
        where.extend((sf, int(i)) for i in have.tolist())
    counts = {"rows": matched, "labels": len(labels)}
    if matched < 2 or not labels:
        return out, counts
    given = np.concatenate(given_rows)
    probs = np.concatenate(prob_rows)
    known = given != -1
    as_given = np.where(known, given, (probs >= 0.5).astype(np.int8))  # an unknown cell takes the model's side
    cl_filter = require_cleanlab()
    lists = [np.flatnonzero(row).tolist() for row in as_given]
    with np.errstate(all="ignore"):
        masks = cl_filter.find_multilabel_issues_per_class(labels=lists, pred_probs=probs)
    # an (images, labels) mask; older cleanlab versions return one mask per label
    flagged = (np.stack([np.asarray(m, dtype=bool) for m in masks], axis=1) if isinstance(masks, list)
               else np.asarray(masks, dtype=bool)) & known  # fmt: skip
    rows, cols = np.nonzero(flagged)
    if len(rows) == 0:
        counts["flagged"] = 0
        return out, counts
    doubt = np.abs(given[rows, cols] - probs[rows, cols])  # the model's probability of the other value
    order = np.lexsort((cols, rows, -doubt))[: max(0, top)]
    counts["flagged"] = len(rows)
    for rank, k in enumerate(order.tolist(), 1):
        i, j = int(rows[k]), int(cols[k])
        sf, r = where[i]
        path, label, p, g = str(sf.frame["path"].iat[r]), labels[j], float(probs[i, j]), int(given[i, j])
        if g == 1:
            what = f"labelled {label!r} but the model gives it {p:.3f}: likely a wrong label"
        else:
            what = f"not labelled {label!r} but the model gives it {p:.3f}: likely a missing label"
        out.append(Finding("label-issue", CHECKS["label-issue"][0], f"{path!r}: {what}",
                           f"check the image; rank {rank} of {len(rows)} flagged cell(s)", path=path, label=label, score=round(p, 4),
                           **sf.where(r)))  # fmt: skip
    return out, counts
