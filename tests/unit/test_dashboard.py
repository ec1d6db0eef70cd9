"""The stage dashboard's body keeps CloudWatch's rules, which the local AWS does not check."""

from __future__ import annotations

import json
import re
from itertools import combinations
from typing import Any

from ops.provisioning.cloudwatch import Watched, stage_alarms
from ops.provisioning.dashboard import dashboard_body

WATCHED = Watched(
    stage="staging",
    region="eu-west-1",
    account="111122223333",
    partition="aws",
    function_name="tasks-api-staging",
    api_name="tasks-api-staging",
    table_name="tasks-staging",
    queue_name="tasks-staging-events",
    dead_letter_queue="tasks-staging-events-dlq",
    stream_failures_queue="tasks-staging-stream-failures",
    namespace="TasksApi/staging",
)


def body() -> dict[str, Any]:
    return dashboard_body(WATCHED, [alarm.name for alarm in stage_alarms(WATCHED)])


def test_widgets_fit_the_24_column_grid_without_overlapping():
    boxes = [(w["x"], w["y"], w["width"], w["height"]) for w in body()["widgets"]]
    assert all(x >= 0 and y >= 0 and x + width <= 24 for x, y, width, _ in boxes)
    overlapping = [
        (a, b)
        for a, b in combinations(boxes, 2)
        if a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]
    ]
    assert overlapping == []


def test_every_graph_names_its_region_and_a_title():
    graphs = [w["properties"] for w in body()["widgets"] if w["type"] in {"metric", "log"}]
    assert {graph["region"] for graph in graphs} == {"eu-west-1"}
    titles = [graph["title"] for graph in graphs]
    assert len(set(titles)) == len(titles), "titles name the widgets a changed dashboard reports"


def test_expression_ids_are_unique_in_each_widget_and_start_lowercase():
    for widget in body()["widgets"]:
        ids = [line[0]["id"] for line in widget["properties"].get("metrics", []) if isinstance(line[0], dict)]
        assert len(set(ids)) == len(ids)
        assert all(re.fullmatch(r"[a-z][a-zA-Z0-9_]*", id_) for id_ in ids), ids


def test_the_alarm_widget_shows_every_alarm_of_the_stage_by_arn():
    [widget] = [w for w in body()["widgets"] if w["type"] == "alarm"]
    assert widget["properties"]["alarms"] == [
        f"arn:aws:cloudwatch:eu-west-1:111122223333:alarm:{alarm.name}" for alarm in stage_alarms(WATCHED)
    ]


def test_search_expressions_quote_the_namespace_and_keep_balanced_quotes():
    text = json.dumps(body())
    searches = re.findall(r"SEARCH\((.*?)\)\"", text)
    assert searches
    for search in searches:
        expression = json.loads(f'"{search}"')
        assert expression.count("'") == 4, expression  # the query and the statistic, each in single quotes
        assert expression.count('"') % 2 == 0, expression
    assert '{\\"TasksApi/staging\\",operation,service,status_class}' in text
