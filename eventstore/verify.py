"""Walk a log's stored rows and find the first place where it is not what it should be.

Checks, in global order: positions run 1, 2, 3... with no gap; every hash recomputes from the
row's text and the previous hash. Stream version gaps are found by the backend (it can sort by
stream without holding every stream in memory) and the earliest problem of the two wins.
"""

from __future__ import annotations

from collections.abc import Iterable

from .codec import GENESIS_HASH
from .records import HeadDigest, Problem, VerifyReport
from .rows import StoredRow, row_hash


def walk_chain(rows: Iterable[StoredRow]) -> VerifyReport:
    """Check positions and hash links of rows given in position order; stops at the first break."""
    expected_position = 1
    previous_hash = GENESIS_HASH
    checked = 0
    for row in rows:
        if row.position != expected_position:
            missing = (
                f"position {expected_position} is missing"
                if row.position > expected_position
                else "positions run backwards"
            )
            problem = Problem(
                row.position,
                "position_gap",
                f"position {row.position} follows {expected_position - 1}: {missing}",
            )
            return VerifyReport(checked, HeadDigest(expected_position - 1, previous_hash), problem)
        computed = row_hash(row, previous_hash)
        if computed != row.hash:
            problem = Problem(
                row.position,
                "hash_mismatch",
                f"event {row.position} ({row.type} in {row.stream_id}) does not match its hash: "
                "its content, or an event before it, was altered",
            )
            return VerifyReport(checked, HeadDigest(expected_position - 1, previous_hash), problem)
        previous_hash = row.hash
        expected_position += 1
        checked += 1
    return VerifyReport(checked, HeadDigest(expected_position - 1, previous_hash))


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
