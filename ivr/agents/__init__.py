"""Agents: who a phone belongs to, logging in and out of their queues, pausing (over AMI)."""
