"""The use cases without Telegram: ask and log, teach (one unit per level), forget, reload."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.matcher import Matcher
from bot.core.model import KnowledgeBase, Level
from bot.knowledge.loader import KnowledgeBaseError
from bot.service import AlreadyTaught, NoQuestionLog, NotTeachable, Service, Taught
from bot.storage import Database, QueryRecord, Source, open_database
from tests.support.fakes import RecordingLog

UNKNOWN = "siapa yang urus klub mancing"


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = await open_database(tmp_path / "tupoksi.sqlite3")
    try:
        yield db
    finally:
        await db.close()


async def _asked(service: Service, database: Database, question: str) -> QueryRecord:
    """Ask ``question`` through the service and read back its logged record."""
    _, question_id = service.ask(question, source=Source.PRIVATE)
    await database.flush()
    record = await database.query(question_id)
    assert record is not None
    return record


def test_ask_answers_and_logs_with_its_source(kb: KnowledgeBase) -> None:
    log = RecordingLog()
    service = Service(Matcher(kb), log)
    answer, question_id = service.ask(
        "siapa yang mengurus kenaikan gaji berkala pegawai?", source=Source.CLI, user_id=7
    )
    assert answer.answered and answer.subbag is not None
    (record,) = log.records
    assert (record.id, record.source, record.user_id, record.chat_id) == (question_id, "cli", 7, None)
    assert service.keeps_questions and service.database is None
    assert not Service(Matcher(kb), NoQuestionLog()).keeps_questions


async def test_teach_is_one_unit_per_level_and_forget_undoes_it(
    kb: KnowledgeBase, database: Database
) -> None:
    service = Service(Matcher(kb), database)
    record = await _asked(service, database, UNKNOWN)
    keuangan, sdm = kb.unit("subbag-keuangan"), kb.unit("subbag-sdm")

    taught = await service.teach(database, record, keuangan, admin_id=1)
    assert isinstance(taught, Taught) and taught.resolved == 1
    again = await service.teach(database, record, sdm, admin_id=1)
    assert isinstance(again, AlreadyTaught) and again.phrase.unit_id == "subbag-keuangan"
    assert again.phrase.level is Level.SUBBAG
    assert service.matcher.match(UNKNOWN).subbag[0].unit_id == "subbag-keuangan"

    forgotten = await service.forget(database, taught.learned_id)
    assert forgotten is not None and forgotten.unit_id == "subbag-keuangan"
    assert await service.forget(database, taught.learned_id) is None
    assert not service.matcher.match(UNKNOWN).answered


async def test_a_taught_phrase_cites_the_duty_the_admin_picked_now_and_after_a_restart(
    kb: KnowledgeBase, database: Database
) -> None:
    service = Service(Matcher(kb), database)
    record = await _asked(service, database, UNKNOWN)
    taught = await service.teach(database, record, kb.unit("subbag-sdm"), admin_id=1)
    assert isinstance(taught, Taught)
    assert service.matcher.match(UNKNOWN).subbag[0].duty is None  # no duty picked yet

    (phrase,) = await service.taught(database, record.normalized)
    await service.set_duty(database, phrase, 3)  # "usulan kesejahteraan pegawai"
    assert str(service.matcher.match(UNKNOWN).subbag[0].duty) == "subbag-sdm#3"

    restarted = Service(Matcher(kb), database)
    assert await restarted.apply_learned() == 1
    assert str(restarted.matcher.match(UNKNOWN).subbag[0].duty) == "subbag-sdm#3"


async def test_a_question_without_words_cannot_be_taught(kb: KnowledgeBase, database: Database) -> None:
    service = Service(Matcher(kb), database)
    _, question_id = service.ask("?!", source=Source.PRIVATE)
    await database.flush()
    record = await database.query(question_id)
    assert record is not None
    assert isinstance(await service.teach(database, record, kb.unit("subbag-sdm"), 1), NotTeachable)


async def test_reload_swaps_kb_and_matcher_only_when_valid(
    kb: KnowledgeBase, kb_copy: Path, database: Database
) -> None:
    service = Service(Matcher(kb), database)
    before = service.matcher
    reloaded = await service.reload(kb_copy)
    assert reloaded.old is kb and reloaded.new.content_hash == kb.content_hash
    assert service.matcher is not before and service.kb is reloaded.new
    shutil.rmtree(kb_copy / "units")
    current = service.matcher
    with pytest.raises(KnowledgeBaseError):
        await service.reload(kb_copy)
    assert service.matcher is current  # the old KB keeps serving
