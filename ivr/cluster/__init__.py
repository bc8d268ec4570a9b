"""Several daemons as one service (docs/cluster-operations.md): each node's health over MQTT (a
retained message with a Last Will that says `down`), `ivr cluster status`, and `ivr reload --all`."""
