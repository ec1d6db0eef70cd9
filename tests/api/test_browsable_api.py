"""The browsable API in a browser: HTML forms that work, links, and the status actions as buttons.

A browser is played by DRF's APIClient with CSRF checks on, the way a browser meets them: it
reads a page (which sets the `csrftoken` cookie), then sends what that page's form sends. The
create form posts `multipart/form-data` with its `csrfmiddlewaretoken` field; DRF's ajax form
PATCHes `multipart/form-data` with the `X-CSRFToken` header. One test drives a real headless
Chromium, when one is installed.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from rest_framework.test import APIClient

HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"  # what a browser asks for
AJAX_HTML = "text/html; q=1.0, */*"  # what DRF's ajax-form.js asks for


class Browser:
    """A browser on the browsable API: pages are HTML, forms carry what DRF's pages make them carry."""

    def __init__(self, token: str | None = None) -> None:
        self.client = APIClient(enforce_csrf_checks=True)
        if token:  # a browser extension adding the header, say
            self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    def page(self, path: str) -> str:
        response = self.client.get(path, HTTP_ACCEPT=HTML)
        assert response["Content-Type"].startswith("text/html"), response.content
        return response.content.decode()

    def submit_create_form(self, path: str, fields: dict[str, str]) -> Any:
        """Fill in the create form of the page at `path` and press POST, as the browser does."""
        page = self.page(path)
        form = _form(page, method="POST", enctype="multipart/form-data")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
        assert token, "the create form must carry its CSRF token"
        body = {**_fields_of(form), **fields, "csrfmiddlewaretoken": token[1]}
        return self.client.post(_action_of(form), body, format="multipart", HTTP_ACCEPT=HTML)

    def submit_edit_form(self, path: str, fields: dict[str, str]) -> Any:
        """Change fields of the edit form of the page at `path` and press PATCH, as ajax-form.js does."""
        page = self.page(path)
        form = _form(page, method="PATCH", enctype="multipart/form-data")
        body = {**_fields_of(form), **fields}
        token = json.loads(_found(r'<script type="application/json" id="drf_csrf">(.*?)</script>', page, re.S)[1])
        return self.client.patch(
            _action_of(form), body, format="multipart", HTTP_ACCEPT=AJAX_HTML, HTTP_X_CSRFTOKEN=token["csrfToken"]
        )

    def press(self, page: str, action: str) -> Any:
        """Press the button of a status action: its form POSTs with no body."""
        form = re.search(rf'<form[^>]*action="([^"]+)"[^>]*method="POST"[^>]*data-action="{action}"', page)
        assert form, f"no {action} button on the page"
        url = html.unescape(form[1])
        return self.client.generic("POST", url, "", "application/x-www-form-urlencoded", HTTP_ACCEPT=HTML)


def _form(page: str, *, method: str, enctype: str) -> str:
    """The HTML of the page's form sent with `method` and `enctype`."""
    attribute = 'method="POST"' if method == "POST" else f'data-method="{method}"'
    for form in re.findall(r"<form\b.*?</form>", page, re.S):
        opening = form.split(">", 1)[0]
        if attribute in opening and f'enctype="{enctype}"' in opening:
            return str(form)
    raise AssertionError(f"no {method} form with {enctype} on the page")


def _action_of(form: str) -> str:
    return html.unescape(_found(r'action="([^"]*)"', form)[1])


