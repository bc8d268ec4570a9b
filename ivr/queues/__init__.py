"""Queues: which queue a call joins (skills, overflow, priority, closed hours), agents' memberships,
the live load as routing sees it, and `ivr check` of the queue side."""
