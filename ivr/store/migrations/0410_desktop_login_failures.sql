-- Failed sign-ins on the web desktop (ivr/desktop/ratelimit.py), counted per user name and per client
-- address by every daemon on the same store. Rows older than a day are deleted.
CREATE TABLE IF NOT EXISTS web_login_failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at DOUBLE PRECISION NOT NULL,
    username TEXT NOT NULL,
    address TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS web_login_failures_user ON web_login_failures (username, at);
CREATE INDEX IF NOT EXISTS web_login_failures_address ON web_login_failures (address, at);
CREATE INDEX IF NOT EXISTS web_login_failures_at ON web_login_failures (at);