def _fields_of(form: str) -> dict[str, str]:
    """Each field's value as the form shows it (inputs, textareas, the selected option)."""
    fields = {
        name: html.unescape(value)
        for name, value in re.findall(r'<input name="([^"]+)"[^>]*?(?:value="([^"]*)")?\s*>', form)
        if name != "csrfmiddlewaretoken"
    }
    for name, value in re.findall(r'<textarea name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S):
        fields[name] = html.unescape(value.removeprefix("\n"))  # a browser drops one line break there
    for name, options in re.findall(r'<select[^>]*name="([^"]+)">(.*?)</select>', form, re.S):
        fields[name] = _found(r'<option value="([^"]*)"\s*selected', options)[1]
    return fields


def _found(pattern: str, text: str, flags: int = 0) -> re.Match[str]:
    found = re.search(pattern, text, flags)
    assert found, f"{pattern!r} is not on the page"
    return found


def _json(response: Any) -> Any:
    assert response["Content-Type"] == "application/json", response.content
    return response.json()


@pytest.fixture
def browser(api: Any) -> Browser:
    return Browser()


# The forms ---------------------------------------------------------------------------------


def test_the_listing_offers_an_html_create_form_with_every_field_of_the_body(api, browser):
    page = browser.page("/tasks?user_id=alice")
    form = _form(page, method="POST", enctype="multipart/form-data")
    assert _fields_of(form) == {
        "user_id": "alice",  # the listing's user
        "title": "",
        "description": "",
        "priority": "normal",
        "due_at": "",
        "tags": "",
    }
    assert '<textarea name="description"' in form
    assert 'placeholder="finance, q4"' in form  # tags: one comma-separated text input
    assert 'type="datetime-local"' not in form  # a browser's local time has no offset: the API needs one


def test_a_create_form_sent_by_a_browser_creates_the_task(api, browser):
    response = browser.submit_create_form(
        "/tasks?user_id=alice",
        {
            "title": "  From a browser ",
            "description": "line one\r\nline two",
            "priority": "high",
            "due_at": "2030-05-01T18:00:00+02:00",
            "tags": "Work, home ,, urgent",
        },
    )
    assert response.status_code == 201, response.content
    assert response["Content-Type"].startswith("text/html")
    [task] = _json(api.list(user_id="alice"))["data"]
    assert f'<a href="/tasks/{task["task_id"]}">' in response.content.decode()  # on to the new task
    assert (task["title"], task["description"], task["priority"]) == ("From a browser", "line one\nline two", "high")
    assert (task["due_at"], task["tags"]) == ("2030-05-01T16:00:00.000000Z", ["work", "home", "urgent"])


def test_a_failed_create_shows_the_error_and_keeps_what_was_typed(api, browser):
    response = browser.submit_create_form("/tasks?user_id=alice", {"title": "   ", "tags": "a, b"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "VALIDATION_ERROR" in page
    assert _fields_of(_form(page, method="POST", enctype="multipart/form-data"))["tags"] == "a, b"
    assert _json(api.list(user_id="alice"))["data"] == []


def test_the_task_page_offers_an_edit_form_filled_with_the_task(api, browser):
    task = api.created(title="Edit me", description="two\nlines", due_at="2030-01-01T09:00:00Z", tags=["a", "b"])
    form = _form(browser.page(f"/tasks/{task['task_id']}"), method="PATCH", enctype="multipart/form-data")
    assert _fields_of(form) == {
        "title": "Edit me",
        "description": "two\nlines",
        "priority": "normal",
        "due_at": "2030-01-01T09:00:00.000000Z",
        "tags": "a, b",
    }
    assert 'name="user_id"' not in form  # the owner never changes


def test_an_edit_form_sent_back_as_shown_changes_nothing(api, browser):
    task = api.created(title="Same", description="\ntwo\nlines", due_at="2030-01-01T09:00:00Z", tags=["a", "b"])
    response = browser.submit_edit_form(f"/tasks/{task['task_id']}", {})
    assert response.status_code == 200, response.content
    assert _json(api.get(task["task_id"]))["data"] == task


def test_an_edit_form_sent_by_a_browser_changes_the_task(api, browser):
    task = api.created(title="Before", due_at="2030-01-01T09:00:00Z", tags=["a"])
    response = browser.submit_edit_form(
        f"/tasks/{task['task_id']}", {"title": "After", "priority": "urgent", "due_at": "", "tags": ""}
    )
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/html")
    changed = _json(api.get(task["task_id"]))["data"]
    assert (changed["title"], changed["priority"], changed["due_at"], changed["tags"]) == ("After", "urgent", None, [])
    assert changed["version"] == task["version"] + 1


def test_the_raw_data_box_offers_json_of_the_right_shape(api, browser):
    page = browser.page("/tasks?user_id=alice")
    box = _found(r'<textarea name="_content"[^>]*>(.*?)</textarea>', page, re.S)
    assert json.loads(html.unescape(box[1])) == {
        "user_id": "alice",
        "title": "",
        "description": "",
        "priority": "normal",
        "due_at": None,
        "tags": [],
    }
    media_types = _found(r'<select name="_content_type"[^>]*>(.*?)</select>', page, re.S)[1]
    assert re.findall(r'<option value="([^"]+)"', media_types) == ["application/json"]


# Only the browsable API's own forms may send form bodies ------------------------------------


@pytest.mark.parametrize("format_", ["multipart", "json-as-form"])
def test_form_bodies_from_api_clients_are_a_415_in_the_envelope(api, format_):
    client = APIClient()
    body = {"user_id": "alice", "title": "From a script"}
    if format_ == "multipart":
        response = client.post("/tasks", body, format="multipart")
    else:
        response = client.generic("POST", "/tasks", "user_id=alice&title=x", "application/x-www-form-urlencoded")
    assert response.status_code == 415
    error = _json(response)["error"]
    assert error["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert "JSON" in error["message"]
    assert _json(api.list(user_id="alice"))["data"] == []


def test_a_form_post_with_the_cookie_but_a_wrong_or_missing_token_is_a_415(api, browser):
    browser.page("/tasks?user_id=alice")  # sets the cookie
    assert "csrftoken" in browser.client.cookies
    body = {"user_id": "alice", "title": "Forged"}
    missing = browser.client.post("/tasks", body, format="multipart")
    wrong = browser.client.post("/tasks", {**body, "csrfmiddlewaretoken": "x" * 64}, format="multipart")
    for response in (missing, wrong):
        assert response.status_code == 415, response.content
        assert _json(response)["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert _json(api.list(user_id="alice"))["data"] == []


def test_a_form_patch_without_the_csrf_header_is_a_415(api, browser):
    task = api.created(title="Keep")
    browser.page(f"/tasks/{task['task_id']}")
    response = browser.client.patch(f"/tasks/{task['task_id']}", {"title": "Changed"}, format="multipart")
    assert response.status_code == 415
    assert _json(response)["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert _json(api.get(task["task_id"]))["data"]["title"] == "Keep"


def test_options_and_the_schema_list_json_only(api):
    assert _json(api.client.options("/tasks"))["data"]["parses"] == ["application/json"]
    schema = api.client.get("/api/schema", HTTP_ACCEPT="application/json").json()
    assert list(schema["paths"]["/tasks"]["post"]["requestBody"]["content"]) == ["application/json"]


# Links -------------------------------------------------------------------------------------


def test_task_ids_and_the_next_cursor_are_links_in_the_html_only(api, browser):
    first, second = api.created(title="One"), api.created(title="Two")
    page = browser.page("/tasks?user_id=alice&limit=1")
    assert f'<a href="/tasks/{second["task_id"]}">{second["task_id"]}</a>' in page
    cursor = _json(api.list(user_id="alice", limit=1))["pagination"]["next_cursor"]
    next_page = html.escape(f"/tasks?cursor={cursor}&limit=1&user_id=alice")
    assert f'<a href="{next_page}">{cursor}</a>' in page  # in the JSON shown
    assert f'rel="next" href="{next_page}"' in page  # and as a button
    following = browser.page(html.unescape(next_page))
    assert f'<a href="/tasks/{first["task_id"]}">{first["task_id"]}</a>' in following
    assert set(_json(api.list(user_id="alice", limit=1))["data"][0]) == set(first)  # JSON unchanged


def test_the_json_shown_stays_escaped(api, browser):
    task = api.created(title='<script>alert("x")</script> see http://example.com')
    page = browser.page(f"/tasks/{task['task_id']}")
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert" in page
    assert '<a href="http://example.com"' in page  # DRF's urlize still links URLs in the text


def test_the_listing_links_to_the_trash_and_the_statistics_of_its_user(api, browser):
    page = browser.page("/tasks?user_id=alice")
    assert 'href="/tasks/trash?user_id=alice"' in page
    assert 'href="/tasks/stats?user_id=alice"' in page
    assert "Extra Actions" not in page


# Status actions ----------------------------------------------------------------------------


def test_the_task_page_offers_the_actions_its_status_allows_as_post_buttons(api, browser):
    task = api.created()
    page = browser.page(f"/tasks/{task['task_id']}")
    buttons = set(re.findall(r'method="POST" data-action="(\w+)"', page))
    assert buttons == {"start", "complete", "cancel"}
    assert f'action="/tasks/{task["task_id"]}/start" method="POST"' in page
    assert 'data-method="DELETE"' in page  # DRF's delete button
    assert f'href="/tasks/{task["task_id"]}/events"' in page  # the history
    assert "Extra Actions" not in page  # DRF's menu of GET links, each a 405


def test_every_status_action_works_from_its_button(api, browser):
    task_id = api.created()["task_id"]
    page = browser.page(f"/tasks/{task_id}")
    for action, status, offered_next in [
        ("start", "in_progress", {"complete", "cancel"}),
        ("complete", "completed", {"reopen"}),
        ("reopen", "pending", {"start", "complete", "cancel"}),
        ("cancel", "cancelled", {"reopen"}),
    ]:
        response = browser.press(page, action)
        assert response.status_code == 200, response.content
        page = response.content.decode()
        assert _json(api.get(task_id))["data"]["status"] == status
        assert set(re.findall(r'method="POST" data-action="(\w+)"', page)) == offered_next
        assert f'href="/tasks/{task_id}/{action}"' not in page  # no link that would GET the action: a 405


def test_delete_then_restore_from_the_pages(api, browser):
    task = api.created(title="Round trip")
    deleted = browser.client.delete(f"/tasks/{task['task_id']}", HTTP_ACCEPT=AJAX_HTML)  # DRF's delete button
    assert deleted.status_code == 200  # DRF shows a 204 as a page
    assert set(re.findall(r'method="POST" data-action="(\w+)"', deleted.content.decode())) == {"restore"}
    gone = browser.client.get(f"/tasks/{task['task_id']}", HTTP_ACCEPT=HTML)
    assert gone.status_code == 404
    assert 'data-action="restore"' in gone.content.decode()
    trash = browser.page("/tasks/trash?user_id=alice")
    assert "Round trip" in trash
    restored = browser.press(trash, "restore")
    assert restored.status_code == 200, restored.content
    assert _json(api.get(task["task_id"]))["data"]["version"] == task["version"] + 2


def test_pages_work_with_a_token_too(api, issuer):
    browser = Browser(token=issuer.token("alice"))
    response = browser.submit_create_form("/tasks", {"title": "Mine"})
    assert response.status_code == 201, response.content
    signed_in = api.signed_in(issuer.token("alice"))
    [task] = _json(signed_in.list())["data"]
    assert task["user_id"] == "alice"
    assert browser.press(browser.page(f"/tasks/{task['task_id']}"), "complete").status_code == 200


# Authentication -----------------------------------------------------------------------------


def _auth_hint(page: str) -> str | None:
    found = re.search(r"<div[^>]*\bdata-auth-hint\b[^>]*>(.*?)</div>", page, re.S)
    return found[1] if found else None


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-jwt", "Token abc"], ids=["none", "bad", "scheme"])
def test_without_a_valid_token_the_pages_say_how_to_send_one(api, issuer, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = Browser().client.get("/tasks", HTTP_ACCEPT=HTML, **headers)
    assert response.status_code == 401, response.content
    hint = _auth_hint(response.content.decode())
    assert hint is not None, "a 401 page must say how to authenticate"
    assert "<code>Authorization: Bearer &lt;token&gt;</code>" in hint
    assert "Cognito user pool" in hint  # the `issuer` fixture trusts a pool, not the local key
    assert 'href="/swagger"' in hint


def test_with_the_local_key_the_pages_name_issue_token(api, issuer, settings):
    settings.JWT = dataclasses.replace(settings.JWT, jwks_url=None)
    hint = _auth_hint(Browser().page("/"))
    assert hint is not None
    assert "python manage.py issue_token &lt;user&gt;" in hint


def test_signed_in_or_with_authentication_off_the_pages_say_nothing_about_tokens(api, issuer, settings):
    assert _auth_hint(Browser(token=issuer.token("alice")).page("/tasks")) is None
    settings.AUTH_MODE = "none"
    assert _auth_hint(Browser().page("/tasks?user_id=alice")) is None


# A real browser ----------------------------------------------------------------------------

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C WebDriver key of an element reference


class WebDriver:
    """Just enough of the W3C WebDriver protocol, spoken to chromedriver over HTTP."""

    def __init__(self, port: int, profile: str) -> None:
        self.base = f"http://127.0.0.1:{port}"
        arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        arguments += ["--no-first-run", "--disable-dev-shm-usage", f"--user-data-dir={profile}"]
        options = {"binary": CHROMIUM, "args": arguments}
        capabilities = {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}}
        self.session = self.call("POST", "/session", {"capabilities": capabilities})["sessionId"]

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())["value"]

    def go(self, url: str) -> None:
        self.call("POST", f"/session/{self.session}/url", {"url": url})

    def find(self, css: str) -> str:
        found = self.call("POST", f"/session/{self.session}/element", {"using": "css selector", "value": css})
        return str(found[ELEMENT])

    def type(self, css: str, text: str) -> None:
        element = self.find(css)
        self.call("POST", f"/session/{self.session}/element/{element}/clear", {})
        self.call("POST", f"/session/{self.session}/element/{element}/value", {"text": text})

    def click(self, css: str) -> None:
        self.call("POST", f"/session/{self.session}/element/{self.find(css)}/click", {})

    def text(self) -> str:
        return str(self.call("POST", f"/session/{self.session}/execute/sync", {"script": SCRIPT_TEXT, "args": []}))

    def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + 15
        while not condition():
            assert time.monotonic() < deadline, f"the browser never got to: {what}\n{self.text()[:2000]}"
            time.sleep(0.1)

    def quit(self) -> None:
        self.call("DELETE", f"/session/{self.session}")


SCRIPT_TEXT = "return document.readyState === 'complete' ? document.body.innerText : '';"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(aws: Any) -> Iterator[str]:
    """The API (in this process, so on the test's local AWS) on a free port of 127.0.0.1."""
    server = ThreadedWSGIServer(("127.0.0.1", 0), WSGIRequestHandler, allow_reuse_address=False)
    server.set_app(WSGIHandler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def chromium() -> Iterator[WebDriver]:
    """Headless Chromium through chromedriver, each on a fresh profile; stopped by its own PID."""
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("no chromium and chromedriver here (Debian: apt-get install chromium chromium-driver)")
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="browsable-api-") as profile:
        driver_process = subprocess.Popen(
            [CHROMEDRIVER, f"--port={port}", "--allowed-ips=127.0.0.1"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=1).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline, "chromedriver did not start"
                    time.sleep(0.1)
            browser = WebDriver(port, profile)
            try:
                yield browser
            finally:
                browser.quit()
        finally:
            driver_process.terminate()
            driver_process.wait(timeout=10)


def test_a_real_browser_creates_edits_and_completes_a_task(api, served, chromium):
    chromium.go(f"{served}/tasks?user_id=alice")
    chromium.type("#post-object-form input[name=title]", "Typed in Chromium")
    chromium.type("#post-object-form input[name=tags]", "Browser, e2e")
    chromium.click("#post-object-form button")
    chromium.wait_for(lambda: "HTTP 201 Created" in chromium.text(), "the created task")

    chromium.click('.response-info a[href^="/tasks/task-"]')  # the task id is a link
    chromium.wait_for(lambda: "HTTP 200 OK" in chromium.text(), "the task's page")
    chromium.type("#patch-object-form input[name=title]", "Edited in Chromium")
    chromium.click("#patch-object-form button")  # sent by DRF's ajax form, as multipart
    chromium.wait_for(lambda: '"version": 2' in chromium.text(), "the edited task")

    chromium.click('form[data-action="complete"] button')
    chromium.wait_for(lambda: '"status": "completed"' in chromium.text(), "the completed task")

    [task] = _json(api.list(user_id="alice"))["data"]
    assert (task["title"], task["tags"], task["status"]) == ("Edited in Chromium", ["browser", "e2e"], "completed")
