//! Several nodes: each test starts nodes in this process on one PostgreSQL database of its
//! own, joined through Redis (this machine's, or `TEST_REDIS_URL`; the Redis-loss test runs
//! a `redis-server` of its own that it can stop).

use std::time::Duration;

use serde_json::Value;
use socket_chat::protocol::{HandshakeAuth, Identity, JoinedRoom, Presence, RoomInfo, SentMessage, Target, events};
use socket_chat::server::config::{ChatConfig, Config};
use socket_chat::server::store::test_database::TestDatabase;
use socketio_browser::NoArgs;

use crate::support::{Client, TestServer, http_get, run, settle, within};

fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A node of the cluster on `database`, through Redis at `redis`.
async fn node_with(database: &TestDatabase, redis: &str) -> TestServer {
    let (url, redis) = (database.url.clone(), redis.to_owned());
    TestServer::start_with(move |chat| {
        chat.database_url = url;
        chat.redis_url = Some(redis);
    })
    .await
}

async fn node(database: &TestDatabase) -> TestServer {
    node_with(database, &redis_url()).await
}

/// `GET /healthz` on `server`: the status code and the JSON.
async fn health(server: &TestServer) -> (u16, Value) {
    let reply = http_get(&server.addr.to_string(), "/healthz", &[]).await;
    (reply.status, serde_json::from_str(&reply.body).unwrap_or(Value::Null))
}

#[test]
fn users_on_different_nodes_chat_in_rooms_whose_counts_agree() {
    run(|| async {
        let database = TestDatabase::create().await;
        let (one, two) = (node(&database).await, node(&database).await);
        let alice = Client::connect(&one, None).await;
        let bob = Client::connect(&two, None).await;
        let carol = Client::connect(&two, None).await;

        let _: SentMessage = alice.request(events::CHAT_MESSAGE, &("hello from node 1", "a-0")).await.unwrap();
        for client in [&alice, &bob, &carol] {
            assert_eq!(client.wait_for(1).await, ["hello from node 1"]);
        }

        let joined: JoinedRoom = alice.request(events::ROOM_JOIN, &"rust").await.unwrap();
        assert_eq!(joined.members, 1);
        let joined: JoinedRoom = bob.request(events::ROOM_JOIN, &"rust").await.unwrap();
        assert_eq!(joined.members, 2, "the member on the other node is counted");
        for client in [&alice, &bob, &carol] {
            let rooms: Vec<RoomInfo> = client.request(events::ROOMS_LIST, &NoArgs).await.unwrap();
            assert_eq!(rooms, [RoomInfo { name: "rust".into(), members: 2 }], "every node counts the same");
        }

        // to / except, sent on node 1, the recipients on node 2.
        let _: SentMessage =
            alice.request(events::CHAT_MESSAGE, &("to rust", "a-1", Target::room("rust"))).await.unwrap();
        let _: SentMessage =
            alice.request(events::CHAT_MESSAGE, &("but rust", "a-2", Target::all_but("rust"))).await.unwrap();
        let _: SentMessage = bob.request(events::CHAT_MESSAGE, &("from node 2", "b-0")).await.unwrap();
        assert_eq!(bob.wait_for(3).await, ["hello from node 1", "to rust", "from node 2"]);
        assert_eq!(carol.wait_for(3).await, ["hello from node 1", "but rust", "from node 2"]);
        assert_eq!(alice.wait_for(3).await, ["hello from node 1", "to rust", "from node 2"]);
        settle().await;
        assert_eq!(carol.texts(), ["hello from node 1", "but rust", "from node 2"]);

        // A member leaving on node 2 is seen from node 1.
        drop(bob);
        settle().await;
        let rooms: Vec<RoomInfo> = alice.request(events::ROOMS_LIST, &NoArgs).await.unwrap();
        assert_eq!(rooms, [RoomInfo { name: "rust".into(), members: 1 }]);
    });
}

#[test]
fn typing_crosses_nodes() {
    run(|| async {
        let database = TestDatabase::create().await;
        let (one, two) = (node(&database).await, node(&database).await);
        let typist = Client::connect(&one, None).await;
        let reader = Client::connect(&two, None).await;
        let (seen, typing) = tokio::sync::oneshot::channel::<Value>();
        let seen = std::cell::RefCell::new(Some(seen));
        let _guard = reader.socket.on(events::TYPING, move |payload| {
            if let Some(seen) = seen.borrow_mut().take() {
                let _ = seen.send(payload.decode::<Value>().unwrap_or(Value::Null));
            }
        });
        typist.socket.emit(events::TYPING, &(Value::Null,)).unwrap();
        let notice = within(typing).await.unwrap();
        assert_eq!(notice["id"], typist.socket.id().unwrap().as_str(), "node 2 hears who types on node 1");
    });
}

