-- Norc schema, version 1. Every instant is DATETIME(6) in UTC (sessions run
-- with time_zone '+00:00'). Status and request codes: common/norc.h.
-- Statements end with ';' at the end of a line (the migration runner splits
-- there).

CREATE TABLE schema_version (
    version     INT UNSIGNED NOT NULL PRIMARY KEY,
    name        VARCHAR(128) NOT NULL,
    applied_at  DATETIME(6) NOT NULL
) ENGINE=InnoDB;

-- Queues and queue groups share one name space: one table, one unique key.
-- kind: 1 db, 2 sqs, 3 group.
CREATE TABLE queues (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name        VARCHAR(64) NOT NULL,
    kind        TINYINT UNSIGNED NOT NULL DEFAULT 1,
    created_at  DATETIME(6) NOT NULL,
    UNIQUE KEY queues_name (name)
) ENGINE=InnoDB;

-- A queue may sit in many groups, once per group. Lower priority number =
-- served first, as in the original.
CREATE TABLE queue_group_members (
    group_id    BIGINT UNSIGNED NOT NULL,
    queue_id    BIGINT UNSIGNED NOT NULL,
    priority    INT UNSIGNED NOT NULL,
    PRIMARY KEY (group_id, queue_id),
    KEY qgm_queue (queue_id),
    CONSTRAINT qgm_group FOREIGN KEY (group_id) REFERENCES queues (id) ON DELETE CASCADE,
    CONSTRAINT qgm_member FOREIGN KEY (queue_id) REFERENCES queues (id)
) ENGINE=InnoDB;

CREATE TABLE revisions (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    info        VARCHAR(64) NOT NULL,
    created_at  DATETIME(6) NOT NULL,
    UNIQUE KEY revisions_info (info)
) ENGINE=InnoDB;

-- kind: 1 command, 2 job. A deleted task keeps its row (instances refer to
-- it); its name gets a suffix so the name can be used again.
CREATE TABLE tasks (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name            VARCHAR(128) NOT NULL,
    kind            TINYINT UNSIGNED NOT NULL DEFAULT 1,
    description     VARCHAR(512) NOT NULL DEFAULT '',
    command         TEXT NULL,
    timeout_s       INT UNSIGNED NOT NULL DEFAULT 0,
    cwd             VARCHAR(4096) NULL,
    nice            INT NOT NULL DEFAULT 0,
    retry_max       INT UNSIGNED NOT NULL DEFAULT 0,
    retry_backoff_s INT UNSIGNED NOT NULL DEFAULT 10,
    retry_cap_s     INT UNSIGNED NOT NULL DEFAULT 3600,
    created_at      DATETIME(6) NOT NULL,
    deleted_at      DATETIME(6) NULL,
    UNIQUE KEY tasks_name (name)
) ENGINE=InnoDB;

CREATE TABLE task_env (
    task_id     BIGINT UNSIGNED NOT NULL,
    name        VARCHAR(255) NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (task_id, name),
    CONSTRAINT task_env_task FOREIGN KEY (task_id) REFERENCES tasks (id) ON DELETE CASCADE
) ENGINE=InnoDB;

-- A job's nodes (each runs a task) and its dependency edges.
CREATE TABLE job_nodes (
    id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    job_id      BIGINT UNSIGNED NOT NULL,
    task_id     BIGINT UNSIGNED NOT NULL,
    name        VARCHAR(128) NOT NULL,
    UNIQUE KEY job_nodes_name (job_id, name),
    CONSTRAINT job_nodes_job FOREIGN KEY (job_id) REFERENCES tasks (id),
    CONSTRAINT job_nodes_task FOREIGN KEY (task_id) REFERENCES tasks (id)
) ENGINE=InnoDB;

CREATE TABLE job_edges (
    job_id      BIGINT UNSIGNED NOT NULL,
    parent_id   BIGINT UNSIGNED NOT NULL,
    child_id    BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (parent_id, child_id),
    KEY job_edges_child (child_id),
    CONSTRAINT job_edges_parent FOREIGN KEY (parent_id) REFERENCES job_nodes (id),
    CONSTRAINT job_edges_childn FOREIGN KEY (child_id) REFERENCES job_nodes (id)
) ENGINE=InnoDB;

-- Daemons: schedulers (kind 1) and executors (kind 2).
CREATE TABLE daemons (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    kind            TINYINT UNSIGNED NOT NULL,
    host            VARCHAR(255) NOT NULL,
    pid             INT NOT NULL,
    status          SMALLINT UNSIGNED NOT NULL DEFAULT 1,
    request         SMALLINT UNSIGNED NULL,
    queue_id        BIGINT UNSIGNED NULL,
    concurrency     INT UNSIGNED NOT NULL DEFAULT 0,
    heartbeat       DATETIME(6) NULL,
    started_at      DATETIME(6) NULL,
    ended_at        DATETIME(6) NULL,
    reason          VARCHAR(1024) NULL,
    handled_by      VARCHAR(255) NULL,
    handled_at      DATETIME(6) NULL,
    KEY daemons_status (kind, status),
    KEY daemons_host (host),
    KEY daemons_ended (ended_at),
    CONSTRAINT daemons_queue FOREIGN KEY (queue_id) REFERENCES queues (id)
) ENGINE=InnoDB;

