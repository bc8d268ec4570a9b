"""The contract between the daemon and the dialplan (asterisk-config/extensions.conf): every channel
variable that one side sets and the other reads, in one place.

The daemon decides and the dialplan acts, so a name misspelt on either side is a silent fallback for
the caller. Code names these constants, never the string; tests/unit/test_dialplan_variables.py holds
this module against extensions.conf both ways. docs/ARCHITECTURE.md says what each variable means.
"""

from __future__ import annotations

# Route `inbound` (and the desktop's transfer, which redirects the caller with the same variables).
# IVR_RESULT goes last: a session that dies half-way leaves it empty and the dialplan falls back.
IVR_RESULT = "IVR_RESULT"
IVR_QUEUE = "IVR_QUEUE"
IVR_TARGET = "IVR_TARGET"
IVR_LANG = "IVR_LANG"
IVR_PRIORITY = "IVR_PRIORITY"
IVR_TRANSFER_QUEUE = "IVR_TRANSFER_QUEUE"
IVR_QUEUE_TIMEOUT = "IVR_QUEUE_TIMEOUT"
IVR_NEXT_QUEUE = "IVR_NEXT_QUEUE"
IVR_MAX_PENALTY = "IVR_MAX_PENALTY"
IVR_CALLBACK_OFFER = "IVR_CALLBACK_OFFER"
# 1 = the caller agreed to the after-call survey: the agent's hangup leads to [ivr-survey] (route `survey`).
IVR_SURVEY = "IVR_SURVEY"
# The caller agreed to (or was told of) recording: the recording's id, the name of MixMonitor's file
# (ivr.recordings; unset = not recorded).
IVR_RECORD = "IVR_RECORD"

# The queue a caller waits in and since when, set by the dialplan; the `callback` and `spy` routes read them.
IVR_QUEUED = "IVR_QUEUED"
IVR_QUEUE_JOINED = "IVR_QUEUE_JOINED"

# Route `outbound`. IVR_OUT_RESULT goes last.
IVR_OUT_RESULT = "IVR_OUT_RESULT"
IVR_OUT_NUMBER = "IVR_OUT_NUMBER"
IVR_OUT_ATTEMPT = "IVR_OUT_ATTEMPT"
IVR_OUT_SHOWN = "IVR_OUT_SHOWN"
IVR_OUT_PURPOSE = "IVR_OUT_PURPOSE"
IVR_OUT_DEPARTMENT = "IVR_OUT_DEPARTMENT"

# Route `agent`: the dialplan names the phone and the pause key, the daemon answers.
IVR_AGENT_PHONE = "IVR_AGENT_PHONE"
IVR_PAUSE_KEY = "IVR_PAUSE_KEY"
IVR_AGENT_RESULT = "IVR_AGENT_RESULT"

# Callbacks: the stand-in the daemon originates into [ivr-callback-hold], then route `callback`'s answer.
IVR_CB_QUEUE = "IVR_CB_QUEUE"
IVR_CB_PRIO = "IVR_CB_PRIO"
IVR_CB_POSITION = "IVR_CB_POSITION"
IVR_CB_WAIT = "IVR_CB_WAIT"
IVR_CB_MAX_PENALTY = "IVR_CB_MAX_PENALTY"
IVR_CB_TARGET = "IVR_CB_TARGET"
IVR_CB_CALLERID = "IVR_CB_CALLERID"
IVR_CB_RING = "IVR_CB_RING"

# The desktop's end of wrap-up: what the daemon originates into [ivr-desktop-wrapup-end].
IVR_WU_QUEUE = "IVR_WU_QUEUE"
IVR_WU_INTERFACE = "IVR_WU_INTERFACE"
IVR_WU_PENALTY = "IVR_WU_PENALTY"
IVR_WU_NAME = "IVR_WU_NAME"
IVR_WU_PAUSED = "IVR_WU_PAUSED"

# Route `spy`: the supervisor's phone or the ticket of a call the desktop rang, then the decision.
# IVR_SPY_RESULT goes last.
IVR_SPY_PHONE = "IVR_SPY_PHONE"
IVR_SPY_TICKET = "IVR_SPY_TICKET"
IVR_SPY_CHANNEL = "IVR_SPY_CHANNEL"
IVR_SPY_OPTIONS = "IVR_SPY_OPTIONS"
IVR_SPY_ID = "IVR_SPY_ID"
IVR_SPY_SUPERVISOR = "IVR_SPY_SUPERVISOR"
IVR_SPY_AGENT = "IVR_SPY_AGENT"
IVR_SPY_RESULT = "IVR_SPY_RESULT"

# A daemon too busy for the call says so before it answers; the dialplan then tries the next daemon.
IVR_OVERLOAD = "IVR_OVERLOAD"

