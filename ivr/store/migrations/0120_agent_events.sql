-- What agents did, for `ivr report --agents` (ivr/records/agent_log.py): one row per change of an
-- agent's state (agent_state: state, pause reason, queues), per ring the agent let pass
-- (agent_ring_ended) and per daemon stop (agent '', kind 'stopped': nothing is known until the next
-- start re-announces every agent). Agents are employees: these rows are personal data, read only by
-- the report (docs/reports.md says who may see it). `id` makes a replay from the spool harmless.
CREATE TABLE IF NOT EXISTS agent_events (
    id TEXT PRIMARY KEY,
    at DOUBLE PRECISION NOT NULL,
    agent TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT,
    reason TEXT,
    queues TEXT NOT NULL DEFAULT '[]',
    queue TEXT,
    uniqueid TEXT,
    ring_s DOUBLE PRECISION
);
CREATE INDEX IF NOT EXISTS agent_events_at ON agent_events (at);
-- Each agent's last state before a period (agent_store.fetch).
CREATE INDEX IF NOT EXISTS agent_events_agent ON agent_events (agent, kind, at);
