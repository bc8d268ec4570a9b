-- Contact registry (ivr/contacts, docs/privacy-and-caller-id.md): who tried to reach a citizen when the
-- number shown leads back to the contact center. The citizen's number is never stored: `number_hash`
-- is HMAC-SHA256 with the daemon's key (ivr.privacy.NumberHasher). Times are epoch seconds; a row is
-- never offered after `expires_at` and is deleted by the purge.
CREATE TABLE IF NOT EXISTS contact_attempts (
    attempt_id TEXT PRIMARY KEY,
    number_hash TEXT NOT NULL,
    attempted_at DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    placer_kind TEXT NOT NULL,
    placer TEXT,
    department TEXT,
    disclosure TEXT NOT NULL,
    shown TEXT NOT NULL,
    purpose TEXT,
    outcome TEXT NOT NULL,
    ended_at DOUBLE PRECISION,
    returned_at DOUBLE PRECISION,
    return_outcome TEXT
);
CREATE INDEX IF NOT EXISTS contact_attempts_number ON contact_attempts (number_hash, attempted_at);
CREATE INDEX IF NOT EXISTS contact_attempts_expiry ON contact_attempts (expires_at);
-- Every lookup (and every purge and statistics run): who or what, when, why, how many rows; never a
-- number or a hash.
CREATE TABLE IF NOT EXISTS contact_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at DOUBLE PRECISION NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    call_ref TEXT,
    result_count INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS contact_audit_at ON contact_audit (at);
