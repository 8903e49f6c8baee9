"""The demo programme: one command fills the database with a realistic, fixed-seed programme,
so that a newcomer sees every screen populated. Each stage adds one domain's data on top
of the previous ones (pretalx's `create_test_event --stage` idea)."""

from __future__ import annotations

import random

from sqlalchemy import func, select

from opsapp.accounts.models import User
from opsapp.extensions import db

SEED = 2027
PASSWORD = "opsapp-demo-2027"


def database_is_empty() -> bool:
    return (db.session.scalar(select(func.count(User.id))) or 0) == 0


def wipe() -> None:
    """Delete every row of every table (children first), and the stored files they name."""
    from opsapp.core import files
    from opsapp.core.models import StoredFile
    from opsapp.kpi import models as _kpi_models  # noqa: F401  (its tables are among those emptied)

    for stored in db.session.scalars(select(StoredFile)):
        files.path_of(stored).unlink(missing_ok=True)
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.flush()


def load(reset: bool = False) -> list[str]:
    from opsapp.demo import accounts as accounts_stage
    from opsapp.demo import calls as calls_stage
    from opsapp.demo import cohorts as cohorts_stage
    from opsapp.demo import events as events_stage
    from opsapp.demo import kpi as kpi_stage
    from opsapp.demo import vouchers as vouchers_stage

    if reset:
        wipe()
    rng = random.Random(SEED)
    summary: list[str] = []
    ctx = accounts_stage.load(rng, summary)
    ctx.update(calls_stage.load(rng, ctx, summary))
    ctx.update(cohorts_stage.load(rng, ctx, summary))
    ctx.update(events_stage.load(rng, ctx, summary))
    ctx.update(vouchers_stage.load(rng, ctx, summary))
    ctx.update(kpi_stage.load(rng, ctx, summary))
    db.session.commit()
    summary.append(f"Every demo account signs in with the password {PASSWORD}.")
    return summary
