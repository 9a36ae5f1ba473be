-- Messages for one room (`room`), or for everyone but one room (`except_room`); both NULL
-- for everyone. Replays and room histories read by room, newest first.
ALTER TABLE messages ADD COLUMN room TEXT;
ALTER TABLE messages ADD COLUMN except_room TEXT;
CREATE INDEX messages_by_room ON messages (room, id);
