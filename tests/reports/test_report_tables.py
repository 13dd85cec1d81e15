"""The four report tables on the hand-built account of report_builders (figures worked out by hand there)."""

from __future__ import annotations

import pandas as pd
import pytest

from pipedrive_brevo.config import MappingError
from pipedrive_brevo.reporting.as_of import deals_as_of
from pipedrive_brevo.reporting.build import build_report
from tests.reports import report_builders as rb


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return build_report(rb.inputs(), rb.mapping(), rb.REPORT_DATE)


def by_deal(tables) -> pd.DataFrame:
    return tables["deals_attribution"].set_index("deal_id")


def test_every_table_carries_the_report_date(tables):
    assert list(tables) == ["deals_attribution", "funnel", "velocity", "revenue_by_source"]
    for frame in tables.values():
        assert set(frame["report_date"]) == {"2026-03-31"}


def test_deals_added_after_the_date_or_deleted_before_it_are_left_out(tables):
    assert sorted(tables["deals_attribution"]["deal_id"]) == [1, 2, 3, 4, 5, 7, 9]


def test_base_currency_values_and_a_missing_rate(tables):
    deals = by_deal(tables)
    assert deals.loc[2, "value"] == 2000 and deals.loc[2, "value_base"] == 1800  # 2000 USD × 0.9
    assert deals.loc[1, "value_base"] == 1000 and deals.loc[1, "base_currency"] == "EUR"
    assert pd.isna(deals.loc[3, "value_base"]) and deals.loc[3, "rate_missing"]  # GBP: no rate, never summed
    assert not deals.loc[2, "rate_missing"]


def test_weighted_value_uses_the_deal_probability_else_the_stage_one(tables):
    deals = by_deal(tables)
    assert deals.loc[1, "probability_used"] == 70 and deals.loc[1, "weighted_value_base"] == 700  # stage 13: 70 %
    assert deals.loc[4, "probability_used"] == 25 and deals.loc[4, "weighted_value_base"] == 75  # own 25 %, not 40
    assert deals.loc[2, "weighted_value_base"] == 1800  # won: the whole value
    assert deals.loc[3, "weighted_value"] == 0 and pd.isna(deals.loc[3, "weighted_value_base"])  # lost, no rate


def test_names_times_contact_and_attribution(tables):
    deals = by_deal(tables)
    one = deals.loc[1]
    assert (one["pipeline_name"], one["stage_name"], one["owner_name"], one["org_name"]) == (
        "Sales", "Proposal", "Ann", "Acme")
    assert one["contact_email"] == "ada@lovelace.example"  # the primary one, trimmed and lower-cased
    assert deals.loc[2, "days_to_close"] == 41  # 01-10 → 02-20
    assert deals.loc[2, "won_time"] == pd.Timestamp("2026-02-20", tz="UTC") and pd.isna(deals.loc[1, "close_time"])
    assert (one["lead_source"], one["lead_source_from"]) == ("Webinar", "person_field")  # person's enum label
    assert (deals.loc[2, "lead_source"], deals.loc[2, "lead_source_from"]) == ("Partner", "deal_field")
    seven = deals.loc[7]
    assert (seven["lead_source"], seven["lead_source_from"], seven["source_lead_id"]) == (
        "Website form", "source_lead", "L-1")
    assert (seven["origin"], seven["channel"], seven["channel_id"]) == ("WebForms", "Referral", "spring")
    assert pd.isna(deals.loc[4, "lead_source"])
    assert deals.loc[2, "deal_lead_source"] == "Partner" and deals.loc[1, "person_lead_source"] == "Webinar"


def test_attribution_field_wins_over_the_mapped_lead_source():
    mapping = rb.mapping(rb.MAPPING + "  report:\n    attribution_field: name\n")
    deals = build_report(rb.inputs(), mapping, rb.REPORT_DATE)["deals_attribution"].set_index("deal_id")
    assert deals.loc[1, "lead_source"] == "Ada" and deals.loc[2, "lead_source"] == "Bo"
    assert deals.loc[7, "lead_source"] == "Website form"  # no person: the source lead's source


