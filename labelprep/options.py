"""Every verb's options, declared once: the API's keywords, the CLI's flags and the settings file's keys.

An option is a field of a frozen dataclass here, with a :class:`Spec` saying how it looks on the command line
(flag, kind, choices, help) and whether ``[tool.labelprep]`` may set it. The CLI builds its click options from
these fields, the verbs take the objects (or the same names as keywords, checked), and :meth:`Options.resolve`
merges explicit values, settings and defaults with one rule: a value given is taken (``None`` and an empty
list count as not given), else the setting, else the default. Adding an option is adding a field here and
reading it where it is used.

Nothing here imports pandas, pandera or TensorFlow: ``labelprep --help`` reads this module.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import MISSING, Field, dataclass, field, fields, replace
from typing import Any, ClassVar, TypeVar

from labelprep.errors import InputError

__all__ = [
    "ENGINES",
    "FORMATS",
    "VERBS",
    "CheckOptions",
    "ConvertOptions",
    "DiffOptions",
    "ExportOptions",
    "Options",
    "RunOptions",
    "SourceOptions",
    "Spec",
    "SplitOptions",
    "StatsOptions",
    "config_keys",
    "option_fields",
    "route",
]

# The annotation forms labelprep.readers reads (it takes this tuple): here, so the CLI knows them without importing
# the readers.
FORMATS = ("folder", "sidecar", "voc", "yolo", "cvat", "datumaro", "labelme", "vott", "annotation-xml", "kitti",
           "list", "attributes", "openimages", "vertex", "sagemaker", "azure", "delimited", "wide", "long", "json",
           "jsonl", "coco", "labelstudio", "fiftyone", "via", "supervisely", "cub", "dota", "labelbox",
           "masks")  # fmt: skip
ENGINES = ("local", "dask")
_SIZE_HELP = "WxH (or N for NxN)"


@dataclass(frozen=True)
class Spec:
    """How an option appears: its kind (text, path, dir, location, choice, int, float, flag, switch, list,
    repeat, pairs, numbers, floats, any, engine), bounds, CLI flags (default ``--name-with-dashes``), help, and whether the settings
    file may set it (its key is the name with dashes)."""

    help: str
    kind: str = "text"
    choices: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    config: bool = False
    flags: tuple[str, ...] = ()
    metavar: str | None = None
    show_default: bool = False

    def cli_flags(self, name: str) -> tuple[str, ...]:
        return self.flags or (f"--{name.replace('_', '-')}",)


def opt(default: Any, help: str, **spec: Any) -> Any:
    """A dataclass field carrying its :class:`Spec`."""
    return field(default=default, metadata={"spec": Spec(help=help, **spec)})


def _spec(f: Field[Any]) -> Spec:
    return f.metadata["spec"]  # type: ignore[no-any-return]


T = TypeVar("T", bound="Options")


class Options:
    """Shared behaviour of the option dataclasses: resolving and checking values."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    @classmethod
    def resolve(cls: type[T], given: Mapping[str, Any] | None = None, config: Mapping[str, Any] | None = None, *,
                where: str | None = None) -> T:  # fmt: skip
        """An instance from values given (API keywords or CLI flags), then settings (``config``: keys with
        dashes, from ``where``), then defaults; each value checked and normalised (lists become tuples). A table
        (severity, thresholds) merges the settings' entries with the ones given, which win."""
        given = given or {}
        values: dict[str, Any] = {}
        for f in fields(cls):  # type: ignore[arg-type]
            spec = _spec(f)
            key = f.name.replace("_", "-")
            from_config = spec.config and config is not None and key in config
            if spec.kind in ("pairs", "numbers") and from_config and config is not None:
                # a table merges: the settings' entries, then the ones given (severity of one code, one limit)
                merged = dict(check(key, spec, config[key], where=where, setting=True))
                merged.update(check(f.name, spec, given[f.name]) if _given(given.get(f.name)) else {})
                values[f.name] = merged
            elif f.name in given and _given(given[f.name]):
                values[f.name] = check(f.name, spec, given[f.name])
            elif from_config and config is not None:
                values[f.name] = check(key, spec, config[key], where=where, setting=True)
            else:
                values[f.name] = f.default if f.default is not MISSING else None
        return cls(**values)

    def with_values(self: T, **changes: Any) -> T:
        """A copy with ``changes`` checked as given values."""
        specs = {f.name: _spec(f) for f in fields(self)}  # type: ignore[arg-type]
        return replace(self, **{k: check(k, specs[k], v) for k, v in changes.items()})  # type: ignore[type-var]


