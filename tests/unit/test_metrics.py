"""The EMF lines themselves: the format's schema, the contract's names, units and dimensions, and
that metrics never fail what they measure."""

from __future__ import annotations

import io
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tasks_app.adapters import metrics
from tasks_app.application.ports import OutboxEntry
from tasks_app.application.relay import relay_outbox
from tasks_app.domain.task import Task
from tasks_app.domain.values import UserId
from tests.emf import check_line, collected
from tests.fakes import FakeOutbox, FakePublisher


@pytest.fixture(autouse=True)
def _default_environment(monkeypatch):
    for name in (metrics.NAMESPACE_ENV, metrics.SERVICE_ENV, "POWERTOOLS_METRICS_DISABLED", "POWERTOOLS_DEV"):
        monkeypatch.delenv(name, raising=False)


def entries_of_a_completed_task(stored_at: datetime) -> list[OutboxEntry]:
    task = Task.create(user_id=UserId("alice"), title="t", now=stored_at)
    task.complete(stored_at)
    return [OutboxEntry.from_event(event) for event in task.pull_events()]


class RecordingRelayMetrics:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def published(self, entries):
        self.batches.append([entry.event_id for entry in entries])


def test_a_request_writes_requests_and_latency_with_their_own_dimensions():
    with collected() as lines:
        metrics.record_request(operation="tasks.create", status=201, latency_ms=12.5, request_id="r-1")
    [requests] = lines.points("Requests")
    [latency] = lines.points("Latency")
    assert (requests.unit, requests.values) == ("Count", [1.0])
    assert requests.dimensions == {"service": "tasks-api", "operation": "tasks.create", "status_class": "2xx"}
    assert (latency.unit, latency.values) == ("Milliseconds", [12.5])
    assert latency.dimensions == {"service": "tasks-api", "operation": "tasks.create"}  # no status_class
    assert requests.line["request_id"] == latency.line["request_id"] == "r-1"  # searchable, not a dimension
    assert not lines.points("ThrottledRequests")
    assert len(lines.all()) == 1  # one log event per request


def test_each_request_has_its_own_time_and_latency():
    """The parts a request shares with others of its operation are built once; its own are not."""
    with collected() as lines:
        metrics.record_request(operation="tasks.create", status=201, latency_ms=12.5, request_id="r-1")
        before = datetime.now(UTC)
        metrics.record_request(operation="tasks.create", status=201, latency_ms=0.25)
    first, second = lines.all()
    assert (first["Latency"], second["Latency"]) == ([12.5], [0.25])
    assert "request_id" not in second
    assert second["_aws"]["Timestamp"] >= int(before.timestamp() * 1000) - 1
    assert abs(second["_aws"]["Timestamp"] / 1000 - datetime.now(UTC).timestamp()) < 5


def test_a_429_is_also_a_throttled_request_with_only_the_service_dimension():
    with collected() as lines:
        metrics.record_request(operation="tasks.list", status=429, latency_ms=3.0)
    [throttled] = lines.points("ThrottledRequests")
    assert throttled.dimensions == {"service": "tasks-api"}
    assert lines.points("Requests")[0].dimensions["status_class"] == "4xx"


def test_the_namespace_and_service_come_from_powertools_variables(monkeypatch):
    with collected() as lines:
        metrics.record_request(operation="root", status=200, latency_ms=1.0)
    assert {point.namespace for point in lines.points()} == {"TasksApi/local"}
    monkeypatch.setenv(metrics.NAMESPACE_ENV, "TasksApi/production")
    monkeypatch.setenv(metrics.SERVICE_ENV, "tasks-api")
    with collected() as lines:
        metrics.record_request(operation="root", status=200, latency_ms=1.0)
    assert {point.namespace for point in lines.points()} == {"TasksApi/production"}


