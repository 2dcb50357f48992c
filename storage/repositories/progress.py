"""The group commit of progress: lesson completions, quiz attempts, the enrollments' progress
and their outbox events, written by one statement (DESIGN.md "Rooms": when progress is
durable)."""

import json
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from core.events import EventEnvelope
from core.progress import COMPLETES_FROM, ProgressChange
from core.status import EnrollmentStatus
from storage.outbox import outbox_row

# A group commit is one statement, so on an autocommit connection it is one round trip and one
# transaction: completions, quiz attempts, the enrollments' progress and the outbox rows are
# stored together or not at all. Each table's rows travel as one array per column.
GROUP_COMMIT = text(
    """
    WITH completions AS (
        INSERT INTO lesson_completions (enrollment_id, lesson_id, completed_at)
        SELECT * FROM unnest(
            CAST(:c_enrollment AS BIGINT[]), CAST(:c_lesson AS BIGINT[]),
            CAST(:c_at AS TIMESTAMPTZ[])
        )
        ON CONFLICT DO NOTHING
    ), attempts AS (
        INSERT INTO quiz_attempts
            (enrollment_id, lesson_id, attempt, score, passed, answers, submitted_at)
        SELECT enrollment, lesson, attempt, score, passed, CAST(answers AS JSONB), at
        FROM unnest(
            CAST(:q_enrollment AS BIGINT[]), CAST(:q_lesson AS BIGINT[]),
            CAST(:q_attempt AS INTEGER[]), CAST(:q_score AS INTEGER[]),
            CAST(:q_passed AS BOOLEAN[]), CAST(:q_answers AS TEXT[]),
            CAST(:q_at AS TIMESTAMPTZ[])
        ) AS q(enrollment, lesson, attempt, score, passed, answers, at)
    ), progress AS (
        UPDATE enrollments AS e SET
            completion_percentage = u.percentage,
            last_accessed_at = u.at,
            status = CASE WHEN u.finished AND e.status = ANY(CAST(:completes_from AS TEXT[]))
                THEN CAST(:completed AS TEXT) ELSE e.status END,
            completed_at = CASE WHEN u.finished AND e.status = ANY(CAST(:completes_from AS TEXT[]))
                THEN u.at ELSE e.completed_at END
        FROM unnest(
            CAST(:e_id AS BIGINT[]), CAST(:e_percentage AS FLOAT8[]),
            CAST(:e_at AS TIMESTAMPTZ[]), CAST(:e_finished AS BOOLEAN[])
        ) AS u(id, percentage, at, finished)
        WHERE e.id = u.id
    )
    INSERT INTO outbox (event_id, event_type, topic, key, payload, trace_context)
    SELECT id, type, topic, key, CAST(payload AS JSONB), CAST(trace AS JSONB)
    FROM unnest(
        CAST(:o_id AS UUID[]), CAST(:o_type AS TEXT[]), CAST(:o_topic AS TEXT[]),
        CAST(:o_key AS TEXT[]), CAST(:o_payload AS TEXT[]), CAST(:o_trace AS TEXT[])
    ) AS o(id, type, topic, key, payload, trace)
    """
)


def group_commit_parameters(
    changes: Sequence[ProgressChange], events: Sequence[tuple[EventEnvelope, dict[str, str]]]
) -> dict[str, list]:
    """The columns of every row a group commit writes. An enrollment gets one progress row, from
    its latest change, and is finished when any of its changes completed the course."""
    completions = [c for c in changes if c.lesson_id is not None]
    attempts = [c for c in changes if c.quiz]
    latest = {c.enrollment_id: c for c in changes}
    finished = {c.enrollment_id for c in changes if c.completed_course}
    outbox = [outbox_row(event, trace) for event, trace in events]
    return {
        # core.progress.completes_enrollment, as the statement applies it.
        "completes_from": list(COMPLETES_FROM),
        "completed": str(EnrollmentStatus.COMPLETED),
        "c_enrollment": [c.enrollment_id for c in completions],
        "c_lesson": [c.lesson_id for c in completions],
        "c_at": [c.at for c in completions],
        "q_enrollment": [c.enrollment_id for c in attempts],
        "q_lesson": [c.quiz["lesson_id"] for c in attempts],
        "q_attempt": [c.quiz["attempt"] for c in attempts],
        "q_score": [c.quiz["score"] for c in attempts],
        "q_passed": [c.quiz["passed"] for c in attempts],
        "q_answers": [json.dumps(c.quiz["answers"]) for c in attempts],
        "q_at": [c.at for c in attempts],
        "e_id": list(latest),
        "e_percentage": [c.percentage for c in latest.values()],
        "e_at": [c.at for c in latest.values()],
        "e_finished": [enrollment_id in finished for enrollment_id in latest],
        "o_id": [row["event_id"] for row in outbox],
        "o_type": [row["event_type"] for row in outbox],
        "o_topic": [row["topic"] for row in outbox],
        "o_key": [row["key"] for row in outbox],
        "o_payload": [json.dumps(row["payload"]) for row in outbox],
        "o_trace": [json.dumps(t) if (t := row["trace_context"]) else None for row in outbox],
    }


async def write_progress(
    connection: AsyncConnection,
    changes: Sequence[ProgressChange],
    events: Sequence[tuple[EventEnvelope, dict[str, str]]],
) -> None:
    """Store a group commit and its outbox events; on an autocommit connection (`Database.
    autocommit`) they are durable when this returns."""
    await connection.execute(GROUP_COMMIT, group_commit_parameters(changes, events))
