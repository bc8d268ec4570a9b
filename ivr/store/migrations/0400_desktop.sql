-- The web desktop (ivr/desktop, docs/desktop.md). Shared by every daemon on the same store.
-- Passwords only as argon2 hashes; session and API tokens only as SHA-256 of the (random, 256-bit)
-- token, so the table alone lets nobody in. Times are epoch seconds.
CREATE TABLE IF NOT EXISTS web_credentials (
    user_id TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS web_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    last_seen DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS web_sessions_user ON web_sessions (user_id);
CREATE TABLE IF NOT EXISTS api_tokens (
    name TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION,
    revoked_at DOUBLE PRECISION
);
-- Who did what to whom, when: sign-ins (and failed ones), forced pauses and logouts, listening.
CREATE TABLE IF NOT EXISTS desktop_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at DOUBLE PRECISION NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS desktop_audit_at ON desktop_audit (at);
