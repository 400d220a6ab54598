-- Images (Glance v2). `properties` holds the custom (string) properties as a JSON object.
CREATE TABLE images (
    id TEXT PRIMARY KEY,
    name TEXT,
    owner TEXT NOT NULL,
    status TEXT NOT NULL,
    visibility TEXT NOT NULL,
    protected BIGINT NOT NULL DEFAULT 0,
    os_hidden BIGINT NOT NULL DEFAULT 0,
    checksum TEXT,
    os_hash_algo TEXT,
    os_hash_value TEXT,
    size BIGINT,
    virtual_size BIGINT,
    min_disk BIGINT NOT NULL DEFAULT 0,
    min_ram BIGINT NOT NULL DEFAULT 0,
    container_format TEXT,
    disk_format TEXT,
    properties TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX images_owner ON images(owner);
CREATE INDEX images_created ON images(created_at, id);

CREATE TABLE image_tags (
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (image_id, tag)
);

-- member_id is a project id; status: pending | accepted | rejected.
CREATE TABLE image_members (
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    member_id TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (image_id, member_id)
);
CREATE INDEX image_members_member ON image_members(member_id);

-- Where an image's data lives: one row per store (the local store, or a cloud). `reference`
-- is the store's own handle (a file name, an AMI id, a template path, a libvirt volume).
CREATE TABLE image_locations (
    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    store TEXT NOT NULL,
    reference TEXT NOT NULL,
    disk_format TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (image_id, store)
);

-- Per-project overrides of quota limits; absent rows take the configured default.
CREATE TABLE project_quotas (
    project_id TEXT NOT NULL,
    resource TEXT NOT NULL,
    hard_limit BIGINT NOT NULL,
    PRIMARY KEY (project_id, resource)
);
