-- Who is who (PostgreSQL; the SQLite schema is in migrations/sqlite/0003_users.sql). A user
-- has a public id and a nickname; the secret session id is stored only as its SHA-256.
-- `joined_offset`: the latest message when the user was created, where unread counts start.
CREATE TABLE users (
    user_id       TEXT   PRIMARY KEY,
    session_hash  TEXT   NOT NULL UNIQUE,
    nickname      TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    joined_offset BIGINT NOT NULL
);
-- Messages carry their author (id, and the nickname when sent) and, for a private message,
-- its recipient (then `room` and `except_room` are NULL).
ALTER TABLE messages ADD COLUMN author_id TEXT;
ALTER TABLE messages ADD COLUMN author_name TEXT;
ALTER TABLE messages ADD COLUMN recipient_id TEXT;
CREATE INDEX messages_private ON messages (recipient_id, author_id, id) WHERE recipient_id IS NOT NULL;
-- Last-read offset per user and conversation: "everyone", "room:<name>", "user:<id>".
CREATE TABLE read_marks (
    user_id      TEXT   NOT NULL,
    conversation TEXT   NOT NULL,
    last_read    BIGINT NOT NULL,
    PRIMARY KEY (user_id, conversation)
);
