"""What a supervisor asks for — a temporary message or a switch's message — read from a small YAML file
(or the command line's options) and checked against the config, every problem at file:line:column.

    group: building                 # optional: only callers heading for this group; else the whole line
    from: 2026-11-30T17:00          # messages only, city time; optional (default: now)
    until: 2026-12-01T08:00         # messages only; required
    text: {sv: "...", en: "...", ar: "..."}     # spoken by espeak-ng, like the menu's prompts
    recording: {sv: limhamn-sv.wav}             # or a recording, relative to this file
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ivr.config.loader import ConfigSet
from ivr.config.problems import ConfigError, Problem, unknown_name
from ivr.config.yamlsource import SourceDoc, load_yaml
from ivr.steering.entry import Kind

KEYS = {"message": ("group", "from", "until", "text", "recording"), "switch": ("group", "text", "recording")}
# A message longer than this is a menu change, not a notice.
MAX_WINDOW = dt.timedelta(days=31)
MAX_TEXT = 600


@dataclass(frozen=True)
class Spec:
    kind: Kind
    group: str | None
    starts: dt.datetime | None
    ends: dt.datetime | None
    texts: dict[str, str] = field(default_factory=dict)
    recordings: dict[str, Path] = field(default_factory=dict)
    languages: tuple[str, ...] = ()  # in the menus' order: a switch's message plays them in turn


def config_languages(config: ConfigSet) -> tuple[str, ...]:
    """The languages callers can have: those of every menu, the default ones first."""
    ordered: list[str] = []
    for plan in config.plans.values():
        for language in (plan.default_language, *plan.languages):
            if language not in ordered:
                ordered.append(language)
    return tuple(ordered)


def load_spec(path: Path, kind: Kind, config: ConfigSet, *, now: dt.datetime) -> Spec:
    doc, problems = load_yaml(path)
    if problems:
        raise ConfigError(problems)
    return check_spec(doc, kind, config, now=now, base=path.parent)


def spec_from_options(kind: Kind, config: ConfigSet, *, now: dt.datetime, group: str | None, starts: str | None,
                      ends: str | None, texts: list[str], recordings: list[str]) -> Spec:
    """The same checks for `--text sv=...` style options; problems name `<command line>`."""
    data: dict[str, Any] = {}
    problems: list[Problem] = []
    for option, values, name in (("--text", texts, "text"), ("--recording", recordings, "recording")):
        for value in values:
            language, sep, rest = value.partition("=")
            if not sep:
                problems.append(Problem("<command line>", 1, 1, f"{option} {value!r} names no language",
                                        f"write {option} sv=..."))
                continue
            data.setdefault(name, {})[language.strip()] = rest
    if problems:
        raise ConfigError(problems)
    for name, given in (("group", group), ("from", starts), ("until", ends)):
        if given is not None:
            data[name] = given
    return check_spec(SourceDoc("<command line>", data), kind, config, now=now, base=Path.cwd())


def check_spec(doc: SourceDoc, kind: Kind, config: ConfigSet, *, now: dt.datetime, base: Path) -> Spec:
    data = doc.data
    if not isinstance(data, dict):
        raise ConfigError([doc.problem((), "expected a mapping with text: (and group:, from:, until:)",
                                       "see docs/steering.md")])
    problems: list[Problem] = []
    allowed = KEYS[kind]
    for key in data:
        if str(key) not in allowed:
            hint = ("a switch holds until `ivr switch open`: it has no from/until" if kind == "switch"
                    and str(key) in ("from", "until") else f"allowed: {', '.join(allowed)}")
            problems.append(doc.problem((str(key),), f"unknown key '{key}'", hint, key=True))
    group = data.get("group")
    if group is not None and str(group) not in config.groups:
        problems.append(doc.problem(("group",), *unknown_name("agent group", str(group), config.groups)))
    texts = _language_map(doc, "text", problems)
    recordings = {lang: base / name for lang, name in _language_map(doc, "recording", problems).items()}
    for language, text in texts.items():
        if len(text) > MAX_TEXT:
            problems.append(doc.problem(("text", language), f"the {language} text has {len(text)} characters",
                                        f"keep a notice under {MAX_TEXT} characters"))
    for language, recording in recordings.items():
        if not recording.is_file():
            problems.append(doc.problem(("recording", language), f"no such recording: {recording}",
                                        "give the path relative to this file"))
    wanted = config_languages(config)
    given = {*texts, *recordings}
    for language in sorted(given - set(wanted)):
        place: tuple[str, ...] = ("text", language) if language in texts else ("recording", language)
        problems.append(doc.problem(place, f"no menu speaks '{language}'", f"the menus' languages: {', '.join(wanted)}",
                                    key=True))
    missing = [language for language in wanted if language not in given]
    if missing:
        problems.append(doc.problem(("text",) if "text" in data else (), f"no message for {', '.join(missing)}",
                                    f"callers hear the menu in {', '.join(wanted)}: give text: or recording: "
                                    "for each", key="text" in data))
    starts = ends = None
    if kind == "message":
        starts = _moment(doc, "from", config.zone, problems) if "from" in data else now
        if "until" not in data:
            problems.append(doc.problem((), "a temporary message needs until:", "e.g. until: 2026-12-01T08:00"))
        else:
            ends = _moment(doc, "until", config.zone, problems)
        if starts is not None and ends is not None:
            if ends <= starts:
                problems.append(doc.problem(("until",), "until: is not after from:", "the message would never play"))
            elif ends - starts > MAX_WINDOW:
                problems.append(doc.problem(("until",), "the window is longer than 31 days",
                                            "a lasting change belongs in the menu (dialplans/)"))
            elif ends <= now:
                problems.append(doc.problem(("until",), "until: is already past", "check the date"))
    if problems:
        raise ConfigError(problems)
    return Spec(kind, str(group) if group is not None else None, starts, ends, texts, recordings,
                tuple(language for language in wanted if language in given))


def _language_map(doc: SourceDoc, name: str, problems: list[Problem]) -> dict[str, str]:
    value = doc.data.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(doc.problem((name,), f"{name}: must map languages to {name}s", f"e.g. {name}: {{sv: ...}}"))
        return {}
    found: dict[str, str] = {}
    for language, item in value.items():
        if not isinstance(item, str) or not item.strip():
            problems.append(doc.problem((name, str(language)), f"empty {name} for '{language}'", "write it out"))
            continue
        found[str(language)] = item.strip()
    return found


def _moment(doc: SourceDoc, name: str, zone: ZoneInfo, problems: list[Problem]) -> dt.datetime | None:
    value = doc.data.get(name)
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value))
        except ValueError:
            problems.append(doc.problem((name,), f"{name}: {value!r} is not a date and time",
                                        "write e.g. 2026-12-01T08:00 (city time)"))
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)