# Steering (ivr.steering, docs/steering.md): the supervisors' switches and temporary messages live in
# AstDB under this family, written by `ivr messages` / `ivr switch` (AMI DBPut) or the feature codes,
# read by the daemon (AGI DATABASE GET) and by the dialplan (DB_EXISTS). The daemon sets IVR_STEER_HEARD
# once the caller heard the line's message, so the dialplan's fallback does not play it twice.
STEER_FAMILY = "ivr-steer"
# [ivr-entry] passes the daemon's route `inbound` one argument: the length of ${DB_KEYS(ivr-steer)}, so
# "0" when AstDB holds no steering entry at all; the daemon then reads none for the line (issue #13:
# four AGI commands a call were spent finding nothing). Absent (an older dialplan): it reads them.
INBOUND_ARG_STEERING = 0
IVR_STEER_HEARD = "IVR_STEER_HEARD"
# Route `steer` (a supervisor's feature code): the dialplan names the phone and what was asked, the daemon
# answers (ok, or why not) and where to record; IVR_STEER_RESULT goes last.
IVR_STEER_PHONE = "IVR_STEER_PHONE"
IVR_STEER_RESULT = "IVR_STEER_RESULT"
IVR_STEER_RECORD = "IVR_STEER_RECORD"

SHARED = frozenset({
    IVR_STEER_HEARD, IVR_STEER_PHONE, IVR_STEER_RESULT, IVR_STEER_RECORD,
    IVR_RESULT, IVR_OVERLOAD, IVR_QUEUE, IVR_TARGET, IVR_LANG, IVR_PRIORITY, IVR_TRANSFER_QUEUE, IVR_QUEUE_TIMEOUT,
    IVR_NEXT_QUEUE, IVR_MAX_PENALTY, IVR_CALLBACK_OFFER, IVR_SURVEY, IVR_RECORD, IVR_QUEUED, IVR_QUEUE_JOINED,
    IVR_OUT_RESULT, IVR_OUT_NUMBER, IVR_OUT_ATTEMPT, IVR_OUT_SHOWN, IVR_OUT_PURPOSE, IVR_OUT_DEPARTMENT,
    IVR_AGENT_PHONE, IVR_PAUSE_KEY, IVR_AGENT_RESULT,
    IVR_CB_QUEUE, IVR_CB_PRIO, IVR_CB_POSITION, IVR_CB_WAIT, IVR_CB_MAX_PENALTY, IVR_CB_TARGET,
    IVR_CB_CALLERID, IVR_CB_RING,
    IVR_WU_QUEUE, IVR_WU_INTERFACE, IVR_WU_PENALTY, IVR_WU_NAME, IVR_WU_PAUSED,
    IVR_SPY_PHONE, IVR_SPY_TICKET, IVR_SPY_CHANNEL, IVR_SPY_OPTIONS, IVR_SPY_ID, IVR_SPY_SUPERVISOR,
    IVR_SPY_AGENT, IVR_SPY_RESULT,
})

# Set by the daemon for whoever looks at the channel (CDR, `core show channel`); the dialplan does not
# act on them.
IVR_CONFIG_VERSION = "IVR_CONFIG_VERSION"
IVR_TAG_PREFIX = "IVR_TAG_"  # + a menu tag's name in capitals (`set` nodes)

# Carried by a queued callback's stand-in from the daemon that placed it to the daemon its turn reaches
# (route `callback`): only the latest placement may connect the citizen (ivr.callbacks.leases).
IVR_CB_PLACEMENT = "IVR_CB_PLACEMENT"

# Only a test call carries it, read only under `ivr run --allow-test-clock` (ivr.clock).
IVR_TEST_NOW = "IVR_TEST_NOW"

DAEMON_ONLY = frozenset({IVR_CONFIG_VERSION, IVR_CB_PLACEMENT, IVR_TEST_NOW})

# The dialplan's setting that `ivr asterisk generate` writes (extensions_daemons.conf): where the daemons are.
# Every route reaches them through [ivr-agi], in turn.
IVR_AGI_HOSTS = "IVR_AGI_HOSTS"

# The dialplan's own: its settings ([globals]) and what it keeps between its own steps. The daemon never
# sees them; they are listed so that a new name in extensions.conf is a decision, not an accident.
DIALPLAN_ONLY = frozenset({
    IVR_AGI_HOSTS,
    "IVR_AGI_COUNT", "IVR_AGI_TRIED", "IVR_AGI_INDEX", "IVR_AGI_TRYING", "IVR_AGI_ARGS",
    "IVR_AGI_WATCHDOG", "IVR_CALLBACK_WATCHDOG", "IVR_OUT_WATCHDOG", "IVR_SURVEY_WATCHDOG", "IVR_QUEUE_OPTS",
    "IVR_DEFAULT_QUEUE", "IVR_DEFAULT_QUEUE_MAX_WAIT", "IVR_QUEUE_MAX_WAIT", "IVR_TRANSFER_RING", "IVR_OUT_RING",
    "IVR_FALLBACK_REASON", "IVR_WAIT", "IVR_POS", "IVR_CB_EARLIER",
    "IVR_OUT_DIALLED", "IVR_OUT_FROM", "IVR_OUT_OWN_NAME", "IVR_OUT_OWN_NUM", "IVR_OUT_OWN_PRES", "IVR_OUT_TABLE",
    "IVR_SPY_MODE", "IVR_SPY_STARTED", "IVR_RECORDING_ON",
    "IVR_STEER", "IVR_STEER_DIR", "IVR_STEER_LANGS", "IVR_STEER_I", "IVR_STEER_PLAYED", "IVR_STEER_FROM",
    "IVR_STEER_UNTIL", "IVR_STEER_KEYS",
})
