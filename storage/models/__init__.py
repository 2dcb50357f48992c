"""ORM models, one module a concept; importing the package registers every table on `Base`."""

from storage.models.base import Base
from storage.models.certificate import Certificate
from storage.models.course import (
    ContentChunk,
    Course,
    CoursePrerequisite,
    Lesson,
    Material,
    Module,
    PublishFailure,
)
from storage.models.enrollment import Enrollment, LessonCompletion, Notification, QuizAttempt
from storage.models.events import ActiveLearner, AnalyticsDaily, ProcessedEvent
from storage.models.outbox import OutboxEvent
from storage.models.preferences import NotificationPreference
from storage.models.report import CourseReport
from storage.models.user import InstructorProfile, RefreshToken, User

__all__ = [
    "ActiveLearner",
    "AnalyticsDaily",
    "Base",
    "Certificate",
    "ContentChunk",
    "Course",
    "CoursePrerequisite",
    "CourseReport",
    "Enrollment",
    "InstructorProfile",
    "Lesson",
    "LessonCompletion",
    "Material",
    "Module",
    "Notification",
    "NotificationPreference",
    "OutboxEvent",
    "ProcessedEvent",
    "PublishFailure",
    "QuizAttempt",
    "RefreshToken",
    "User",
]
