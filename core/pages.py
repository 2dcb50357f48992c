"""Paging, the one shape of every list (API.md, Contract rules): the query a caller sends
(`page` from 1, `page_size` 1..100, default 20) and the page it gets back."""

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")
MAX_PAGE = 10_000


class PageQuery(BaseModel):
    page: int = Field(default=1, ge=1, le=MAX_PAGE)
    page_size: int = Field(default=20, ge=1, le=100)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    @property
    def limit(self) -> int:
        return self.page_size


class Page(BaseModel, Generic[T]):
    """A page beyond the end has no items and still the right `total`."""

    items: list[T]
    page: int
    page_size: int
    total: int


def page_of(query: PageQuery, items: list, total: int, **extra: object) -> dict:
    return {
        "items": items,
        "page": query.page,
        "page_size": query.page_size,
        "total": total,
        **extra,
    }
