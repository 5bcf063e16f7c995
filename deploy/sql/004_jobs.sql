-- Jobs: one instance per node and attempt in a job's run, whatever is
-- coordinated twice (the dispatcher creates a node's instance with INSERT
-- IGNORE on this key). Replaces the plain index on job_instance_id.
ALTER TABLE instances
    ADD UNIQUE KEY instances_job_node (job_instance_id, job_node_id, attempt),
    DROP KEY instances_job;
ALTER TABLE job_edges
    ADD KEY job_edges_job (job_id);
