"""Queues: which queue a call joins (skills, overflow, priority), agents' memberships, queue status."""
