-- One row per call (ivr/records): written by the CallRecorder, read by `ivr report`.
-- Times are epoch seconds (DOUBLE PRECISION: PostgreSQL's REAL would keep only ~7 digits);
-- path and tags are JSON text. No phone number is ever stored: callers are `caller_ref` only.
CREATE TABLE IF NOT EXISTS call_records (
    uniqueid TEXT PRIMARY KEY,
    started DOUBLE PRECISION NOT NULL,
    ended DOUBLE PRECISION,
    plan TEXT,
    config_version TEXT,
    path TEXT NOT NULL DEFAULT '[]',
    language TEXT,
    department TEXT,
    service TEXT,
    tags TEXT NOT NULL DEFAULT '{}',
    queue TEXT,
    enqueued_at DOUBLE PRECISION,
    answered_at DOUBLE PRECISION,
    wait_s DOUBLE PRECISION,
    agent TEXT,
    outcome TEXT NOT NULL,
    menu_outcome TEXT,
    reason TEXT,
    abandoned_after_s DOUBLE PRECISION,
    abandoned_position INTEGER,
    talk_s DOUBLE PRECISION,
    wrapup_s DOUBLE PRECISION,
    total_s DOUBLE PRECISION,
    caller_ref TEXT,
    updated_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS call_records_started ON call_records (started);
CREATE INDEX IF NOT EXISTS call_records_outcome ON call_records (outcome, started);
