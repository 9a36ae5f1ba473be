-- Who is who (issue 14). A user has a public id and a nickname; the secret session id the
-- client keeps is stored only as its SHA-256 (a copy of the database gives no sessions).
-- `joined_offset`: the latest message when the user was created, where unread counts start
-- (someone new to the chat has not "missed" its whole history).
CREATE TABLE users (
    user_id       TEXT    PRIMARY KEY,
    session_hash  TEXT    NOT NULL UNIQUE,
    nickname      TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    joined_offset INTEGER NOT NULL
);
-- Messages carry their author (id and the nickname at the time of sending) and, for a
-- private message, its recipient (then `room` and `except_room` are NULL).
ALTER TABLE messages ADD COLUMN author_id TEXT;
ALTER TABLE messages ADD COLUMN author_name TEXT;
ALTER TABLE messages ADD COLUMN recipient_id TEXT;
CREATE INDEX messages_private ON messages (recipient_id, author_id, id) WHERE recipient_id IS NOT NULL;
-- Last-read offset per user and conversation: "everyone", "room:<name>", "user:<id>".
CREATE TABLE read_marks (
    user_id      TEXT    NOT NULL,
    conversation TEXT    NOT NULL,
    last_read    INTEGER NOT NULL,
    PRIMARY KEY (user_id, conversation)
);
