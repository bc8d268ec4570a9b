-- The after-call satisfaction survey (agents/groups.yaml `survey:`): 1 when the caller agreed to it before
-- the queue (`survey_opted_in`), NULL otherwise; their answer 1-5 after the agent hung up
-- (`survey_answered`), NULL when they gave none (hung up, never asked, no valid key).
ALTER TABLE call_records ADD COLUMN survey_opt_in INTEGER;
ALTER TABLE call_records ADD COLUMN survey_score INTEGER
