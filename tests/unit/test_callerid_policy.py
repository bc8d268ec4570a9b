"""Caller-ID policy: which rule wins, the defaults, the fallbacks, and the dialled string."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivr.callerid.dialled import parse_dialled, resolve_purpose
from ivr.callerid.directory import Placer, department_group, identify
from ivr.callerid.policy import (
    PRESENTATION_ALLOWED,
    PRESENTATION_WITHHELD,
    choose_rule,
    decide,
    matches,
    specificity,
)
from ivr.config import ConfigSet
from ivr.config.model import CallerIdRule

MAIN = "+4640341000"


def with_rules(config: ConfigSet, *rules: dict[str, Any], **policy: Any) -> ConfigSet:
    caller_id = config.rules.caller_id.model_copy(
        update={"rules": tuple(CallerIdRule(**rule) for rule in rules), **policy})
    return dataclasses.replace(config, rules=config.rules.model_copy(update={"caller_id": caller_id}))


def official(config: ConfigSet, extension: str = "2101") -> Placer:
    placer = identify(config, extension)
    assert placer is not None and placer.kind == "official"
    return placer


# --- who is calling ----------------------------------------------------------------------------


def test_identify_official_agent_contact_center_and_stranger(shipped_config: ConfigSet) -> None:
    sara = official(shipped_config, "2101")
    assert (sara.ident, sara.direct_line, sara.department) == ("sara.nilsson", "+4640342101", "social_services")
    david = identify(shipped_config, "1004")
    assert david is not None and david.kind == "agent"
    assert david.groups == ("building", "streets")
    assert david.departments == ("city_planning", "streets_and_parks")
    assert david.department == "city_planning"  # an agent calls for their first group's department
    systems = identify(shipped_config, "")
    assert systems is not None and systems.kind == "contact_center" and systems.department == "contact_center"
    assert identify(shipped_config, "9999") is None


def test_department_group_is_the_group_that_names_the_department(shipped_config: ConfigSet) -> None:
    assert department_group(shipped_config, "education") == "school"
    assert department_group(shipped_config, "social_services") == "social"
    assert department_group(shipped_config, "no_such") == shipped_config.rules.default_group
    assert department_group(shipped_config, None) == shipped_config.rules.default_group


# --- defaults and what is shown ----------------------------------------------------------------


def test_defaults_official_direct_line_contact_center_main_number(shipped_config: ConfigSet) -> None:
    config = with_rules(shipped_config)
    sara = decide(config, official(config))
    assert (sara.shown, sara.effective, sara.number) == ("direct_line", "direct_line", "+4640342101")
    assert sara.presentation == PRESENTATION_ALLOWED and sara.name == "Malmö stad"
    assert sara.decided_by == "default for officials" and not sara.leads_back
    for extension in ("1004", ""):
        placer = identify(config, extension)
        assert placer is not None
        decision = decide(config, placer)
        assert (decision.effective, decision.number, decision.leads_back) == ("main_number", MAIN, True)
        assert decision.decided_by == "default for the contact center"


def test_withheld_hides_the_number_but_the_network_still_gets_the_main_number(shipped_config: ConfigSet) -> None:
    decision = decide(shipped_config, official(shipped_config, "2104"))
    assert (decision.effective, decision.presentation, decision.name) == ("withheld", PRESENTATION_WITHHELD, "")
    assert decision.number == MAIN and not decision.leads_back
    assert decision.decided_by == 'rule 3 (extension 2104)'


def test_department_number_and_its_fallback_to_the_main_number(shipped_config: ConfigSet) -> None:
    config = with_rules(shipped_config, {"department": "social_services", "show": "department_number"},
                        {"department": "streets_and_parks", "show": "department_number"})
    social = decide(config, official(config, "2101"))
    assert (social.effective, social.number, social.leads_back) == ("department_number", "+4640343000", True)
    david = identify(config, "1005")  # Emina: general, building, streets -> contact_center first
    assert david is not None
    streets = decide(config, dataclasses.replace(david, department="streets_and_parks"))
    # Gatukontoret has no number of its own: the main number, which also leads back.
    assert (streets.shown, streets.effective, streets.number) == ("department_number", "main_number", MAIN)
    assert streets.leads_back


def test_direct_line_for_an_agent_shows_the_main_number(shipped_config: ConfigSet) -> None:
    config = with_rules(shipped_config, contact_center="direct_line")
    agent = identify(config, "1001")
    assert agent is not None
    decision = decide(config, agent)
    assert (decision.shown, decision.effective, decision.number) == ("direct_line", "main_number", MAIN)


# --- resolution order --------------------------------------------------------------------------


def test_most_specific_rule_wins_extension_group_department_purpose(shipped_config: ConfigSet) -> None:
    rules = [{"purpose": "follow_up", "show": "withheld"},
             {"department": "city_planning", "show": "department_number"},
             {"group": "building", "show": "main_number"},
             {"extension": "1004", "show": "withheld"}]
    david = identify(shipped_config, "1004")
    assert david is not None
    # Every order of the rules in the file gives the same winner: the extension rule.
    for shift in range(len(rules)):
        config = with_rules(shipped_config, *(rules[shift:] + rules[:shift]))
        position = (len(rules) - 1 - shift) % len(rules) + 1
        assert decide(config, david, "follow_up").decided_by == f"rule {position} (extension 1004)"
    config = with_rules(shipped_config, *rules[:3])
    assert decide(config, david, "follow_up").effective == "main_number"  # group beats department, purpose
    config = with_rules(shipped_config, *rules[:2])
    assert decide(config, david, "follow_up").effective == "department_number"  # department beats purpose
    config = with_rules(shipped_config, rules[0])
    assert decide(config, david, "follow_up").effective == "withheld"
    assert decide(config, david, None).decided_by == "default for the contact center"


def test_more_conditions_win_among_equals_then_the_first_in_the_file(shipped_config: ConfigSet) -> None:
    sara = official(shipped_config)
    config = with_rules(shipped_config,
                        {"department": "social_services", "show": "main_number"},
                        {"department": "social_services", "purpose": "appointment", "show": "department_number"},
                        {"department": "social_services", "purpose": "appointment", "show": "withheld"})
    assert decide(config, sara, "appointment").decided_by == "rule 2 (department social_services, purpose appointment)"
    assert decide(config, sara, None).decided_by == "rule 1 (department social_services)"


def test_a_rule_matches_only_when_every_condition_does(shipped_config: ConfigSet) -> None:
    sara = official(shipped_config)
    rule = CallerIdRule(department="social_services", purpose="appointment", show="withheld")
    assert matches(rule, sara, "appointment")
    assert not matches(rule, sara, "callback")
    assert not matches(rule, sara, None)
    assert not matches(CallerIdRule(group="general", show="withheld"), sara, None)  # officials have no groups


RULE = st.fixed_dictionaries({
    "extension": st.sampled_from([None, "2101", "1004"]),
    "group": st.sampled_from([None, "building", "general"]),
    "department": st.sampled_from([None, "social_services", "city_planning"]),
    "purpose": st.sampled_from([None, "callback", "appointment"]),
    "show": st.sampled_from(["direct_line", "department_number", "main_number", "withheld"]),
}).filter(lambda fields: any(v is not None for k, v in fields.items() if k != "show")).map(
    lambda fields: CallerIdRule(**fields))


@given(rules=st.lists(RULE, max_size=8), extension=st.sampled_from(["2101", "1004", "1001"]),
       purpose=st.sampled_from([None, "callback", "appointment"]))
def test_chosen_rule_matches_and_no_matching_rule_is_more_specific(
        shipped_config: ConfigSet, rules: list[CallerIdRule], extension: str, purpose: str | None) -> None:
    placer = identify(shipped_config, extension)
    assert placer is not None
    index = choose_rule(tuple(rules), placer, purpose)
    matching = [i for i, rule in enumerate(rules) if matches(rule, placer, purpose)]
    if index is None:
        assert matching == []
        return
    assert index in matching
    assert all(specificity(rules[i]) < specificity(rules[index]) or
               (specificity(rules[i]) == specificity(rules[index]) and i >= index) for i in matching)


# --- the dialled string ------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "number", "code"), [
    ("0701234567", "0701234567", ""), ("+46701234567", "+46701234567", ""),
    ("*8110701234567", "0701234567", "11"), ("*810+46701234567", "+46701234567", "10"),
])
def test_parse_dialled(text: str, number: str, code: str) -> None:
    parsed = parse_dialled(text)
    assert parsed is not None and (parsed.number, parsed.purpose_code) == (number, code)


@pytest.mark.parametrize("text", ["", "*8", "*81", "*8x10701234567", "07012a", "0701,234", "12", "*45",
                                  "0" * 21, "070 123"])
def test_parse_dialled_refuses_what_is_not_a_number(text: str) -> None:
    assert parse_dialled(text) is None


def test_resolve_purpose_by_code_or_by_id(shipped_config: ConfigSet) -> None:
    assert resolve_purpose(shipped_config, code="11") == "appointment"
    assert resolve_purpose(shipped_config, code="99") is None
    assert resolve_purpose(shipped_config, ident="callback") == "callback"
    assert resolve_purpose(shipped_config, ident="callback,1") is None
    assert resolve_purpose(shipped_config, ident="nope") is None
    assert resolve_purpose(shipped_config) is None
