//! The benchmark's measuring parts (feature `bench`), kept in the library so that they are
//! unit-tested: the latency histogram, the rate pacer, the report, and the client side of the
//! WebSocket wire format the receivers read with. The load generator
//! and the orchestration live in `src/bin/socket-chat-bench/`.

pub mod histogram;
pub mod pacing;
pub mod report;
pub mod wire;
