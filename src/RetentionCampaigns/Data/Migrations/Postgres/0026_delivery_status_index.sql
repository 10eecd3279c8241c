-- Each message changes its row's status three times (claimed, sending, sent), and every change added an entry to
-- this index. On PostgreSQL its entries for "claimed" also kept every row claimed so far until a vacuum, and the
-- planner went through them to find a chunk's four rows when marking it "sending" (1 ms a chunk, growing with the
-- run; measured in the campaign benchmark). A run's rows are found by the primary key (run_id, customer_id), its
-- open rows by ix_deliveries_open, a customer's by ix_deliveries_customer.
DROP INDEX ix_deliveries_status;
