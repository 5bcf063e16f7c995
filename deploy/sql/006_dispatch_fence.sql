-- Dispatch is fenced like a tick: an assignment records the epoch of the
-- dispatch lease it was made under, and is written only while its
-- dispatcher holds the lease at that epoch. So a dispatcher that lost the
-- lease (and has not noticed yet) can neither assign an instance nor take
-- back one that the new dispatcher assigned. assigned_at (the database's
-- clock) lets the dispatcher find an assignment its executor does not
-- report running long after it was made (a lost ASSIGN or RELEASE) and
-- send it again.
ALTER TABLE instances
    ADD COLUMN dispatch_epoch BIGINT UNSIGNED NULL AFTER executor_id,
    ADD COLUMN assigned_at DATETIME(6) NULL AFTER dispatch_epoch;
