-- A project's servers in one state (`GET /servers?status=BUILD`, what a dashboard or a
-- pipeline waiting on a batch asks over and over), newest first, without reading the others.
CREATE INDEX servers_project_status ON servers(project_id, deleted_at, status, created_at, id);
-- Every create checks the project's quota and lets the scheduler weigh each cloud's load:
-- sums of live servers' vCPUs and RAM. These indexes hold what the sums read, so they do
-- not visit each server's row.
CREATE INDEX servers_project_usage ON servers(project_id, deleted_at, vcpus, ram_mb);
CREATE INDEX servers_cloud_usage ON servers(deleted_at, cloud, vcpus, ram_mb);
