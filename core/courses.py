"""The courses boundary and its pure rules: what authoring calls accept and answer, who may see
or change a course, and what a course needs before it can be published."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from core.errors import Forbidden, NotFound
from core.identity import Principal

Level = Literal["beginner", "intermediate", "advanced"]
Status = Literal["draft", "publishing", "published", "archived"]
LessonKind = Literal["video", "text", "quiz"]
Title = Field(min_length=1, max_length=200)
Position = Field(default=None, ge=0, le=10_000)


class CourseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Title
    description: str = Field(min_length=1, max_length=20_000)
    category: str = Field(min_length=1, max_length=100)
    level: Level
    enrollment_limit: int | None = Field(default=None, ge=1, le=1_000_000)
    prerequisite_ids: list[int] = Field(default_factory=list, max_length=20)
    pass_threshold: int = Field(default=70, ge=0, le=100)
    # A full course queues new students instead of refusing them (API.md "Waitlist").
    waitlist: StrictBool = False


class CourseUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str | None = Title
    description: str | None = Field(default=None, min_length=1, max_length=20_000)
    category: str | None = Field(default=None, min_length=1, max_length=100)
    level: Level | None = None
    enrollment_limit: int | None = Field(default=None, ge=1, le=1_000_000)
    prerequisite_ids: list[int] | None = Field(default=None, max_length=20)
    pass_threshold: int | None = Field(default=None, ge=0, le=100)
    waitlist: StrictBool | None = None


class ModuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Title
    position: int | None = Position


class ModuleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str | None = Title
    position: int | None = Position


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1, max_length=2_000)
    choices: list[str] = Field(min_length=2, max_length=10)
    answer_index: int = Field(ge=0)

    @model_validator(mode="after")
    def answer_is_a_choice(self) -> "Question":
        if self.answer_index >= len(self.choices):
            raise ValueError("answer_index must point at one of the choices")
        return self


class QuizSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pass_score: int = Field(ge=0, le=100)
    questions: list[Question] = Field(max_length=100)


class LessonCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Title
    kind: LessonKind
    content: str | None = Field(default=None, max_length=200_000)
    duration_minutes: int | None = Field(default=None, ge=0, le=10_000)
    position: int | None = Position
    quiz: QuizSpec | None = None

    @model_validator(mode="after")
    def quiz_only_on_quizzes(self) -> "LessonCreate":
        if (self.kind == "quiz") != (self.quiz is not None):
            raise ValueError("a quiz lesson needs `quiz`, and only a quiz lesson may have one")
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
    modules: list[ModuleView] | None = None


class CoursePage(BaseModel):
    items: list[CourseView]
    page: int
    page_size: int
    total: int


class CatalogQuery(BaseModel):
    category: str | None = Field(default=None, max_length=100)
    q: str | None = Field(default=None, max_length=200)
    level: Level | None = None
    page: int = Field(default=1, ge=1, le=10_000)
    page_size: int = Field(default=20, ge=1, le=100)


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
    if status in ("published", "archived"):
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
