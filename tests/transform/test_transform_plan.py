"""The plan: desired contacts diffed against the sync state. Creates, updates with only what
changed, renames, list adds and removes, removals per delete_behavior, pending events; applying a
plan gives the desired state and a second diff is empty."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipedrive_brevo.transform.plan import apply_plan, conform, diff, mirror_memberships, types_of
from tests.transform.builders import build, deal, person

TYPES = {"FIRSTNAME": "text", "SCORE": "float", "VIP": "boolean", "TAGS": "multiple-choice", "BDAY": "date"}


def state(*rows: dict) -> pd.DataFrame:
    """A contact frame from plain rows (missing attributes are null), typed as the build types them."""
    frame = pd.DataFrame([{"email": r["email"], "ext_id": r.get("ext_id"), "list_ids": r.get("list_ids", ()),
                           **{name: r.get(name) for name in TYPES}} for r in rows],
                         columns=["email", "ext_id", *TYPES, "list_ids"])
    return conform(frame, TYPES)


ANN = {"email": "ann@x.example", "ext_id": "1", "FIRSTNAME": "Ann", "SCORE": 3.0, "VIP": True, "TAGS": ("a", "b"),
       "BDAY": "1990-01-02", "list_ids": (60, 61)}
BOB = {"email": "bob@x.example", "ext_id": "2", "FIRSTNAME": "Bob", "list_ids": (60,)}


def records(frame: pd.DataFrame, columns: list[str] | None = None) -> list[dict]:
    frame = frame if columns is None else frame[columns]
    return [{k: (None if not isinstance(v, tuple) and pd.isna(v) else v) for k, v in r.items()}
            for r in frame.to_dict("records")]


def test_a_first_run_creates_every_contact_and_adds_every_membership():
    plan = diff(state(ANN, BOB), None)
    assert records(plan.upserts, ["action", "email", "ext_id", "previous_email", "changed"]) == [
        {"action": "create", "email": "ann@x.example", "ext_id": "1", "previous_email": None,
         "changed": ("FIRSTNAME", "SCORE", "VIP", "TAGS", "BDAY", "EXT_ID")},
        {"action": "create", "email": "bob@x.example", "ext_id": "2", "previous_email": None,
         "changed": ("FIRSTNAME", "EXT_ID")},
    ]
    assert plan.by_list(plan.list_adds) == {60: ["ann@x.example", "bob@x.example"], 61: ["ann@x.example"]}
    assert plan.list_removes.empty and plan.removals.empty
    assert plan.summary() == {"created": 2, "updated": 0, "renamed": 0, "unchanged": 0, "unlisted": 0,
                              "deleted": 0, "list_adds": 3, "list_removes": 0, "events": 0}


def test_unchanged_contacts_appear_nowhere():
    plan = diff(state(ANN, BOB), state(BOB, ANN))
    assert plan.is_empty() and plan.unchanged == 2


def test_an_update_carries_only_the_changed_attributes_and_a_cleared_one_as_null():
    desired = state({**ANN, "FIRSTNAME": "Anne", "SCORE": None, "TAGS": ("b", "a")}, BOB)
    plan = diff(desired, state(ANN, BOB))
    assert records(plan.upserts) == [{
        "action": "update", "email": "ann@x.example", "ext_id": "1", "previous_email": None,
        "changed": ("FIRSTNAME", "SCORE", "TAGS"),
        "FIRSTNAME": "Anne", "SCORE": None, "VIP": None, "TAGS": ("b", "a"), "BDAY": None}]
    assert plan.list_adds.empty and plan.list_removes.empty and plan.unchanged == 1


def test_a_new_winner_changes_only_the_ext_id():
    plan = diff(state({**BOB, "ext_id": "7"}), state(BOB))
    assert records(plan.upserts, ["action", "ext_id", "changed"]) == [
        {"action": "update", "ext_id": "7", "changed": ("EXT_ID",)}]


def test_memberships_that_changed_are_list_adds_and_removes_without_an_update():
    plan = diff(state({**ANN, "list_ids": (60, 63)}), state(ANN))
    assert plan.upserts.empty
    assert plan.by_list(plan.list_adds) == {63: ["ann@x.example"]}
    assert plan.by_list(plan.list_removes) == {61: ["ann@x.example"]}


def test_an_email_changed_in_pipedrive_renames_the_contact_found_by_ext_id():
    plan = diff(state({**ANN, "email": "ann.new@x.example"}), state(ANN))
    assert records(plan.upserts, ["action", "email", "ext_id", "previous_email", "changed"]) == [
        {"action": "update", "email": "ann.new@x.example", "ext_id": "1", "previous_email": "ann@x.example",
         "changed": ()}]
    assert plan.removals.empty and plan.list_adds.empty and plan.list_removes.empty


def test_a_deleted_person_is_unlisted_when_soft_and_deleted_when_hard():
    desired, sent = state(BOB), state(ANN, BOB)
    soft = diff(desired, sent, deleted_ext_ids=["1"], delete_behavior="soft")
    assert records(soft.removals) == [{"email": "ann@x.example", "ext_id": "1", "action": "unlist",
                                       "reason": "person_deleted"}]
    assert soft.by_list(soft.list_removes) == {60: ["ann@x.example"], 61: ["ann@x.example"]}
    hard = diff(desired, sent, deleted_ext_ids=["1"], delete_behavior="hard")
    assert records(hard.removals) == [{"email": "ann@x.example", "ext_id": "1", "action": "delete",
                                       "reason": "person_deleted"}]
    assert hard.list_removes.empty
    assert apply_plan(sent, soft).equals(apply_plan(sent, hard))


def test_a_contact_gone_for_another_reason_is_only_unlisted_even_when_hard():
    plan = diff(state(BOB), state(ANN, BOB), deleted_ext_ids=[], delete_behavior="hard")
    assert records(plan.removals) == [{"email": "ann@x.example", "ext_id": "1", "action": "unlist",
                                       "reason": "not_synced"}]


def test_an_unknown_delete_behavior_is_refused():
    with pytest.raises(ValueError, match="delete_behavior"):
        diff(state(ANN), None, delete_behavior="purge")


def test_a_newly_mapped_attribute_updates_every_contact_and_an_unmapped_one_is_ignored():
    sent = state(ANN, BOB).drop(columns=["BDAY"]).assign(OLD=pd.Series(["x", "y"], dtype="string"))
    plan = diff(state(ANN, BOB), sent)
    assert records(plan.upserts, ["email", "changed"]) == [{"email": "ann@x.example", "changed": ("BDAY",)}]
    assert list(apply_plan(sent, plan).columns) == ["email", "ext_id", *TYPES, "list_ids"]


def test_events_already_sent_are_not_planned_again():
    events = pd.DataFrame({"event_id": ["activity_logged:1", "activity_logged:2", "activity_logged:2"],
                           "event_name": "activity_logged"}, dtype="string")
    plan = diff(state(ANN), state(ANN), events=events, sent_event_ids=["activity_logged:1"])
    assert plan.events["event_id"].tolist() == ["activity_logged:2"]
    assert not plan.is_empty()


def test_the_state_survives_a_parquet_round_trip(tmp_path: Path):
    desired = build([person(1, "a@x.example", phone="+49 30 1234567"), person(2, "b@x.example")],
                    deals=[deal(1, 1, "won", 10)]).contacts
    sent = apply_plan(None, diff(desired, None))
    path = tmp_path / "state.parquet"
    sent.to_parquet(path)
    again = pd.read_parquet(path)
    assert diff(desired, again).is_empty()
    again_state = state(ANN)
    again_state.to_parquet(path)
    assert diff(state(ANN), pd.read_parquet(path)).is_empty()   # tuples of text and of ints, back from arrays


def test_a_plan_applied_batch_by_batch_resumes_with_the_rest():
    desired = state(ANN, BOB, {"email": "cy@x.example", "ext_id": "3", "list_ids": (62,)})
    plan = diff(desired, None)
    first = type(plan)(plan.upserts.iloc[:1], plan.list_adds.iloc[:0], plan.list_removes, plan.removals,
                       plan.events, plan.attributes, plan.types)
    after_first = apply_plan(None, first)
    rest = diff(desired, after_first)
    assert rest.upserts["email"].tolist() == ["bob@x.example", "cy@x.example"]
    assert apply_plan(after_first, rest).equals(desired)


def test_mirroring_brevo_members_removes_memberships_pipedrive_does_not_justify():
    sent = state(ANN)                                       # the state says ann is in 60 and 61
    members = pd.DataFrame({"list_id": [60, 61, 99], "email": ["ann@x.example", "Stranger@x.example",
                                                               "ann@x.example"]})
    mirrored = mirror_memberships(sent, members, [60, 61, 62, 63], TYPES)
    assert records(mirrored, ["email", "ext_id", "FIRSTNAME", "list_ids"]) == [
        {"email": "ann@x.example", "ext_id": "1", "FIRSTNAME": "Ann", "list_ids": (60,)},
        {"email": "stranger@x.example", "ext_id": None, "FIRSTNAME": None, "list_ids": (61,)},
    ]
    plan = diff(state(ANN), mirrored)
    assert plan.by_list(plan.list_adds) == {61: ["ann@x.example"]}
    assert plan.by_list(plan.list_removes) == {61: ["stranger@x.example"]}
    assert records(plan.removals) == [{"email": "stranger@x.example", "ext_id": None, "action": "unlist",
                                       "reason": "not_synced"}]


def test_types_are_read_from_the_dtypes():
    # a date is carried as its YYYY-MM-DD text, so by dtype it is text: compared and stored alike
    assert types_of(state(ANN)) == {**TYPES, "BDAY": "text"}


# ------------------------------------------------------------------- properties (hypothesis)

EMAILS = [f"{name}@x.example" for name in ("ann", "bob", "cy", "dee", "eve", "fay")]
contact_rows = st.fixed_dictionaries({
    "ext_id": st.sampled_from(["1", "2", "3", "4", "5", "6", "7", None]),
    "FIRSTNAME": st.sampled_from([None, "Ann", "Zoë", "김"]),
    "SCORE": st.sampled_from([None, 0.0, 1.5, 2.0]),
    "VIP": st.sampled_from([None, True, False]),
    "TAGS": st.sampled_from([None, ("a",), ("a", "b"), ("b",)]),
    "BDAY": st.sampled_from([None, "1990-01-02", "2000-12-31"]),
    "list_ids": st.lists(st.sampled_from([60, 61, 62, 63]), max_size=4, unique=True).map(lambda x: tuple(sorted(x))),
})


@st.composite
def states(draw) -> pd.DataFrame:
    emails = draw(st.lists(st.sampled_from(EMAILS), unique=True, max_size=len(EMAILS)))
    rows = [{"email": e, **draw(contact_rows)} for e in emails]
    seen: set[str] = set()
    for r in rows:              # ext_ids are unique within a state, as winners' ids are
        if r["ext_id"] in seen:
            r["ext_id"] = None
        seen.add(r["ext_id"])
    return state(*rows) if rows else state()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(desired=states(), sent=states(), deleted=st.lists(st.sampled_from(["1", "2", "3"]), max_size=3),
       behavior=st.sampled_from(["soft", "hard"]))
def test_applying_a_plan_gives_the_desired_state_and_a_second_diff_is_empty(desired, sent, deleted, behavior):
    plan = diff(desired, sent, deleted_ext_ids=deleted, delete_behavior=behavior)
    applied = apply_plan(sent, plan)
    pd.testing.assert_frame_equal(applied, conform(desired, TYPES))
    assert diff(desired, applied, deleted_ext_ids=deleted, delete_behavior=behavior).is_empty()
    # nothing unchanged is in the plan: every planned email differs somewhere
    planned = set(plan.upserts["email"]) | set(plan.list_adds["email"]) | set(plan.list_removes["email"])
    assert plan.unchanged == len(desired) - len(planned & set(desired["email"]))
