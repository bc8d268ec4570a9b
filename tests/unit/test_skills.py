"""Skill selection: which queue of a group a caller joins for their language."""

from __future__ import annotations

import pytest

from ivr.config.loader import ConfigSet
from ivr.config.model import AgentGroup, SkillRouting
from ivr.queues.membership import SKILL_GAP, memberships, queue_members
from ivr.queues.skills import select_queue

SOCIAL = AgentGroup(queue="kc-social", skills=SkillRouting(languages=("ar", "en"), widen_after=45))


@pytest.mark.parametrize(("language", "present", "queue"), [
    ("ar", 1, "kc-social-ar"),       # someone with Arabic is logged in and not paused
    ("en", 3, "kc-social-en"),
    ("ar", 0, "kc-social"),          # nobody with the skill: the whole group at once
    ("ar", None, "kc-social"),       # live state unknown (AMI down): the safe choice
    ("sv", 5, "kc-social"),          # no skill queue for Swedish
    ("bs", 1, "kc-social"),          # a language the group has no skill queue for
])
def test_select_queue(language: str, present: int | None, queue: str) -> None:
    assert select_queue(SOCIAL, language, present) == queue


def test_group_without_skills_always_uses_its_own_queue() -> None:
    assert select_queue(AgentGroup(queue="kc-streets"), "ar", 4) == "kc-streets"


def test_skilled_agents_rank_before_the_others_in_a_skill_queue(shipped_config: ConfigSet) -> None:
    bilal = {m.queue: m.penalty for m in memberships(shipped_config, shipped_config.agents["bilal.haddad"])}
    cecilia = {m.queue: m.penalty for m in memberships(shipped_config, shipped_config.agents["cecilia.berg"])}
    # Bilal speaks Arabic and English, Cecilia only Swedish.
    assert bilal["kc-social-ar"] == 0 and bilal["kc-social-en"] == 0
    assert cecilia["kc-social-ar"] == SKILL_GAP and cecilia["kc-social-en"] == SKILL_GAP
    # In the group's own queue everyone rings with their own penalty.
    assert bilal["kc-social"] == cecilia["kc-social"] == 0


def test_every_agent_of_a_group_is_in_its_skill_queues(shipped_config: ConfigSet) -> None:
    social = {agent for agent, _ in queue_members(shipped_config, "kc-social")}
    assert {agent for agent, _ in queue_members(shipped_config, "kc-social-ar")} == social
    assert "farah.ali" in social and "anna.andersson" not in social
