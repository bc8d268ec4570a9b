"""`ivr check` for the groups' wrap-up (disposition) codes: every code has a label in the pages'
language (Swedish, and English when any code has one), no label is empty, and a group that requires a
code offers some."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ivr.config.loader import LoadedFiles
    from ivr.config.problems import Problem

# The desktop's pages speak Swedish, English selectable (issue 11): labels are needed in these.
PAGE_LANGUAGE = "sv"
OTHER_PAGE_LANGUAGES = ("en",)


def check_wrapup(loaded: LoadedFiles) -> list[Problem]:
    problems: list[Problem] = []
    for doc, agent_file in loaded.agent_files:
        for name, group in agent_file.groups.items():
            where = ("groups", name)
            if group.wrapup_required and not group.wrapup_codes:
                problems.append(doc.problem((*where, "wrapup_required"), f"group '{name}' requires a wrap-up "
                                            "code but offers none", "add wrapup_codes, or set wrapup_required: false"))
            languages = {lang for labels in group.wrapup_codes.values() for lang in labels}
            for code, labels in group.wrapup_codes.items():
                at = (*where, "wrapup_codes", code)
                if PAGE_LANGUAGE not in labels:
                    problems.append(doc.problem(at, f"wrap-up code '{code}' of group '{name}' has no Swedish label",
                                                f"add {PAGE_LANGUAGE}: \"...\" (the pages' language)", key=True))
                for language, label in labels.items():
                    if not label.strip():
                        problems.append(doc.problem((*at, language), f"wrap-up code '{code}' has an empty "
                                                    f"{language} label", "write the text the agent sees"))
                for language in sorted(languages & set(OTHER_PAGE_LANGUAGES) - set(labels)):
                    problems.append(replace(doc.problem(
                        at, f"wrap-up code '{code}' of group '{name}' has no {language} label while others do",
                        f"add {language}: \"...\" (the page falls back to Swedish)", key=True), severity="warning"))
    return problems
