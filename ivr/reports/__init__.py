"""`ivr report`: figures the city steers by, from `call_records` (formulas: docs/reports.md).

`query` reads the records of a period, `compute` turns them into figures, `render` prints them
(table, CSV, JSON) and `charts` draws them (PNG and SVG); each can be used without the others.
"""
