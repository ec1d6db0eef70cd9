"""The README's Metrics section names the `operation` values the API's request metrics really emit:
an on-call engineer builds CloudWatch searches and alarms from that list."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from config.request_metrics import operation

# HTTP's usual eight, and one beyond them (its operation is `<resource>.other`).
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND")
# What a route's operation is named after when it has no action for the method (`tasks.options`).
METHOD_NAMES = {method.lower() for method in METHODS[:-1]} | {"other"}


def route_paths(patterns: list[URLPattern | URLResolver] | None = None) -> list[str]:
    """A path for every named route of the URLconf (each path parameter `x`), and one nothing matches."""
    paths = ["/no/such/path"]
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            paths += route_paths(entry.url_patterns)[1:]
        elif entry.name:
            parameters = {name: "x" for name in entry.pattern.regex.groupindex}
            paths.append(reverse(entry.name, kwargs=parameters))
    return paths


def emitted_operations() -> set[str]:
    """Every `operation` the request metrics give, for every route and method."""
    factory = RequestFactory()
    return {operation(factory.generic(method, path)) for path in route_paths() for method in METHODS}


def readme_paragraph() -> str:
    """The Metrics section's paragraph that lists the operations, from its list on."""
    text = (Path(settings.BASE_DIR) / "README.md").read_text()
    start = text.index("`operation` is the route's:") + len("`operation` is the route's:")
    return text[start : text.index("\n\n", start)]


def test_the_readme_names_every_operation_the_metrics_emit_and_no_other():
    emitted = emitted_operations()
    named = set(re.findall(r"`([a-z][a-z_.-]*)`", readme_paragraph()))
    # Operations named after a method (`webhook.put`, `tasks.other`) are described, not listed.
    by_action = {name for name in emitted if name.rpartition(".")[2] not in METHOD_NAMES}
    assert not by_action - named, f"emitted, missing from the README's Metrics section: {sorted(by_action - named)}"
    assert not named - emitted, f"named in the README's Metrics section, never emitted: {sorted(named - emitted)}"
    resources = {name.partition(".")[0] for name in emitted - by_action}
    assert {f"{resource}.<action>" for resource in resources} <= set(
        re.findall(r"`([a-z]+\.<action>)`", readme_paragraph())
    )


def test_the_readmes_count_of_operations_is_the_codes():
    text = (Path(settings.BASE_DIR) / "README.md").read_text()
    counted = re.search(r"at most (\d+) operations", text)
    assert counted, "the Metrics section's cost paragraph says how many operations there are"
    assert int(counted[1]) == len(emitted_operations()), sorted(emitted_operations())