def _given(value: Any) -> bool:
    return value is not None and not (isinstance(value, (tuple, list, dict)) and not value)


def check(name: str, spec: Spec, value: Any, *, where: str | None = None, setting: bool = False) -> Any:
    """``value`` as the option ``name`` takes it, or :class:`InputError` saying what to write instead."""
    shown = name if setting else name.replace("-", "_")

    def bad(want: str) -> InputError:
        return InputError(f"{shown} must be {want}, not {value!r}", file=where)

    kind = spec.kind
    if kind in ("text", "path", "dir", "location"):
        if isinstance(value, os.PathLike) and kind != "text":
            value = os.fspath(value)
        if not isinstance(value, str):
            if kind == "location" and not setting:
                return value  # an object standing for a root (tests, remote handles): passed on as given
            raise bad("text" if kind == "text" else "a path" + (" (relative to the configuration file)" if setting
                                                                  else ""))  # fmt: skip
        return value
    if kind == "choice":
        if value not in spec.choices:
            raise bad(", ".join(spec.choices[:-1]) + f" or {spec.choices[-1]}" if len(spec.choices) > 1
                      else repr(spec.choices[0]))  # fmt: skip
        return value
    if kind in ("int", "float"):
        ok = isinstance(value, int) if kind == "int" else isinstance(value, (int, float))
        lo = "" if spec.min is None else (f", {int(spec.min)} or more" if kind == "int" else f", at least {spec.min:g}")
        hi = "" if spec.max is None else f", at most {spec.max:g}"
        want = ("a whole number" if kind == "int" else "a number") + lo + hi
        if not ok or isinstance(value, bool) or (spec.min is not None and value < spec.min) or \
                (spec.max is not None and value > spec.max):  # fmt: skip
            raise bad(want)
        return value
    if kind in ("flag", "switch"):
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if kind in ("list", "repeat"):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, (str, os.PathLike)) for v in value):
            raise bad("a list of text" if not setting else 'a text or a list of texts, e.g. ["No Finding"]')
        return tuple(os.fspath(v) for v in value)
    if kind == "floats":
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, (int, float)) for v in value):
            raise bad("a list of numbers")
        return tuple(float(v) for v in value)
    if kind in ("pairs", "numbers"):
        if not isinstance(value, Mapping):
            raise bad("a table of name = value")
        return {str(k).replace("_", "-") if kind == "numbers" else str(k): v for k, v in value.items()}
    return value  # kind "any": checked where it is used (a size, a rules table or file)


def option_fields(cls: type[Options]) -> list[tuple[str, Spec, Any]]:
    """(name, spec, default) of each option of ``cls``."""
    return [(f.name, _spec(f), f.default) for f in fields(cls)]  # type: ignore[arg-type]


