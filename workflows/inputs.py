"""One input object per workflow and activity, so fields can be added without breaking callers."""

from dataclasses import dataclass


@dataclass(frozen=True)
class CourseRequest:
    course_id: int
    workflow_id: str


@dataclass(frozen=True)
class PublishFailed:
    course_id: int
    workflow_id: str
    reason: str


def publish_workflow_id(course_id: int) -> str:
    return f"publish-course-{course_id}"


def archive_workflow_id(course_id: int) -> str:
    return f"archive-course-{course_id}"


@dataclass(frozen=True)
class EnrollmentRequest:
    enrollment_id: int
    student_id: int
    course_id: int
