-- Compute (Nova v2.1) and the registered clouds.
--
-- A cloud is one backend endpoint; its non-secret settings are JSON, its credentials are
-- sealed (AES-256-GCM) by core before they reach this table.
CREATE TABLE clouds (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    config TEXT NOT NULL,
    sealed_secret TEXT,
    created_at BIGINT NOT NULL
);

-- Small compute objects kept as documents: flavors (owner ''), keypairs (owner = user id),
-- server groups (owner = project id). `name` is unique per kind and owner where the API
-- says so (flavors, keypairs); core enforces the rest.
CREATE TABLE compute_objects (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    owner TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX compute_objects_owner ON compute_objects(kind, owner, name);

-- Servers have their own table because they are the one resource listed at scale: the
-- filter and paging columns sit beside the JSON body, and every list is a keyset scan of
-- (deleted_at, created_at, id), so a page costs the same at 10k rows as at 1M.
-- `version` makes every update a compare-and-swap between API calls and engine steps.
CREATE TABLE servers (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    cloud TEXT NOT NULL DEFAULT '',
    flavor_id TEXT NOT NULL,
    image_id TEXT NOT NULL DEFAULT '',
    vcpus BIGINT NOT NULL,
    ram_mb BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    -- 0 while the server exists; the deletion time afterwards (Nova lists deleted servers
    -- to admins and to changes-since queries).
    deleted_at BIGINT NOT NULL DEFAULT 0,
    version BIGINT NOT NULL DEFAULT 0,
    body TEXT NOT NULL
);
CREATE INDEX servers_page ON servers(deleted_at, created_at, id);
CREATE INDEX servers_project_page ON servers(project_id, deleted_at, created_at, id);
CREATE INDEX servers_changes ON servers(updated_at);

-- os-instance-actions: one row per action, its events inside the body.
CREATE TABLE server_actions (
    server_id TEXT NOT NULL,
    request_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    start_time BIGINT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (server_id, request_id)
);
