"""Walk a log's stored rows and find the first place where it is not what it should be.

Checks, in global order: positions run 1, 2, 3... with no gap; every hash recomputes from the
row's text and the previous hash. Stream versions are checked over the backend's stream index
(sorted by stream, so no stream is held in memory); the earliest problem wins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .codec import GENESIS_HASH
from .records import HeadDigest, Problem, VerifyReport
from .rows import StoredRow, row_hash, wrong_type


class ChainWalk:
    """Check positions, column types and hash links of rows given in position order; it stops
    at the first break (`problem`), after which `step` ignores its rows."""

    def __init__(self) -> None:
        self.expected_position = 1
        self.previous_hash = GENESIS_HASH
        self.checked = 0
        self.problem: Problem | None = None

    def step(self, row: StoredRow) -> None:
        if self.problem is not None:
            return
        if row.position != self.expected_position:
            missing = (
                f"position {self.expected_position} is missing"
                if row.position > self.expected_position
                else "positions run backwards"
            )
            self.problem = Problem(
                row.position,
                "position_gap",
                f"position {row.position} follows {self.expected_position - 1}: {missing}",
            )
            return
        wrong = wrong_type(row)
        if wrong is not None:
            self.problem = Problem(
                row.position, "malformed_row", f"event {row.position} is malformed: {wrong}"
            )
            return
        if row_hash(row, self.previous_hash) != row.hash:
            self.problem = Problem(
                row.position,
                "hash_mismatch",
                f"event {row.position} ({row.type} in {row.stream_id}) does not match its hash: "
                "its content, or an event before it, was altered",
            )
            return
        self.previous_hash = row.hash
        self.expected_position += 1
        self.checked += 1

    def report(self) -> VerifyReport:
        head = HeadDigest(self.expected_position - 1, self.previous_hash)
        return VerifyReport(self.checked, head, self.problem)


def walk_chain(rows: Iterable[StoredRow]) -> VerifyReport:
    """Check positions and hash links of rows given in position order; stops at the first break."""
    walk = ChainWalk()
    for row in rows:
        walk.step(row)
        if walk.problem is not None:
            break
    return walk.report()


def first_stream_break(
    index: Iterable[tuple[str, int, int]], stream_rows: Callable[[str], Iterable[StoredRow]]
) -> Problem | None:
    """The first event (by position) whose stream version does not follow its predecessor in its
    stream. `index` gives (stream id, version, position) ordered by stream and version; an intact
    stream runs 1, 2, 3... at rising positions. Only a broken stream is read again in full
    (`stream_rows`) to find where, so memory stays flat on an intact log."""
    found: Problem | None = None
    stream: object = None
    version = position = 0
    broken = False
    for stream_id, this_version, this_position in index:
        if stream_id != stream:
            stream, version, position, broken = stream_id, 0, 0, False
        if broken:
            continue
        if this_version != version + 1 or _below(this_position, position):
            broken = True
            problem = _break_in(stream_rows(stream_id))
            if problem is not None and (found is None or problem.position < found.position):
                found = problem
            continue
        version, position = this_version, this_position
    return found


def _below(position: object, previous: int) -> bool:
    return type(position) is not int or position <= previous


def _break_in(rows: Iterable[StoredRow]) -> Problem | None:
    previous = 0
    for row in sorted(rows, key=lambda r: r.position):
        if type(row.stream_version) is not int or row.stream_version != previous + 1:
            return stream_break_problem(row.position, row.stream_id, row.stream_version, previous)
        previous = row.stream_version
    return None


def earliest(report: VerifyReport, stream_problem: Problem | None) -> VerifyReport:
    """Merge a chain walk with the backend's stream-version check: the earlier problem wins."""
    if stream_problem is None:
        return report
    if report.problem is not None and report.problem.position <= stream_problem.position:
        return report
    return VerifyReport(report.checked, report.head, stream_problem)


def check_digest(report: VerifyReport, digest: HeadDigest, hash_at: str | None) -> VerifyReport:
    """Check that a verified log still extends a head digest kept earlier.

    `hash_at` is the stored hash at `digest.position` (None when the log is shorter).
    """
    if report.problem is not None:
        return report
    if digest.position == 0 and digest.hash == GENESIS_HASH:
        return report  # the digest of an empty log: every log extends it
    if hash_at is None:
        problem = Problem(
            digest.position,
            "truncated",
            f"the log ends at position {report.head.position}, before the digest's position "
            f"{digest.position}: events were removed",
        )
    elif hash_at != digest.hash:
        problem = Problem(
            digest.position,
            "digest_mismatch",
            f"event {digest.position} no longer has the hash in the digest: the log was rewritten",
        )
    else:
        return report
    return VerifyReport(report.checked, report.head, problem)


def stream_break_problem(position: int, stream_id: str, version: int, previous: int) -> Problem:
    """Describe a stream version that does not follow the previous one in its stream."""
    return Problem(
        position,
        "stream_version_gap",
        f"event {position} is version {version} of {stream_id} but follows version {previous}",
    )
