"""The product-level events, by name. Producers call `app.events.emit(NAME, call, **data)`; the MQTT
publisher, the call recorder and the wallboard consume them. Payloads never hold a phone number:
callers are identified by `caller_ref` (a keyed-hash prefix) only.

| event | producer | data |
|---|---|---|
| call_started | inbound route | plan, dialled (the city's number), caller_ref |
| ivr_node | interpreter | node, kind |
| language_chosen | inbound route | language |
| menu_finished | inbound route | outcome, queue/target, language, tags, nodes, reason, digits, repeat_caller |
| queued | queue tracker (AMI QueueCallerJoin) | uniqueid, queue, position |
| position_changed | queue tracker | uniqueid, queue, position |
| agent_ringing | queue tracker (AgentCalled) | uniqueid, queue, agent (+ callback_id for a callback's stand-in) |
| agent_ring_ended | queue tracker (AgentRingNoAnswer) | uniqueid, queue, agent, ring_s |
| answered | queue tracker (AgentConnect) | uniqueid, queue, agent, wait_s |
| abandoned | queue tracker (QueueCallerAbandon) | uniqueid, queue, wait_s, position |
| callback_requested / callback_placed | callback service | uniqueid, queue, callback_id |
| callback_booked | callback service: a request left for the next opening | uniqueid, queue, callback_id, due_at |
| callback_requests_waiting | callback service, when it changes (topic events/...) | queue, waiting |
| transferred | inbound route / dialplan UserEvent | target |
| call_ended | AMI Hangup of a tracked call, or the route | uniqueid, duration_s |
| agent_state | agent tracker | agent, state, reason, queues |
| wrapup | agents' desktop (ivr.desktop) | uniqueid, agent, queue, group, code |
| survey_opted_in | inbound route, before the queue | group |
| survey_answered | route `survey`, after the agent hung up | group, queue, score (1-5) |
| queue_snapshot | queue tracker, every few seconds | queue, waiting, longest_wait_s, agents |
| returning_caller | inbound route, before the menu | disclosure, department, attempted_at, offer (+ placer, purpose) |
| precall_notice | outbound route (topic events/precall_notice) | department, shown_number, call_ref, recipient |

returning_caller carries only what the department's disclosure allows (none: not published);
precall_notice is for the SMS gateway alone: the number is encrypted for its key (ivr.contacts.precall).
"""

CALL_STARTED = "call_started"
IVR_NODE = "ivr_node"
LANGUAGE_CHOSEN = "language_chosen"
MENU_FINISHED = "menu_finished"
QUEUED = "queued"
POSITION_CHANGED = "position_changed"
AGENT_RINGING = "agent_ringing"
AGENT_RING_ENDED = "agent_ring_ended"
ANSWERED = "answered"
ABANDONED = "abandoned"
CALLBACK_REQUESTED = "callback_requested"
CALLBACK_PLACED = "callback_placed"
# A callback request left outside opening hours, to be placed at the next opening.
CALLBACK_BOOKED = "callback_booked"
# How many requests of a queue wait for their opening (not placed yet), when that changes.
CALLBACK_REQUESTS_WAITING = "callback_requests_waiting"
TRANSFERRED = "transferred"
CALL_ENDED = "call_ended"
AGENT_STATE = "agent_state"
WRAPUP = "wrapup"
SURVEY_OPTED_IN = "survey_opted_in"
SURVEY_ANSWERED = "survey_answered"
QUEUE_SNAPSHOT = "queue_snapshot"
RETURNING_CALLER = "returning_caller"
PRECALL_NOTICE = "precall_notice"