/// Who is online spans nodes: a user on node 2 is listed on node 1 with their rooms, a user
/// with tabs on both nodes counts once, and a node that dies takes its users with it once
/// the others stop hearing from it.
#[test]
fn people_on_other_nodes_are_online_until_their_node_dies() {
    run(|| async {
        let database = TestDatabase::create().await;
        let start = || {
            let url = database.url.clone();
            TestServer::start_with(move |chat| {
                chat.database_url = url;
                chat.redis_url = Some(redis_url());
                // Longer than the test: only the node's silence can take its users away.
                chat.presence_grace_ms = 60_000;
            })
        };
        let (one, two) = (start().await, start().await);
        let ada = Client::connect(&one, None).await;
        let ada_id: Identity = ada.request(events::USER_NICKNAME, &"Ada").await.unwrap();
        let bob = Client::connect(&two, None).await;
        let _: Identity = bob.request(events::USER_NICKNAME, &"Bob").await.unwrap();
        let names = |p: &Presence| p.users.iter().map(|u| u.user.nickname.clone()).collect::<Vec<_>>();
        for client in [&ada, &bob] {
            client.event(events::PRESENCE, |p: &Presence| names(p) == ["Ada", "Bob"]).await;
        }

        let _: JoinedRoom = bob.request(events::ROOM_JOIN, &"rust").await.unwrap();
        ada.event(events::PRESENCE, |p: &Presence| {
            p.users.iter().any(|u| u.user.nickname == "Bob" && u.rooms == ["rust"])
        })
        .await;
        // Ada's second tab, on node 2, in another room: one Ada, in both rooms.
        let auth = HandshakeAuth { session_id: Some(ada_id.session_id.clone()), ..HandshakeAuth::default() };
        let ada_2 = Client::connect(&two, Some(&auth)).await;
        let _: JoinedRoom = ada_2.request(events::ROOM_JOIN, &"go").await.unwrap();
        let seen = ada.event(events::PRESENCE, |p: &Presence| p.users.iter().any(|u| u.rooms == ["go"])).await;
        assert_eq!(names(&seen), ["Ada", "Bob"], "a user with tabs on two nodes counts once");
        assert_eq!(seen.users[0].rooms, ["go"], "Ada's rooms from both nodes: {seen:?}");

        let since = ada.count(events::PRESENCE);
        two.stop().await;
        tokio::time::sleep(socket_chat::server::presence_nodes::FORGET_AFTER).await;
        let after = ada.event_since(since, events::PRESENCE, |p: &Presence| names(p) == ["Ada"]).await;
        assert!(after.users[0].rooms.is_empty(), "node 2's tab of Ada went with it: {after:?}");
    });
}

/// Every node delivers every message in offset order, whichever node stored it: two nodes
/// take messages at the same time and each client ends with the whole sequence, in order,
/// with no gap and nothing twice.
#[test]
fn every_client_sees_one_sequence_of_offsets_whichever_node_stored_them() {
    run(|| async {
        let database = TestDatabase::create().await;
        let (one, two) = (node(&database).await, node(&database).await);
        let senders = [Client::connect(&one, None).await, Client::connect(&two, None).await];
        let readers = [Client::connect(&one, None).await, Client::connect(&two, None).await];
        const EACH: usize = 40;
        for i in 0..EACH {
            for (n, sender) in senders.iter().enumerate() {
                let _ = sender.socket.emit(events::CHAT_MESSAGE, &(format!("{n}-{i}"), format!("k-{n}-{i}")));
            }
        }
        for reader in &readers {
            reader.wait_for(2 * EACH).await;
        }
        settle().await;
        for reader in &readers {
            let offsets: Vec<i64> = reader.received.borrow().iter().map(|m| m.server_offset).collect();
            assert_eq!(offsets.len(), 2 * EACH, "nothing twice");
            assert!(offsets.windows(2).all(|w| w[1] == w[0] + 1), "in order, no gap: {offsets:?}");
        }
        // A client that comes back on the other node with its last offset misses nothing.
        let last_seen = readers[0].received.borrow()[EACH - 1].server_offset;
        let auth = HandshakeAuth { server_offset: Some(last_seen), ..HandshakeAuth::default() };
        let back = Client::connect(&two, Some(&auth)).await;
        assert_eq!(back.wait_for(EACH).await.len(), EACH);
        assert_eq!(back.received.borrow()[0].server_offset, last_seen + 1);
    });
}

