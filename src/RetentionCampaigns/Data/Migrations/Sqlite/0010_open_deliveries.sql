-- The send jobs' claim takes the next open rows of a run in customer order. Over the status index that meant
-- reading and sorting every open row of the run per claim (quadratic in the run's size); this partial index holds
-- only the open rows, already in order.
CREATE INDEX ix_deliveries_open ON deliveries (run_id, customer_id) WHERE status IN ('pending', 'deferred');
