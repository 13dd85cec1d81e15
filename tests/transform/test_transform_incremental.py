"""An incremental run: rebuilding only the persons that share an email or an SMS number with the
changed ones, and diffing them against that scope of the state, plans exactly what a full rebuild
would."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipedrive_brevo.transform.contacts import affected_persons
from pipedrive_brevo.transform.identity import identity_keys
from pipedrive_brevo.transform.plan import apply_plan, diff, scope
from tests.transform.builders import build, deal, person


def keys_of(persons: list[dict]) -> pd.DataFrame:
    return identity_keys(pd.DataFrame(persons), "DE")


def test_identity_keys_are_the_normalised_email_and_the_e164_number():
    keys = keys_of([person(1, " A@X.example ", phone="030 1234567"), person(2, None, phone="n/a")])
    assert keys.loc[1].tolist() == ["a@x.example", "+49301234567"]
    assert keys.loc[2].isna().all()


def test_affected_persons_follow_shared_emails_and_numbers_before_and_after():
    before = [person(1, "a@x.example"), person(2, "a@x.example", phone="+49 30 1234567"),
              person(3, "c@x.example", phone="030 1234567"), person(4, "d@x.example"), person(5, "e@x.example")]
    after = [*before[:4], person(5, "d@x.example")]             # 5 moves from e@ to d@
    ids = affected_persons([1], keys_of(after), keys_of(before))
    # 1 shares a@ with 2; 2 shares its number with 3 (written locally)
    assert sorted(ids) == [1, 2, 3]
    assert sorted(affected_persons([5], keys_of(after), keys_of(before))) == [4, 5]


def incremental(before: list[dict], after: list[dict], changed: list[int], deals: list[dict]) -> pd.DataFrame:
    """The state after a full first run on ``before`` and an incremental run for ``changed``."""
    first = build(before, deals=deals).contacts
    state = apply_plan(None, diff(first, None))
    ids = set(affected_persons(changed, keys_of(after), keys_of(before)))
    part = build([p for p in after if p["id"] in ids], deals=[d for d in deals if d["person_id"] in ids])
    emails = pd.concat([keys_of(after)["email"], keys_of(before)["email"]])
    scoped = scope(state, emails[emails.index.isin(ids)].dropna().unique(), [str(i) for i in ids])
    deleted = [str(p["id"]) for p in after if p["is_deleted"]]
    return apply_plan(state, diff(part.contacts, scoped, deleted_ext_ids=deleted))


EMAILS = ["a@x.example", "b@x.example", "c@x.example", None]
PHONES = ["+49 30 1234567", "+33 1 42 68 53 00", None]
TIMES = ["2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"]
people = st.lists(st.tuples(st.sampled_from(EMAILS), st.sampled_from(PHONES), st.sampled_from(TIMES),
                            st.booleans()), min_size=1, max_size=7)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(before=people, edits=st.lists(st.tuples(st.integers(0, 6), st.sampled_from(EMAILS), st.sampled_from(PHONES),
                                                st.booleans()), max_size=3))
def test_an_incremental_run_equals_a_full_rebuild(before, edits):
    old = [person(i + 1, e, phone=p, updated=t, is_deleted=d and i % 3 == 0) for i, (e, p, t, d) in enumerate(before)]
    new = [dict(p) for p in old]
    changed = []
    for index, email, phone, deleted in edits:
        if index < len(new):
            pid = new[index]["id"]
            new[index] = person(pid, email, phone=phone, updated="2026-03-01T00:00:00Z", is_deleted=deleted)
            changed.append(pid)
    deals = [deal(i, p["id"], "won", 10) for i, p in enumerate(old)]
    full = build(new, deals=deals).contacts
    result = incremental(old, new, changed, deals)
    pd.testing.assert_frame_equal(result, apply_plan(None, diff(full, None)))
