-- Networking (Neutron v2.0). Each object is a JSON document owned by `core::network`, with
-- the columns queries and constraints need beside it: its project, and its parent (the
-- network of a subnet or port, the group of a rule). IP allocations are rows of their own
-- so that the primary key, not application code, guarantees one port per address.
CREATE TABLE net_objects (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    parent_id TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX net_objects_parent ON net_objects(kind, parent_id);
CREATE INDEX net_objects_project ON net_objects(kind, project_id);

CREATE TABLE ip_allocations (
    subnet_id TEXT NOT NULL,
    ip_address TEXT NOT NULL,
    port_id TEXT NOT NULL,
    network_id TEXT NOT NULL,
    PRIMARY KEY (subnet_id, ip_address)
);
CREATE INDEX ip_allocations_port ON ip_allocations(port_id);