#[test]
fn a_node_reports_its_store_and_adapter() {
    run(|| async {
        let database = TestDatabase::create().await;
        let one = node(&database).await;
        let (code, body) = health(&one).await;
        assert_eq!(code, 200, "{body}");
        assert_eq!(
            body,
            serde_json::json!({"status": "ok", "store": {"kind": "postgres", "ok": true}, "adapter": {"kind": "redis", "ok": true}})
        );
    });
}

#[test]
fn bad_cluster_settings_fail_at_start_up_with_one_clear_error() {
    run(|| async {
        let database = TestDatabase::create().await;
        let start = |chat: ChatConfig| async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let leptos = leptos::config::LeptosOptions::builder().output_name("socket-chat").build();
            socket_chat::server::serve(listener, Config { leptos, chat }, std::future::pending()).await
        };
        let unreachable = ChatConfig {
            database_url: database.url.clone(),
            redis_url: Some("redis://127.0.0.1:1".into()),
            ..ChatConfig::default()
        };
        let error = within(start(unreachable)).await.unwrap_err().to_string();
        assert!(error.starts_with("cannot connect to Redis at redis://127.0.0.1:1"), "{error}");
        let sqlite = ChatConfig {
            database_url: "sqlite::memory:".into(),
            redis_url: Some(redis_url()),
            ..ChatConfig::default()
        };
        let error = within(start(sqlite)).await.unwrap_err().to_string();
        assert!(error.contains("set DATABASE_URL to postgres://"), "{error}");
    });
}

/// A `redis-server` of the test's own, on a free port, that the test can stop and restart.
struct OwnRedis {
    port: u16,
    child: Option<tokio::process::Child>,
}

