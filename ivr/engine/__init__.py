"""The call interpreter: product logic that runs the same under `ivr simulate` and the daemon."""