# -- the options ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceOptions(Options):
    """How annotations are read: the form, its columns, paths, labels and what is left out."""

    format: str | None = opt(None, "Annotation form; detected when left out.", kind="choice", choices=FORMATS)
    path_col: str | None = opt(None, "Column (or JSON key) holding image paths or ids.")
    labels_col: str | None = opt(None, "Column (or JSON key) holding the labels.")
    sep: str | None = opt(None, "Label separator inside a cell: '|', ';', ',', 'space', or 'none' (one label a "
                          "cell); sniffed when left out.")  # fmt: skip
    label_cols: tuple[str, ...] = opt((), "Wide tables: the label columns, comma separated (detected when left "
                                      "out).", kind="list")  # fmt: skip
    confidence_col: str | None = opt(None, "Long tables: confidence column; 0 means verified absent.")
    uncertain: str | None = opt(None, "Wide tables, VOC and attribute lists: what -1 becomes (keep = -1 in the "
                                "frame) [default: keep; in a table of only 1 and -1, -1 is absent].",
                                kind="choice", choices=("keep", "zero", "one"))  # fmt: skip
    images_root: Any = opt(None, "Folder (or URL) the image paths are relative to [default: the source's folder].",
                           kind="location", config=True)  # fmt: skip
    path_template: str | None = opt(None, "Turn ids into paths, e.g. '{}.jpg' or 'train-jpg/{}.jpg'.")
    path_prefix: str | None = opt(None, "Take PREFIX off every image path (gs://bucket/dir/, /data/); paths are "
                                  "then relative to the images root [default for bucket URLs: the folder they all "
                                  "share].", metavar="PREFIX")  # fmt: skip
    find_images: bool = opt(False, "Find bare file names anywhere under the images root.", kind="flag")
    none_label: tuple[str, ...] = opt((), "A label meaning 'no labels' (repeatable), e.g. 'No Finding'.",
                                      kind="repeat", config=True)  # fmt: skip
    label_map: str | None = opt(None, "id -> name map: two-column CSV, one name a line, or JSON.", kind="path")
    vocab: Any = opt(None, "Fixed vocabulary file (JSON, one label a line, or a label map).", kind="path",
                     config=True)  # fmt: skip
    unknown: str = opt("error", "With --vocab: what an unknown label does.", kind="choice",
                       choices=("error", "drop"), show_default=True)  # fmt: skip
    min_count: int | None = opt(None, "Keep only labels with at least N images.", kind="int", min=1)
    split_col: str | None = opt(None, "Column carried as 'split'.")
    group_col: str | None = opt(None, "Column carried as 'group' (patient, study, user).")
    keep_cols: tuple[str, ...] = opt((), "Other columns to carry, comma separated.", kind="list")
    exclude: tuple[str, ...] = opt((), "Leave out rows and folders whose path matches GLOB (repeatable): "
                                   "'unlabeled', 'todo*', 'train/unsorted'; in the ledger, never an all-zero row.",
                                   kind="repeat", metavar="GLOB")  # fmt: skip
    group_from_path: str | None = opt(None, "Take the group from each path: REGEX's first capture group, e.g. "
                                      "'patient(\\d+)/'.", metavar="REGEX")  # fmt: skip
    split_from_path: str | None = opt(None, "Take the split from each path: REGEX's first capture group.",
                                      metavar="REGEX")  # fmt: skip
    join: str | None = opt(None, "Bring in the columns of a second CSV/TSV, matched by image id (see --on).",
                           kind="path", metavar="FILE")  # fmt: skip
    on: str | None = opt(None, "With --join: its column of image ids (paths, file names or ids).", metavar="KEY")
    nested_folders: str | None = opt(None, "Folder form, images in folders below a label folder (dog/puppy/x.jpg): "
                                     "top = the top folder is the label (dog; as torchvision's ImageFolder and "
                                     "Keras read it), path = the full relative folder (dog/puppy) [default: refuse, "
                                     "naming the folders].", kind="choice", choices=("top", "path"))  # fmt: skip
    encoding: str = opt("utf-8", "Text encoding of CSV/TSV sources.", show_default=True)
    on_conflict: str | None = opt(None, "Folder form: same file name with different bytes under several labels "
                                  "[default: convert and export refuse; validate reads them as separate images "
                                  "and reports name-conflict].", kind="choice", choices=("error", "separate"))  # fmt: skip