def test_a_deal_won_after_the_date_is_open_where_the_history_places_it(tables):
    five = by_deal(tables).loc[5]
    assert (five["status"], five["stage_id"], five["state_from"]) == ("open", 12, "history")
    assert pd.isna(five["won_time"]) and five["weighted_value_base"] == 40  # Demo: 40 % of 100


def test_as_of_an_earlier_date():
    deals = deals_as_of(rb.inputs(), "2026-02-15").set_index("deal_id")
    assert sorted(deals.index) == [1, 2, 3, 7, 9]
    assert set(deals["status"]) == {"open"}  # 2 won 02-20, 3 lost 03-01, 7 won 03-15, 9 won 03-20: all later
    assert deals["stage_id"].to_dict() == {1: 12, 2: 13, 3: 11, 7: 22, 9: 22}
    assert deals.loc[9, "state_from"] == "approximate" and deals.loc[1, "state_from"] == "history"
    assert 8 in deals_as_of(rb.inputs(), "2026-01-15")["deal_id"].tolist()  # deleted only on 02-01


def test_pipeline_filter_keeps_only_those_pipelines():
    mapping = rb.mapping(rb.MAPPING + "  report:\n    pipeline_ids: [2]\n")
    tables = build_report(rb.inputs(), mapping, rb.REPORT_DATE)
    assert sorted(tables["deals_attribution"]["deal_id"]) == [7, 9]
    assert set(tables["funnel"]["pipeline_id"]) == {2} and set(tables["velocity"]["pipeline_id"]) == {2}


def funnel_row(tables, stage: int, period: str = "all") -> pd.Series:
    funnel = tables["funnel"]
    (row,) = funnel[(funnel["stage_id"] == stage) & (funnel["period"] == period)].to_dict("records")
    return pd.Series(row)


def test_funnel_conversion_rates(tables):
    lead, demo, proposal = (funnel_row(tables, s) for s in (11, 12, 13))
    # reached: Lead 1,2,3,4,5 (4 entered Demo directly); Demo 1,2,4,5 (2 skipped it); Proposal 1,2
    assert (lead["deals_reached"], demo["deals_reached"], proposal["deals_reached"]) == (5, 4, 2)
    assert (lead["deals_entered"], demo["deals_entered"], proposal["deals_entered"]) == (4, 3, 2)
    assert lead["conversion_to_next"] == 0.8 and lead["conversion_to_won"] == 0.2  # 4/5, 1/5
    assert demo["conversion_to_next"] == 0.5 and demo["conversion_to_won"] == 0.25  # 2/4, 1/4
    assert proposal["conversion_to_next"] == 0.5 and proposal["conversion_to_won"] == 0.5  # last stage: to won


def test_funnel_values_of_deals_in_stage(tables):
    demo, proposal = funnel_row(tables, 12), funnel_row(tables, 13)
    assert demo["deals_in_stage"] == 2 and demo["value_base"] == 400 and demo["weighted_value_base"] == 115  # 4, 5
    assert proposal["deals_in_stage"] == 1 and proposal["weighted_value_base"] == 700
    assert funnel_row(tables, 11)["deals_in_stage"] == 0


def test_funnel_periods_are_months_reached(tables):
    periods = tables["funnel"][tables["funnel"]["stage_id"] == 11].set_index("period")
    assert periods["deals_reached"].to_dict() == {"2026-01": 2, "2026-02": 1, "2026-03": 2, "all": 5}
    assert periods.loc["2026-02", "conversion_to_next"] == 0  # deal 3 was lost in Lead
    assert periods.loc["2026-01", "conversion_to_won"] == 0.5  # deals 1 and 2, 2 won
    intro = funnel_row(tables, 21)
    assert intro["deals_reached"] == 2 and intro["conversion_to_won"] == 1.0  # 9 entered Signed directly


