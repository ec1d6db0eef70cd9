"""The browsable API: DRF's pages, with HTML forms for tasks, links in the JSON shown, and buttons for the actions."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.core.exceptions import SuspiciousOperation
from django.urls import NoReverseMatch, reverse
from django.utils.html import escape
from django.utils.safestring import SafeString
from rest_framework.exceptions import APIException
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer
from rest_framework.request import Request, override_method
from rest_framework.utils.urls import replace_query_param

from tasks_app.api.forms import TaskUpdateForm, create_values, raw_body, update_values
from tasks_app.domain.values import TaskStatus

if TYPE_CHECKING:  # DRF imports these modules while it defines APIView: no import of it at run time
    from rest_framework.views import APIView

# The forms drawn from the task form serializers; DELETE and OPTIONS stay DRF's buttons.
_FORM_METHODS = ("POST", "PATCH")
# Where each status action takes a task (SPEC §1); whether it may is `TaskStatus.can_become`.
_ACTION_TARGETS = {
    "start": TaskStatus.IN_PROGRESS,
    "complete": TaskStatus.COMPLETED,
    "cancel": TaskStatus.CANCELLED,
    "reopen": TaskStatus.PENDING,
}
# In the pretty-printed JSON (a key per line): a task id, and the cursor of the next page.
_TASK_ID = re.compile(r'^(\s*"(?:task_id|aggregate_id)": ")([\w-]+)(")', re.MULTILINE | re.ASCII)
_NEXT_CURSOR = re.compile(r'^(\s*"next_cursor": ")([\w.-]+)(")', re.MULTILINE | re.ASCII)


class TaskBrowsableAPIRenderer(BrowsableAPIRenderer):
    """DRF's browsable API, made to work with a JSON-only API whose tasks are not ORM objects.

    - Create (POST /tasks) and edit (PATCH /tasks/{id}) get HTML forms built from
      `TaskViewSet.get_serializer` (`forms.TaskCreateForm`, `TaskUpdateForm`), pre-filled with
      the task or with what a failed attempt sent; `parsers.BrowserFormParser` takes them in.
      The raw-data box offers JSON only, pre-filled with a body of the right shape.
    - Task ids and `next_cursor` in the JSON shown are links (to the task, to the next page);
      the JSON that API clients get is unchanged, so nothing new needs documenting.
    - The status actions are POST buttons for the transitions the task's status allows (restore
      on a task that is gone), instead of DRF's "Extra Actions" menu of GET links, each a 405;
      the trash lists a restore button per task; GET actions, history and statistics are links.
    """

    template = "tasks_app/browsable_api.html"
    renderer_context: Mapping[str, Any]  # set by `render`, before anything else runs

    def get_content(
        self, renderer: BaseRenderer, data: Any, accepted_media_type: str | None, renderer_context: Mapping[str, Any]
    ) -> str:
        """The JSON as DRF shows it, with links; the template still `urlize`s it.

        Made safe here, `<`, `>` and `&` escaped: inside the `<pre>` quotes need no escaping, and
        left as they are, `urlize` still sees where a URL inside a JSON string ends. The links
        are host-relative paths, which `urlize` leaves alone.
        """
        text = super().get_content(renderer, data, accepted_media_type, renderer_context)
        content = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        request: Request = renderer_context["request"]
        content = _TASK_ID.sub(lambda found: _linked(found, _url("task-detail", {"task_id": found[2]})), content)
        content = _NEXT_CURSOR.sub(lambda found: _linked(found, _next_page(request, found[2])), content)
        return SafeString(content)

    def get_rendered_html_form(self, data: Any, view: APIView, method: str, request: Request) -> Any:
        if method not in _FORM_METHODS:
            return super().get_rendered_html_form(data, view, method, request)
        form = self._task_form(data, view, method, request)
        return None if form is None else self.render_form_for_serializer(form)

    def get_raw_data_form(self, data: Any, view: APIView, method: str, request: Request) -> Any:
        """DRF's raw-data box, offering JSON only (form bodies are for the HTML forms) and starting
        from a body of the right shape rather than the form's text fields."""
        raw = super().get_raw_data_form(data, view, method, request)
        if raw is None:
            return None
        json_types = [parser.media_type for parser in view.parser_classes if not getattr(parser, "browser_only", False)]
        raw.fields["_content_type"].choices = [(media_type, media_type) for media_type in json_types]  # type: ignore[attr-defined]
        form = self._task_form(data, view, method, request)
        values = form.instance if form is not None and isinstance(form.instance, Mapping) else None
        start = raw_body(values) if values is not None else _submitted(request, method, self.renderer_context)
        raw.fields["_content"].initial = json.dumps(start or {}, indent=4, ensure_ascii=False)
        return raw

    def get_extra_actions(self, view: APIView, status_code: int) -> None:
        """None: DRF's menu links to every action with GET; `get_context` makes buttons instead."""
        return None

    def get_breadcrumbs(self, request: Request) -> list[tuple[str, str]]:
        """DRF's breadcrumbs, without the page's own when it cannot be fetched (a status action: 405)."""
        crumbs = super().get_breadcrumbs(request)
        view = self.renderer_context.get("view")
        if crumbs and "GET" not in getattr(view, "allowed_methods", ["GET"]):
            crumbs = crumbs[:-1]
        return crumbs

    def get_context(
        self, data: Any, accepted_media_type: str | None, renderer_context: Mapping[str, Any]
    ) -> dict[str, Any]:
        context = super().get_context(data, accepted_media_type, renderer_context)
        view, request = renderer_context["view"], renderer_context["request"]
        response = renderer_context["response"]
        # The edit form gets HTML and raw tabs of its own (DRF's page has them for PUT only).
        context["patch_form"] = self.get_rendered_html_form(data, view, "PATCH", request)
        context["raw_patch_form"] = context["raw_data_patch_form"]
        context["raw_data_patch_form"] = context["raw_data_put_or_patch_form"] = None
        task, page = _task_of(data), _page_of(data)
        buttons, links = _action_controls(view, request, task, response.status_code)
        context.update(
            action_buttons=buttons,
            action_links=links,
            restore_buttons=[_restore_button(item) for item in page] if getattr(view, "action", "") == "trash" else [],
            next_page_url=_next_page(request, cursor) if (cursor := _next_cursor(data)) else None,
        )
        return context

    def _task_form(self, data: Any, view: APIView, method: str, request: Request) -> TaskUpdateForm | None:
        """The task form for `method` with the values it starts from; None where none fits."""
        if not hasattr(view, "get_serializer") or not any(
            getattr(parser, "browser_only", False) for parser in view.parser_classes
        ):
            return None
        with override_method(view, request, method) as overridden:
            if not self.show_form_for_method(view, method, overridden, None):
                return None
        submitted = _submitted(request, method, self.renderer_context)
        values: dict[str, Any] | None
        if method == "POST":
            values = create_values(str(request.query_params.get("user_id", "")), submitted)
        else:
            values = update_values(_task_of(data), submitted)
        if values is None:
            return None
        with override_method(view, request, method):  # sets `view.action`, which picks the form
            form = view.get_serializer(instance=values)
        return form if isinstance(form, TaskUpdateForm) else None