@dataclass(frozen=True)
class CheckOptions(Options):
    """What validate checks and how strictly."""

    check_images: str | None = opt(None, "How far to read images: none, header (magic bytes, headers, end "
                                   "markers) or full decode [default: header].", kind="choice",
                                   choices=("none", "header", "full"), config=True)  # fmt: skip
    strict: bool | None = opt(None, "Make warnings fail too.", kind="switch", config=True,
                              flags=("--strict/--no-strict",))  # fmt: skip
    no_empty: bool | None = opt(None, "Make images with no label an error.", kind="switch", config=True,
                                flags=("--no-empty/--allow-empty",))  # fmt: skip
    min_positives: int | None = opt(None, "Warn about labels with fewer positives in a split.", kind="int", min=1,
                                    config=True)  # fmt: skip
    min_size: Any = opt(None, f"Warn about images smaller than {_SIZE_HELP}.", kind="any", config=True)
    max_pixels: int | None = opt(None, "Pixel limit for decompression-bomb [default: Pillow's].", kind="int",
                                 min=1, config=True)  # fmt: skip
    severity: dict[str, str] | None = opt(None, "Change a finding's severity: error, warning, info or off "
                                          "(repeatable).", kind="pairs", config=True, metavar="CODE=LEVEL")  # fmt: skip
    quarantine: str | None = opt(None, "Write the unusable images (CSV) here.", kind="path")
    near_duplicates: bool | None = opt(None, "Find near-copies (re-encoded, resized, cropped, flipped, rotated) "
                                       "within and across splits (decodes every image; in the same decode with "
                                       "--check-images full).", kind="switch", config=True,
                                       flags=("--near-duplicates/--no-near-duplicates",))  # fmt: skip
    quality: bool | None = opt(None, "Find dark, overexposed, blurred, flat, grayscale, oddly shaped or sized "
                               "images (decodes every image; in the same decode with --check-images full).",
                               kind="switch", config=True, flags=("--quality/--no-quality",))  # fmt: skip
    thresholds: dict[str, float] | None = opt(None, "Change a content-check limit, e.g. dark=40 or "
                                              "near-duplicate=20 (repeatable).", kind="numbers", config=True,
                                              flags=("--threshold",), metavar="NAME=VALUE")  # fmt: skip
    rules: Any = opt(None, "Label rules (TOML): exactly-one, at-most-one, implies, hierarchy, min-count [default: "
                     "[tool.labelprep.rules]].", kind="any", config=True)  # fmt: skip
    predictions: str | None = opt(None, "Out-of-fold probabilities (CSV/Parquet: path, one column per label): "
                                  "report the cells likely labelled wrong (pip install \"labelprep[quality]\").",
                                  kind="path")  # fmt: skip
    top_issues: int = opt(100, "With --predictions: how many likely label errors to report.", kind="int", min=0,
                          show_default=True)  # fmt: skip


@dataclass(frozen=True)
class RunOptions(Options):
    """Where and how the work runs: processes, a Dask cluster, a cache, progress."""

    workers: int | None = opt(None, "Processes for image checks and shards [default: all cores].", kind="int",
                              min=1, config=True)  # fmt: skip
    engine: Any = opt("local", "Where the work runs: local processes, or Dask tasks (pip install "
                      "\"labelprep[dask]\").", kind="engine", choices=ENGINES, show_default=True)  # fmt: skip
    scheduler: str | None = opt(None, "Dask scheduler, e.g. tcp://host:8786 [default: $DASK_SCHEDULER_ADDRESS, "
                                "else a local cluster of --workers processes].", metavar="ADDRESS")  # fmt: skip
    cache: str | None = opt(None, "Folder caching image results by path, size, mtime.", kind="dir", config=True)
    progress: bool = opt(False, "Show a progress bar (the CLI shows one on a terminal).", kind="flag")


@dataclass(frozen=True)
class ConvertOptions(Options):
    """What convert writes besides the frame."""

    ledger: str | None = opt(None, "CSV of every dropped or merged input row.", kind="path")
    sparse_threshold: int | None = opt(None, "Sparse label columns above N labels (Parquet output only) [default: "
                                       "2000; 0: always].", kind="int", min=0, metavar="N")  # fmt: skip


