-- Every chat message. `id` is the server offset clients replay from: AUTOINCREMENT keeps
-- ids increasing and never reused, even after deletes. `client_offset` is the sender's
-- idempotency key: a retried message is stored once.
CREATE TABLE messages (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    client_offset TEXT UNIQUE,
    content       TEXT    NOT NULL,
    sent_at       INTEGER NOT NULL
);
