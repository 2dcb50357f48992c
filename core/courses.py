"""The courses boundary and its pure rules: what authoring calls accept and answer, who may see
or change a course, and what a course needs before it can be published."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from core.errors import Forbidden, NotFound
from core.identity import Principal
from core.pages import Page, PageQuery
from core.status import CourseStatus
from core.text import INT64_MAX, Line, LongText, RowId

Level = Literal["beginner", "intermediate", "advanced"]
Status = Literal["draft", "publishing", "published", "archived"]
LessonKind = Literal["video", "text", "quiz"]
Title = Field(min_length=1, max_length=200)
Position = Field(default=None, ge=0, le=10_000)
# Request bodies: unknown fields refused, strings trimmed, integers strict (API.md rules).
REQUEST = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)


class CourseCreate(BaseModel):
    model_config = REQUEST

    title: Line = Title
    description: LongText = Field(min_length=1, max_length=20_000)
    category: Line = Field(min_length=1, max_length=100)
    level: Level
    enrollment_limit: int | None = Field(default=None, ge=1, le=1_000_000)
    prerequisite_ids: list[RowId] = Field(default_factory=list, max_length=20)
    pass_threshold: int = Field(default=70, ge=0, le=100)
    # A full course queues new students instead of refusing them (API.md "Waitlist").
    waitlist: StrictBool = False


class CourseUpdate(BaseModel):
    """Partial: an absent field keeps its value. Only `enrollment_limit` may be set to null
    (no limit); a null title or level is refused, as the columns cannot be empty."""

    model_config = REQUEST

    title: Line = Field(default=None, min_length=1, max_length=200)
    description: LongText = Field(default=None, min_length=1, max_length=20_000)
    category: Line = Field(default=None, min_length=1, max_length=100)
    level: Level = None
    enrollment_limit: int | None = Field(default=None, ge=1, le=1_000_000)
    prerequisite_ids: list[RowId] = Field(default=None, max_length=20)
    pass_threshold: int = Field(default=None, ge=0, le=100)
    waitlist: StrictBool = None


class ModuleCreate(BaseModel):
    model_config = REQUEST

    title: Line = Title
    position: int | None = Position


class ModuleUpdate(BaseModel):
    """Partial, like CourseUpdate."""

    model_config = REQUEST

    title: Line = Field(default=None, min_length=1, max_length=200)
    position: int = Position


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    prompt: LongText = Field(min_length=1, max_length=2_000)
    choices: list[Line] = Field(min_length=2, max_length=10)
    answer_index: int = Field(ge=0, le=INT64_MAX)

    @model_validator(mode="after")
    def answer_is_a_choice(self) -> "Question":
        if self.answer_index >= len(self.choices):
            raise ValueError("answer_index must point at one of the choices")
        return self


class QuizSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    pass_score: int = Field(ge=0, le=100)
    questions: list[Question] = Field(max_length=100)


class LessonCreate(BaseModel):
    model_config = REQUEST

    title: Line = Title
    kind: LessonKind
    content: LongText | None = Field(default=None, max_length=200_000)
    duration_minutes: int | None = Field(default=None, ge=0, le=10_000)
    position: int | None = Position
    quiz: QuizSpec | None = None

    @model_validator(mode="after")
    def quiz_only_on_quizzes(self) -> "LessonCreate":
        if (self.kind == "quiz") != (self.quiz is not None):
            raise ValueError("a quiz lesson needs `quiz`, and only a quiz lesson may have one")
        return self


class LessonUpdate(BaseModel):
    """A partial lesson edit; a lesson keeps its kind (a quiz stays a quiz)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str | None = Field(default=None, min_length=1, max_length=200)
    content: str | None = Field(default=None, max_length=200_000)
    duration_minutes: int | None = Field(default=None, ge=0, le=10_000)
    position: int | None = Position
    quiz: QuizSpec | None = None


class OrderRequest(BaseModel):
    """Every live module (or every live lesson of a module), in their new order."""

    model_config = ConfigDict(extra="forbid")

    ids: list[int] = Field(min_length=1, max_length=1_000)

    @model_validator(mode="after")
    def distinct(self) -> "OrderRequest":
        if len(set(self.ids)) != len(self.ids):
            raise ValueError("ids must not repeat")
        return self


class LessonView(BaseModel):
    id: int
    title: str
    kind: LessonKind
    position: int
    duration_minutes: int | None


class ModuleView(BaseModel):
    id: int
    title: str
    position: int
    lessons: list[LessonView] = Field(default_factory=list)


class CourseView(BaseModel):
    id: int
    title: str
    description: str
    category: str
    level: Level
    status: Status
    instructor_id: int
    enrollment_limit: int | None
    enrolled_count: int
    prerequisite_ids: list[int]
    pass_threshold: int
    waitlist: bool = False
    publish_error: str | None = None
    published_at: datetime | None
    created_at: datetime
    structure_version: int = 1
    modules: list[ModuleView] | None = None


CoursePage = Page[CourseView]


class CatalogQuery(PageQuery):
    category: Line | None = Field(default=None, max_length=100)
    q: Line | None = Field(default=None, max_length=200)
    level: Level | None = None


class MaterialView(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    url: str


class WorkflowAccepted(BaseModel):
    workflow_id: str
    status: Literal["QUEUED"] = "QUEUED"


def check_visible(principal: Principal | None, instructor_id: int, status: str) -> None:
    """Drafts (and courses being published) exist only for their owner and admins: 404 to
    everyone else, so an id reveals nothing."""
    if status in (CourseStatus.PUBLISHED, CourseStatus.ARCHIVED):
        return
    if principal is None or not principal.may_act_for(instructor_id):
        raise NotFound("Course not found")


def check_manageable(principal: Principal, instructor_id: int, status: str) -> None:
    """Only the owning instructor or an admin changes a course; others who may see it get 403."""
    check_visible(principal, instructor_id, status)
    if not principal.may_act_for(instructor_id):
        raise Forbidden("Only the course's instructor may change it")


def publish_problems(modules: list[dict]) -> list[str]:
    """Why a course structure cannot be published (empty when it can). `modules` holds
    `{title, lessons: [{title, kind, quiz}]}` in order."""
    if not modules:
        return ["the course has no modules"]
    problems = [f"module {m['title']!r} has no lessons" for m in modules if not m["lessons"]]
    for module in modules:
        for lesson in module["lessons"]:
            quiz = lesson.get("quiz") or {}
            if lesson["kind"] == "quiz" and not quiz.get("questions"):
                problems.append(f"quiz {lesson['title']!r} has no questions")
    return problems
