-- The wrap-up (disposition) code the agent chose on the desktop (agents/groups.yaml `wrapup_codes`),
-- from the `wrapup` product event; NULL when none was given.
ALTER TABLE call_records ADD COLUMN wrapup_code TEXT
