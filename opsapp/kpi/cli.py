"""The `flask --app opsapp kpi` commands: `kpi report` writes the Word monitoring report of a
programme (all editions, or one) straight to a file, as the dashboard's download does but
without the background run or a stored copy (CONTRACTS.md).
"""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask.cli import with_appcontext
from flask_babel import force_locale

from opsapp.kpi import report_runs
from opsapp.kpi.report_runs import ReportError


@click.group("kpi")
def kpi_group() -> None:
    """Monitoring of results: the Word monitoring report."""


@kpi_group.command("report")
@click.option("--programme", required=True, metavar="accelerator|meet-the-buyer", help="The programme.")
@click.option("--edition", type=int, default=None, metavar="YEAR", help="One edition (default: every edition).")
@click.option("--language", default="en", metavar="en|it", show_default=True, help="The report's language.")
@click.option("--output", required=True, type=click.Path(dir_okay=False, writable=True, path_type=Path),
              metavar="FILE.docx", help="Where to write the report.")
@with_appcontext
def report_command(programme: str, edition: int | None, language: str, output: Path) -> None:
    """Write the Word monitoring report (aggregates only, as for the regional authority)."""
    started = time.perf_counter()
    try:
        with force_locale("en"):  # the messages of this command are in English
            programme, edition = report_runs.check_scope(programme, edition)
            language = report_runs.language(language)
    except ReportError as error:
        with force_locale("en"):
            raise click.ClickException(str(error.message)) from None
    content = report_runs.write(programme, edition, language)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(content)
    took = time.perf_counter() - started
    click.echo(f"Wrote {output.resolve()} ({len(content) / 1024:.0f} kB) in {took:.1f} s.")
