//! Limits: the origin allowlist, rate limits per socket and per address, connections per
//! address, rooms per socket. Each test sets small limits so it can reach them quickly.

use std::time::Duration;

use socket_chat::protocol::{AckErrorCode, JoinedRoom, RetryLaterReply, SentMessage, events};

use crate::raw::{Outcome, Raw, error_code};
use crate::support::{Client, TestServer, http_get, run};

#[test]
fn a_page_of_another_site_cannot_open_a_socket() {
    run(|| async {
        let server = TestServer::start().await;
        let own = format!("http://{}", server.addr);
        assert_eq!(Raw::open_with(&server, Some("https://evil.example")).await.err(), Some(403));
        assert_eq!(Raw::open_with(&server, Some("null")).await.err(), Some(403));
        assert!(Raw::open_with(&server, Some(&own)).await.is_ok(), "the site's own pages may");
        assert!(Raw::open_with(&server, None).await.is_ok(), "programs send no Origin");
        // Long-polling too.
        let polling = format!("http://{}/socket.io/?EIO=4&transport=polling", server.addr);
        assert_eq!(http_get_status(&polling, Some("https://evil.example")).await, 403);
        assert_eq!(http_get_status(&polling, Some(&own)).await, 200);

        let listed = TestServer::start_with(|c| c.allowed_origins = vec!["https://chat.example.org".into()]).await;
        assert!(Raw::open_with(&listed, Some("https://chat.example.org")).await.is_ok());
        let own = format!("http://{}", listed.addr);
        assert_eq!(Raw::open_with(&listed, Some(&own)).await.err(), Some(403), "a list replaces the default");
    });
}

/// The status of a GET of `url` with an optional `Origin`.
async fn http_get_status(url: &str, origin: Option<&str>) -> u16 {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let headers: Vec<(&str, &str)> = origin.map(|o| ("Origin", o)).into_iter().collect();
    http_get(host, path, &headers).await.status
}

#[test]
fn a_flood_is_refused_with_when_to_retry_then_disconnected() {
    run(|| async {
        let server = TestServer::start_with(|c| {
            c.socket_events_per_second = 5;
            c.socket_event_burst = 10;
            c.flood_disconnect_after = 30;
        })
        .await;
        let bystander = Client::connect(&server, None).await;
        let mut flooder = Raw::connected(&server).await;
        // The burst is served...
        for id in 0..10 {
            flooder.send(&format!("42{id}[\"rooms:list\"]")).await;
        }
        for id in 0..10 {
            assert!(
                matches!(flooder.outcome(id).await, Outcome::Ack(r) if r["status"] == "ok"),
                "{id} within the burst"
            );
        }
        // ...then refused, saying when to come back.
        flooder.send("42100[\"rooms:list\"]").await;
        let Outcome::Ack(reply) = flooder.outcome(100).await else { panic!("an ack") };
        let reply: RetryLaterReply = serde_json::from_value(reply).expect("a RetryLater reply");
        assert_eq!(reply.error.code, AckErrorCode::RateLimited);
        assert!((1..=1000).contains(&reply.error.retry_after_ms), "{reply:?}");
        // Waiting that long is enough.
        tokio::time::sleep(Duration::from_millis(reply.error.retry_after_ms)).await;
        assert!(flooder.still_serves().await, "served again after retryAfterMs");
        // Going on regardless: disconnected.
        for id in 200..400 {
            flooder.send(&format!("42{id}[\"rooms:list\"]")).await;
        }
        assert!(flooder.closes_within(Duration::from_secs(5)).await, "a flooding socket is disconnected");
        // Nobody else noticed.
        let sent: SentMessage = bystander.request(events::CHAT_MESSAGE, &("fine", "b-0")).await.unwrap();
        assert!(sent.server_offset > 0);
    });
}

#[test]
fn the_rate_of_one_address_is_shared_by_its_sockets() {
    run(|| async {
        let server = TestServer::start_with(|c| {
            c.ip_events_per_second = 5;
            c.ip_event_burst = 10;
        })
        .await;
        let mut first = Raw::connected(&server).await;
        let mut second = Raw::connected(&server).await;
        for id in 0..5 {
            first.send(&format!("42{id}[\"rooms:list\"]")).await;
            assert!(matches!(first.outcome(id).await, Outcome::Ack(r) if r["status"] == "ok"));
            second.send(&format!("42{id}[\"rooms:list\"]")).await;
            assert!(matches!(second.outcome(id).await, Outcome::Ack(r) if r["status"] == "ok"));
        }
        second.send("4299[\"rooms:list\"]").await;
        assert_eq!(error_code(&second.outcome(99).await), Some("rate_limited"), "the address's 10 are spent");
    });
}

#[test]
fn normal_use_with_retries_never_trips_the_default_limits() {
    run(|| async {
        let server = TestServer::start().await;
        let client = Client::connect(&server, None).await;
        // An outbox flushed at reconnection: 150 messages one after another, as fast as the
        // acks come (the retry queue sends one at a time).
        for n in 0..150 {
            let sent: Result<SentMessage, _> =
                client.request(events::CHAT_MESSAGE, &(format!("m{n}"), format!("c-{n}"))).await;
            assert!(sent.is_ok(), "message {n}: {sent:?}");
        }
        // Then someone very busy: 20 messages a second for 3 s, with typing notices.
        for n in 150..210 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            client.socket.emit(events::TYPING, &socketio_browser::NoArgs).expect("typing is sent");
            let sent: Result<SentMessage, _> =
                client.request(events::CHAT_MESSAGE, &(format!("m{n}"), format!("c-{n}"))).await;
            assert!(sent.is_ok(), "message {n}: {sent:?}");
        }
    });
}

#[test]
fn connections_per_address_are_bounded() {
    run(|| async {
        let server = TestServer::start_with(|c| c.max_connections_per_ip = 2).await;
        let _a = Raw::connected(&server).await;
        let b = Raw::connected(&server).await;
        let mut third = Raw::open(&server).await;
        third.send("40").await;
        let answer = third.next_text().await.expect("an answer");
        assert!(answer.starts_with("44{") && answer.contains("too_many_connections"), "{answer}");
        // A place is given back when a socket goes.
        drop(b);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let _c = Raw::connected(&server).await;
    });
}

#[test]
fn rooms_per_socket_are_bounded() {
    run(|| async {
        let server = TestServer::start_with(|c| c.max_rooms_per_socket = 2).await;
        let client = Client::connect(&server, None).await;
        let _: JoinedRoom = client.request(events::ROOM_JOIN, &"a").await.unwrap();
        let _: JoinedRoom = client.request(events::ROOM_JOIN, &"b").await.unwrap();
        let again: Result<JoinedRoom, _> = client.request(events::ROOM_JOIN, &"b").await;
        assert!(again.is_ok(), "joining a room one is in costs nothing");
        let refused = client.request::<_, JoinedRoom>(events::ROOM_JOIN, &"c").await.unwrap_err();
        assert_eq!(refused.code, AckErrorCode::TooManyRooms);
    });
}
