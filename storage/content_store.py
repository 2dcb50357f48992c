"""The content store: processed course content (chunks of lessons and materials) behind one
small interface. PostgreSQL JSONB is the zero-extra-server default; MongoDB (motor) is the
production option, selected by `settings.content_store`."""

from typing import Protocol

from motor.motor_asyncio import AsyncIOMotorClient
from sqlalchemy import delete, insert, select

from core.settings import Settings
from storage.db import Database
from storage.models.course import ContentChunk


class ContentStore(Protocol):
    async def replace_course(self, course_id: int, documents: list[dict]) -> int: ...

    async def delete_course(self, course_id: int) -> int: ...

    async def documents(self, course_id: int) -> list[dict]: ...

    async def close(self) -> None: ...


class PostgresContentStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def replace_course(self, course_id: int, documents: list[dict]) -> int:
        async with self.db.unit_of_work() as uow:
            await uow.session.execute(
                delete(ContentChunk).where(ContentChunk.course_id == course_id)
            )
            rows = [{"course_id": course_id, "document": document} for document in documents]
            if rows:
                await uow.session.execute(insert(ContentChunk), rows)
            await uow.commit()
        return len(documents)

    async def delete_course(self, course_id: int) -> int:
        async with self.db.unit_of_work() as uow:
            result = await uow.session.execute(
                delete(ContentChunk).where(ContentChunk.course_id == course_id)
            )
            await uow.commit()
        return result.rowcount

    async def documents(self, course_id: int) -> list[dict]:
        async with self.db.unit_of_work() as uow:
            rows = await uow.session.scalars(
                select(ContentChunk.document)
                .where(ContentChunk.course_id == course_id)
                .order_by(ContentChunk.id)
            )
            return list(rows)

    async def close(self) -> None:
        return None


class MongoContentStore:
    def __init__(self, settings: Settings) -> None:
        self.client = AsyncIOMotorClient(settings.mongo_url)
        self.chunks = self.client[settings.mongo_database]["content_chunks"]

    async def replace_course(self, course_id: int, documents: list[dict]) -> int:
        await self.chunks.delete_many({"course_id": course_id})
        if documents:
            rows = [
                {"course_id": course_id, "seq": n, "document": d} for n, d in enumerate(documents)
            ]
            await self.chunks.insert_many(rows, ordered=True)
        return len(documents)

    async def delete_course(self, course_id: int) -> int:
        return (await self.chunks.delete_many({"course_id": course_id})).deleted_count

    async def documents(self, course_id: int) -> list[dict]:
        cursor = self.chunks.find({"course_id": course_id}).sort("seq", 1)
        return [row["document"] async for row in cursor]

    async def close(self) -> None:
        self.client.close()


def open_content_store(settings: Settings, db: Database) -> ContentStore:
    if settings.content_store == "mongo":
        return MongoContentStore(settings)
    return PostgresContentStore(db)
