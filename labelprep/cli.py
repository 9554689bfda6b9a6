"""Click commands: parse options, call one api verb, render, choose the exit code."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from labelprep import __version__
from labelprep.errors import LabelprepError
from labelprep.executor import ENGINES
from labelprep.readers import FORMATS

F = TypeVar("F", bound=Callable[..., Any])


def _errors_to_exit(func: F) -> F:
    """Print a LabelprepError as ``Error: ...`` and exit 1; never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LabelprepError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"Error: {where}{exc.strerror or exc} (check the path and its permissions)", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("Interrupted; nothing was written.", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


class Location(click.ParamType):
    """A local path checked as ``path_type`` checks it, or a URL (s3://, gs://, memory://, file://) as given.

    A URL is checked when it is read, by the API, which names it in the error.
    """

    name = "path"

    def __init__(self, path_type: click.Path) -> None:
        self.path_type = path_type

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from labelprep.storage import is_url

        if isinstance(value, str) and is_url(value):
            return value
        if isinstance(value, str) and "=" in value and not os.path.exists(value):
            name, _, rest = value.partition("=")
            if name and rest:  # a source named as a split: train=annotations/a.json
                return f"{name}={os.fsdecode(self.path_type.convert(rest, param, ctx))}"
        return self.path_type.convert(value, param, ctx)


_LOCATION = Location(click.Path(exists=True))


def _split_list(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for v in value:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def source_options(*, exclude: tuple[str, ...] = ()) -> Callable[[F], F]:
    """The options every command that reads an annotation source shares (less ``exclude``)."""
    return lambda func: _source_options(func, exclude)


def _source_options(func: F, exclude: tuple[str, ...]) -> F:
    opts = [
        click.option("--format", "format", type=click.Choice(FORMATS), help="Annotation form; detected when left out."),
        click.option("--path-col", help="Column (or JSON key) holding image paths or ids."),
        click.option("--labels-col", help="Column (or JSON key) holding the labels."),
        click.option("--sep", help="Label separator inside a cell: '|', ';', ',', 'space', or 'none' (one label a cell); sniffed when left out."),
        click.option("--label-cols", multiple=True, callback=_split_list,
                     help="Wide tables: the label columns, comma separated (detected when left out)."),
        click.option("--confidence-col", help="Long tables: confidence column; 0 means verified absent."),
        click.option("--uncertain", type=click.Choice(["keep", "zero", "one"]),
                     help="Wide tables, VOC and attribute lists: what -1 becomes (keep = -1 in the frame) [default: "
                     "keep; in a table of only 1 and -1, -1 is absent]."),
        click.option("--images-root", type=Location(click.Path(file_okay=False)),
                     help="Folder (or URL) the image paths are relative to [default: the source's folder]."),
        click.option("--path-template", help="Turn ids into paths, e.g. '{}.jpg' or 'train-jpg/{}.jpg'."),
        click.option("--path-prefix", metavar="PREFIX",
                     help="Take PREFIX off every image path (gs://bucket/dir/, /data/); paths are then relative to "
                     "the images root [default for bucket URLs: the folder they all share]."),
        click.option("--find-images", is_flag=True, help="Find bare file names anywhere under the images root."),
        click.option("--none-label", multiple=True, help="A label meaning 'no labels' (repeatable), e.g. 'No Finding'."),
        click.option("--label-map", type=click.Path(dir_okay=False),
                     help="id -> name map: two-column CSV or JSON; numbered classes keep every class, in id order."),
        click.option("--vocab", type=click.Path(dir_okay=False),
                     help="Fixed vocabulary file (JSON, one label a line, or an id,name label map)."),
        click.option("--unknown", type=click.Choice(["error", "drop"]), default="error", show_default=True,
                     help="With --vocab: what an unknown label does."),
        click.option("--min-count", type=click.IntRange(min=1), help="Keep only labels with at least N images."),
        click.option("--split-col", help="Column carried as 'split'."),
        click.option("--group-col", help="Column carried as 'group' (patient, study, user)."),
        click.option("--keep-cols", multiple=True, callback=_split_list, help="Other columns to carry, comma separated."),
        click.option("--exclude", multiple=True, metavar="GLOB",
                     help="Leave out rows and folders whose path matches (repeatable), e.g. unlabeled or 'train/todo*'."),
        click.option("--group-from-path", metavar="REGEX",
                     help=r"Take the group from each path: the regex's first capture group, e.g. '(patient\d+)/'."),
        click.option("--split-from-path", metavar="REGEX",
                     help="Take the split from each path: the regex's first capture group, e.g. '^([^/]+)/'."),
        click.option("--join", type=click.Path(dir_okay=False, exists=True), metavar="FILE",
                     help="A CSV whose columns --group-col, --split-col and --keep-cols may name, matched by image id."),
        click.option("--on", metavar="KEY", help="With --join: its column holding the image ids (paths or file names)."),
        click.option("--encoding", default="utf-8", show_default=True, help="Text encoding of CSV/TSV sources."),
        click.option("--on-conflict", type=click.Choice(["error", "separate"]), default="error", show_default=True,
                     help="Folder form: same file name with different bytes under several labels."),
    ]
    for opt in reversed(opts):
        name = opt(lambda: None).__click_params__[0].name  # type: ignore[attr-defined]
        if name not in exclude:
            func = opt(func)
    return func


def engine_options(where: str, *, local_cluster: str = "a local cluster of --workers processes") -> Callable[[F], F]:
    """``--engine`` and ``--scheduler``; ``where`` completes "Where ..." in the help of ``--engine``."""

    def add(func: F) -> F:
        func = click.option("--scheduler", metavar="ADDRESS",
                            help=f"Dask scheduler, e.g. tcp://host:8786 [default: $DASK_SCHEDULER_ADDRESS, else "
                            f"{local_cluster}].")(func)  # fmt: skip
        return click.option("--engine", type=click.Choice(list(ENGINES)), default="local", show_default=True,
                            help=f"Where {where}.")(func)  # fmt: skip

    return add


def _emit(text: str, output: str | None, note: str, *, quiet: bool = False) -> None:
    """Print a rendered report, or write it atomically to ``output`` and print ``note`` on stderr (unless quiet)."""
    from labelprep.storage import write_text

    if output:
        write_text(output, text)  # atomically, or uploaded to a URL
        if not quiet:
            click.echo(note, err=True)
    elif text:
        click.echo(text, nl=not text.endswith("\n"))


_QUIET = click.option("-q", "--quiet", is_flag=True, help="Print only errors (and what fails).")
_VERBOSE = click.option("-v", "--verbose", is_flag=True,
                        help="Let TensorFlow's start-up lines (CUDA, oneDNN) through to stderr.")  # fmt: skip


def _tf_verbose(verbose: bool) -> None:
    """TensorFlow's start-up lines are held back unless asked for; worker processes inherit the setting."""
    from labelprep.extras import VERBOSE_ENV

    if verbose:
        os.environ[VERBOSE_ENV] = "1"


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="labelprep")
def main() -> None:
    """Make multi-label image datasets ready to train on: convert, validate, export.

    \b
    Example:
        labelprep convert examples/shapes/labels.csv -o labels.parquet
    """


@main.command()
@click.argument("sources", nargs=-1, required=True, type=_LOCATION)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Output frame: .parquet or .csv (vocabulary written beside it as <out>.vocab.json).")  # fmt: skip
@source_options()
@click.option("--ledger", type=click.Path(dir_okay=False), help="CSV of every dropped or merged input row.")
@click.option("--sparse-threshold", type=click.IntRange(min=0), metavar="N",
              help="Sparse label columns above N labels (Parquet output only) [default: 2000; 0: always].")
@engine_options("the blocks of a large table are read and the frame validated: here, or as Dask tasks",
                local_cluster="a local cluster")
@_QUIET
@_errors_to_exit
def convert(sources: tuple[str, ...], output: str, quiet: bool, **options: Any) -> None:
    """Convert annotations into one validated multi-hot frame

    SOURCE is a CSV/TSV, JSON or JSON Lines file, or a folder (one folder per
    label, or images with sidecar .txt tag files). The form is detected and the
    decision printed. Several SOURCEs are the splits of one frame, named by file
    stem (or by folder when file names repeat), in a split column.

    \b
    Example:
        labelprep convert Data_Entry_2017.csv -o cxr.parquet \\
            --none-label "No Finding" --find-images --group-col "Patient ID"
        labelprep convert train/_classes.csv valid/_classes.csv test/_classes.csv -o all.parquet
    """
    from labelprep.api import convert as convert_api
    from labelprep.api import convert_splits

    if not output.lower().endswith((".parquet", ".csv")):
        raise click.BadParameter("must end in .parquet or .csv", param_hint="'-o' / '--output'")
    options["none_label"] = list(options["none_label"])
    if len(sources) == 1:
        conv = convert_api(sources[0], output, **options)
    else:
        conv = convert_splits(list(sources), output, **options)
    if not quiet:
        for note in conv.notes:
            click.echo(f"  {note}", err=True)
        click.echo("Summary:", err=True)
        for line in conv.summary.lines():
            click.echo(f"  {line}", err=True)
        wrote = ", ".join(str(p) for p in conv.written)
        click.echo(f"Wrote {wrote}", err=True)


def _floats(ctx: click.Context, param: click.Parameter, value: str) -> list[float]:
    try:
        return [float(x) for x in value.split(",") if x.strip()]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of numbers (e.g. 0.8,0.1,0.1)") from None


def _names(ctx: click.Context, param: click.Parameter, value: str) -> list[str]:
    return [x.strip() for x in value.split(",") if x.strip()]


@main.command()
@click.argument("source", type=_LOCATION)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Output frame (.parquet or .csv) with a split column; with --per-split, <stem>-<name><suffix>.")
@click.option("--ratios", default="0.8,0.1,0.1", show_default=True, callback=_floats, help="Split sizes, summing to 1.")
@click.option("--names", default="train,val,test", show_default=True, callback=_names, help="Split names.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (same seed, same split).")
@click.option("--per-split", is_flag=True, help="Write one file per split.")
@click.option("--overwrite", is_flag=True, help="Replace an existing split column.")
@source_options(exclude=("unknown", "min_count", "keep_cols", "split_col", "split_from_path"))
@_QUIET
@_errors_to_exit
def split(source: str, output: str, quiet: bool, **options: Any) -> None:
    """Split into train/val/test: multi-label stratified, groups kept together

    Iterative stratification (Sechidis et al., 2011) over the label columns;
    --group-col keeps every image of one patient, study or user in one split.
    Prints positives and prevalence per label and split, and the largest
    prevalence deviation.

    \b
    Example:
        labelprep split Data_Entry_2017.csv -o cxr-split.parquet --group-col "Patient ID" \\
            --none-label "No Finding" --ratios 0.7,0.1,0.2 --seed 1
    """
    from labelprep.api import split as split_api

    options["none_label"] = list(options["none_label"])
    out = split_api(source, output, **options)
    if not quiet:
        for note in out.notes:
            click.echo(f"  {note}", err=True)
        click.echo(out.result.to_text(), nl=False)
        click.echo(f"Wrote {', '.join(str(p) for p in out.written)}", err=True)


@main.command()
@click.argument("source", type=_LOCATION)
@source_options(exclude=("unknown", "min_count", "keep_cols", "group_col"))
@click.option("--output-format", type=click.Choice(["text", "json", "html"]),
              help="Report format [default: from -o's suffix, else text]; with json, stdout holds only the JSON.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report here (e.g. report.html).")
@click.option("--pos-weight", type=click.Path(dir_okay=False), help="Write {label: negatives/positives} JSON here.")
@click.option("--top-pairs", type=click.IntRange(min=1), default=20, show_default=True,
              help="How many co-occurring pairs to list.")
@click.option("--min-support", type=click.FloatRange(0, 1), default=0.01, show_default=True,
              help="Share of images a label needs to count as frequent (for never-co-occurring labels).")
@click.option("--min-expected", type=click.FloatRange(min=0), default=5.0, show_default=True,
              help="Images two labels would share if independent, for never sharing one to count (exclusive groups).")
@_QUIET
@_errors_to_exit
def stats(source: str, output_format: str | None, output: str | None, quiet: bool, **options: Any) -> None:
    """Show the label distribution: per-split counts, co-occurrence, pos_weight

    SOURCE is a converted frame or any annotation source convert reads. The
    HTML page (-o report.html) is self-contained: charts per split, a
    co-occurrence heatmap and a labels-per-image histogram.

    \b
    Example:
        labelprep stats labels.parquet -o report.html --pos-weight pos_weight.json
    """
    from labelprep.api import stats as stats_api

    options["none_label"] = list(options["none_label"])
    if output_format is None:
        suffix = output.rsplit(".", 1)[-1].lower() if output and "." in output else ""
        output_format = {"html": "html", "htm": "html", "json": "json"}.get(suffix, "text")
    st = stats_api(source, **options)
    _emit(st.render(output_format), output, f"Wrote {output}", quiet=quiet)
    if options.get("pos_weight") and not quiet:
        click.echo(f"Wrote {options['pos_weight']}", err=True)


def _kinds(ctx: click.Context, param: click.Parameter, value: str | None) -> set[str]:
    from labelprep.diff import parse_kinds

    if not value:
        return set()
    try:
        return parse_kinds(value)
    except LabelprepError as exc:
        raise click.BadParameter(str(exc)) from None


@main.command()
@click.argument("old", type=_LOCATION)
@click.argument("new", type=_LOCATION, required=False)
@click.option("--rev", metavar="REV",
              help="Compare OLD as it was at this git revision (HEAD: the last commit) with NEW, or with OLD as it "
              "is now.")
@source_options(exclude=("unknown", "min_count", "keep_cols", "group_col", "images_root"))
@click.option("--images-root", "images_root", multiple=True, type=click.Path(file_okay=False),
              help="Compare image bytes: OLD's images root, then NEW's (give it twice, or once for both).")
@click.option("--fail-on", callback=_kinds, metavar="KINDS",
              help="Exit 1 when one of these kinds of change occurs, comma separated, or 'any' "
              "(relabel, new-label, removed-label, label-order, added-image, removed-image, split-changed, "
              "content-changed, prevalence-shift).")
@click.option("--prevalence-threshold", type=click.FloatRange(0, 1), default=0.05, show_default=True,
              help="Absolute prevalence change that counts as a prevalence-shift.")
@click.option("--match", type=click.Choice(["auto", "path", "name", "content"]), default="auto", show_default=True,
              help="How images of the two versions are paired: content (sha256, needs --images-root), name (file "
              "name within the label folder), path; auto: content with --images-root, name for label folders, "
              "else path.")
@click.option("--output-format", type=click.Choice(["text", "json", "github", "junit"]), default="text",
              show_default=True, help="Report format.")
@click.option("--output", type=click.Path(dir_okay=False), help="Write the report to FILE instead of stdout.")
@_QUIET
@_errors_to_exit
def diff(old: str, new: str | None, fail_on: set[str], output_format: str, output: str | None, quiet: bool,
         **options: Any) -> None:  # fmt: skip
    """Compare two versions of a dataset: images, labels, prevalence, bytes

    OLD and NEW are converted frames or annotation sources; with --rev REV,
    OLD as it was at that git commit and NEW (default: OLD) as it is now.
    Exit 1 when a kind of change named by --fail-on occurs (0 otherwise), for
    CI gates and pre-commit hooks.

    \b
    Example:
        labelprep diff v1/labels.parquet v2/labels.parquet --fail-on relabel,removed-label
        labelprep diff data/labels.csv --rev HEAD --fail-on relabel,removed-image
    """
    from labelprep.api import diff as diff_api

    options["none_label"] = list(options["none_label"])
    options["images_root"] = list(options["images_root"]) or None
    if new is None and not options["rev"]:
        raise click.UsageError("give NEW, or --rev REV to compare OLD with a git commit (e.g. --rev HEAD)")
    if "content-changed" in fail_on and not options["images_root"]:
        raise click.BadParameter("content-changed compares image bytes: give --images-root (OLD's, then NEW's, "
                                 "or once for both)", param_hint="'--fail-on'")  # fmt: skip
    d = diff_api(old, new, **options)
    failed = d.fails(fail_on)
    text = d.to_text(fail_on, quiet=True) if quiet and output_format == "text" else d.render(output_format, fail_on)
    _emit(text, output, d.summary_line(fail_on), quiet=quiet and not failed)
    sys.exit(1 if failed else 0)


def _severity_pairs(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> dict[str, str]:
    from labelprep.checks.pipeline import check_severity

    out: dict[str, str] = {}
    for item in value:
        code, sep, level = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} is not CODE=LEVEL (e.g. empty-labels=error)")
        try:
            check_severity(code.strip(), level.strip())
        except LabelprepError as exc:
            raise click.BadParameter(str(exc)) from None
        out[code.strip()] = level.strip()
    return out


def _threshold_pairs(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> dict[str, float] | None:
    from labelprep.checks.content import Thresholds

    out: dict[str, float] = {}
    for item in value:
        name, sep, number = item.partition("=")
        try:
            if not sep:
                raise ValueError
            out[name.strip()] = float(number)
        except ValueError:
            raise click.BadParameter(f"{item!r} is not NAME=NUMBER (e.g. dark=40)") from None
    try:
        Thresholds.from_mapping({k: int(v) if v.is_integer() else v for k, v in out.items()})
    except LabelprepError as exc:
        raise click.BadParameter(str(exc)) from None
    return out or None


@main.command()
@click.argument("sources", nargs=-1, required=True, type=_LOCATION)
@source_options(exclude=("unknown", "min_count", "keep_cols", "on_conflict"))
@click.option("--check-images", type=click.Choice(["none", "header", "full"]),
              help="How far to read images: none, header (magic bytes, headers, end markers) or full decode "
              "[default: header].")
@click.option("--workers", type=click.IntRange(min=1), help="Processes for image checks [default: all cores].")
@engine_options("image checks run: local processes, or Dask tasks (pip install \"labelprep[dask]\")")
@click.option("--cache", type=click.Path(file_okay=False), help="Folder caching image results by path, size, mtime.")
@click.option("--strict/--no-strict", default=None, help="Make warnings fail too.")
@click.option("--no-empty/--allow-empty", default=None, help="Make images with no label an error.")
@click.option("--min-positives", type=click.IntRange(min=1), help="Warn about labels with fewer positives in a split.")
@click.option("--min-size", help="Warn about images smaller than WxH (or N for NxN).")
@click.option("--max-pixels", type=click.IntRange(min=1), help="Pixel limit for decompression-bomb [default: Pillow's].")
@click.option("--severity", multiple=True, callback=_severity_pairs, metavar="CODE=LEVEL",
              help="Change a finding's severity: error, warning, info or off (repeatable).")
@click.option("--quarantine", type=click.Path(dir_okay=False), help="Write the unusable images (CSV) here.")
@click.option("--config", type=click.Path(dir_okay=False, exists=True),
              help="Settings file [default: [tool.labelprep] of the nearest pyproject.toml or labelprep.toml].")
@click.option("--near-duplicates/--no-near-duplicates", default=None,
              help="Find near-copies (re-encoded, resized, cropped, flipped, rotated) within and across splits "
              "(decodes every image; in the same decode with --check-images full).")
@click.option("--quality/--no-quality", default=None,
              help="Find dark, overexposed, blurred, flat, grayscale, oddly shaped or sized images (decodes "
              "every image; in the same decode with --check-images full).")
@click.option("--rules", type=click.Path(dir_okay=False, exists=True),
              help="Label rules (TOML): exactly-one, at-most-one, implies, hierarchy, min-count [default: "
              "[tool.labelprep.rules]].")
@click.option("--predictions", type=click.Path(dir_okay=False, exists=True),
              help="Out-of-fold probabilities (CSV/Parquet: path, one column per label): report the cells likely "
              "labelled wrong (pip install \"labelprep[quality]\").")
@click.option("--top-issues", type=click.IntRange(min=0), default=100, show_default=True,
              help="With --predictions: how many likely label errors to report.")
@click.option("--threshold", "thresholds", multiple=True, callback=_threshold_pairs, metavar="NAME=VALUE",
              help="Change a content-check limit, e.g. dark=40 or near-duplicate=20 (repeatable).")
@click.option("--output-format", type=click.Choice(["text", "json", "github", "junit", "html"]), default="text",
              show_default=True, help="Report format (html: one page with thumbnails of the images concerned).")
@click.option("--output", type=click.Path(dir_okay=False), help="Write the report to FILE instead of stdout.")
@_QUIET
@_errors_to_exit
def validate(sources: tuple[str, ...], output_format: str, output: str | None, quiet: bool, **options: Any) -> None:
    """Check splits before training: files, images, labels, leakage

    Each SOURCE is a converted frame or any annotation source convert reads;
    several SOURCEs are splits (named by file stem, or by a split column).
    Exit 0 when clean (warnings allowed unless --strict), 1 when a finding is an
    error, 2 on a usage error.

    \b
    Example:
        labelprep validate train.csv val.csv test.csv --check-images full \\
            --output-format github
    """
    from labelprep.api import validate as validate_api

    options["none_label"] = list(options["none_label"]) or None
    report = validate_api(list(sources), progress=sys.stderr.isatty() and not quiet, **options)
    text = report.to_text(quiet=True) if quiet and output_format == "text" else report.render(output_format)
    _emit(text, output, report.summary_line(), quiet=quiet and report.ok)
    sys.exit(0 if report.ok else 1)


@main.command()
@click.argument("sources", nargs=-1, required=True, type=_LOCATION)
@click.option("-o", "--out-dir", required=True, type=click.Path(file_okay=False),
              help="Folder for the shards and manifest.json (created when missing).")  # fmt: skip
@source_options(exclude=("unknown", "min_count", "keep_cols"))
@click.option("--name", help="Dataset name in the shard file names [default: the first SOURCE's stem].")
@click.option("--shard-size", help="Target bytes per shard: 128MiB, 1GB, 500KB or a number [default: 128MiB].")
@click.option("--num-shards", type=click.IntRange(min=1), help="Shards per split (instead of --shard-size).")
@click.option("--seed", type=int, default=0, show_default=True, help="Shuffle seed: same seed, same shards.")
@click.option("--resize", help="Resize images: N (shorter side to N, keeping the aspect) or WxH (fixed size).")
@click.option("--quality", type=click.IntRange(1, 100), default=95, show_default=True,
              help="JPEG quality of re-encoded images.")  # fmt: skip
@click.option("--skip-invalid", is_flag=True,
              help="Leave out rows whose image is unusable (recorded in the manifest) instead of refusing.")  # fmt: skip
@click.option("--check-images", type=click.Choice(["header", "full"]),
              help="How far validation reads images before export [default: header].")  # fmt: skip
@click.option("--workers", type=click.IntRange(min=1), help="Processes for image checks and shards [default: all cores].")
@engine_options("image checks and shards run: local processes, or Dask tasks, one a shard")
@click.option("--cache", type=click.Path(file_okay=False), help="Folder caching image check results.")
@click.option("--severity", multiple=True, callback=_severity_pairs, metavar="CODE=LEVEL",
              help="Change a finding's severity for the validation before export (repeatable).")  # fmt: skip
@click.option("--config", type=click.Path(dir_okay=False, exists=True),
              help="Settings file [default: [tool.labelprep] of the nearest pyproject.toml or labelprep.toml].")
@click.option("--resume", is_flag=True, help="Finish an interrupted export, keeping its finished shards.")
@click.option("--overwrite", is_flag=True, help="Replace an earlier export in the folder.")
@click.option("--output-format", type=click.Choice(["text", "json", "github", "junit"]), default="text",
              show_default=True, help="Format of the report printed when validation refuses the export.")
@_QUIET
@_VERBOSE
@_errors_to_exit
def export(sources: tuple[str, ...], output_format: str, quiet: bool, verbose: bool, **options: Any) -> None:
    """Validate, then write TFRecord shards and a manifest for training

    Each SOURCE is a converted frame or any annotation source convert reads;
    splits come from a split column or several SOURCEs (a single SOURCE without
    splits is exported as 'train'). Validation errors refuse the export and print
    the report (exit 1, nothing written) unless --skip-invalid leaves the
    unusable rows out. Same input and --seed give the same bytes.

    \b
    Example:
        labelprep export labels.parquet -o shards/ --shard-size 64MiB --resize 256
        labelprep verify shards/
    """
    from labelprep.api import export as export_api
    from labelprep.errors import ExportRefused
    from labelprep.shards.plan import format_bytes
    from labelprep.stats import ordered_splits

    options["none_label"] = list(options["none_label"]) or None
    _tf_verbose(verbose)
    try:
        manifest = export_api(list(sources), progress=sys.stderr.isatty() and not quiet, **options)
    except ExportRefused as exc:
        rep = exc.report
        click.echo(rep.to_text(quiet=True) if quiet and output_format == "text" else rep.render(output_format), nl=False)
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    if quiet:
        return
    rep = manifest.report
    if rep is not None:
        line = rep.summary_line()
        if rep.errors and manifest.skipped:  # the export went ahead: every error was on a row it left out
            line = (f"{len(rep.errors):,} error(s), on the {len(manifest.skipped):,} row(s) --skip-invalid left out; "
                    f"{len(rep.warnings):,} warning(s)")  # fmt: skip
        click.echo(f"  validation: {line}", err=True)
        if rep.findings:
            counts = ", ".join(f"{code} ({n:,})" for code, n in rep.codes().most_common())
            click.echo(f"  findings: {counts} (labelprep validate with the same options lists them)", err=True)
    for note in manifest.notes:
        click.echo(f"  {note}", err=True)
    for name in ordered_splits(manifest.splits):  # train, val, test, then the others
        split = manifest.splits[name]
        size = format_bytes(sum(s.bytes for s in split.shards))
        click.echo(f"  {name}: {split.examples:,} examples in {len(split.shards)} shard(s), {size}", err=True)
    image = manifest.image
    click.echo(f"  images: {image.get('passed_through', 0):,} stored as they were, "
               f"{image.get('normalised', 0):,} normalised", err=True)  # fmt: skip
    if manifest.skipped:
        click.echo(f"  skipped: {len(manifest.skipped):,} row(s) with unusable images (listed in the manifest)",
                   err=True)  # fmt: skip
    if manifest.unchanged:
        click.echo(f"Complete already: {manifest.out_dir or options['out_dir']}/manifest.json (nothing written)",
                   err=True)  # fmt: skip
        return
    click.echo(f"Wrote {manifest.out_dir or options['out_dir']}/manifest.json", err=True)


@main.command()
@click.argument("out_dir", type=Location(click.Path(exists=True, file_okay=False)))
@click.option("--output-format", type=click.Choice(["text", "json", "github", "junit"]), default="text",
              show_default=True, help="Report format.")
@click.option("--output", type=click.Path(dir_okay=False), help="Write the report to FILE instead of stdout.")
@_QUIET
@_VERBOSE
@_errors_to_exit
def verify(out_dir: str, output_format: str, output: str | None, quiet: bool, verbose: bool) -> None:
    """Check an export's shards against its manifest: checksums, records, labels, images

    Exit 0 when every shard is as the manifest says, 1 when a finding is an error.

    \b
    Example:
        labelprep verify shards/ --output-format github
    """
    from labelprep.api import verify as verify_api

    _tf_verbose(verbose)
    report = verify_api(out_dir, progress=sys.stderr.isatty() and not quiet)
    text = report.to_text(quiet=True) if quiet and output_format == "text" else report.render(output_format)
    _emit(text, output, report.summary_line(), quiet=quiet and report.ok)
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":  # pragma: no cover
    main()
