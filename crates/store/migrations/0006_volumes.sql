-- Block storage (Cinder v3). Volumes, snapshots, volume types and attachments are JSON
-- documents owned by `core::volume`, with the columns queries need beside them: the project,
-- the parent (a snapshot's volume, a type's nothing) and a version for compare-and-swap, so
-- two requests changing one volume's status cannot both win.
CREATE TABLE volume_objects (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    parent_id TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX volume_objects_project ON volume_objects(kind, project_id);
CREATE INDEX volume_objects_parent ON volume_objects(kind, parent_id);
