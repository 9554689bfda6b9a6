"""validate's settings: the settings object, ``[tool.labelprep]`` configuration, severities and split names."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from labelprep import storage
from labelprep.checks.content import Thresholds
from labelprep.checks.rules import Rules
from labelprep.errors import InputError
from labelprep.options import check_setting, config_keys
from labelprep.readers import ReadOptions
from labelprep.readers.folders import SPLIT_NAMES
from labelprep.readers.layout import split_word
from labelprep.readers.refine import is_dataframe, source_name
from labelprep.report import CHECKS, SEVERITIES
from labelprep.vocabulary import Vocabulary

__all__ = ["CONFIG_KEYS", "ValidateSettings", "check_severity", "load_config", "source_split_names", "train_split"]

# The keys [tool.labelprep] may hold: the options labelprep.options marks as settings (see config_keys()).
CONFIG_KEYS = config_keys()


@dataclass
class ValidateSettings:
    """Everything validate needs besides the sources (already merged with configuration)."""

    read: ReadOptions = field(default_factory=ReadOptions)
    format: str | None = None
    images_root: Path | str | None = None  # a remote URL root stays a string
    path_template: str | None = None
    find_images: bool = False
    none_label: Sequence[str] = ()
    label_map: Mapping[str, str] | None = None
    vocab: Vocabulary | None = None
    vocab_map: Mapping[str, str] | None = None  # the id -> name map of a --vocab that is a label map file
    check_images: str = "header"
    workers: int | None = None
    cache: Path | None = None
    strict: bool = False
    no_empty: bool = False
    min_positives: int | None = None
    min_size: tuple[int, int] | None = None
    max_pixels: int | None = None
    severity: dict[str, str] = field(default_factory=dict)
    quarantine: Path | None = None
    progress: bool = False
    engine: Any = None  # a labelprep.executor.Executor, or None for the local process pool
    near_duplicates: bool = False
    quality: bool = False
    thresholds: Thresholds = field(default_factory=Thresholds)
    rules: Rules | None = None
    predictions: Path | None = None
    top_issues: int = 100


def load_config(start: Path | Any, explicit: Path | None = None) -> tuple[dict[str, Any], Path | None]:
    """``[tool.labelprep]`` from the dataset's pyproject.toml, or labelprep.toml, nearest first.

    A DataFrame source has no folder to look in: only ``explicit`` is read then.
    """
    if explicit is not None:
        files = [explicit]
    elif is_dataframe(start):
        return {}, None
    elif storage.origin(start) is not None:
        return {}, None  # fetched from a URL: its temporary folder holds no settings of the dataset
    else:
        here = start if start.is_dir() else start.parent
        files = []
        for d in [here.resolve(), *here.resolve().parents]:
            files += [d / "labelprep.toml", d / "pyproject.toml"]
    for f in files:
        if not f.is_file():
            if explicit is not None:
                raise InputError("configuration file not found", file=str(f))
            continue
        try:
            data = tomllib.loads(f.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"invalid TOML: {exc}", file=str(f)) from None
        table = data.get("tool", {}).get("labelprep")
        if table is None and f.name != "pyproject.toml":
            table = data
        if table is None:
            continue
        norm = {k.replace("_", "-"): v for k, v in table.items()}
        known = config_keys()
        unknown = sorted(set(norm) - set(known))
        if unknown:
            raise InputError(f"unknown configuration key(s): {', '.join(unknown)}", file=str(f),
                             hint=f"known keys: {', '.join(known)}")  # fmt: skip
        if not isinstance(norm.get("severity", {}), dict):
            raise InputError("severity must be a table of code = level", file=str(f),
                             hint='[tool.labelprep.severity] then lines like empty-labels = "error"')  # fmt: skip
        for code, level in (norm.get("severity") or {}).items():
            check_severity(code, level, str(f))
        return _typed_config(norm, f), f
    return {}, None


def _positive_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1  # TOML's true is an int to Python


# What each setting must be: (check, what to write instead). min-size takes 64 as well as "64x48".
_CONFIG_TYPES: dict[str, tuple[Any, str]] = {
    "check-images": (lambda v: v in ("none", "header", "full"), '"none", "header" or "full"'),
    "workers": (_positive_int, "a whole number, 1 or more"),
    "strict": (lambda v: isinstance(v, bool), "true or false"),
    "no-empty": (lambda v: isinstance(v, bool), "true or false"),
    "min-positives": (_positive_int, "a whole number, 1 or more"),
    "min-size": (lambda v: _positive_int(v) or isinstance(v, str), 'a size like "64x48", or 64'),
    "max-pixels": (_positive_int, "a whole number of pixels"),
    "none-label": (lambda v: isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v)),
                   'a label or a list of labels, e.g. ["No Finding"]'),
    "vocab": (lambda v: isinstance(v, str), "a path (relative to the configuration file)"),
    "images-root": (lambda v: isinstance(v, str), "a path (relative to the configuration file)"),
    "cache": (lambda v: isinstance(v, str), "a path (relative to the configuration file)"),
    "near-duplicates": (lambda v: isinstance(v, bool), "true or false"),
    "quality": (lambda v: isinstance(v, bool), "true or false"),
    "thresholds": (lambda v: isinstance(v, dict), 'a table: [tool.labelprep.thresholds] then lines like dark = 40'),
    "rules": (lambda v: isinstance(v, (dict, str)), "a table ([tool.labelprep.rules]) or the path of a rules file"),
}


def _typed_config(norm: dict[str, Any], f: Path) -> dict[str, Any]:
    """Check each setting's type (a clear error, not a traceback later) and anchor paths at the file's folder."""
    out = dict(norm)
    for key, (ok, want) in _CONFIG_TYPES.items():
        if key in out and not ok(out[key]):
            raise InputError(f"{key} must be {want}, not {out[key]!r}", file=str(f))
    for key in set(out) - set(_CONFIG_TYPES):  # any other setting: checked as its option takes it
        out[key] = check_setting(key, out[key], str(f))
    if isinstance(out.get("min-size"), int):
        out["min-size"] = str(out["min-size"])
    if isinstance(out.get("none-label"), str):
        out["none-label"] = [out["none-label"]]
    if "thresholds" in out:
        out["thresholds"] = {str(k).replace("_", "-"): v for k, v in out["thresholds"].items()}
        Thresholds.from_mapping(out["thresholds"], str(f))  # a wrong name or value: an error naming the file
    if "rules" in out:
        out["rules-base"] = str(f.parent)  # a rules file, or a hierarchy file the table names, is relative to it
        out["rules-file"] = str(f)
    for key in ("vocab", "images-root", "cache", "rules"):
        value = out.get(key)
        if isinstance(value, str) and not storage.is_url(value) and not Path(value).is_absolute():
            out[key] = str(f.parent / value)  # as written in the file: relative to it, not to the working folder
    return out


def source_split_names(sources: Sequence[str | Path | Any], given: Sequence[str | None] | None = None) -> list[str]:
    """The split each source without a split column stands for, in validate, export and convert alike.

    A split is named on the command line (``train=a.json``, ``given``), else by the split word its file stem
    holds (``instances_train2017.json`` is ``train``, ``labels_val.json`` is ``val``,
    ``oidv6-train-annotations-human-imagelabels.csv`` is ``train``), else by its folder when that folder's
    name is a split name (Roboflow's ``train/_classes.csv valid/_classes.csv``). One source with no split word is ``train``. Of
    several, one whose name holds no split word, or two that name one split, are an error saying how to name
    them: a test split is never taken for training because it was listed first.
    """
    given = list(given) if given is not None else [None] * len(sources)
    # a DataFrame is named by df.attrs["name"] (e.g. "val"), as a split named on the command line
    given = [g if g or not isinstance(s, pd.DataFrame) else (s.attrs.get("name") or None)
             for s, g in zip(sources, given, strict=True)]  # fmt: skip
    where = [Path(f"dataframe{i + 1}") if isinstance(s, pd.DataFrame) else Path(storage.where(str(s)))
             for i, s in enumerate(sources)]  # fmt: skip
    names: list[str | None] = []
    for w, explicit in zip(where, given, strict=True):
        if explicit:
            names.append(explicit)
            continue
        word = split_word(w.stem)
        if word is not None:
            names.append(next(t for t in re.split(r"[^A-Za-z]+", w.stem) if t.lower() == word))
        elif w.parent.name.lower() in SPLIT_NAMES:  # train/_classes.csv: a folder named as a split, nothing more
            names.append(w.parent.name)
        else:
            names.append(None)
    if len(sources) == 1:
        return [names[0] or "train"]
    shown = [source_name(s) for s in sources]
    unnamed = [x for x, n in zip(shown, names, strict=True) if n is None]
    example = " ".join(f"{n or 'SPLIT'}={x}" for x, n in zip(shown[:3], names[:3], strict=True))
    if unnamed:
        raise InputError(f"cannot tell which split {unnamed[0]!r} is: its name holds no split word (train, val, "
                         "valid, validation, test, dev, trainval ...)",
                         hint=f"name each source's split, e.g. {example} (a DataFrame by df.attrs['name'])")  # fmt: skip
    final = [str(n) for n in names]
    dup = [n for n in dict.fromkeys(final) if final.count(n) > 1]
    if dup:
        both = [x for x, n in zip(shown, final, strict=True) if n == dup[0]]
        raise InputError(f"two sources name the split {dup[0]!r}: {', '.join(both)}",
                         hint=f"name each source's split, e.g. {example}")  # fmt: skip
    return final


def train_split(names: Sequence[str]) -> str:
    """The training split among ``names``: ``train``, else ``training``, else ``trainval``; '' when there is
    none (the checks that compare splits with train are then not run: no split is taken for it by position)."""
    for want in ("train", "training", "trainval"):
        for name in names:
            if name.lower() == want:
                return name
    return ""


def check_severity(code: str, level: str, where: str | None = None) -> None:
    if code not in CHECKS:
        import difflib

        close = difflib.get_close_matches(code, list(CHECKS), n=1)
        raise InputError(f"unknown finding code {code!r}", file=where,
                         hint=f"did you mean {close[0]!r}?" if close else "see the README's finding codes")  # fmt: skip
    if level not in (*SEVERITIES, "off"):
        raise InputError(f"severity of {code!r} must be error, warning, info or off, not {level!r}", file=where)
