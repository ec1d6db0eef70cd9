"""Reading the EMF lines the code under test writes, and checking them against the format.

`collected()` gathers the lines; `points()` flattens them into one `Point` per metric, with the
dimensions its directive applies; `check_line()` validates a line against the JSON schema AWS
publishes in the format's specification (tests/schemas/emf.json), plus the specification's rules
a schema cannot say: every referenced dimension is a string member of the root, every metric a
number or an array of at most 100 numbers.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs shipped

from tasks_app.adapters import metrics

SCHEMA = Path(__file__).parent / "schemas" / "emf.json"


@dataclass(frozen=True)
class Point:
    """One metric of one EMF line."""

    namespace: str
    name: str
    unit: str
    dimensions: dict[str, str]
    values: list[float]
    line: dict[str, Any]


class Lines:
    """The EMF lines written so far into a collecting stream, each checked as it is read."""

    def __init__(self, stream: io.StringIO) -> None:
        self._stream = stream

    def all(self) -> list[dict[str, Any]]:
        lines = [json.loads(text) for text in self._stream.getvalue().splitlines()]
        for line in lines:
            check_line(line)
        return lines

    def points(self, name: str | None = None) -> list[Point]:
        found = [point for line in self.all() for point in points_of(line)]
        return [point for point in found if name is None or point.name == name]

    def total(self, name: str) -> float:
        return sum(sum(point.values) for point in self.points(name))

    def clear(self) -> None:
        self._stream.seek(0)
        self._stream.truncate()


@contextmanager
def collected() -> Iterator[Lines]:
    with metrics.lines_to(io.StringIO()) as stream:
        yield Lines(stream)


@cache
def _validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))


def check_line(line: dict[str, Any]) -> None:
    """Raises AssertionError naming the problem if `line` is not a valid EMF document."""
    errors = [error.message for error in _validator().iter_errors(line)]
    assert not errors, f"not EMF: {errors}: {line}"
    for directive in line["_aws"]["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"]:
            for name in dimension_set:
                assert isinstance(line.get(name), str), f"dimension {name!r} is not a string member: {line}"
        for definition in directive["Metrics"]:
            value = line.get(definition["Name"])
            values = value if isinstance(value, list) else [value]
            assert 1 <= len(values) <= 100, f"{definition['Name']}: {len(values)} values: {line}"
            assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in values), line


def points_of(line: dict[str, Any]) -> list[Point]:
    found = []
    for directive in line["_aws"]["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"]:
            for definition in directive["Metrics"]:
                value = line[definition["Name"]]
                found.append(
                    Point(
                        namespace=directive["Namespace"],
                        name=definition["Name"],
                        unit=definition.get("Unit", "None"),
                        dimensions={name: line[name] for name in dimension_set},
                        values=list(value) if isinstance(value, list) else [value],
                        line=line,
                    )
                )
    return found
