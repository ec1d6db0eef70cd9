"""Value objects: task and user ids, priorities, tags, text rules and the status state machine."""

import pytest

from tasks_app.domain.errors import InvalidValue
from tasks_app.domain.values import Priority, TaskId, TaskStatus, UserId, normalize_tags, require_unicode_text

PENDING, IN_PROGRESS, COMPLETED, CANCELLED = TaskStatus
UNSTORABLE_TEXT = ["nul \x00 inside", "lone high \ud83c", "lone low \udc00", "\x00"]

# SPEC §1, written out rather than derived from the code under test: from -> the statuses it may become.
SPEC_MOVES = {
    PENDING: {IN_PROGRESS, COMPLETED, CANCELLED},  # start, complete, cancel
    IN_PROGRESS: {COMPLETED, CANCELLED},  # complete, cancel
    COMPLETED: {PENDING},  # reopen
    CANCELLED: {PENDING},  # reopen
}


def test_new_task_ids_are_task_dash_uuid4():
    value = str(TaskId.new())
    assert value.startswith("task-")
    assert TaskId.is_valid(value)
    assert TaskId.new() != TaskId.new()


@pytest.mark.parametrize(
    "value",
    [
        "",
        "task-",
        "3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21",
        "task-3f1c2b9e-8d4a-1c1e-9b7f-2a6d5e4c3b21",  # UUID1, not UUID4
        "task-3F1C2B9E-8D4A-4C1E-9B7F-2A6D5E4C3B21",
        "task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21\n",
        "TASK#task-3f1c2b9e-8d4a-4c1e-9b7f-2a6d5e4c3b21",
    ],
)
def test_anything_else_is_not_a_task_id(value):
    assert not TaskId.is_valid(value)
    with pytest.raises(InvalidValue):
        TaskId(value)


def test_user_ids_are_trimmed_when_parsed():
    assert UserId.parse("  alice ") == UserId("alice")


@pytest.mark.parametrize(("raw", "message"), [("   ", "blank"), ("a" * 129, "at most 128")])
def test_blank_or_long_user_ids_are_refused(raw, message):
    with pytest.raises(InvalidValue, match=message) as raised:
        UserId.parse(raw)
    assert raised.value.field == "user_id"


def test_a_user_id_of_128_characters_is_fine():
    assert len(str(UserId.parse("ü" * 128))) == 128


def test_a_user_id_built_directly_must_already_be_trimmed():
    with pytest.raises(InvalidValue, match="whitespace") as raised:
        UserId(" alice")
    assert raised.value.field == "user_id"


@pytest.mark.parametrize("raw", UNSTORABLE_TEXT)
def test_user_ids_with_nul_or_unpaired_surrogates_are_refused(raw):
    with pytest.raises(InvalidValue) as raised:
        UserId.parse(raw)
    assert raised.value.field == "user_id"


@pytest.mark.parametrize("raw", UNSTORABLE_TEXT)
def test_text_with_nul_or_unpaired_surrogates_is_refused_naming_the_field(raw):
    with pytest.raises(InvalidValue) as raised:
        require_unicode_text("title", raw)
    assert raised.value.field == "title"


@pytest.mark.parametrize("raw", ["", "plain", "emoji 🎉 (a pair in JSON)", "tab\tand\nnewline", "ß and 中文"])
def test_text_that_utf8_can_hold_is_accepted(raw):
    require_unicode_text("title", raw)


def test_priorities_are_the_four_of_the_spec_in_rising_order():
    assert [p.value for p in Priority] == ["low", "normal", "high", "urgent"]
    assert Priority("urgent") is Priority.URGENT


def test_tags_are_trimmed_lower_cased_and_kept_in_the_order_given():
    assert normalize_tags(["  Home ", "URGENT", "q4 Report"]) == ("home", "urgent", "q4 report")


def test_tags_repeated_in_any_case_are_kept_once_where_first_given():
    assert normalize_tags(["b", "A", "B ", "a", "c"]) == ("b", "a", "c")


def test_no_tags_is_an_empty_tuple():
    assert normalize_tags([]) == ()


def test_a_tag_may_be_one_to_forty_characters():
    assert normalize_tags(["x", "Y" * 40]) == ("x", "y" * 40)


def test_a_task_may_have_twenty_tags_counted_after_repeats_are_dropped():
    twenty = [f"tag-{i}" for i in range(20)]
    assert normalize_tags(twenty) == tuple(twenty)
    assert normalize_tags([*twenty, "TAG-0", " tag-19 "]) == tuple(twenty)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([""], "blank"),
        (["   "], "blank"),
        (["x" * 41], "at most 40"),
        (["a,b"], "comma"),
        ([f"tag-{i}" for i in range(21)], "at most 20"),
        ([None], "must be text"),
        ([7], "must be text"),
        *(([raw], "") for raw in UNSTORABLE_TEXT),
    ],
    ids=["empty", "blank", "41-chars", "comma", "21-tags", "none", "number", "nul", "high", "low", "only-nul"],
)
def test_tags_that_break_a_rule_are_refused_naming_the_tags_field(raw, message):
    with pytest.raises(InvalidValue, match=f"(?i){message}") as raised:
        normalize_tags(raw)
    assert raised.value.field == "tags"


@pytest.mark.parametrize("old", list(TaskStatus))
@pytest.mark.parametrize("new", list(TaskStatus))
def test_the_state_machine_allows_exactly_the_spec_transitions(old, new):
    assert old.can_become(new) is (new in SPEC_MOVES[old])


def test_a_status_never_becomes_itself():
    assert not any(status.can_become(status) for status in TaskStatus)


@pytest.mark.parametrize("new", list(TaskStatus))
def test_reachable_from_lists_every_status_that_may_move_to_this_one(new):
    assert new.reachable_from() == {old for old, targets in SPEC_MOVES.items() if new in targets}
