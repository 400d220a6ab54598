-- This installation's identity: one row, made once by `bootstrap` (or by the first start of
-- an installation made before it existed). Every backend object a driver makes carries it
-- beside the cloud's name, so two installations on one libvirt host or AWS account never
-- take each other's objects for their own.
CREATE TABLE installation (
    singleton BIGINT PRIMARY KEY CHECK (singleton = 1),
    id TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
