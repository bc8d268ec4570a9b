"""Temporary messages and the emergency switch: what a supervisor puts in front of the menu or in
place of it, without editing the menu (docs/steering.md)."""