def _linked(found: re.Match[str], url: str | None) -> str:
    if url is None:
        return found[0]
    return f'{found[1]}<a href="{escape(url)}">{found[2]}</a>{found[3]}'


def _url(name: str, kwargs: Mapping[str, str] | None = None, query: Mapping[str, str] | None = None) -> str | None:
    """The path of a route (with the stage prefix, never the host: `urlize` leaves it alone)."""
    try:
        path = reverse(name, kwargs=dict(kwargs or {}) or None)
    except NoReverseMatch:
        return None
    for key, value in (query or {}).items():
        path = replace_query_param(path, key, value)
    return path


def _next_page(request: Request, cursor: str) -> str:
    return str(replace_query_param(request.get_full_path(), "cursor", cursor))


def _task_of(data: Any) -> dict[str, Any] | None:
    """The task a success envelope holds, if it holds one task."""
    inner = data.get("data") if isinstance(data, dict) and data.get("success") is True else None
    return inner if isinstance(inner, dict) and "task_id" in inner and "status" in inner else None


def _page_of(data: Any) -> list[dict[str, Any]]:
    inner = data.get("data") if isinstance(data, dict) and data.get("success") is True else None
    return [item for item in inner if isinstance(item, dict) and "task_id" in item] if isinstance(inner, list) else []


def _next_cursor(data: Any) -> str | None:
    pagination = data.get("pagination") if isinstance(data, dict) else None
    cursor = pagination.get("next_cursor") if isinstance(pagination, dict) else None
    return cursor if isinstance(cursor, str) and cursor else None


def _submitted(request: Request, method: str, renderer_context: Mapping[str, Any]) -> dict[str, Any] | None:
    """The body a failed `method` request to this page sent, to start its form from again."""
    response = renderer_context.get("response")
    if request.method != method or response is None or response.status_code < 400:
        return None
    try:
        body = request.data
    except (APIException, SuspiciousOperation):  # a body that could not be read: nothing to start from
        return None
    return dict(body) if isinstance(body, dict) and not hasattr(body, "getlist") else None


def _action_controls(
    view: APIView, request: Request, task: Mapping[str, Any] | None, status_code: int
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """POST buttons for the status actions on offer here, and links: the GET actions, then the
    task's history or the user's statistics. Listing links keep the page's `user_id`."""
    if not hasattr(view, "get_extra_actions"):
        return [], []
    detail = bool(getattr(view, "detail", False))
    kwargs = {str(name): str(value) for name, value in view.kwargs.items()}
    owner = {"user_id": str(request.query_params["user_id"])} if "user_id" in request.query_params else {}
    buttons: list[dict[str, str]] = []
    links: list[dict[str, str]] = []
    for action in view.get_extra_actions():
        route = f"{getattr(view, 'basename', '')}-{action.url_name}"
        name, label = action.__name__, action.__name__.replace("_", " ").capitalize()
        if action.detail != detail:
            continue
        if "post" in action.mapping and _offered(name, task, status_code) and (url := _url(route, kwargs)):
            buttons.append({"name": name, "label": label, "url": url})
        elif "get" in action.mapping and (url := _url(route, kwargs, owner)):
            links.append({"name": name, "label": label, "url": url})
    if detail and (url := _url("task-events", kwargs)):
        links.append({"name": "history", "label": "History", "url": url})
    elif not detail and (url := _url("task-stats", query=owner)):
        links.append({"name": "stats", "label": "Statistics", "url": url})
    return buttons, links


def _offered(action: str, task: Mapping[str, Any] | None, status_code: int) -> bool:
    """Whether to offer `action`: what the task's status allows; restore where the task is gone
    (just deleted, or not found: it may be in the trash); the other four where the status is unknown."""
    if task is not None:
        target = _ACTION_TARGETS.get(action)
        return target is not None and TaskStatus(task["status"]).can_become(target)
    if status_code in (204, 404):
        return action == "restore"
    return action in _ACTION_TARGETS


def _restore_button(task: Mapping[str, Any]) -> dict[str, str]:
    return {
        "title": str(task.get("title", "")),
        "task_id": str(task["task_id"]),
        "url": _url("task-restore", {"task_id": str(task["task_id"])}) or "",
    }
