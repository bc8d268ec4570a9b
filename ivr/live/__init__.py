"""What Asterisk is doing now, tracked from AMI: the queues' callers and members (`QueueView`), kept
up to date by the AMI bridge, which also turns AMI events into product events."""
