-- Base schema marker. Each feature adds its own numbered files:
-- 0100-0199 call records, 0200-0299 queued callbacks, 0300-0399 contact registry.
CREATE TABLE IF NOT EXISTS store_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
