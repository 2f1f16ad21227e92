"""How long opening an access request on GitHub takes, against the local fake GitHub.

Prints, for the client as the bot runs it (PyGithub's pacing: 0.25 s between requests, 1 s
between writes) and unpaced (the client's own cost): the median wall time of reading
access.yaml and opening a reviewer-routed, labelled pull request, and the HTTP calls it makes.
The fake answers in microseconds, so the paced figure is the floor a person waits in Slack
after the ack (GitHub's own latency comes on top). Nothing is asserted.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REPO = "example-org/access"
ACCESS = "version: 1\npeople: {}\n"


def open_requests(paced: bool, count: int) -> tuple[list[float], int]:
    from dbaccess.clients import github
    from tests.fakes.github import FakeGitHub

    times: list[float] = []
    with FakeGitHub() as fake:
        fake.add_repo(REPO, {"access.yaml": ACCESS}, collaborators=("hugo",), teams=("dba",))
        gh = github.connect(
            github.GitHubAppCredentials(
                fake.app_id, fake.installation_id, fake.private_key_pem, fake.url
            ),
            paced=paced,
        )
        github.read_file(gh, REPO, "access.yaml")  # mint the token outside the timing
        calls_before = len(fake.calls)
        for n in range(count):
            started = time.perf_counter()
            current = github.read_file(gh, REPO, "access.yaml")
            github.open_access_request(
                gh,
                REPO,
                path="access.yaml",
                new_text=ACCESS + f"# request {n}\n",
                file_sha=current.sha,
                branch=f"access-request/bench/orders-{n}",
                title="Grant bench read-only on orders",
                body="benchmark",
                reviewers=["@hugo", "@example-org/dba"],
                labels=["access-request"],
            )
            times.append(time.perf_counter() - started)
        calls = (len(fake.calls) - calls_before) // count
    return times, calls


def main() -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        os.environ.pop(name, None)
    for paced, count in ((False, 20), (True, 3)):
        times, calls = open_requests(paced, count)
        label = "paced (as the bot runs)" if paced else "unpaced (client cost)"
        print(
            f"read + open one request, {label}: median {statistics.median(times) * 1000:.0f} ms "
            f"over {count}, {calls} HTTP calls each"
        )


if __name__ == "__main__":
    main()
