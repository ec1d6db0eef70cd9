"""The emails' content, from Django templates (notifications_app/templates/notifications/email/):
each message is a `.txt` and an `.html` template of the same name. The HTML templates escape
what they show (task titles are user input); the text ones turn autoescaping off."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.template.loader import render_to_string

from notifications_app.application.ports import MailMessage

_TEMPLATES = "notifications/email/"
_SUBJECT_TITLE_MAX = 80  # a long title would push the subject past what mail clients show
_SUBJECTS = {
    "TaskCompleted": "Completed: {title}",
    "TaskDueSoon": "Due soon: {title}",
    "TaskOverdue": "Overdue: {title}",
}
_TEMPLATE_OF = {"TaskCompleted": "task_completed", "TaskDueSoon": "task_due_soon", "TaskOverdue": "task_overdue"}


def _one_line(text: str, limit: int) -> str:
    """`text` on one line (a header must not carry a line break), cut to `limit` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _render(name: str, subject: str, context: Mapping[str, Any]) -> MailMessage:
    return MailMessage(
        subject=subject,
        text=render_to_string(f"{_TEMPLATES}{name}.txt", dict(context)),
        html=render_to_string(f"{_TEMPLATES}{name}.html", dict(context)),
    )


class TemplateMailComposer:
    """`MailComposer` from the templates."""

    def confirmation(self, *, email: str, link: str) -> MailMessage:
        """Asks the owner of `email` to open `link` (and to ignore it if they did not ask)."""
        return _render("confirm", "Confirm your email address for task notifications", {"email": email, "link": link})

    def for_event(self, event: Mapping[str, Any]) -> MailMessage:
        """A `TaskCompleted`, `TaskDueSoon` or `TaskOverdue` message (SPEC §4) to the task's owner;
        `KeyError` for another type."""
        event_type = event["event_type"]
        data = event.get("data", {})
        title = str(data.get("task_title") or event.get("aggregate_id", "a task"))
        due_at = data.get("due_at")
        context = {
            "title": title,
            "task_id": event.get("aggregate_id", ""),
            "due_at": datetime.fromisoformat(due_at) if isinstance(due_at, str) else None,
            "when": datetime.fromisoformat(event["timestamp"]) if event.get("timestamp") else None,
        }
        subject = _SUBJECTS[event_type].format(title=_one_line(title, _SUBJECT_TITLE_MAX))
        return _render(_TEMPLATE_OF[event_type], subject, context)
