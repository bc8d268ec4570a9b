"""Live events (call, queue and agent) for supervisors and other systems."""
