-- One table for every resource kept as a JSON document: Neutron's networks, subnets, ports,
-- routers, floating IPs, pools, groups and rules; Cinder's volumes, snapshots and types; Nova's
-- flavors, keypairs and server groups. Beside the body sit the columns queries and
-- constraints need: the owner (a project; a keypair's user; '' for a public flavor), the
-- parent (a subnet's or port's network, a rule's group, a snapshot's volume), a name where
-- lookups go by name, and a version that makes an update a compare-and-swap.
-- Kinds are unique across services, so (kind, id) is the key.
CREATE TABLE documents (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    owner TEXT NOT NULL DEFAULT '',
    parent_id TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, id)
);
CREATE INDEX documents_owner ON documents(kind, owner, name);
CREATE INDEX documents_parent ON documents(kind, parent_id);

INSERT INTO documents (kind, id, owner, parent_id, body, created_at)
    SELECT kind, id, project_id, parent_id, body, created_at FROM net_objects;
INSERT INTO documents (kind, id, owner, parent_id, body, created_at, version)
    SELECT kind, id, project_id, parent_id, body, created_at, version FROM volume_objects;
INSERT INTO documents (kind, id, owner, name, body, created_at)
    SELECT kind, id, owner, name, body, created_at FROM compute_objects;

DROP TABLE net_objects;
DROP TABLE volume_objects;
DROP TABLE compute_objects;
