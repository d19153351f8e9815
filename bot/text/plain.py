"""Answers as plain text for the terminal (``tupoksi ask``); the same policy as the HTML replies."""

from __future__ import annotations

from bot.core.answer import Answer, Assignment
from bot.text.words import ASK_HINT, confidence_label, decline_message, named_elsewhere_note, through_note


def _duty_line(assignment: Assignment) -> str:
    if assignment.duty is None:
        return f"   {through_note(assignment)}" if assignment.through else ""
    return f'   Tugas #{assignment.duty.number}: "{assignment.duty.text}"'


def render_plain(answer: Answer) -> str:
    """The answer as plain text for the terminal."""
    if not answer.answered:
        lines = [decline_message(answer)]
        if answer.nearest and answer.needs_review:
            lines.append("Unit terdekat: " + "; ".join(u.short_name for u in answer.nearest))
        if answer.shows_hint:
            lines.append(ASK_HINT)
        return "\n".join(lines)
    lines = []
    if answer.divisi:
        lines.append(f"Divisi     : {answer.divisi.unit.name}")
        lines.append(_duty_line(answer.divisi))
    if answer.subbag:
        bagian = f" ({answer.subbag.parent.name})" if answer.subbag.parent else ""
        lines.append(f"Sub Bagian : {answer.subbag.unit.name}{bagian}")
        lines.append(_duty_line(answer.subbag))
    else:
        lines.append("Sub Bagian : SOP tidak menyebut Sub Bagian pelaksana khusus untuk urusan ini.")
    lines.append(f"Keyakinan  : {confidence_label(answer.confidence)} ({answer.confidence:.0%})")
    if answer.alternatives:
        names = "; ".join(a.unit.short_name for a in answer.alternatives)
        lines.append(f"Mungkin juga: {names}")
    if answer.named_elsewhere:
        lines.append(named_elsewhere_note(answer))
    if answer.corrections:
        fixed = ", ".join(f"{k} → {v}" for k, v in answer.corrections.items())
        lines.append(f"(dibaca sebagai: {fixed})")
    return "\n".join(line for line in lines if line)
