"""The command line (`flask --app opsapp ...`): demo data, the job scheduler, single job runs, the KPI report."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext


def register(app: Flask) -> None:
    from opsapp.kpi.cli import kpi_group

    app.cli.add_command(demo_command)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(jobs_group)
    app.cli.add_command(kpi_group)


@click.command("demo")
@click.option("--reset", is_flag=True, help="Delete every row first, then load the demo programme.")
@click.option("--if-empty", is_flag=True, help="Load only if the database has no users (used by make run).")
@with_appcontext
def demo_command(reset: bool, if_empty: bool) -> None:
    """Load the demo programme (fixed seed: the same data every time)."""
    from opsapp import demo

    if if_empty and not demo.database_is_empty():
        click.echo("The database already has data; demo not loaded.")
        return
    if not reset and not demo.database_is_empty():
        raise click.ClickException("The database already has data. Use --reset to replace it with the demo.")
    summary = demo.load(reset=reset)
    for line in summary:
        click.echo(line)


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run the background job scheduler (its own process, never inside web workers)."""
    from opsapp import jobs

    jobs.run_scheduler()


@click.group("jobs")
def jobs_group() -> None:
    """List or run the scheduled jobs by hand."""


@jobs_group.command("list")
@with_appcontext
def jobs_list() -> None:
    from opsapp import jobs

    for job in jobs.JOBS.values():
        click.echo(f"{job.name:32} {job.describe()}")


@jobs_group.command("run")
@click.argument("name")
@with_appcontext
def jobs_run(name: str) -> None:
    """Run one job now, for the current trigger period (does nothing if it already ran)."""
    from opsapp import jobs

    if name not in jobs.JOBS:
        raise click.ClickException(f"unknown job {name!r}; see 'flask jobs list'")
    result = jobs.run_job(name)
    click.echo(result)
