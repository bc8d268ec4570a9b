-- Queued callbacks ("ring upp mig", ivr/callbacks): one row per request. The number to call back is
-- stored only sealed (AES-GCM with IVR_CALLBACK_KEY, the row id as associated data) and set to NULL
-- as soon as the callback is done, has failed or has expired; the row itself (without any number)
-- is kept for a week for statistics. Times are epoch seconds.
-- state: pending (a stand-in must join the queue), queued (the stand-in waits in the caller's place),
-- connecting (an agent answered, the citizen is being called), done, failed, expired, cancelled.
CREATE TABLE IF NOT EXISTS callbacks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    state TEXT NOT NULL,
    queue TEXT NOT NULL,
    group_name TEXT NOT NULL,
    language TEXT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    position INTEGER,
    joined_at DOUBLE PRECISION NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    next_attempt_at DOUBLE PRECISION,
    attempts INTEGER NOT NULL DEFAULT 0,
    number_sealed TEXT,
    caller_ref TEXT,
    origin_uniqueid TEXT,
    last_status TEXT,
    expires_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS callbacks_state ON callbacks (state, next_attempt_at);
