"""Live events (call, queue and agent) for supervisors and other systems: their names, the sinks that
carry them, the MQTT publisher. The AMI state they are made from is tracked in `ivr.live`."""