def test_every_line_is_one_valid_emf_document():
    stored = datetime.now(UTC) - timedelta(seconds=2)
    with collected() as lines:
        metrics.record_request(operation="tasks.retrieve", status=404, latency_ms=0.4)
        metrics.EmfRelayMetrics().published(entries_of_a_completed_task(stored))
        metrics.record_event_consumed(stored)
        metrics.record_consumer_failure()
    written = lines.all()  # each checked against tests/schemas/emf.json
    assert len(written) == 4  # the request's metrics share one line
    assert {point.name for point in lines.points()} == {
        "Requests", "Latency", "EventsRelayed", "RelayLag", "TasksCreated", "TasksCompleted",
        "EventsConsumed", "ConsumerLag", "ConsumerFailures",
    }  # fmt: skip


def test_the_schema_refuses_what_cloudwatch_would_not_extract():
    with pytest.raises(AssertionError):  # no dimension set at all
        check_line({"_aws": {"Timestamp": 1, "CloudWatchMetrics": [
            {"Namespace": "N", "Dimensions": [], "Metrics": []}]}})  # fmt: skip
    with pytest.raises(AssertionError):  # a unit CloudWatch does not know
        check_line({"_aws": {"Timestamp": 1, "CloudWatchMetrics": [
            {"Namespace": "N", "Dimensions": [[]], "Metrics": [{"Name": "X", "Unit": "ms"}]}]}, "X": 1})  # fmt: skip
    with pytest.raises(AssertionError):  # a dimension that is not on the root
        check_line({"_aws": {"Timestamp": 1, "CloudWatchMetrics": [
            {"Namespace": "N", "Dimensions": [["service"]], "Metrics": [{"Name": "X"}]}]}, "X": 1})  # fmt: skip


def test_relayed_events_count_tasks_by_type_and_the_lag_from_the_outbox_write():
    stored = datetime.now(UTC) - timedelta(seconds=3)
    entries = entries_of_a_completed_task(stored)  # TaskCreated, TaskStatusChanged, TaskCompleted
    with collected() as lines:
        metrics.EmfRelayMetrics().published(entries)
    assert lines.total("EventsRelayed") == 3
    assert (lines.total("TasksCreated"), lines.total("TasksCompleted")) == (1, 1)
    assert not lines.points("TasksDeleted")
    [lag] = lines.points("RelayLag")
    assert (lag.unit, lag.dimensions) == ("Milliseconds", {"service": "tasks-api"})
    assert len(lag.values) == 3
    assert all(3000 <= value < 60_000 for value in lag.values)


def test_the_relay_reports_only_what_the_publisher_accepted():
    outbox, publisher, reported = FakeOutbox(), FakePublisher(), RecordingRelayMetrics()
    troubled, fine = entries_of_a_completed_task(datetime.now(UTC)), entries_of_a_completed_task(datetime.now(UTC))
    outbox.entries = troubled + fine
    publisher.refuse = {troubled[1].event_id}
    relay_outbox(outbox=outbox, publisher=publisher, metrics=reported)
    published = [event_id for batch in reported.batches for event_id in batch]
    assert sorted(published) == sorted([troubled[0].event_id, *(entry.event_id for entry in fine)])


def test_consumers_report_each_event_with_its_lag_and_each_failure():
    with collected() as lines:
        metrics.record_event_consumed(datetime.now(UTC) - timedelta(milliseconds=1500))
        metrics.record_consumer_failure()
    assert (lines.total("EventsConsumed"), lines.total("ConsumerFailures")) == (1, 1)
    [lag] = lines.points("ConsumerLag")
    assert 1500 <= lag.values[0] < 60_000


def test_a_process_reports_one_cold_start_named_after_its_first_entry_point(monkeypatch):
    monkeypatch.setattr(metrics, "_cold_start_reported", False)
    with collected() as lines:
        metrics.record_cold_start("consumer")
        metrics.record_cold_start("consumer")
        metrics.record_cold_start("api")
    [cold] = lines.points("ColdStart")
    assert cold.dimensions == {"service": "tasks-api", "function": "consumer"}
    assert (cold.unit, cold.values) == ("Count", [1.0])


