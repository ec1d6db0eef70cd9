"""Request parsing: JSON for every client, and form bodies only from the browsable API's own HTML forms."""

from __future__ import annotations

import codecs
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import IO, Any, cast

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.http.multipartparser import MultiPartParserError
from django.utils.datastructures import MultiValueDict
from rest_framework import parsers
from rest_framework.authentication import CSRFCheck
from rest_framework.exceptions import ParseError, UnsupportedMediaType, ValidationError
from rest_framework.parsers import BaseParser, DataAndFiles, FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.utils import json

from tasks_app.api.forms import CSRF_FIELD, form_to_body


class SafeJSONParser(JSONParser):
    """DRF's JSONParser, refusing what Python's `json` lets through or cannot take.

    Input: the body's stream (its charset from the Content-Type, as DRF reads it). Output: the
    parsed JSON. Errors: `ParseError` (400) for malformed JSON, NaN and Infinity (DRF's strict
    JSON), and a body nested too deeply for Python's parser (a RecursionError); `ValidationError`
    (400, naming each) for a name given twice in one object, at any depth. RFC 8259 §4 says the
    names within an object SHOULD be unique and that receivers disagree on what a repeat means;
    `json.loads` keeps the last silently, so `{"title": "a", "title": "b"}` was a task named "b".
    """

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        repeats: list[_RepeatedNames] = []

        def unique_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
            parsed = dict(pairs)
            if len(parsed) == len(pairs):
                return parsed
            repeated = _RepeatedNames(pairs)
            repeats.append(repeated)
            return repeated

        # DRF's JSONParser.parse, with the hook: it has no way to pass one to `json.load`.
        encoding = parsers.get_encoding(parser_context or {})  # type: ignore[attr-defined]  # not in the stubs
        try:
            text = codecs.getreader(encoding)(stream).read()
            parse_constant = json.strict_constant if self.strict else None
            data = json.loads(text, parse_constant=parse_constant, object_pairs_hook=unique_names)
        except ValueError as error:
            raise ParseError(f"JSON parse error - {error}") from None
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
        if repeats:
            raise ValidationError(dict(_repeated_names(data, "")))
        return data


class _RepeatedNames(dict[str, Any]):
    """A JSON object that was given some of its names more than once (`repeated`); each keeps
    its last value, as `json.loads` would, until the parser refuses the body."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        counts = Counter(name for name, _ in pairs)
        self.repeated = frozenset(name for name, count in counts.items() if count > 1)


def _repeated_names(value: Any, path: str) -> Iterator[tuple[str, list[str]]]:
    """Where `value` holds a `_RepeatedNames`: `(path, [message])` for each name it repeats, the
    path in the body as `details` names fields (`title`, or `filters.status`, `items[0].id`), in
    the body's order. A walk with its own stack: a body may be nested nearly as deep as Python's
    parser goes, deeper than a recursive walk from inside a request could follow."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        current, where = stack.pop()
        if isinstance(current, list):
            stack.extend(reversed([(item, f"{where}[{index}]") for index, item in enumerate(current)]))
        elif isinstance(current, dict):
            children: list[tuple[Any, str]] = []
            for name, item in current.items():
                named = f"{where}.{name}" if where else name
                if isinstance(current, _RepeatedNames) and name in current.repeated:
                    yield named, [f"{name!r} is given more than once in the same JSON object; give it once."]
                children.append((item, named))
            stack.extend(reversed(children))


class BrowserFormParser(BaseParser):
    """A form body, accepted only when it comes from one of the browsable API's own HTML forms.

    SPEC §2 answers 415 to a body that is not JSON, yet the browsable API's forms can only send
    form bodies: DRF's create form is a plain `multipart/form-data` POST, and its PATCH form is
    sent by `ajax-form.js` as `multipart/form-data` too. What only those forms send is a CSRF
    token matching the `csrftoken` cookie the page set: the create form carries it in its
    `csrfmiddlewaretoken` field (`{% csrf_token %}`), the ajax form in the `X-CSRFToken` header
    (`csrf.js`). So a form body needs that cookie and that token, checked by Django's own CSRF
    middleware (origin included); anything else — an API client's form post, or a page on
    another site, since it can neither read the cookie nor set the header — gets the 415.

    A request without the cookie is refused before its body is read. An accepted form becomes
    the JSON body it stands for (`forms.form_to_body`), so the actions validate it exactly as
    they validate JSON: a script that imitates a form on purpose gains nothing a JSON body
    would not give it. Neither the schema nor OPTIONS lists these parsers (`browser_only`).
    """

    browser_only = True
    form_parser: BaseParser

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> DataAndFiles[Any, Any]:
        request: Request = (parser_context or {})["request"]
        django_request = request._request
        header = django_request.META.get(settings.CSRF_HEADER_NAME)
        is_post = django_request.method == "POST"
        if settings.CSRF_COOKIE_NAME not in django_request.COOKIES or not (header or is_post):
            raise _refusal(media_type)
        form, files = self._read(django_request, stream, media_type, parser_context)
        if not (header or form.get(CSRF_FIELD)) or _csrf_failure(django_request):
            raise _refusal(media_type)
        return DataAndFiles(form_to_body(form, list(files)), MultiValueDict())

    def _read(
        self,
        django_request: HttpRequest,
        stream: IO[Any],
        media_type: str | None,
        parser_context: Mapping[str, Any] | None,
    ) -> tuple[Mapping[str, Any], MultiValueDict[str, Any]]:
        # Django's CSRF check reads a POST's token from `request.POST`, so Django parses a POST
        # (DRF hands this parser the unread stream); it parses no other method's body.
        try:
            if django_request.method == "POST":
                return django_request.POST, django_request.FILES
            parsed = self.form_parser.parse(stream, media_type, parser_context)
        except (MultiPartParserError, ParseError) as error:
            raise ValidationError(f"The form could not be read: {error}") from None
        if isinstance(parsed, DataAndFiles):
            return parsed.data, parsed.files
        return parsed, MultiValueDict()


class BrowserMultiPartParser(BrowserFormParser):
    """`multipart/form-data` from the browsable API's forms (how its create and edit forms send)."""

    media_type = "multipart/form-data"
    form_parser = MultiPartParser()


class BrowserUrlEncodedParser(BrowserFormParser):
    """`application/x-www-form-urlencoded` from the browsable API's forms (for a form without enctype)."""

    media_type = "application/x-www-form-urlencoded"
    form_parser = FormParser()


def _refusal(media_type: str | None) -> UnsupportedMediaType:
    return UnsupportedMediaType(
        media_type or "",
        detail=f'Unsupported media type "{media_type}" in request. Send JSON (application/json): '
        "form bodies are accepted only from this API's own HTML forms.",
    )


def _csrf_failure(django_request: HttpRequest) -> str | None:
    """Why Django's CSRF middleware would refuse the request (token, cookie, origin), or None."""
    check = CSRFCheck(_unused_view)  # DRF's subclass: the reason comes back instead of a 403 page
    check.process_request(django_request)
    return cast(str | None, check.process_view(django_request, _unused_view, (), {}))


def _unused_view(request: HttpRequest) -> HttpResponseBase:  # pragma: no cover - never called
    """Stands for the view being protected: the check only asks it whether it is `csrf_exempt`."""
    raise NotImplementedError
