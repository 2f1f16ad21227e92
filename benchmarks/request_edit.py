"""How long the bot's own work on an access request takes, before and after GitHub.

Prints the median wall time of `prepare_request` (add the grant with the round-trip editor,
which validates the edited file, then the access diff for the pull request's body) on the
repository's access.yaml and on generated files of 1,000 and 5,000 people (benchmarks/
access_scale.py's generator), and of `read_submission`, the only check that runs before the
modal's 3-second ack, and the CPU a request for access already held costs at 5,000 people,
refused by the edit (before) and by the catalog in the form (now). GitHub's calls come on top
(benchmarks/github_request.py). Nothing is asserted.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TODAY = dt.date(2026, 11, 23)
RUNS = 5


def median_seconds(
    work: Callable[[], object], runs: int = RUNS, clock: Callable[[], float] = time.perf_counter
) -> float:
    times = []
    for _ in range(runs):
        started = clock()
        work()
        times.append(clock() - started)
    return statistics.median(times)


def main() -> None:
    from benchmarks.access_scale import access_text, people
    from dbaccess.access import load_access_text
    from dbaccess.access.edit import EditError
    from dbaccess.bot import ids
    from dbaccess.bot.access_requests.flow import prepare_request
    from dbaccess.bot.access_requests.form import read_submission
    from dbaccess.bot.access_requests.pull_request import RequestedGrant
    from dbaccess.bot.grants import holds
    from dbaccess.catalog import Catalog, build_catalog

    files = {"access.yaml (sample)": (ROOT / "access.yaml").read_text()}
    for count in (1_000, 5_000):
        files[f"{count:,} people"] = access_text(people(count))
    on_sample = RequestedGrant("new.person@example.com", "inventory", "read-only", None, "x")
    on_generated = RequestedGrant("new.person@example.com", "db01", "read-only", None, "x")
    print(f"prepare_request (edit + validate + diff), median of {RUNS}:")
    for name, text in files.items():
        grant = on_generated if "people" in name else on_sample
        seconds = median_seconds(partial(prepare_request, text, grant, "access.yaml", TODAY))
        print(f"  {name:>22}: {seconds:6.3f} s  ({len(text) / 1e6:.2f} MB)")

    plan = load_access_text(files["5,000 people"], "access.yaml", today=TODAY)
    catalog = Catalog.from_document(build_catalog(plan, {}, {}))
    view = {
        "state": {
            "values": {
                ids.FORM_DATABASE_BLOCK: {
                    ids.FORM_DATABASE_ACTION: {"selected_option": {"value": "db00"}}
                },
                ids.FORM_ACCESS_BLOCK: {
                    ids.FORM_ACCESS_ACTION: {"selected_option": {"value": "read-write"}}
                },
                ids.FORM_UNTIL_BLOCK: {ids.FORM_UNTIL_ACTION: {"selected_date": "2026-12-01"}},
                ids.FORM_REASON_BLOCK: {ids.FORM_REASON_ACTION: {"value": "INC-1"}},
            }
        }
    }
    seconds = median_seconds(
        lambda: read_submission(view, "a@example.com", catalog.databases, TODAY), runs=1000
    )
    print(f"read_submission (before the ack), median of 1000: {seconds * 1e6:.0f} µs")

    # A request for access the person already has, at 5,000 people: the bot used to read the
    # file from GitHub and load it to find out (EditError); now the form answers it from the
    # cached catalog. CPU time, GitHub's calls aside.
    email, held = next((e, p.grants[0]) for e, p in plan.people.items() if p.grants)
    asked = RequestedGrant(email, held.database, held.access, None, None)

    def refused_by_the_edit() -> None:
        try:
            prepare_request(files["5,000 people"], asked, "access.yaml", TODAY)
        except EditError:
            return
        raise AssertionError("the edit should refuse a grant the person has")

    choice = ids.RequestChoice(asked.database, asked.access)
    edit_cpu = median_seconds(refused_by_the_edit, clock=time.process_time)
    catalog_cpu = median_seconds(
        lambda: holds(catalog, email, choice, TODAY), runs=1000, clock=time.process_time
    )
    print(
        "a refused request (already held), 5,000 people, CPU median: "
        f"before {edit_cpu:.2f} s (read + edit), after {catalog_cpu * 1e6:.1f} µs (catalog)"
    )


if __name__ == "__main__":
    main()
