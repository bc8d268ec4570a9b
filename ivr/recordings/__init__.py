"""Recordings of answered calls with the caller's consent (docs/recordings.md): the group's or
department's policy, the consent question, encryption at rest, retention and audited access."""
