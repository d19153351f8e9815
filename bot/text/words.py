"""The sentences both renderings share (Telegram HTML and the terminal): declines, confidence, notes.

Indonesian, as plain text: :mod:`bot.text.answers` escapes them for HTML,
:mod:`bot.text.plain` prints them as they are.
"""

from __future__ import annotations

from bot.core.answer import Answer, Assignment
from bot.core.conversation import SmallTalk
from bot.core.matcher import SURE, Reason
from bot.core.model import Level

LEVEL_ICON = {Level.DIVISI: "🏛", Level.SEKRETARIAT: "🏢", Level.BAGIAN: "🏢", Level.SUBBAG: "🗂"}
LEVEL_LABEL = {
    Level.DIVISI: "Divisi",
    Level.SEKRETARIAT: "Sekretariat",
    Level.BAGIAN: "Bagian",
    Level.SUBBAG: "Sub Bagian",
}

# Confidence bands, in words people understand (score is in [0, 1]).
CONFIDENCE_BANDS: tuple[tuple[float, str], ...] = (
    (SURE, "sangat yakin"),
    (0.62, "cukup yakin"),
    (0.0, "kurang yakin, mohon dicek"),
)

DECLINE_MESSAGES = {
    Reason.EMPTY: "Urusan apa yang ingin ditanyakan?",  # the hint below gives an example
    Reason.CHITCHAT: (
        "Halo! Saya membantu mencari unit yang menangani suatu urusan di KPU Provinsi Banten. "
        "Tanyakan misalnya: siapa yang mengurus kenaikan gaji berkala?"
    ),
    Reason.FACT_QUESTION: (
        "Maaf, saya hanya bisa menjawab siapa (Divisi/Sub Bagian) yang menangani suatu urusan "
        "menurut SOP, bukan angka, tanggal, atau fakta pemilu."
    ),
    Reason.DEFINITION: (
        "Maaf, saya tidak menjelaskan arti istilah. Saya hanya bisa menjawab siapa (Divisi/Sub Bagian) "
        "yang menangani suatu urusan menurut SOP, misalnya: siapa yang mengurus DPT?"
    ),
    Reason.OTHER_AGENCY: (
        "Maaf, sepertinya itu urusan instansi lain. Saya hanya tahu pembagian tugas di KPU Provinsi Banten."
    ),
    Reason.OTHER_OFFICE: (
        "Maaf, sepertinya itu urusan KPU kabupaten/kota atau KPU RI sendiri. "
        "Saya hanya tahu pembagian tugas di KPU Provinsi Banten."
    ),
    Reason.BOT_TASK: (
        "Maaf, saya tidak bisa meringkas, menerjemahkan, mengingatkan, menghitung, atau membuatkan "
        "dokumen. Saya hanya membantu mencari siapa yang menangani suatu urusan di KPU Provinsi Banten."
    ),
    Reason.NO_MATCH: "Maaf, saya belum menemukan unit yang menangani hal itu dalam SOP.",
    Reason.LOW_SCORE: "Maaf, saya belum yakin unit mana yang menangani hal itu.",
}
# Small talk gets a short, kind reply of its own kind (and is never put up for review).
SMALL_TALK_MESSAGES = {
    SmallTalk.ASK_INTENT: (
        "Silakan 😊 Tulis saja urusannya, misalnya: siapa yang mengurus SPJ perjalanan dinas?"
    ),
    SmallTalk.THANKS: "Sama-sama 🙏 Kalau ada urusan lain, tanya saja.",
    SmallTalk.GREETING: (
        "Halo 👋 Ada yang bisa saya bantu? Tulis urusannya, misalnya: siapa yang mengurus arsip surat masuk?"
    ),
    SmallTalk.ACKNOWLEDGEMENT: "👍 Siap. Kalau ada urusan lain, tanya saja.",
    SmallTalk.OTHER: (
        "Saya Tupoksi Bot 🤖, membantu mencari siapa yang mengurus suatu urusan di KPU Provinsi Banten. "
        "Tanyakan misalnya: siapa yang mengurus kenaikan gaji berkala?"
    ),
}
ASK_HINT = (
    'Coba sebut urusannya dengan kata kunci yang jelas, misalnya: "siapa yang mengurus SPJ perjalanan dinas?"'
)


def confidence_label(score: float) -> str:
    """A score in words."""
    return next(label for floor, label in CONFIDENCE_BANDS if score >= floor)


def decline_message(answer: Answer) -> str:
    """Why there is no answer, politely; small talk gets a reply of its kind."""
    if answer.small_talk is not None:
        return SMALL_TALK_MESSAGES[answer.small_talk]
    return DECLINE_MESSAGES.get(answer.reason, DECLINE_MESSAGES[Reason.NO_MATCH])


def named_elsewhere_note(answer: Answer) -> str:
    """Tell the asker, politely, that the unit they named is not the one the SOP gives."""
    names = " / ".join(u.short_name for u in answer.named_elsewhere)
    return f"Catatan: menurut SOP, urusan ini bukan tugas {names}."


def through_note(assignment: Assignment) -> str:
    """Why a unit is named when none of its own duties covers the question."""
    duty, unit = assignment.through, assignment.through_unit
    if duty is None or unit is None:
        return ""
    return (
        f"Tidak ada tugasnya yang khusus; ditunjuk lewat tugas #{duty.number} "
        f'{unit.short_name}: "{duty.text}"'
    )
