"""Call records: one row per call (`call_records`), built from product events by `CallRecorder`,
written by `RecordWriter` (SQLite by default, PostgreSQL when configured; a spool file while the
database is away). `ivr report` reads them."""
