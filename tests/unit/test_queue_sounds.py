"""The Swedish and Arabic sounds app_queue needs for position and wait announcements."""

from __future__ import annotations

from ivr.config.loader import ConfigSet
from ivr.prompts.queue_sounds import NUMBERS, PHRASES, queue_sound_jobs
from ivr.prompts.render import jobs

# Every sound app_queue's say_position() plays to a waiting caller (queues.conf names).
APP_QUEUE_SOUNDS = {"queue-youarenext", "queue-thereare", "queue-callswaiting", "queue-quantity1",
                    "queue-quantity2", "queue-holdtime", "queue-minute", "queue-minutes", "queue-seconds",
                    "queue-thankyou"}
# Asterisk's English number rules ask for a sound below 20, the tens, and hundred/thousand.
NUMBER_SOUNDS = {str(n) for n in range(20)} | {str(n) for n in range(20, 100, 10)} | {"hundred", "thousand"}


def test_every_sound_in_every_language() -> None:
    for language in ("sv", "ar"):
        assert set(PHRASES[language]) >= APP_QUEUE_SOUNDS
        assert set(NUMBERS[language]) >= NUMBER_SOUNDS
        assert all(text.strip() for text in [*PHRASES[language].values(), *NUMBERS[language].values()])


def test_jobs_lay_out_like_asterisks_sounds_folder() -> None:
    sounds = {job.sound: job for job in queue_sound_jobs(("sv", "ar", "en"))}
    assert sounds["sv/queue-thereare"].text == "Du är nummer" and sounds["sv/digits/2"].text == "två"
    assert sounds["ar/digits/3"].language == "ar"
    assert not any(name.startswith("en/") for name in sounds)  # Asterisk's own English sounds are used


def test_prompts_build_renders_the_configured_languages(shipped_config: ConfigSet) -> None:
    built = {job.sound for job in jobs(shipped_config)}
    assert {"sv/queue-thereare", "ar/queue-holdtime", "sv/digits/90", "ar/digits/hundred"} <= built
