"""The interpreter running the shipped dialplans/main.yaml with scripted callers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pytest

from ivr.config import ConfigSet
from ivr.config.plan import Plan
from ivr.engine.interpreter import MAX_STEPS, CallResult, run_call
from ivr.engine.simulated import HANGUP, ScriptedChannel, parse_keys
from ivr.engine.trace import TraceStep

STOCKHOLM = ZoneInfo("Europe/Stockholm")
WEEKDAY_10 = dt.datetime(2026, 12, 22, 10, 0, tzinfo=STOCKHOLM)  # a Tuesday
JULAFTON_10 = dt.datetime(2026, 12, 24, 10, 0, tzinfo=STOCKHOLM)
SATURDAY_10 = dt.datetime(2026, 12, 19, 10, 0, tzinfo=STOCKHOLM)
HEAD = ["welcome", "choose_language", "opening_hours", "main_menu"]


@dataclass
class TypeAheadChannel(ScriptedChannel):
    """A scripted caller who also presses a key while a given sound plays (once per entry)."""

    interrupts: dict[str, str] = field(default_factory=dict)

    async def play(self, sound: str, *, interrupt_keys: str) -> str:
        await super().play(sound, interrupt_keys=interrupt_keys)
        key = self.interrupts.pop(sound, "")
        return key if key and key in interrupt_keys else ""


async def call(config: ConfigSet, plan: Plan, keys: Sequence[str], *, now: dt.datetime = WEEKDAY_10,
               channel: ScriptedChannel | None = None) -> tuple[CallResult, ScriptedChannel]:
    channel = channel if channel is not None else ScriptedChannel(list(keys))
    result = await run_call(config, plan, channel, now=now)
    return result, channel


def step(result: CallResult, node: str, nth: int = 0) -> TraceStep:
    return [s for s in result.steps if s.node == node][nth]


# --- each main-menu choice -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "queue", "group", "tags", "tail"),
    [
        (["1"], "kc-school", "school", {"department": "education", "service": "preschool_school"},
         ["tag_school", "queue_school"]),
        (["2", "1"], "kc-social", "social", {"department": "social_services", "service": "individual_family"},
         ["social_menu", "tag_social_services", "queue_social"]),
        (["2", "2"], "kc-social", "social", {"department": "social_services", "service": "elder_care"},
         ["social_menu", "tag_elder_care", "queue_social"]),
        (["3", *"12345#"], "kc-building", "building",
         {"department": "city_planning", "service": "building_permits"},
         ["building_case", "tag_building", "queue_building"]),
        (["3", "#"], "kc-building", "building", {"department": "city_planning", "service": "building_permits"},
         ["building_case", "tag_building", "queue_building"]),
        (["4"], "kc-streets", "streets", {"department": "streets_and_parks", "service": "streets_parks"},
         ["tag_streets", "queue_streets"]),
        (["5"], "kc-general", "general", {"department": "contact_center", "service": "general"},
         ["tag_general", "queue_general"]),
    ],
    ids=["1-school", "2,1-social", "2,2-elder-care", "3-case-number", "3-no-case-number", "4-streets", "5-general"],
)
async def test_main_menu_choice_reaches_queue_with_tags(
    shipped_config: ConfigSet, main_plan: Plan, keys: list[str], queue: str, group: str, tags: dict[str, str],
    tail: list[str]
) -> None:
    result, channel = await call(shipped_config, main_plan, ["1", *keys])
    assert result.outcome is not None
    assert result.outcome.kind == "queue"
    assert result.outcome.queue == queue
    assert result.outcome.group == group
    assert result.tags == tags
    assert result.nodes == [*HEAD, *tail]
    assert result.language == "sv"
    assert result.hung_up is False
    assert channel.unused_keys == []
    assert channel.played[-1] == "ivr/main/sv/connecting"
    assert result.plan == "main"
    assert result.config_version == shipped_config.version


async def test_case_number_is_stored_in_a_variable(shipped_config: ConfigSet, main_plan: Plan) -> None:
    result, channel = await call(shipped_config, main_plan, ["1", "3", *"12345#"])
    assert result.variables == {"case_number": "12345"}
    assert step(result, "building_case").keys == "12345#"
    assert "ivr/main/sv/invalid_case_number" not in channel.played
    # The JSON form names the variable but never prints its value.
    assert result.as_dict()["variables"] == ["case_number"]


async def test_hash_alone_skips_the_case_number_without_an_error_message(shipped_config: ConfigSet,
                                                                        main_plan: Plan) -> None:
    # The prompt says "otherwise, press hash": that is an answer, not a mistake.
    result, channel = await call(shipped_config, main_plan, ["1", "3", "#"])
    assert result.variables == {}
    assert "ivr/main/sv/invalid_case_number" not in channel.played
    assert channel.played.count("ivr/main/sv/case_number") == 1
    assert result.outcome is not None and result.outcome.queue == "kc-building"


async def test_too_short_case_number_is_asked_again(shipped_config: ConfigSet, main_plan: Plan) -> None:
    result, channel = await call(shipped_config, main_plan, ["1", "3", *"12#", *"98765#"])
    assert result.variables == {"case_number": "98765"}
    assert channel.played.count("ivr/main/sv/invalid_case_number") == 1
    assert channel.played.count("ivr/main/sv/case_number") == 2
    assert step(result, "building_case").notes == ["rejected input of 2 keys (attempt 1)",
                                                   "collected 5 digits into case_number"]


async def test_case_number_rejected_twice_goes_to_the_fallback(shipped_config: ConfigSet, main_plan: Plan) -> None:
    result, channel = await call(shipped_config, main_plan, ["1", "3", *"12#", *"1#"])
    assert result.variables == {}
    assert channel.played.count("ivr/main/sv/invalid_case_number") == 2
    assert result.nodes[-2:] == ["tag_building", "queue_building"]


async def test_case_number_ends_itself_at_max_digits(shipped_config: ConfigSet, main_plan: Plan) -> None:
    result, channel = await call(shipped_config, main_plan, ["1", "3", *"12345678901#"])
    assert result.variables == {"case_number": "1234567890"}
    assert channel.unused_keys == ["1", "#"]


async def test_case_number_ended_by_silence(shipped_config: ConfigSet, main_plan: Plan) -> None:
    result, _ = await call(shipped_config, main_plan, ["1", "3", *"4711", ""])
    assert result.variables == {"case_number": "4711"}


# --- repeating, invalid keys, silence ------------------------------------------------------------


async def test_nine_repeats_the_main_menu(shipped_config: ConfigSet, main_plan: Plan) -> None:
    result, channel = await call(shipped_config, main_plan, ["1", "9", "9", "4"])
    assert result.nodes == [*HEAD, "main_menu", "main_menu", "tag_streets", "queue_streets"]
    assert channel.played.count("ivr/main/sv/main_menu") == 3
    assert result.outcome is not None and result.outcome.queue == "kc-streets"


async def test_zero_in_the_social_menu_goes_back(shipped_config: ConfigSet, main_plan: Plan) -> None:
    result, _ = await call(shipped_config, main_plan, ["1", "2", "0", "5"])
    assert result.nodes == [*HEAD, "social_menu", "main_menu", "tag_general", "queue_general"]
    assert result.outcome is not None and result.outcome.queue == "kc-general"


async def test_invalid_keys_then_a_valid_one(shipped_config: ConfigSet, main_plan: Plan) -> None:
    result, channel = await call(shipped_config, main_plan, ["1", "7", "*", "1"])
    assert result.outcome is not None and result.outcome.queue == "kc-school"
    assert channel.played.count("ivr/main/sv/invalid_choice") == 2
    assert channel.played.count("ivr/main/sv/main_menu") == 3
    menu = step(result, "main_menu")
    assert menu.keys == "7*1"
    assert menu.notes == ["invalid key 7 (attempt 1)", "invalid key * (attempt 2)", "key 1"]
    assert result.nodes == [*HEAD, "tag_school", "queue_school"]


async def test_three_timeouts_fall_back_to_general(shipped_config: ConfigSet, main_plan: Plan) -> None:
    result, channel = await call(shipped_config, main_plan, ["1"])
    assert result.outcome is not None
    assert result.outcome.queue == "kc-general"
    assert result.tags == {"department": "contact_center", "service": "general"}
    assert channel.played.count("ivr/main/sv/main_menu") == 3
    assert channel.played.count("ivr/main/sv/no_choice") == 3
    assert step(result, "main_menu").notes == [
        "no key (attempt 1)", "no key (attempt 2)", "no key (attempt 3)", "attempts used up"]
    assert result.nodes == [*HEAD, "tag_general", "queue_general"]


async def test_three_invalid_keys_fall_back_to_general(shipped_config: ConfigSet, main_plan: Plan) -> None:
    result, channel = await call(shipped_config, main_plan, ["1", "6", "7", "8", "1"])
    assert result.outcome is not None and result.outcome.queue == "kc-general"
    assert channel.played.count("ivr/main/sv/invalid_choice") == 3
    assert channel.unused_keys == ["1"]


async def test_social_menu_falls_back_to_individual_family(shipped_config: ConfigSet, main_plan: Plan) -> None:
    result, _ = await call(shipped_config, main_plan, ["1", "2"])
    assert result.outcome is not None and result.outcome.queue == "kc-social"
    assert result.tags["service"] == "individual_family"


# --- languages -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "language"), [("1", "sv"), ("2", "en"), ("3", "ar")])
async def test_language_choice(shipped_config: ConfigSet, main_plan: Plan, key: str, language: str) -> None:
    result, channel = await call(shipped_config, main_plan, [key, "4"])
    assert result.language == language
    assert channel.variables["CHANNEL(language)"] == language
    # The language menu speaks every language; after it, everything is in the chosen one.
    assert channel.played[:4] == ["ivr/main/sv/welcome", "ivr/main/sv/language_choice",
                                  "ivr/main/en/language_choice", "ivr/main/ar/language_choice"]
    assert channel.played[4:] == [f"ivr/main/{language}/main_menu", f"ivr/main/{language}/connecting"]
    assert [p.language for p in step(result, "main_menu").played] == [language]
    assert result.outcome is not None and result.outcome.queue == "kc-streets"


async def test_no_key_at_the_language_menu_keeps_swedish(shipped_config: ConfigSet, main_plan: Plan) -> None:
    result, channel = await call(shipped_config, main_plan, ["", "1"])
    assert result.language == "sv"
    assert channel.variables["CHANNEL(language)"] == "sv"
    assert step(result, "choose_language").notes == ["no valid key, keeping sv"]
    assert "ivr/main/sv/main_menu" in channel.played
    assert result.outcome is not None and result.outcome.queue == "kc-school"


async def test_invalid_key_at_the_language_menu_keeps_swedish(shipped_config: ConfigSet, main_plan: Plan) -> None:
    result, _ = await call(shipped_config, main_plan, ["7", "4"])
    assert result.language == "sv"
    assert step(result, "choose_language").notes == ["invalid key 7"]
    assert result.outcome is not None and result.outcome.queue == "kc-streets"


async def test_caller_language_given_to_run_call(shipped_config: ConfigSet, main_plan: Plan) -> None:
    channel = ScriptedChannel(["", "5"])
    result = await run_call(shipped_config, main_plan, channel, now=WEEKDAY_10, language="en")
    assert result.language == "en"
    assert channel.played[0] == "ivr/main/en/welcome"


# --- type-ahead ----------------------------------------------------------------------------------


async def test_key_interrupting_the_welcome_is_used_by_the_language_menu(shipped_config: ConfigSet,
                                                                         main_plan: Plan) -> None:
    channel = TypeAheadChannel(["4"], interrupts={"ivr/main/sv/welcome": "2"})
    result, _ = await call(shipped_config, main_plan, [], channel=channel)
    assert result.language == "en"
    welcome = step(result, "welcome")
    assert welcome.played[0].interrupted_by == "2"
    assert step(result, "choose_language").keys == "2"
    # The language prompts are skipped: the caller already answered.
    assert not any("language_choice" in sound for sound in channel.played)
    assert channel.played == ["ivr/main/sv/welcome", "ivr/main/en/main_menu", "ivr/main/en/connecting"]
    assert result.outcome is not None and result.outcome.queue == "kc-streets"


async def test_key_interrupting_the_language_prompt_chooses_the_language(shipped_config: ConfigSet,
                                                                          main_plan: Plan) -> None:
    channel = TypeAheadChannel(["1"], interrupts={"ivr/main/sv/language_choice": "3"})
    result, _ = await call(shipped_config, main_plan, [], channel=channel)
    assert result.language == "ar"
    assert "ivr/main/en/language_choice" not in channel.played
    assert "ivr/main/ar/main_menu" in channel.played
    assert result.outcome is not None and result.outcome.queue == "kc-school"


async def test_key_interrupting_the_main_menu_is_the_choice(shipped_config: ConfigSet, main_plan: Plan) -> None:
    channel = TypeAheadChannel(["1"], interrupts={"ivr/main/sv/main_menu": "5"})
    result, _ = await call(shipped_config, main_plan, [], channel=channel)
    assert step(result, "main_menu").keys == "5"
    assert result.outcome is not None and result.outcome.queue == "kc-general"
    assert channel.unused_keys == []


async def test_keys_during_uninterruptible_prompts_are_ignored(shipped_config: ConfigSet, main_plan: Plan) -> None:
    channel = TypeAheadChannel(["1", "7", "4"], interrupts={"ivr/main/sv/invalid_choice": "1"})
    result, _ = await call(shipped_config, main_plan, [], channel=channel)
    assert result.outcome is not None and result.outcome.queue == "kc-streets"
    assert step(result, "main_menu").keys == "74"


# --- hang-up and the step guard ------------------------------------------------------------------


async def test_caller_hangs_up_mid_menu(shipped_config: ConfigSet, main_plan: Plan) -> None:
    result, channel = await call(shipped_config, main_plan, ["1", "2", HANGUP, "1"])
    assert result.outcome is None
    assert result.hung_up is True
    assert channel.hung_up is True
    assert result.nodes == [*HEAD, "social_menu"]
    assert result.tags == {}
    assert step(result, "main_menu").keys == "2"
    assert channel.unused_keys == ["1"]
    data = result.as_dict()
    assert data["outcome"] == "abandoned"
    assert data["queue"] is None
    assert data["nodes"] == [*HEAD, "social_menu"]


async def test_caller_hangs_up_during_the_case_number(shipped_config: ConfigSet, main_plan: Plan) -> None:
    result, _ = await call(shipped_config, main_plan, parse_keys("1,3,12,hangup"))
    assert result.outcome is None and result.hung_up
    assert result.nodes == [*HEAD, "building_case"]
    assert result.variables == {}


async def test_max_steps_guard_ends_in_the_default_queue(shipped_config: ConfigSet, main_plan: Plan) -> None:
    presses = 2 * MAX_STEPS
    result, channel = await call(shipped_config, main_plan, ["1", *["9"] * presses])
    assert result.outcome is not None
    assert result.outcome.kind == "queue"
    assert result.outcome.group == shipped_config.rules.default_group
    assert result.outcome.queue == shipped_config.default_queue == "kc-general"
    assert result.outcome.reason == "too many steps in the menu"
    assert len(result.steps) == MAX_STEPS
    assert set(result.nodes[3:]) == {"main_menu"}
    assert len(channel.unused_keys) == presses - (MAX_STEPS - 3)


async def test_on_step_sees_every_node_as_it_is_entered(shipped_config: ConfigSet, main_plan: Plan) -> None:
    seen: list[str] = []
    channel = ScriptedChannel(["1", "4"])
    result = await run_call(shipped_config, main_plan, channel, now=WEEKDAY_10,
                            on_step=lambda s: seen.append(s.node))
    assert seen == result.nodes == [*HEAD, "tag_streets", "queue_streets"]
    assert channel.answered is True


# --- hours branches ------------------------------------------------------------------------------


async def test_julafton_plays_the_holiday_message_twice(shipped_config: ConfigSet, main_plan: Plan) -> None:
    result, channel = await call(shipped_config, main_plan, ["2"], now=JULAFTON_10)
    assert result.outcome is not None
    assert result.outcome.kind == "message"
    assert result.outcome.reason == "closed_holiday"
    assert result.nodes == ["welcome", "choose_language", "opening_hours", "holiday_message"]
    assert channel.played[-2:] == ["ivr/main/en/holiday_closed"] * 2
    assert step(result, "opening_hours").notes == ["closed: eve: Julafton"]


async def test_saturday_plays_the_closed_message(shipped_config: ConfigSet, main_plan: Plan) -> None:
    result, channel = await call(shipped_config, main_plan, ["1"], now=SATURDAY_10)
    assert result.outcome is not None
    assert result.outcome.kind == "message"
    assert result.outcome.reason == "closed_hours"
    assert result.nodes[-1] == "closed_message"
    assert channel.played[-2:] == ["ivr/main/sv/closed"] * 2
