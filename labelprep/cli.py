"""Click commands: parse options, call one api verb, render, choose the exit code."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from labelprep.errors import LabelprepError
from labelprep.options import VERBS, Spec, group_class, option_fields
from labelprep.version import __version__

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
            if name and rest and is_url(rest):  # a split named on a URL: train=s3://bucket/a.json
                return value
            if name and rest:  # a source named as a split: train=annotations/a.json
                return f"{name}={os.fsdecode(self.path_type.convert(rest, param, ctx))}"
        return self.path_type.convert(value, param, ctx)


_LOCATION = Location(click.Path(exists=True))


def _split_list(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for v in value:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def _pairs(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> dict[str, str] | None:
    out: dict[str, str] = {}
    for item in value:
        key, sep, val = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r} is not {param.metavar or 'NAME=VALUE'}")
        out[key.strip()] = val.strip()
    if param.name == "severity":
        from labelprep.checks.validation import check_severity

        for code, level in out.items():
            try:
                check_severity(code, level)
            except LabelprepError as exc:
                raise click.BadParameter(str(exc)) from None
    return out or None


def _numbers(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> dict[str, float] | None:
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


def _floats(ctx: click.Context, param: click.Parameter, value: str | None) -> list[float] | None:
    if value is None:
        return None
    try:
        return [float(x) for x in value.split(",") if x.strip()]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of numbers (e.g. 0.8,0.1,0.1)") from None


def _click_option(name: str, spec: Spec, default: Any) -> Callable[[F], F]:
    """The click option of an option declared in :mod:`labelprep.options` (its default is the API's: the CLI
    passes only what is given)."""
    shown = f" [default: {','.join(map(str, default)) if isinstance(default, tuple) else default}]" \
        if spec.show_default and default not in (None, (), "") else ""  # fmt: skip
    kw: dict[str, Any] = {"help": spec.help + shown, "default": None}
    if spec.metavar:
        kw["metavar"] = spec.metavar
    kind = spec.kind
    if kind in ("choice", "engine"):
        kw["type"] = click.Choice(list(spec.choices))
    elif kind == "path":
        kw["type"] = click.Path(dir_okay=False)
    elif kind == "dir":
        kw["type"] = click.Path(file_okay=False)
    elif kind == "location":
        kw["type"] = Location(click.Path(file_okay=False))
    elif kind == "int":
        kw["type"] = click.IntRange(min=None if spec.min is None else int(spec.min),
                                    max=None if spec.max is None else int(spec.max))  # fmt: skip
        if spec.min is None and spec.max is None:
            kw["type"] = int
    elif kind == "float":
        kw["type"] = click.FloatRange(spec.min, spec.max)
    elif kind == "flag":
        kw.update(is_flag=True, default=False)
    elif kind in ("list", "repeat"):
        kw.update(multiple=True, default=())
        if kind == "list":
            kw["callback"] = _split_list
    elif kind in ("pairs", "numbers"):
        kw.update(multiple=True, default=(), callback=_pairs if kind == "pairs" else _numbers)
    elif kind == "floats":
        kw["callback"] = _floats
    return click.option(*spec.cli_flags(name), name, **kw)


def verb_options(verb: str, *, skip: tuple[str, ...] = ()) -> Callable[[F], F]:
    """Every option ``verb`` takes, as declared in :mod:`labelprep.options` (less ``skip``: options the command
    spells on its own, such as an argument), in the order declared."""

    def add(func: F) -> F:
        items = []
        for group, left_out in VERBS[verb].items():
            for name, spec, default in option_fields(group_class(group)):
                if name not in left_out and name not in skip and name != "progress":
                    items.append((name, spec, default))
        for name, spec, default in reversed(items):
            func = _click_option(name, spec, default)(func)
        return func

    return add


def _given(options: dict[str, Any]) -> dict[str, Any]:
    """The options the user gave: the API fills in settings and defaults for the rest."""
    return {k: v for k, v in options.items() if v is not None and v != ()}


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
@verb_options("convert")
@_QUIET
@_errors_to_exit
def convert(sources: tuple[str, ...], output: str, quiet: bool, **options: Any) -> None:
    """Convert annotations into one validated multi-hot frame

    SOURCE is an annotation file (CSV/TSV, JSON, JSON Lines, XML, a text list)
    or a folder (one folder per label, images with sidecar .txt tag files, or a
    tool's export: VOC, YOLO, COCO, CVAT, Supervisely, ...; see --format). The
    form is detected only on evidence and the decision printed; when the
    evidence is missing or points two ways convert refuses, saying what it
    found and the option that decides. Several SOURCEs are the splits of one
    frame, named by the split word of each name (train=PATH names one), in a
    split column.

    \b
    Example:
        labelprep convert Data_Entry_2017.csv -o cxr.parquet \\
            --none-label "No Finding" --find-images --group-col "Patient ID"
        labelprep convert train/_classes.csv valid/_classes.csv test/_classes.csv -o all.parquet
    """
    from labelprep.api import convert as convert_api
    from labelprep.frameio import output_problem

    if output_problem(output):  # a usage error (exit 2), decided where convert decides it
        raise click.BadParameter(str(output_problem(output)).removeprefix("output "), param_hint="'-o' / '--output'")
    conv = convert_api(sources[0] if len(sources) == 1 else list(sources), output, **_given(options))
    if not quiet:
        for note in conv.notes:
            click.echo(f"  {note}", err=True)
        click.echo("Summary:", err=True)
        for line in conv.summary.lines():
            click.echo(f"  {line}", err=True)
        wrote = ", ".join(str(p) for p in conv.written)
        click.echo(f"Wrote {wrote}", err=True)


@main.command()
@click.argument("source", type=_LOCATION)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Output frame (.parquet or .csv) with a split column; with --per-split, <stem>-<name><suffix>.")
@verb_options("split")
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

    out = split_api(source, output, **_given(options))
    if not quiet:
        for note in out.notes:
            click.echo(f"  {note}", err=True)
        click.echo(out.result.to_text(), nl=False)
        click.echo(f"Wrote {', '.join(str(p) for p in out.written)}", err=True)


@main.command()
@click.argument("source", type=_LOCATION)
@verb_options("stats")
@click.option("--output-format", type=click.Choice(["text", "json", "html"]),
              help="Report format [default: from -o's suffix, else text]; with json, stdout holds only the JSON.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the report here (e.g. report.html).")
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

    options = _given(options)
    if output_format is None:
        suffix = output.rsplit(".", 1)[-1].lower() if output and "." in output else ""
        output_format = {"html": "html", "htm": "html", "json": "json"}.get(suffix, "text")
    st = stats_api(source, **options)
    _emit(st.render(output_format), output, f"Wrote {output}", quiet=quiet)
    if options.get("pos_weight") and not quiet:
        click.echo(f"Wrote {options['pos_weight']}", err=True)


def _kinds(ctx: click.Context, param: click.Parameter, value: str | None) -> set[str]:
    from labelprep.compare import parse_kinds

    if not value:
        return set()
    try:
        return parse_kinds(value)
    except LabelprepError as exc:
        raise click.BadParameter(str(exc)) from None


@main.command()
@click.argument("old", type=_LOCATION)
@click.argument("new", type=_LOCATION, required=False)
@verb_options("diff")
@click.option("--fail-on", callback=_kinds, metavar="KINDS",
              help="Exit 1 when one of these kinds of change occurs, comma separated, or 'any' "
              "(relabel, new-label, removed-label, label-order, added-image, removed-image, split-changed, "
              "content-changed, prevalence-shift).")
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

    options = _given(options)
    if new is None and not options.get("rev"):
        raise click.UsageError("give NEW, or --rev REV to compare OLD with a git commit (e.g. --rev HEAD)")
    if "content-changed" in fail_on and not options.get("images_root"):
        raise click.BadParameter("content-changed compares image bytes: give --images-root (OLD's, then NEW's, "
                                 "or once for both)", param_hint="'--fail-on'")  # fmt: skip
    d = diff_api(old, new, **options)
    failed = d.fails(fail_on)
    text = d.to_text(fail_on, quiet=True) if quiet and output_format == "text" else d.render(output_format, fail_on)
    _emit(text, output, d.summary_line(fail_on), quiet=quiet and not failed)
    sys.exit(1 if failed else 0)


@main.command()
@click.argument("sources", nargs=-1, required=True, type=_LOCATION)
@verb_options("validate")
@click.option("--config", type=click.Path(dir_okay=False, exists=True),
              help="Settings file [default: [tool.labelprep] of the nearest pyproject.toml or labelprep.toml].")
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

    report = validate_api(list(sources), progress=sys.stderr.isatty() and not quiet, **_given(options))
    text = report.to_text(quiet=True) if quiet and output_format == "text" else report.render(output_format)
    _emit(text, output, report.summary_line(), quiet=quiet and report.ok)
    sys.exit(0 if report.ok else 1)


@main.command()
@click.argument("sources", nargs=-1, required=True, type=_LOCATION)
@click.option("-o", "--out-dir", required=True, type=click.Path(file_okay=False),
              help="Folder for the shards and manifest.json (created when missing).")  # fmt: skip
@verb_options("export")
@click.option("--config", type=click.Path(dir_okay=False, exists=True),
              help="Settings file [default: [tool.labelprep] of the nearest pyproject.toml or labelprep.toml].")
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
    from labelprep.labelstats import ordered_splits
    from labelprep.shards.plan import format_bytes

    _tf_verbose(verbose)
    out_dir = options["out_dir"]
    try:
        manifest = export_api(list(sources), progress=sys.stderr.isatty() and not quiet, **_given(options))
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
        click.echo(f"Complete already: {manifest.out_dir or out_dir}/manifest.json (nothing written)",
                   err=True)  # fmt: skip
        return
    click.echo(f"Wrote {manifest.out_dir or out_dir}/manifest.json", err=True)


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
