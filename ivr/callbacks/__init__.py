"""Queued callbacks ("ring upp mig"): a waiting caller presses 1, confirms or enters a number, hangs
up and keeps their place; when their turn comes an agent answers and the citizen is called.
See docs/queues-and-agents.md for the design (a stand-in Local channel keeps the place)."""
