-- Dispatch is fenced like a tick: an assignment records the epoch of the
-- dispatch lease it was made under, and is written only while its
-- dispatcher holds the lease at that epoch. So a dispatcher that lost the
-- lease (and has not noticed yet) can neither assign an instance nor take
-- back one that the new dispatcher assigned.
ALTER TABLE instances
    ADD COLUMN dispatch_epoch BIGINT UNSIGNED NULL AFTER executor_id;
