"""The browsable API's HTML forms for a task, and the translation between form fields and JSON bodies.

The API itself speaks JSON only. A browser's HTML form can only send text fields, so the forms
here show each body field as one (tags comma-separated, the due date as RFC 3339 text), and
`form_to_body` turns what such a form sends back into the JSON body the API expects: the
actions then validate it with the very serializers JSON clients meet (`TaskCreateRequest`,
`TaskUpdateRequest`). The serializers below only draw the forms; they never validate a request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers

# No import of `tasks_app.api.serializers` here: DRF imports the parsers and renderers (which use
# this module) while it defines APIView, and those serializers reach `rest_framework.views`.
from tasks_app.domain.values import Priority

# The hidden field Django's `{% csrf_token %}` adds to a form: proof of origin, not task data.
CSRF_FIELD = "csrfmiddlewaretoken"
EXAMPLE_DUE_AT = "2026-11-30T17:00:00Z"
PRIORITIES = [priority.value for priority in Priority]
EDITABLE_FIELDS = ("title", "description", "priority", "due_at", "tags")  # SPEC §2: what PATCH changes
_NEW_TASK: dict[str, Any] = {
    "title": "",
    "description": "",
    "priority": Priority.NORMAL.value,
    "due_at": None,
    "tags": [],
}


class TagsText(serializers.CharField):
    """The tags as one text input: `finance, q4` (a tag cannot hold a comma, so nothing is lost)."""

    def to_representation(self, value: Any) -> str:
        return ", ".join(value) if isinstance(value, list | tuple) else str(value)


class TaskUpdateForm(serializers.Serializer[Any]):
    """The HTML form that PATCHes a task, drawn from a task's values (`instance`: its JSON fields).

    Every field is sent, so a field left as shown changes nothing; emptied, the description and
    the tags are cleared and the due date is removed.
    """

    title = serializers.CharField(help_text="Trimmed; 1 to 200 characters.")
    description = serializers.CharField(
        style={"template": "tasks_app/form_textarea.html", "rows": 3}, help_text="At most 1000 characters."
    )
    priority = serializers.ChoiceField(choices=PRIORITIES)
    due_at = serializers.CharField(
        allow_null=True,
        style={"placeholder": EXAMPLE_DUE_AT},
        help_text=f"A time with an offset, like {EXAMPLE_DUE_AT}; empty for no due date.",
    )
    tags = TagsText(
        style={"placeholder": "finance, q4"}, help_text="Labels separated by commas; stored lower-case, each once."
    )


class TaskCreateForm(TaskUpdateForm):
    """The HTML form that creates a task (POST /tasks), drawn from `create_values`."""

    user_id = serializers.CharField(
        help_text="The task's owner. With authentication on, leave it empty: the task is yours. "
        "With authentication off, required."
    )

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        """The owner first, as in the JSON body; then the fields both forms share."""
        fields = super().get_fields()
        return {"user_id": fields.pop("user_id"), **fields}


def form_to_body(form: Mapping[str, Any], file_names: list[str] | None = None) -> dict[str, Any]:
    """The JSON body a browser form stands for.

    `form` holds each field's last value (as `QueryDict` gives it). Besides the CSRF field, it
    is translated field by field, so an unknown field still reaches the request serializer and
    is refused there by name: tags split at commas, an empty due date is none, an empty owner
    is left out (the caller's own), a textarea's CRLF line breaks are the `\\n` it showed.
    A file has no place in a task: its field arrives as null and is refused.
    """
    body: dict[str, Any] = {}
    for name, value in form.items():
        if name == CSRF_FIELD:
            continue
        if name == "tags":
            body[name] = [label.strip() for label in str(value).split(",") if label.strip()]
        elif name == "due_at":
            body[name] = str(value).strip() or None
        elif name == "user_id":
            if str(value).strip():
                body[name] = value
        elif name == "description":
            body[name] = str(value).replace("\r\n", "\n")
        else:
            body[name] = value
    for name in file_names or []:
        body[name] = None
    return body


def create_values(owner: str, submitted: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What the create form starts from: a new task's defaults for `owner` ("" for yourself),
    then whatever a failed create sent, so a correction does not mean typing it all again."""
    values = {"user_id": owner, **_NEW_TASK}
    return {**values, **{name: value for name, value in (submitted or {}).items() if name in values}}


def update_values(task: Mapping[str, Any] | None, submitted: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What the edit form starts from: the task's editable fields, or what a failed edit from this
    form sent (it sends them all); None when neither is known, and no edit form fits."""
    if task is not None:
        return {name: task[name] for name in EDITABLE_FIELDS}
    if submitted is not None and all(name in submitted for name in EDITABLE_FIELDS):
        return {name: submitted[name] for name in EDITABLE_FIELDS}
    return None


def raw_body(values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` as a JSON body to start from in the raw-data box: an empty owner is left out."""
    return {name: value for name, value in values.items() if not (name == "user_id" and not value)}
