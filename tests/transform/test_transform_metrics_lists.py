"""Deal metrics (counts and LTV in the base currency) and list memberships (all contacts, deal
stages, won/lost, active leads), each over the deals that are not deleted."""

from __future__ import annotations

import pandas as pd

from pipedrive_brevo.config import CurrencyOptions
from pipedrive_brevo.transform.lists import contact_lists, mapped_lists
from pipedrive_brevo.transform.metrics import deal_metrics, live_deals
from tests.transform.builders import BASE_MAPPING, build, deal, mapping, person, rejects_of, row

EUR = CurrencyOptions(base="EUR", rates=(("USD", 0.92), ("GBP", 1.17)))


def test_deals_in_several_currencies_are_summed_in_the_base_currency():
    deals = pd.DataFrame([
        deal(1, 7, "won", 1000, "EUR"),
        deal(2, 7, "won", 250.5, "USD"),       # 230.46
        deal(3, 7, "won", 99.99, "GBP"),       # 116.9883
        deal(4, 7, "won", 10, "JPY"),          # no rate: left out, reported
        deal(5, 7, "open", 5000, "EUR"),       # open: counted, not revenue
        deal(6, 7, "lost", 700, "EUR"),
    ])
    figures, problems = deal_metrics(live_deals(deals), pd.Series({7: "c"}), EUR)
    assert figures.loc["c"].to_dict() == {"won_deals_count": 4, "lost_deals_count": 1, "open_deals_count": 1,
                                          "closed_deals_count": 5, "total_revenue": 1347.45}
    assert problems[["entity", "id", "field", "reason", "value", "detail"]].to_dict("records") == [
        {"entity": "deal", "id": "4", "field": "currency", "reason": "no_currency_rate", "value": "JPY",
         "detail": "person 7, value 10.00"}]


def test_deleted_deals_do_not_count_archived_ones_do():
    deals = pd.DataFrame([
        deal(1, 7, "won", 100, is_deleted=True),
        deal(2, 7, "deleted", 100),                   # the status=deleted listing
        deal(3, 7, "won", 40, is_archived=True),
        deal(4, 7, "lost", 0, is_archived=True),
    ])
    figures, _ = deal_metrics(live_deals(deals), pd.Series({7: 0}), EUR)
    assert figures.loc[0].to_dict() == {"won_deals_count": 1, "lost_deals_count": 1, "open_deals_count": 0,
                                        "closed_deals_count": 2, "total_revenue": 40.0}


def test_deals_of_persons_that_are_not_contacts_are_ignored_and_not_reported():
    deals = pd.DataFrame([deal(1, 8, "won", 10, "JPY"), deal(2, None, "won", 10, "EUR")])
    figures, problems = deal_metrics(live_deals(deals), pd.Series({7: 0}), EUR)
    assert figures.empty and problems.empty


def test_a_contact_without_deals_gets_zeros_not_nulls():
    contact = row(build([person(1, "a@x.example")], deals=[deal(1, 99, "won", 10)]), "a@x.example")
    assert [contact[k] for k in ("WON_DEALS", "LOST_DEALS", "OPEN_DEALS", "CLOSED_DEALS", "LTV")] == [0, 0, 0, 0, 0]


def test_the_ltv_is_rounded_to_cents_so_reruns_compare_equal():
    deals = pd.DataFrame([deal(i, 7, "won", 0.1, "EUR") for i in range(3)])
    figures, _ = deal_metrics(live_deals(deals), pd.Series({7: 0}), EUR)
    assert figures.loc[0, "total_revenue"] == 0.3   # not 0.30000000000000004


def test_no_currency_rate_is_reported_from_the_build_too():
    result = build([person(1, "a@x.example")], deals=[deal(9, 1, "won", 5, "CHF")])
    assert [(r["id"], r["value"]) for r in rejects_of(result, "no_currency_rate")] == [("9", "CHF")]
    assert row(result, "a@x.example")["LTV"] == 0


# ---------------------------------------------------------------------------------- lists

def lists_of(persons: dict[int, int], deals=(), leads=None, text: str = BASE_MAPPING) -> dict[int, tuple]:
    contacts = pd.Index(sorted(set(persons.values())))
    result = contact_lists(mapping(text), contacts, pd.Series(persons), live_deals(pd.DataFrame(list(deals))),
                           None if leads is None else pd.DataFrame(leads))
    return result.to_dict()


def test_mapped_lists_are_every_list_the_mapping_names():
    assert mapped_lists(mapping()) == (60, 61, 62, 63, 64, 65)


def test_open_deals_by_stage_closed_deals_by_status():
    found = lists_of({1: 0, 2: 1, 3: 2, 4: 3}, deals=[
        deal(1, 1, "open", stage_id=1), deal(2, 1, "open", stage_id=3),   # 61 and 62
        deal(3, 2, "won", stage_id=3),                                    # won: 63, not its stage's 62
        deal(4, 3, "lost", stage_id=1),                                   # lost: 64
        deal(5, 4, "open", stage_id=9),                                   # an unmapped stage: no list
        deal(6, 4, "won", is_deleted=True),                               # deleted: nothing
    ])
    assert found == {0: (60, 61, 62), 1: (60, 63), 2: (60, 64), 3: (60,)}


def test_archived_deals_keep_their_list():
    assert lists_of({1: 0}, deals=[deal(1, 1, "won", is_archived=True)]) == {0: (60, 63)}


def test_only_leads_that_are_not_archived_put_a_person_in_the_leads_list():
    leads = [{"id": "u-1", "person_id": 1, "is_archived": False},
             {"id": "u-2", "person_id": 2, "is_archived": True},
             {"id": "u-3", "person_id": None, "is_archived": False}]
    assert lists_of({1: 0, 2: 1}, leads=leads) == {0: (60, 65), 1: (60,)}


def test_memberships_are_taken_over_every_person_of_a_contact():
    assert lists_of({1: 0, 2: 0}, deals=[deal(1, 1, "won"), deal(2, 2, "open", stage_id=2)],
                    leads=[{"id": "u", "person_id": 2, "is_archived": False}]) == {0: (60, 61, 63, 65)}


def test_without_all_contacts_a_contact_without_deals_is_in_no_list():
    text = BASE_MAPPING.replace("    lists:\n      all_contacts: 60\n", "")
    assert lists_of({1: 0, 2: 1}, deals=[deal(1, 2, "lost")], text=text) == {0: (), 1: (64,)}
