"""Word monitoring report: the whole Accelerator programme (3 editions of 500 companies with 3 answered surveys each) written as .docx.

Issue 7: writing the report of a large programme under 5 s (median of 5 runs): the
monitoring computed for the authority from the database, then the document with its charts
(five PNG images drawn by matplotlib) and tables, as `flask kpi report` and the dashboard's
download do. The data set is benchmarks/kpi.py's (1,500 cohort members followed with a
baseline and surveys at 12, 24 and 36 months, a comparison group of 100 per edition,
investments and supply contracts) in a fresh SQLite database. The document alone is timed
too, and its size reported.
"""

from __future__ import annotations

import time
from datetime import date

from benchmarks.kpi import EDITIONS, _populate
from benchmarks.util import bench_app, median

GOAL_S = 5.0
RUNS = 5


def run() -> bool:
    from opsapp.kpi import report_runs, reports

    app = bench_app()
    today = date(2026, 11, 1)
    with app.app_context():
        _populate()
    with app.test_request_context():
        report_runs.write("accelerator", None, "en", today)  # warm: fonts, matplotlib, babel catalogues
        whole, document_only, sizes = [], [], []
        for _ in range(RUNS):
            started = time.perf_counter()
            content = report_runs.write("accelerator", None, "en", today)
            whole.append(time.perf_counter() - started)
            sizes.append(len(content))
        computed = report_runs.compute("accelerator", None, "en", today)
        for _ in range(RUNS):
            started = time.perf_counter()
            reports.write_report(computed, locale="en", today=today)
            document_only.append(time.perf_counter() - started)
    seconds = median(whole)
    ok = seconds < GOAL_S
    print(f"{len(EDITIONS)} Accelerator editions x 500 companies x 3 answered surveys; goal: median under "
          f"{GOAL_S} s ({RUNS} runs)")
    print(f"{'what':36} {'median s':>9}")
    print(f"{'computation and document':36} {seconds:9.3f}{'' if ok else '  GOAL MISSED'}")
    print(f"{'document only (5 charts, tables)':36} {median(document_only):9.3f}")
    print(f"report size: {max(sizes) / 1024:.0f} kB")
    return ok


if __name__ == "__main__":
    run()
