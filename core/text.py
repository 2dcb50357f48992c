"""Text and integer types for every request field: what the contract rules of API.md accept.

Control characters (NUL above all: PostgreSQL refuses it in text, so it used to surface as a
500), lone surrogates and the other invisible code points that JSON can smuggle in are refused
with a 422 naming the field. Long text keeps its line breaks and tabs. Integers are strict
(`false` and `"1"` are not numbers) and bounded to int64, the range of every BIGINT column.
"""

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, Field, Strict
from pydantic_core import PydanticCustomError

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Cc: C0/C1 controls and DEL; Cs: lone surrogates (not encodable as UTF-8); Cn: unassigned.
REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Cn"})
LONG_TEXT_ALLOWED = frozenset("\n\t\r")


def control_problem(value: str, allowed: frozenset[str] = frozenset()) -> str | None:
    """Why `value` cannot be stored as text, or None."""
    for char in value:
        if char not in allowed and unicodedata.category(char) in REFUSED_CATEGORIES:
            return f"must not contain control characters (found U+{ord(char):04X})"
    return None


def single_line(value: str) -> str:
    problem = control_problem(value)
    if problem:
        raise PydanticCustomError("control_character", problem)
    return value


def long_text(value: str) -> str:
    problem = control_problem(value, LONG_TEXT_ALLOWED)
    if problem:
        raise PydanticCustomError("control_character", problem)
    return value


# A name, title, token or query: no control character at all.
Line = Annotated[str, AfterValidator(single_line)]
# A description or lesson body: line breaks and tabs are content.
LongText = Annotated[str, AfterValidator(long_text)]
# Any integer in a JSON body: a real number, within int64.
StrictInt64 = Annotated[int, Strict(), Field(ge=INT64_MIN, le=INT64_MAX)]
# A row id in a body (BIGINT identity columns start at 1).
RowId = Annotated[int, Strict(), Field(ge=1, le=INT64_MAX)]
