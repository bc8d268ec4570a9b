"""The sounds app_queue plays to waiting callers (position, estimated wait) in Swedish and Arabic.

app_queue plays fixed sound names (queue-thereare, digits/3, queue-callswaiting...) in the caller's
CHANNEL(language), looking for sounds/<language>/<name> and falling back to no language and then to
English (Asterisk's file.c). Asterisk ships English only, so without these a Swedish or Arabic caller
hears English. `ivr prompts build` renders this catalogue into build/prompts/<language>/... like
every other prompt. Numbers are said by Asterisk's English rules (say.c has no rules for `sv` or
`ar`): a single sound below 20, tens then units above. Positions stop at the queues'
`announce-position-limit` (10: "more than ten"), so only estimated waits over 20 minutes meet the
tens-then-units order, which is right in Swedish and understandable, not grammatical, in Arabic.
The phrases are built so that no word has to agree with the number (Arabic and Swedish would need
forms app_queue cannot choose).
"""

from __future__ import annotations

from collections.abc import Iterator

from ivr.prompts.job import PromptJob

PHRASES: dict[str, dict[str, str]] = {
    "sv": {
        "queue-youarenext": "Du är först i kön och kopplas till nästa lediga handläggare.",
        "queue-thereare": "Du är nummer",
        "queue-callswaiting": "i kön.",
        "queue-quantity1": "Det är fler än",
        "queue-quantity2": "som väntar före dig.",
        "queue-holdtime": "Den beräknade väntetiden i minuter är",
        "queue-minute": "ungefär.",
        "queue-minutes": "ungefär.",
        "queue-seconds": "sekunder.",
        "queue-less-than": "mindre än",
        "queue-thankyou": "Tack för att du väntar.",
    },
    "ar": {
        "queue-youarenext": "أنت الأول في قائمة الانتظار، وسيرد عليك أول موظف متاح.",
        "queue-thereare": "ترتيبك في قائمة الانتظار هو",
        "queue-callswaiting": "يرجى الانتظار.",
        "queue-quantity1": "عدد المنتظرين قبلك أكثر من",
        "queue-quantity2": "يرجى الانتظار.",
        "queue-holdtime": "مدة الانتظار المتوقعة بالدقائق هي",
        "queue-minute": "تقريبا.",
        "queue-minutes": "تقريبا.",
        "queue-seconds": "ثانية.",
        "queue-less-than": "أقل من",
        "queue-thankyou": "شكرا لانتظارك.",
    },
}

# digits/<n> as Asterisk's number rules ask for them; in Swedish "ett" (phone numbers are read digit
# by digit, and "ett" is how a 1 is read there).
NUMBERS: dict[str, dict[str, str]] = {
    "sv": {"0": "noll", "1": "ett", "2": "två", "3": "tre", "4": "fyra", "5": "fem", "6": "sex", "7": "sju",
           "8": "åtta", "9": "nio", "10": "tio", "11": "elva", "12": "tolv", "13": "tretton", "14": "fjorton",
           "15": "femton", "16": "sexton", "17": "sjutton", "18": "arton", "19": "nitton", "20": "tjugo",
           "30": "trettio", "40": "fyrtio", "50": "femtio", "60": "sextio", "70": "sjuttio", "80": "åttio",
           "90": "nittio", "hundred": "hundra", "thousand": "tusen"},
    "ar": {"0": "صفر", "1": "واحد", "2": "اثنان", "3": "ثلاثة", "4": "أربعة", "5": "خمسة", "6": "ستة",
           "7": "سبعة", "8": "ثمانية", "9": "تسعة", "10": "عشرة", "11": "أحد عشر", "12": "اثنا عشر",
           "13": "ثلاثة عشر", "14": "أربعة عشر", "15": "خمسة عشر", "16": "ستة عشر", "17": "سبعة عشر",
           "18": "ثمانية عشر", "19": "تسعة عشر", "20": "عشرون", "30": "ثلاثون", "40": "أربعون", "50": "خمسون",
           "60": "ستون", "70": "سبعون", "80": "ثمانون", "90": "تسعون", "hundred": "مائة", "thousand": "ألف"},
}


def queue_sound_jobs(languages: tuple[str, ...]) -> Iterator[PromptJob]:
    """One job per sound and language the catalogue has and the contact center offers."""
    for language in languages:
        for name, text in PHRASES.get(language, {}).items():
            yield PromptJob(f"{language}/{name}", language, text)
        for name, text in NUMBERS.get(language, {}).items():
            yield PromptJob(f"{language}/digits/{name}", language, text)
