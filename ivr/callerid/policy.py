"""What a citizen sees when the city calls.

Resolution: among the rules in routing_rules.yaml `caller_id.rules` whose conditions all match the
call, the most specific wins. A rule is more specific when its most specific condition is, in this
order: extension > agent group > department > purpose; between two rules with the same most specific
condition, the one that adds more conditions (compared the same way) wins; between equals, the first in
the file. With no matching rule, `caller_id.officials` applies to officials and `caller_id.contact_center`
to agents and the contact center's own calls.

What is shown may then fall back: `direct_line` for someone without one (an agent) and
`department_number` for a department without a number both show the main number, which is what the
contact center answers, so the attempt is still registered.
"""

from __future__ import annotations

from dataclasses import dataclass

from ivr.callerid.directory import Placer
from ivr.config.loader import ConfigSet
from ivr.config.model import CallerIdRule, Shown

# CALLERID(pres) values (Asterisk 22 has no CALLERPRES()): the number comes from our own tables, unscreened.
PRESENTATION_ALLOWED = "allowed_not_screened"
PRESENTATION_WITHHELD = "prohib_not_screened"
LEADS_BACK: frozenset[Shown] = frozenset({"main_number", "department_number"})


@dataclass(frozen=True)
class Decision:
    shown: Shown  # what the rule or default asked for
    effective: Shown  # what the citizen's phone shows after fallbacks
    number: str  # CALLERID(num); with `withheld` the network still gets the main number, hidden
    name: str  # CALLERID(name)
    presentation: str  # CALLERID(pres)
    decided_by: str  # e.g. "rule 2 (extension 2104)" or "default for officials", for logs and `ivr simulate`
    rule_index: int | None = None

    @property
    def leads_back(self) -> bool:
        """Calling the shown number back reaches the contact center, so the attempt is registered."""
        return self.effective in LEADS_BACK


def specificity(rule: CallerIdRule) -> tuple[bool, bool, bool, bool]:
    """Compared as a tuple: extension, then group, then department, then purpose."""
    return (rule.extension is not None, rule.group is not None, rule.department is not None,
            rule.purpose is not None)


def matches(rule: CallerIdRule, placer: Placer, purpose: str | None) -> bool:
    return ((rule.extension is None or rule.extension == placer.extension)
            and (rule.group is None or rule.group in placer.groups)
            and (rule.department is None or rule.department in placer.departments)
            and (rule.purpose is None or rule.purpose == purpose))


def choose_rule(rules: tuple[CallerIdRule, ...], placer: Placer, purpose: str | None) -> int | None:
    """The index of the winning rule, or None when none matches."""
    best: int | None = None
    for index, rule in enumerate(rules):
        if matches(rule, placer, purpose) and (best is None or specificity(rule) > specificity(rules[best])):
            best = index
    return best


def describe(rule: CallerIdRule) -> str:
    return ", ".join(f"{name} {value}" for name, value in rule.conditions)


def decide(config: ConfigSet, placer: Placer, purpose: str | None = None) -> Decision:
    policy = config.rules.caller_id
    index = choose_rule(policy.rules, placer, purpose)
    if index is not None:
        shown = policy.rules[index].show
        decided_by = f"rule {index + 1} ({describe(policy.rules[index])})"
    elif placer.kind == "official":
        shown, decided_by = policy.officials, "default for officials"
    else:
        shown, decided_by = policy.contact_center, "default for the contact center"
    main = config.rules.main_number
    department = config.departments.get(placer.department or "")
    if shown == "withheld":
        return Decision(shown, "withheld", main, "", PRESENTATION_WITHHELD, decided_by, index)
    effective: Shown = shown
    number = main
    if shown == "direct_line" and placer.direct_line:
        number = placer.direct_line
    elif shown == "department_number" and department is not None and department.number:
        number = department.number
    else:
        effective = "main_number"
    # The city's name only, never the department's: a display reading "Socialtjänsten" tells everyone
    # near the phone more than the citizen may want them to know.
    return Decision(shown, effective, number, policy.name, PRESENTATION_ALLOWED, decided_by, index)
