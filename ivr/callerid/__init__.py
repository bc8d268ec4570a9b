"""Outbound calls: who is calling (`directory`), what the citizen sees (`policy`), the number dialled
(`dialled`), the dialplan's table for when the daemon is down (`fallback_table`), and `ivr check`'s
rules for all of it (`checks`). See docs/privacy-and-caller-id.md."""
