"""Which course materials are accepted: the type comes from the file name's extension and must
agree with the file's first bytes, so a renamed executable is not served as a PDF."""

import re
from dataclasses import dataclass

from core.errors import ValidationFailed
from core.text import control_problem

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "txt": "text/plain",
    "md": "text/markdown",
    "mp4": "video/mp4",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
}
TEXT_TYPES = {"text/plain", "text/markdown"}
TEXT_CONTROLS_ALLOWED = frozenset("\n\r\t\f")
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class AcceptedMaterial:
    filename: str
    content_type: str
    extension: str


def looks_like(content_type: str, data: bytes) -> bool:
    if content_type == "application/pdf":
        return data.startswith(b"%PDF-")
    if content_type == "image/png":
        return data.startswith(b"\x89PNG\r\n\x1a\n")
    if content_type == "image/jpeg":
        return data.startswith(b"\xff\xd8\xff")
    if content_type == "video/mp4":
        return data[4:8] == b"ftyp"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    # A text file is text: NUL and other control characters mean a binary file renamed.
    return control_problem(text, TEXT_CONTROLS_ALLOWED) is None


def accept_material(filename: str | None, data: bytes) -> AcceptedMaterial:
    """The material's safe name and type; 422 for a missing, unknown or mismatched file."""
    name = SAFE_NAME.sub("_", (filename or "").rsplit("/", 1)[-1]).strip("._")[:200]
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    content_type = CONTENT_TYPES.get(extension)
    field = [{"field": "file", "message": ""}]
    if content_type is None:
        field[0]["message"] = f"must be one of: {', '.join(sorted(CONTENT_TYPES))}"
        raise ValidationFailed("Unsupported material type", field)
    if not data:
        field[0]["message"] = "is empty"
        raise ValidationFailed("The file is empty", field)
    if not looks_like(content_type, data):
        field[0]["message"] = f"is not a valid {extension} file"
        raise ValidationFailed("The file's content does not match its type", field)
    return AcceptedMaterial(filename=name, content_type=content_type, extension=extension)
