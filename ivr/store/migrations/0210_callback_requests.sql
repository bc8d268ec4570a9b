-- Callback requests left outside opening hours (the plan's `callback_request` node): the same rows,
-- sealing and lifecycle as queued callbacks, with kind = 'request' and due_at = the opening they are
-- for (next_attempt_at starts there too, so the scan places them then). Queued callbacks keep kind
-- 'queue'. due_at also counts the group's requests per opening day (its `callback_requests.per_day`).
ALTER TABLE callbacks ADD COLUMN kind TEXT NOT NULL DEFAULT 'queue';
ALTER TABLE callbacks ADD COLUMN due_at DOUBLE PRECISION;
CREATE INDEX IF NOT EXISTS callbacks_requests ON callbacks (group_name, kind, due_at);