impl OwnRedis {
    async fn start(port: u16) -> Self {
        let child = tokio::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server (Debian's redis-server package) for this test");
        // Ready when it answers PING (accepting a connection is not enough: a Redis still
        // starting resets it, and a node started then fails to join).
        within(async {
            while !answers_ping(port).await {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        Self { port, child: Some(child) }
    }

    async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

async fn answers_ping(port: u16) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else { return false };
    let mut reply = [0u8; 7];
    stream.write_all(b"PING\r\n").await.is_ok() && stream.read_exact(&mut reply).await.is_ok() && &reply == b"+PONG\r\n"
}

/// A free port below the kernel's ephemeral range. The servers of these tests are stopped and
/// started again on their port; one in that range may meanwhile be given to any outgoing
/// connection or `bind(0)` of the other tests running beside (it happened: PostgreSQL could
/// not start again), one below it only to an explicit bind.
fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let ephemeral: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768);
    let low = 20_000.min(ephemeral / 2);
    let span = u64::from(ephemeral - low);
    let seed = u64::from(std::process::id()).wrapping_mul(2_654_435_761);
    for _ in 0..1000 {
        let port = low + ((seed + NEXT.fetch_add(7919, Ordering::Relaxed)) % span) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port between {low} and {ephemeral}");
}

#[test]
fn a_node_that_loses_redis_says_so_and_recovers_when_it_is_back() {
    run(|| async {
        let database = TestDatabase::create().await;
        let mut redis = OwnRedis::start(free_port()).await;
        let (one, two) = (node_with(&database, &redis.url()).await, node_with(&database, &redis.url()).await);
        // Both have joined the cluster (a node still connecting when Redis stops would fail
        // to start, which is another test's matter).
        within(async {
            while health(&one).await.0 != 200 || health(&two).await.0 != 200 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;

        redis.stop().await;
        let down = within(async {
            loop {
                let (code, body) = health(&one).await;
                if code == 503 {
                    return body;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await;
        assert_eq!(down["status"], "degraded");
        assert_eq!(down["adapter"]["ok"], false);
        assert_eq!(down["store"]["ok"], true);
        // Meanwhile messages still flow between the nodes (through PostgreSQL), and a join
        // is answered (counted on its own node).
        let alice = Client::connect(&one, None).await;
        let bob = Client::connect(&two, None).await;
        let joined: JoinedRoom = alice.request(events::ROOM_JOIN, &"back").await.unwrap();
        assert_eq!(joined.members, 1);
        let _: SentMessage = alice.request(events::CHAT_MESSAGE, &("without redis", "r-0")).await.unwrap();
        assert_eq!(bob.wait_for(1).await, ["without redis"]);

        let redis = OwnRedis::start(redis.port).await;
        within(async {
            while health(&one).await.0 != 200 || health(&two).await.0 != 200 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await;
        // Subscribed again: the nodes hear each other.
        let joined: JoinedRoom = bob.request(events::ROOM_JOIN, &"back").await.unwrap();
        assert_eq!(joined.members, 2, "node 2 counts node 1's member again");
        drop(redis);
    });
}

/// A PostgreSQL server of the test's own (Debian's binaries, a fresh data folder, a free
/// port), that the test can stop and start again. Run as the `postgres` user when the test
/// runs as root (PostgreSQL refuses root).
struct OwnPostgres {
    dir: std::path::PathBuf,
    port: u16,
}

impl OwnPostgres {
    fn bin(name: &str) -> String {
        let mut versions: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
            .expect("Debian's PostgreSQL in /usr/lib/postgresql for this test")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        versions.sort();
        versions.last().expect("a PostgreSQL version").join("bin").join(name).display().to_string()
    }

    fn run(args: &[&str]) {
        let (ok, stderr) = Self::try_run(args);
        assert!(ok, "{args:?}: {stderr}");
    }

    fn try_run(args: &[&str]) -> (bool, String) {
        let root = std::process::Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
        let mut command = if root {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]);
            c
        } else {
            std::process::Command::new(args[0])
        };
        if root {
            command.arg(args[0]);
        }
        // Run from a folder the `postgres` user may enter (not the checkout, which may be private).
        let output =
            command.args(&args[1..]).current_dir(std::env::temp_dir()).output().expect("PostgreSQL's tools run");
        (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
    }

    fn init() -> Self {
        let dir = std::env::temp_dir().join(format!("socket-chat-pg-{}-{}", std::process::id(), free_port()));
        std::fs::create_dir_all(&dir).unwrap();
        let _ = std::process::Command::new("chown").args(["postgres:postgres", &dir.display().to_string()]).status();
        let data = dir.join("data").display().to_string();
        Self::run(&[&Self::bin("initdb"), "-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"]);
        let server = Self { dir, port: free_port() };
        server.start();
        server
    }

    fn start(&self) {
        let data = self.dir.join("data").display().to_string();
        let options = format!("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", self.port, self.dir.display());
        let log = self.dir.join("log").display().to_string();
        Self::run(&[&Self::bin("pg_ctl"), "-D", &data, "-o", &options, "-l", &log, "-w", "start"]);
    }

    fn stop(&self) {
        let data = self.dir.join("data").display().to_string();
        Self::run(&[&Self::bin("pg_ctl"), "-D", &data, "-m", "fast", "-w", "stop"]);
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let data = self.dir.join("data").display().to_string();
        Self::try_run(&[&Self::bin("pg_ctl"), "-D", &data, "-m", "immediate", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn a_node_that_loses_postgres_says_so_refuses_with_unavailable_and_recovers() {
    run(|| async {
        let postgres = OwnPostgres::init();
        let url = postgres.url();
        let node = TestServer::start_with(move |chat| chat.database_url = url).await;
        let sender = Client::connect(&node, None).await;
        let reader = Client::connect(&node, None).await;
        let _: SentMessage = sender.request(events::CHAT_MESSAGE, &("before", "p-0")).await.unwrap();
        assert_eq!(reader.wait_for(1).await, ["before"]);

        postgres.stop();
        let down = within(async {
            loop {
                let (code, body) = health(&node).await;
                if code == 503 {
                    return body;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await;
        assert_eq!((down["store"]["kind"].as_str(), down["store"]["ok"].as_bool()), (Some("postgres"), Some(false)));
        let refused = sender.request::<_, SentMessage>(events::CHAT_MESSAGE, &("during", "p-1")).await;
        assert_eq!(refused.unwrap_err().code, socket_chat::protocol::AckErrorCode::Unavailable);

        postgres.start();
        within(async {
            while health(&node).await.0 != 200 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await;
        // The same message sent again once the database is back: stored once, delivered.
        let _: SentMessage = sender.request(events::CHAT_MESSAGE, &("during", "p-1")).await.unwrap();
        let _: SentMessage = sender.request(events::CHAT_MESSAGE, &("after", "p-2")).await.unwrap();
        assert_eq!(reader.wait_for(3).await, ["before", "during", "after"]);
        settle().await;
        assert_eq!(reader.texts(), ["before", "during", "after"]);
    });
}