-- Schedules. kind 1 period (start_at, period_s), 2 cron (cron_expr, tz;
-- ticks come after start_at). repetitions 0 = forever; remaining counts
-- fires left. catchup: 0 none, 1 all, 2 latest, 3 within catchup_window_s.
-- concurrency: 0 allow, 1 forbid, 2 replace. The lease (owner, until) and
-- its epoch fence a stale scheduler: a tick is written only by the holder
-- of the current epoch.
CREATE TABLE schedules (
    id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    task_id           BIGINT UNSIGNED NOT NULL,
    queue_id          BIGINT UNSIGNED NOT NULL,
    kind              TINYINT UNSIGNED NOT NULL,
    start_at          DATETIME(6) NOT NULL,
    period_s          BIGINT UNSIGNED NOT NULL DEFAULT 0,
    cron_expr         VARCHAR(255) NULL,
    tz                VARCHAR(64) NOT NULL DEFAULT 'UTC',
    repetitions       INT UNSIGNED NOT NULL DEFAULT 0,
    remaining         INT UNSIGNED NOT NULL DEFAULT 0,
    catchup           TINYINT UNSIGNED NOT NULL DEFAULT 0,
    catchup_window_s  INT UNSIGNED NOT NULL DEFAULT 0,
    concurrency       TINYINT UNSIGNED NOT NULL DEFAULT 0,
    deadline_s        INT UNSIGNED NOT NULL DEFAULT 0,
    paused            TINYINT(1) NOT NULL DEFAULT 0,
    last_nominal      DATETIME(6) NULL,
    next_nominal      DATETIME(6) NULL,
    lease_owner       BIGINT UNSIGNED NULL,
    lease_until       DATETIME(6) NULL,
    lease_epoch       BIGINT UNSIGNED NOT NULL DEFAULT 0,
    version           INT UNSIGNED NOT NULL DEFAULT 1,
    created_at        DATETIME(6) NOT NULL,
    deleted_at        DATETIME(6) NULL,
    deleted_reason    VARCHAR(1024) NULL,
    KEY schedules_claim (deleted_at, lease_until),
    KEY schedules_owner (lease_owner),
    CONSTRAINT schedules_task FOREIGN KEY (task_id) REFERENCES tasks (id),
    CONSTRAINT schedules_queue FOREIGN KEY (queue_id) REFERENCES queues (id)
) ENGINE=InnoDB;

-- Instances. The tick key (schedule_id, nominal, attempt) makes a second
-- instance for the same tick impossible; manual runs have no schedule.
-- trigger_kind: 1 schedule, 2 manual, 3 job node, 4 retry.
CREATE TABLE instances (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    task_id         BIGINT UNSIGNED NOT NULL,
    queue_id        BIGINT UNSIGNED NOT NULL,
    schedule_id     BIGINT UNSIGNED NULL,
    nominal         DATETIME(6) NULL,
    attempt         INT UNSIGNED NOT NULL DEFAULT 1,
    trigger_kind    TINYINT UNSIGNED NOT NULL DEFAULT 1,
    job_instance_id BIGINT UNSIGNED NULL,
    job_node_id     BIGINT UNSIGNED NULL,
    executor_id     BIGINT UNSIGNED NULL,
    status          SMALLINT UNSIGNED NOT NULL DEFAULT 1,
    enqueued_at     DATETIME(6) NOT NULL,
    started_at      DATETIME(6) NULL,
    ended_at        DATETIME(6) NULL,
    exit_code       INT NULL,
    term_signal     INT NULL,
    cpu_user_us     BIGINT NULL,
    cpu_sys_us      BIGINT NULL,
    max_rss_kb      BIGINT NULL,
    log_path        VARCHAR(512) NULL,
    revision_id     BIGINT UNSIGNED NULL,
    reason          VARCHAR(1024) NULL,
    handled_by      VARCHAR(255) NULL,
    handled_at      DATETIME(6) NULL,
    UNIQUE KEY instances_tick (schedule_id, nominal, attempt),
    KEY instances_executor (executor_id, ended_at, status),
    KEY instances_status (status, ended_at),
    KEY instances_queue (queue_id, status, id),
    KEY instances_job (job_instance_id),
    CONSTRAINT instances_task FOREIGN KEY (task_id) REFERENCES tasks (id),
    CONSTRAINT instances_queue FOREIGN KEY (queue_id) REFERENCES queues (id),
    CONSTRAINT instances_schedule FOREIGN KEY (schedule_id) REFERENCES schedules (id),
    CONSTRAINT instances_revision FOREIGN KEY (revision_id) REFERENCES revisions (id)
) ENGINE=InnoDB;

-- Ticks that produced no instance, and why. outcome: 2 skipped (paused,
-- forbid), 3 missed (down, past deadline, dst-gap).
CREATE TABLE ticks (
    schedule_id     BIGINT UNSIGNED NOT NULL,
    nominal         DATETIME(6) NOT NULL,
    outcome         TINYINT UNSIGNED NOT NULL,
    reason          VARCHAR(255) NOT NULL,
    recorded_at     DATETIME(6) NOT NULL,
    PRIMARY KEY (schedule_id, nominal),
    CONSTRAINT ticks_schedule FOREIGN KEY (schedule_id) REFERENCES schedules (id)
) ENGINE=InnoDB;

-- Control requests: stored first, delivered over ZeroMQ, answered.
-- state: 1 pending, 2 delivered, 3 done, 4 refused.
CREATE TABLE control_requests (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    daemon_id       BIGINT UNSIGNED NOT NULL,
    request         SMALLINT UNSIGNED NOT NULL,
    state           TINYINT UNSIGNED NOT NULL DEFAULT 1,
    requested_by    VARCHAR(255) NOT NULL DEFAULT '',
    created_at      DATETIME(6) NOT NULL,
    delivered_at    DATETIME(6) NULL,
    done_at         DATETIME(6) NULL,
    reason          VARCHAR(1024) NULL,
    KEY control_pending (daemon_id, state),
    CONSTRAINT control_daemon FOREIGN KEY (daemon_id) REFERENCES daemons (id)
) ENGINE=InnoDB;
