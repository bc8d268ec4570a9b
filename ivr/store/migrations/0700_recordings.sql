-- Recordings of answered calls (ivr/recordings, docs/recordings.md). The audio itself is a file sealed
-- with AES-GCM in the recordings folder, named by `recording_id`; the caller's number is never stored:
-- `caller_hash` is HMAC-SHA256 with the daemon's key (ivr.privacy.NumberHasher), for a citizen's request
-- to erase. state: recording (MixMonitor is writing the clear file) | stored (sealed) | missing (no
-- audio came: nobody answered). Times are epoch seconds.
CREATE TABLE IF NOT EXISTS recordings (
    recording_id TEXT PRIMARY KEY,
    uniqueid TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    grp TEXT NOT NULL,
    department TEXT,
    caller_hash TEXT,
    consent TEXT NOT NULL,
    state TEXT NOT NULL,
    sealed_at DOUBLE PRECISION,
    size_bytes INTEGER
);
CREATE INDEX IF NOT EXISTS recordings_caller ON recordings (caller_hash);
CREATE INDEX IF NOT EXISTS recordings_expiry ON recordings (expires_at);
-- Every access (list, export, delete, erase) and every deletion by the retention: who, when, what, on
-- which recording or how many; never a number or a hash.
CREATE TABLE IF NOT EXISTS recording_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at DOUBLE PRECISION NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    recording_id TEXT,
    result_count INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS recording_audit_at ON recording_audit (at);
