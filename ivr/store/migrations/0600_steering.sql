-- The supervisors' switches and temporary messages (ivr/steering, docs/steering.md). AstDB on the
-- Asterisk is what calls obey; this is the store's copy for `ivr messages list`, `ivr simulate` and
-- the audit. One row per AstDB key (message/all, switch/queue/kc-building, ...).
CREATE TABLE IF NOT EXISTS steering_entries (
    steer_key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    queue TEXT NOT NULL,
    grp TEXT NOT NULL,
    starts BIGINT NOT NULL,
    ends BIGINT NOT NULL,
    sound_dir TEXT NOT NULL,
    languages TEXT NOT NULL,
    texts TEXT NOT NULL,
    set_by TEXT NOT NULL,
    set_at DOUBLE PRECISION NOT NULL
);
-- Who did what when: one row per change, from the command line or a feature code. No phone numbers:
-- a supervisor is named by their id, a feature code by "phone".
CREATE TABLE IF NOT EXISTS steering_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at DOUBLE PRECISION NOT NULL,
    actor TEXT NOT NULL,
    via TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS steering_audit_at ON steering_audit (at);
