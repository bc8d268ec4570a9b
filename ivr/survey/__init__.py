"""The after-call satisfaction survey: the offer before the queue and the one question after the agent
hung up (README "For supervisors", docs/reports.md)."""