@dataclass(frozen=True)
class SplitOptions(Options):
    """How split divides the images."""

    ratios: tuple[float, ...] = opt((0.8, 0.1, 0.1), "Split sizes, summing to 1, comma separated.", kind="floats",
                                    show_default=True)  # fmt: skip
    names: tuple[str, ...] = opt(("train", "val", "test"), "Split names, comma separated.", kind="list",
                                 show_default=True)  # fmt: skip
    seed: int = opt(0, "Random seed (same seed, same split).", kind="int", show_default=True)
    per_split: bool = opt(False, "Write one file per split.", kind="flag")
    overwrite: bool = opt(False, "Replace an existing split column.", kind="flag")


@dataclass(frozen=True)
class StatsOptions(Options):
    """What stats computes and writes."""

    pos_weight: str | None = opt(None, "Write {label: negatives/positives} JSON here.", kind="path")
    top_pairs: int = opt(20, "How many co-occurring pairs to list.", kind="int", min=1, show_default=True)
    min_support: float = opt(0.01, "Share of images a label needs to count as frequent (for never-co-occurring "
                             "labels).", kind="float", min=0, max=1, show_default=True)  # fmt: skip
    min_expected: float = opt(5.0, "Images two labels would share if independent, for never sharing one to count "
                              "(exclusive groups).", kind="float", min=0, show_default=True)  # fmt: skip


@dataclass(frozen=True)
class DiffOptions(Options):
    """How diff pairs the two versions and what counts as a change."""

    rev: str | None = opt(None, "Compare OLD as it was at this git revision (HEAD: the last commit) with NEW, or "
                          "with OLD as it is now.", metavar="REV")  # fmt: skip
    images_root: tuple[str, ...] = opt((), "Compare image bytes: OLD's images root, then NEW's (give it twice, or "
                                       "once for both).", kind="repeat", flags=("--images-root",))  # fmt: skip
    prevalence_threshold: float = opt(0.05, "Absolute prevalence change that counts as a prevalence-shift.",
                                      kind="float", min=0, max=1, show_default=True)  # fmt: skip
    match: str = opt("auto", "How images of the two versions are paired: content (sha256, needs --images-root), "
                     "name (file name within the label folder), path; auto: content with --images-root, name for "
                     "label folders, else path.", kind="choice", choices=("auto", "path", "name", "content"),
                     show_default=True)  # fmt: skip


@dataclass(frozen=True)
class ExportOptions(Options):
    """How export shards and stores the images."""

    name: str | None = opt(None, "Dataset name in the shard file names [default: the first SOURCE's stem].")
    shard_size: Any = opt(None, "Target bytes per shard: 128MiB, 1GB, 500KB or a number [default: 128MiB].",
                          kind="any")  # fmt: skip
    num_shards: int | None = opt(None, "Shards per split (instead of --shard-size).", kind="int", min=1)
    seed: int = opt(0, "Shuffle seed: same seed, same shards.", kind="int", show_default=True)
    resize: Any = opt(None, "Resize images: N (shorter side to N, keeping the aspect) or WxH (fixed size).",
                      kind="any")  # fmt: skip
    quality: int = opt(95, "JPEG quality of re-encoded images.", kind="int", min=1, max=100, show_default=True)
    skip_invalid: bool = opt(False, "Leave out rows whose image is unusable (recorded in the manifest) instead of "
                             "refusing.", kind="flag")  # fmt: skip
    resume: bool = opt(False, "Finish an interrupted export, keeping its finished shards.", kind="flag")
    overwrite: bool = opt(False, "Replace an earlier export (or a file named like a shard) in the folder.",
                          kind="flag")  # fmt: skip


# -- which verb takes which ----------------------------------------------------------------------------------

