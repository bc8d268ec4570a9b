"""Supervisors listen to, whisper into and barge into agents' live calls (ChanSpy): who may, on which
calls, and the audit of every use (docs/queues-and-agents.md, "Listening in")."""