def velocity_row(tables, stage: int | None, pipeline: int = 1) -> pd.Series:
    velocity = tables["velocity"]
    pick = velocity["stage_id"] == stage if stage is not None else velocity["level"] == "pipeline"
    (row,) = velocity[pick & (velocity["pipeline_id"] == pipeline)].to_dict("records")
    return pd.Series(row)


def test_velocity_days_in_stage_median_and_p90(tables):
    lead = velocity_row(tables, 11)
    # spells in Lead: 27 (deal 1), 10 (2), 28 (3, until lost), 5 (5) → median 18.5, p90 27 + 0.7 × 1
    assert (lead["stage_spells"], lead["median_days_in_stage"], lead["p90_days_in_stage"]) == (4, 18.5, 27.7)
    assert velocity_row(tables, 12)["median_days_in_stage"] == 37  # deal 1: 02-01 → 03-10; 4, 5 still there
    assert velocity_row(tables, 13)["median_days_in_stage"] == 31  # deal 2: 01-20 → won 02-20
    signed = velocity_row(tables, 22, pipeline=2)
    assert (signed["median_days_in_stage"], signed["p90_days_in_stage"]) == (33, 37)  # 28 (7), 38 (9)


def test_velocity_cycle_times(tables):
    sales = velocity_row(tables, None)
    assert (sales["won_deals"], sales["median_days_to_won"], sales["lost_deals"], sales["median_days_to_lost"]) == (
        1, 41, 1, 28)
    partners = velocity_row(tables, None, pipeline=2)
    assert (partners["median_days_to_won"], partners["p90_days_to_won"]) == (48.5, 56.9)  # 59 and 38 days
    assert velocity_row(tables, 11)["lost_deals"] == 1 and velocity_row(tables, 13)["won_deals"] == 1


def test_revenue_by_source_win_rates_and_cohorts(tables):
    revenue = tables["revenue_by_source"]
    keyed = revenue.set_index(["lead_source", "origin", "owner_name", "cohort_month"])
    partner = keyed.loc[("Partner", "ManuallyCreated", "Bob", "2026-01")]
    assert (partner["won_deals"], partner["won_value_base"], partner["win_rate"]) == (1, 1800, 1.0)
    feb = keyed.loc[("Webinar", "ManuallyCreated", "Ann", "2026-02")]  # deal 3 lost, deal 9 won in GBP
    assert (feb["deals"], feb["won_deals"], feb["lost_deals"], feb["win_rate"]) == (2, 1, 1, 0.5)
    assert feb["won_value_base"] == 0 and feb["won_deals_without_rate"] == 1
    assert pd.isna(keyed.loc[("Webinar", "ManuallyCreated", "Ann", "2026-01"), "win_rate"])  # only open
    assert keyed.loc[("(none)", "API", "Bob", "2026-03"), "open_deals"] == 1
    assert revenue["won_value_base"].sum() == 2200 and revenue["deals"].sum() == 7
    assert keyed.loc[("Website form", "WebForms", "Ann", "2026-01"), "channel"] == "Referral"


def test_a_report_date_that_is_not_a_date_is_refused():
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        build_report(rb.inputs(), rb.mapping(), "2026-03-31T10:00")


def test_an_unknown_attribution_custom_field_names_the_key():
    mapping = rb.mapping(rb.MAPPING + "  report:\n    attribution_field: custom_fields.channel_source\n")
    with pytest.raises(MappingError, match=r"options\.report\.attribution_field"):
        build_report(rb.inputs(), mapping, rb.REPORT_DATE)


def test_an_account_without_deals_gives_empty_tables():
    tables = build_report(rb.inputs(deals=pd.DataFrame()), rb.mapping(), rb.REPORT_DATE)
    assert len(tables["deals_attribution"]) == 0 and len(tables["revenue_by_source"]) == 0
    assert (tables["funnel"].query("period == 'all'")["deals_reached"] == 0).all()
