-- The history store, version 3.
--
-- Whether a message was, enclosed or carried the customer's statement of account: the
-- next statement lists the payments received since the campaign date of the last one
-- delivered. Messages recorded before version 3 carried none.

ALTER TABLE messages ADD COLUMN statement BIGINT NOT NULL DEFAULT 0;
