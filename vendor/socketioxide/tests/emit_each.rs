//! `Socket::emit_each` (vendor/socketioxide/PATCHES.md, patch 1): one event to many sockets,
//! encoded once, saying which sockets did not get it.
mod utils;

use engineioxide::Packet::*;
use socketioxide::{SocketError, SocketIo, socket::Socket};

#[tokio::test]
pub async fn emit_each_reaches_every_socket_and_names_the_full_ones() {
    let (_svc, io) = SocketIo::builder().max_buffer_size(2).build_svc();
    io.ns("/", async || {});
    io.ns("/other", async || {});

    let (_atx, mut arx) = io.new_dummy_sock("/", ()).await;
    let (_btx, mut brx) = io.new_dummy_sock("/", ()).await;
    let (_ctx, mut crx) = io.new_dummy_sock("/other", ()).await;
    for rx in [&mut arx, &mut brx, &mut crx] {
        assert!(matches!(assert_some!(rx.recv().await), Message(m) if m.starts_with('0')));
    }

    let root = io.of("/").unwrap().sockets();
    let other = io.of("/other").unwrap().sockets();
    let (a, b) = (root[0].clone(), root[1].clone());

    // Fill the first socket's buffer (2 packets): nothing runs its writer in between.
    for i in 0..2 {
        let failed = assert_ok!(Socket::emit_each([a.clone()], "fill", &(i,)));
        assert!(failed.is_empty());
    }
    let failed = assert_ok!(Socket::emit_each(
        [a.clone(), b.clone(), other[0].clone()],
        "msg",
        &("hi", 1)
    ));
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].0.id, a.id);
    assert!(matches!(failed[0].1, SocketError::InternalChannelFull));

    // Which of the dummy receivers belongs to `a` is not known: one got the two fills, the
    // other the message; the socket of `/other` got it encoded for its namespace.
    let mut got = Vec::new();
    for rx in [&mut arx, &mut brx] {
        let first = assert_some!(rx.recv().await);
        got.push(first);
    }
    got.sort_by_key(|p| format!("{p:?}"));
    assert_eq!(got, vec![Message(r#"2["fill",0]"#.into()), Message(r#"2["msg","hi",1]"#.into())]);
    assert_eq!(assert_some!(crx.recv().await), Message(r#"2/other,["msg","hi",1]"#.into()));

    // A socket that left is named too.
    b.clone().disconnect().unwrap();
    let failed = assert_ok!(Socket::emit_each([b.clone()], "msg", &("late",)));
    assert!(matches!(failed.as_slice(), [(s, SocketError::Closed)] if s.id == b.id));
}
