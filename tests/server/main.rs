//! socket-chat's server, tested in Rust: a real server on a port the OS picks, a fresh
//! SQLite database each, and our own Socket.IO client (`socketio-browser`) run natively as
//! the peer. The official JavaScript client and Chromium test the same server from
//! `end2end/`; these tests reach what those cannot pin down, such as the writer's ordering.

mod admin;
mod chat;
mod cluster;
mod conformance;
mod history;
mod hostile;
mod limits;
mod pages;
mod raw;
mod replay;
mod rooms;
mod shutdown;
mod slow;
mod support;
mod users;
mod writer;
