"""The classic approach: Asterisk starts this script once per call (`AGI(classic_agi.py)`) and talks to it
over stdin/stdout with pyst2. The main menu is written out in code, as such scripts usually are; it
sends the same commands as the daemon for the benchmark's walks, so the difference is the cost of a
process per call.
"""

from __future__ import annotations

import sys

from asterisk.agi import AGI  # type: ignore[import-untyped]

KEYS = "0123456789*#"
LANGUAGES = {"1": "sv", "2": "en", "3": "ar"}
# Menu key → (department, service, queue), as dialplans/main.yaml says.
MAIN_MENU = {
    "1": ("education", "preschool_school", "kc-school"),
    "4": ("streets_and_parks", "streets_parks", "kc-streets"),
    "5": ("contact_center", "general", "kc-general"),
}
SOCIAL_MENU = {
    "1": ("social_services", "individual_family", "kc-social"),
    "2": ("social_services", "elder_care", "kc-social"),
}
CONFIG_VERSION = "classic"


def ask(agi: AGI, prompt: str, timeout_ms: int) -> str:
    return str(agi.stream_file(prompt, KEYS) or agi.wait_for_digit(timeout_ms))


def main() -> int:
    agi = AGI()
    agi.answer()
    agi.set_variable("CHANNEL(language)", "sv")
    key = agi.stream_file("ivr/main/sv/welcome", KEYS)
    for language in ("sv", "en", "ar"):
        key = key or agi.stream_file(f"ivr/main/{language}/language_choice", KEYS)
    key = key or agi.wait_for_digit(4000)
    language = LANGUAGES.get(key, "sv")
    agi.set_variable("CHANNEL(language)", language)
    # The benchmark's schedule is open around the clock; a real script would check the hours here.
    choice = ask(agi, f"ivr/main/{language}/main_menu", 6000)
    if choice == "2":
        department, service, queue = SOCIAL_MENU.get(ask(agi, f"ivr/main/{language}/social_menu", 6000),
                                                     SOCIAL_MENU["1"])
    else:
        department, service, queue = MAIN_MENU.get(choice, MAIN_MENU["5"])
    agi.stream_file(f"ivr/main/{language}/connecting", "")
    for name, value in (("IVR_LANG", language), ("IVR_CONFIG_VERSION", CONFIG_VERSION),
                        ("IVR_TAG_DEPARTMENT", department), ("IVR_TAG_SERVICE", service), ("IVR_QUEUE", queue),
                        ("IVR_PRIORITY", "0"), ("IVR_RESULT", "queue")):
        agi.set_variable(name, value)
    return 0


if __name__ == "__main__":
    sys.exit(main())
