-- Several daemons on one store (docs/cluster-operations.md): who holds what, and until when.
-- callbacks.owner_node: the node whose stand-in keeps the callback's place (queued, connecting); it
-- renews lease_until while it lives, and another node takes the callback over once the lease lapsed.
-- callbacks.placement: counts the stand-ins placed for a callback (a fencing token): the stand-in
-- carries its number, and only the latest placement may connect, so a stand-in left behind by a node
-- that lost its lease can never call the citizen a second time.
ALTER TABLE callbacks ADD COLUMN owner_node TEXT;
ALTER TABLE callbacks ADD COLUMN lease_until DOUBLE PRECISION;
ALTER TABLE callbacks ADD COLUMN placement INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS callbacks_lease ON callbacks (state, lease_until);
-- Periodic jobs that one node at a time should run (purges): the holder renews its row; another node
-- may take it once lease_until has passed.
CREATE TABLE IF NOT EXISTS job_leases (
    name TEXT PRIMARY KEY,
    owner_node TEXT NOT NULL,
    lease_until DOUBLE PRECISION NOT NULL
);
