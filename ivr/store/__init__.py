"""Persistence: SQLite by default (embedded), PostgreSQL for a multi-node deployment; one schema, one API."""

from ivr.store.db import AsyncDatabase, Database, open_database

__all__ = ["AsyncDatabase", "Database", "open_database"]
