-- Every chat message (PostgreSQL; the SQLite schema is in migrations/sqlite/). `id` is the
-- server offset clients replay from: assigned from the sequence while the writer holds the
-- offset lock (src/server/store/postgres.rs), so ids become visible in increasing order.
-- `client_offset` is the sender's idempotency key: a retried message is stored once, even
-- when the retry reaches another node.
CREATE TABLE messages (
    id            BIGSERIAL PRIMARY KEY,
    client_offset TEXT UNIQUE,
    content       TEXT   NOT NULL,
    sent_at       BIGINT NOT NULL,
    -- For one room (`room`), or for everyone but one room (`except_room`); both NULL for everyone.
    room          TEXT,
    except_room   TEXT
);
-- Replays and room histories read by room, newest first.
CREATE INDEX messages_by_room ON messages (room, id);
