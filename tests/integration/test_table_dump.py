"""`export_table` / `import_table`: every item survives the round trip; a bad file changes nothing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command


def test_a_table_exported_then_imported_into_an_empty_one_is_the_same(aws, api, tmp_path):
    tasks = [api.created(title=f"t{i} ✓") for i in range(30)]  # more than one BatchWriteItem
    api.complete(tasks[0]["task_id"])
    aws.relay()  # the outbox published and emptied: the tasks are the table
    other_item = {"PK": {"S": "OTHER#1"}, "SK": {"S": "OTHER#1"}, "Payload": {"M": {"n": {"N": "1"}}}}
    dynamodb = aws.target.client("dynamodb")
    dynamodb.put_item(TableName=aws.resources.table_name, Item=other_item)
    dump = tmp_path / "dump.jsonl"
    call_command("export_table", str(dump), stdout=StringIO())
    assert len(dump.read_text().splitlines()) == 31

    before = {task["task_id"]: api.get(task["task_id"]).json()["data"] for task in tasks}
    aws.server.reset()
    call_command("provision", stdout=StringIO())
    out = StringIO()
    call_command("import_table", str(dump), stdout=out)
    assert "Imported 31 items" in out.getvalue()
    assert {task_id: api.get(task_id).json()["data"] for task_id in before} == before
    assert len(api.list(user_id="alice", limit=100).json()["data"]) == 30
    key = {"PK": other_item["PK"], "SK": other_item["SK"]}
    assert dynamodb.get_item(TableName=aws.resources.table_name, Key=key)["Item"] == other_item


def test_a_file_with_a_bad_line_imports_nothing(aws, api, tmp_path):
    api.created()
    aws.relay()
    dump = tmp_path / "dump.jsonl"
    call_command("export_table", str(dump), stdout=StringIO())
    dump.write_text(dump.read_text() + "not json\n")
    aws.server.reset()
    call_command("provision", stdout=StringIO())
    with pytest.raises(CommandError, match="line 2 is not JSON"):
        call_command("import_table", str(dump), stdout=StringIO())
    assert api.list(user_id="alice").json()["data"] == []


def test_exporting_to_stdout_writes_json_lines(aws, api):
    api.created()
    aws.relay()
    out = StringIO()
    call_command("export_table", "-", stdout=out)
    assert out.getvalue().count("\n") == 1


def test_importing_a_missing_file_is_a_clear_error(aws, tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        call_command("import_table", str(tmp_path / "nope.jsonl"))
