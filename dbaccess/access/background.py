"""Loading an access file in a forked process while the caller does other work.

Loading is CPU-bound Python (about a second per MB). `dbaccess diff` loads two versions and
`dbaccess expire` loads the file while it also reads it for editing; on a machine with two
cores the second job then costs nothing but the plan's way back (pickled, about a tenth of the
load). Below BACKGROUND_BYTES the file loads in the caller, when asked: there a fork and the
way back cost more than they save.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Final

from dbaccess.access import AccessPlan, InvalidInput, Problem, load_access_text
from dbaccess.access.loader import without_cycle_collection

BACKGROUND_BYTES: Final = 1_000_000


@contextmanager
def loading(text: str, file: str, today: dt.date) -> Iterator[Callable[[], AccessPlan]]:
    """Yields a function that returns the plan of `text` (raising InvalidInput as
    load_access_text does); a large text is loading in another process meanwhile."""
    if len(text) < BACKGROUND_BYTES:
        yield lambda: load_access_text(text, file, today=today)
        return
    # The plan comes back unpickled (in the pool's own thread): a few hundred thousand
    # objects that live on and form no cycles, which the cycle collector would walk for
    # nothing (four times the unpickling's own time at 5,000 people).
    with (
        without_cycle_collection(),
        ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool,
    ):
        future = pool.submit(_load, text, file, today)
        yield lambda: _result(future)


def _load(text: str, file: str, today: dt.date) -> AccessPlan | list[Problem]:
    # InvalidInput does not cross a process boundary (its one argument is the rendered
    # text), so its problems do.
    try:
        return load_access_text(text, file, today=today)
    except InvalidInput as exc:
        return exc.problems


def _result(future: Future[AccessPlan | list[Problem]]) -> AccessPlan:
    outcome = future.result()
    if isinstance(outcome, list):
        raise InvalidInput(outcome)
    return outcome