def test_powertools_switch_turns_every_metric_off(monkeypatch):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    monkeypatch.setattr(metrics, "_cold_start_reported", False)
    with collected() as lines:
        metrics.record_cold_start("api")
        metrics.record_consumer_failure()
        metrics.record_request(operation="tasks.create", status=201, latency_ms=1.0)
        metrics.EmfRelayMetrics().published(entries_of_a_completed_task(datetime.now(UTC)))
        metrics.record_event_consumed(datetime.now(UTC))
    assert lines.all() == []


@pytest.mark.parametrize("value", [" TRUE ", "Yes", "1"])
def test_the_switch_is_read_as_powertools_reads_it_whatever_its_case_and_spaces(monkeypatch, value):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", value)
    assert not metrics.enabled()


@pytest.mark.parametrize(
    ("disabled", "dev", "warnings"), [("", None, 0), (None, "", 0), ("disabled", None, 1), ("maybe", "nope", 2)]
)
def test_an_empty_or_unreadable_switch_leaves_metrics_on_and_says_so_once(monkeypatch, caplog, disabled, dev, warnings):
    """Empty is unset (a shell's `POWERTOOLS_METRICS_DISABLED=`); anything else Powertools cannot
    read leaves them on, as unset does, with one warning per variable, not one per request."""
    for name, value in (("POWERTOOLS_METRICS_DISABLED", disabled), ("POWERTOOLS_DEV", dev)):
        if value is not None:
            monkeypatch.setenv(name, value)
    monkeypatch.setattr(metrics, "_unreadable_warned", set())
    with collected() as lines:
        for _ in range(3):
            metrics.record_request(operation="tasks.create", status=201, latency_ms=1.0)
        metrics.record_consumer_failure()
        assert metrics.enabled()
    assert (lines.total("Requests"), lines.total("ConsumerFailures")) == (3, 1)
    warned = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert len(warned) == warnings
    assert all("metrics stay on" in message for message in warned)


def test_powertools_dev_turns_metrics_off_unless_the_switch_says_otherwise(monkeypatch):
    monkeypatch.setenv("POWERTOOLS_DEV", "true")
    assert not metrics.enabled()
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    assert metrics.enabled()


class BrokenStream(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError("stdout is gone")


def test_a_metric_that_cannot_be_written_is_logged_and_does_not_fail_the_caller(caplog):
    with metrics.lines_to(BrokenStream()):
        metrics.record_request(operation="tasks.create", status=201, latency_ms=1.0)
        metrics.record_consumer_failure()
    assert [record.message for record in caplog.records] == ["Could not write metrics"] * 2


def test_each_deployed_stage_has_its_own_namespace_and_the_service_name():
    stages = json.loads((Path(__file__).parents[2] / "zappa_settings.json").read_text())
    for stage, config in stages.items():
        variables = config["aws_environment_variables"]
        assert variables[metrics.NAMESPACE_ENV] == f"TasksApi/{stage}", stage
        assert variables[metrics.SERVICE_ENV] == metrics.SERVICE, stage


def test_requests_on_many_threads_write_whole_lines_each_with_its_own_dimensions():
    def serve(thread: int) -> None:
        for number in range(100):
            metrics.record_request(operation=f"op{thread}", status=200 + number % 2 * 200, latency_ms=float(thread))

    with collected() as lines, ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(serve, range(8)))
    points = lines.points("Latency")  # every line parsed and checked
    assert len(points) == 800
    assert all(point.values == [float(point.dimensions["operation"][2:])] for point in points)


def test_a_latency_that_is_not_a_number_is_logged_not_written(caplog):
    with collected() as lines, caplog.at_level("ERROR"):
        metrics.record_request(operation="tasks.create", status=201, latency_ms=float("nan"))
    assert lines.all() == []
    assert "Could not write metrics" in caplog.text