_GROUPS: dict[str, type[Options]] = {
    "source": SourceOptions, "check": CheckOptions, "run": RunOptions, "convert": ConvertOptions,
    "split": SplitOptions, "stats": StatsOptions, "diff": DiffOptions, "export": ExportOptions,
}  # fmt: skip

# verb -> (group, options of it the verb does not take); "config" marks verbs that read [tool.labelprep]
VERBS: dict[str, dict[str, tuple[str, ...]]] = {
    "convert": {"source": (), "run": ("workers", "cache", "progress"), "convert": ()},
    "load_frame": {"source": ()},
    "validate": {"source": ("unknown", "min_count", "keep_cols"), "check": (), "run": ()},
    "export": {"source": ("unknown", "min_count", "keep_cols"),
               "check": ("strict", "no_empty", "min_positives", "min_size", "max_pixels", "quarantine",
                         "near_duplicates", "quality", "thresholds", "rules", "predictions", "top_issues"),
               "run": (), "export": ()},
    "split": {"source": ("unknown", "min_count", "keep_cols", "split_col", "split_from_path"), "split": ()},
    "stats": {"source": ("unknown", "min_count", "keep_cols", "group_col"), "stats": ()},
    "diff": {"source": ("unknown", "min_count", "keep_cols", "group_col", "images_root"), "diff": ()},
}  # fmt: skip
CONFIG_VERBS = ("validate", "export")


def group_class(group: str) -> type[Options]:
    """The option class of a group, looked up when asked (so a test may add an option to it)."""
    return globals()[_GROUPS[group].__name__]  # type: ignore[no-any-return]


def verb_options(verb: str) -> dict[str, str]:
    """Option name -> group, for every option ``verb`` takes."""
    out: dict[str, str] = {}
    for group, left_out in VERBS[verb].items():
        for f in fields(group_class(group)):  # type: ignore[arg-type]
            if f.name not in left_out:
                out[f.name] = group
    return out


def route(verb: str, given: Mapping[str, Any], objects: Mapping[str, Options | None] | None = None,
          config: Mapping[str, Any] | None = None, where: str | None = None) -> dict[str, Any]:  # fmt: skip
    """Each option group of ``verb`` resolved from keywords ``given`` (an unknown one is a TypeError naming the
    closest), an options object passed for the group (taken whole, settings not consulted), and settings."""
    known = verb_options(verb)
    unknown = sorted(set(given) - set(known))
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(known), n=1)
        raise TypeError(f"{verb}() got an unexpected option {unknown[0]!r}"
                        + (f" (did you mean {close[0]!r}?)" if close else ""))  # fmt: skip
    out: dict[str, Any] = {}
    for group in VERBS[verb]:
        cls = group_class(group)
        mine = {k: v for k, v in given.items() if known.get(k) == group}
        obj = (objects or {}).get(group)
        if obj is not None:
            out[group] = obj.with_values(**{k: v for k, v in mine.items() if _given(v)}) if mine else obj
        else:
            out[group] = cls.resolve(mine, config if verb in CONFIG_VERBS else None, where=where)
    return out


def config_keys() -> tuple[str, ...]:
    """The keys ``[tool.labelprep]`` may hold: every option marked ``config``, with dashes."""
    keys: list[str] = []
    for group in _GROUPS:
        for name, spec, _default in option_fields(group_class(group)):
            key = name.replace("_", "-")
            if spec.config and key not in keys:
                keys.append(key)
    return tuple(keys)


def setting_want(key: str) -> Spec | None:
    """The spec of the option a settings key sets."""
    for group in _GROUPS:
        for name, spec, _default in option_fields(group_class(group)):
            if name.replace("_", "-") == key and spec.config:
                return spec
    return None


def check_setting(key: str, value: Any, where: str) -> Any:
    """A settings value checked as its option takes it (an error naming the file otherwise)."""
    spec = setting_want(key)
    if spec is None:
        return value
    return check(key, spec, value, where=where, setting=True)
