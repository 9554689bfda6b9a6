"""Click commands: parse options, call one api verb, render, choose the exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from labelprep import __version__
from labelprep.errors import LabelprepError
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
        click.option("--sep", help="Label separator inside a cell: '|', ';', ',', 'space'; sniffed when left out."),
        click.option("--label-cols", multiple=True, callback=_split_list,
                     help="Wide tables: the label columns, comma separated (detected when left out)."),
        click.option("--confidence-col", help="Long tables: confidence column; 0 means verified absent."),
        click.option("--uncertain", type=click.Choice(["keep", "zero", "one"]), default="keep", show_default=True,
                     help="Wide tables: what -1 becomes (keep = -1 in the frame)."),
        click.option("--images-root", type=click.Path(file_okay=False),
                     help="Folder the image paths are relative to [default: the source's folder]."),
        click.option("--path-template", help="Turn ids into paths, e.g. '{}.jpg' or 'train-jpg/{}.jpg'."),
        click.option("--find-images", is_flag=True, help="Find bare file names anywhere under the images root."),
        click.option("--none-label", multiple=True, help="A label meaning 'no labels' (repeatable), e.g. 'No Finding'."),
        click.option("--label-map", type=click.Path(dir_okay=False), help="id -> name map: two-column CSV or JSON."),
        click.option("--vocab", type=click.Path(dir_okay=False), help="Fixed vocabulary file (JSON or one label a line)."),
        click.option("--unknown", type=click.Choice(["error", "drop"]), default="error", show_default=True,
                     help="With --vocab: what an unknown label does."),
        click.option("--min-count", type=click.IntRange(min=1), help="Keep only labels with at least N images."),
        click.option("--split-col", help="Column carried as 'split'."),
        click.option("--group-col", help="Column carried as 'group' (patient, study, user)."),
        click.option("--keep-cols", multiple=True, callback=_split_list, help="Other columns to carry, comma separated."),
        click.option("--encoding", default="utf-8", show_default=True, help="Text encoding of CSV/TSV sources."),
        click.option("--on-conflict", type=click.Choice(["error", "separate"]), default="error", show_default=True,
                     help="Folder form: same file name with different bytes under several labels."),
    ]
    for opt in reversed(opts):
        name = opt(lambda: None).__click_params__[0].name  # type: ignore[attr-defined]
        if name not in exclude:
            func = opt(func)
    return func


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="labelprep")
def main() -> None:
    """Make multi-label image datasets ready to train on: convert, validate, export.

    \b
    Example:
        labelprep convert examples/shapes/labels.csv -o labels.parquet
    """


@main.command()
@click.argument("source", type=click.Path(exists=True))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Output frame: .parquet or .csv (vocabulary written beside it as <out>.vocab.json).")  # fmt: skip
@source_options()
@click.option("--ledger", type=click.Path(dir_okay=False), help="CSV of every dropped or merged input row.")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors.")
@_errors_to_exit
def convert(source: str, output: str, quiet: bool, **options: Any) -> None:
    """Convert annotations into one validated multi-hot frame

    SOURCE is a CSV/TSV, JSON or JSON Lines file, or a folder (one folder per
    label, or images with sidecar .txt tag files). The form is detected and the
    decision printed.

    \b
    Example:
        labelprep convert Data_Entry_2017.csv -o cxr.parquet \\
            --none-label "No Finding" --find-images --group-col "Patient ID"
    """
    from labelprep.api import convert as convert_api

    if not output.lower().endswith((".parquet", ".csv")):
        raise click.BadParameter("must end in .parquet or .csv", param_hint="'-o' / '--output'")
    options["none_label"] = list(options["none_label"])
    conv = convert_api(source, output, **options)
    if not quiet:
        for note in conv.notes:
            click.echo(f"  {note}", err=True)
        click.echo("Summary:", err=True)
        for line in conv.summary.lines():
            click.echo(f"  {line}", err=True)
        wrote = ", ".join(str(p) for p in conv.written)
        click.echo(f"Wrote {wrote}", err=True)


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


@main.command()
@click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True))
@source_options(exclude=("unknown", "min_count", "keep_cols", "on_conflict"))
@click.option("--check-images", type=click.Choice(["none", "header", "full"]),
              help="How far to read images: none, header (magic bytes, headers, end markers) or full decode "
              "[default: header].")
@click.option("--workers", type=click.IntRange(min=1), help="Processes for image checks [default: all cores].")
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
@click.option("--output-format", type=click.Choice(["text", "json", "github", "junit"]), default="text",
              show_default=True, help="Report format.")
@click.option("--output", type=click.Path(dir_okay=False), help="Write the report to FILE instead of stdout.")
@_errors_to_exit
def validate(sources: tuple[str, ...], output_format: str, output: str | None, **options: Any) -> None:
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
    from labelprep.frameio import atomic_write

    options["none_label"] = list(options["none_label"]) or None
    report = validate_api(list(sources), progress=sys.stderr.isatty(), **options)
    text = report.render(output_format)
    if output:
        atomic_write(output, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        click.echo(report.summary_line(), err=True)
    else:
        click.echo(text, nl=False)
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":  # pragma: no cover
    main()
