//! The Admin UI's `/admin` namespace on several nodes (PostgreSQL and Redis, as in
//! `cluster.rs`): an admin connected to one node sees every node's statistics and sockets,
//! and its commands act on the sockets of every node. (The protocol itself, on one node, is
//! checked against the package's own server in `end2end/tests/admin/`.)

use std::sync::OnceLock;

use serde_json::{Value, json};
use socket_chat::protocol::admin::CommandDone;
use socket_chat::protocol::events::admin as events;
use socket_chat::protocol::{AckErrorCode, AckReply};
use socket_chat::server::admin::arguments::Arguments;
use socket_chat::server::store::test_database::TestDatabase;
use socketio_browser::{ConnectionState, Socket, SocketOptions};

use crate::support::{Client, Native, TestServer, run, state, within};

const USER: &str = "admin";
const PASSWORD: &str = "correct horse battery staple";

fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// The bcrypt hash of [`PASSWORD`] (cost 4: quick).
fn password_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| bcrypt::hash(PASSWORD, 4).expect("a hash")).clone()
}

/// A node of the cluster on `database`, with the admin user; `server_id` when given
/// (else the default, `host#pid`), read-only when `read_only`.
async fn admin_node(database: &TestDatabase, server_id: Option<&str>, read_only: bool) -> TestServer {
    let (url, server_id) = (database.url.clone(), server_id.map(str::to_owned));
    TestServer::start_with(move |chat| {
        chat.database_url = url;
        chat.redis_url = Some(redis_url());
        chat.admin_username = Some(USER.into());
        chat.admin_password_hash = Some(password_hash());
        chat.admin_server_id = server_id;
        chat.admin_read_only = read_only;
    })
    .await
}

fn admin_options(server: &TestServer, password: &str) -> SocketOptions {
    let mut options =
        SocketOptions::new(server.url()).with_auth(&json!({ "username": USER, "password": password })).unwrap();
    options.namespace = events::NAMESPACE.into();
    options.reconnection = false;
    options
}

/// An admin on `server`'s `/admin`, logged in.
async fn admin(server: &TestServer) -> Client {
    Client::connect_with(admin_options(server, PASSWORD)).await
}

/// Why `server` refused an admin with `password`.
async fn refused(server: &TestServer, password: &str) -> String {
    refused_with(admin_options(server, password)).await
}

/// Why the server refused an admin connecting with `options`.
async fn refused_with(options: SocketOptions) -> String {
    let socket = Socket::new(options, Native::default());
    let gone = state(&socket, |s| matches!(s, ConnectionState::Disconnected(_)));
    socket.connect();
    within(gone).await;
    match socket.state() {
        ConnectionState::Disconnected(reason) => reason,
        other => panic!("still {other:?}"),
    }
}

/// The arguments of the latest `event` whose arguments `accept` takes.
async fn event(client: &Client, event: &str, accept: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    json_arguments(client.event::<Arguments>(event, |args| accept(&json_arguments(args.clone()))).await)
}

/// Every argument of an event (the server's own reader of argument lists), as JSON.
fn json_arguments(arguments: Arguments) -> Vec<Value> {
    arguments.0.into_iter().map(|a| serde_json::to_value(a).expect("JSON")).collect()
}

fn sid(client: &Client) -> String {
    client.socket.id().expect("connected")
}

#[test]
fn an_admin_on_one_node_sees_and_acts_on_every_node() {
    run(|| async {
        let database = TestDatabase::create().await;
        // Node 1 with the package's default id, node 2 with one of its own.
        let one = admin_node(&database, None, false).await;
        let two = admin_node(&database, Some("node-2"), false).await;
        let early = Client::connect(&two, None).await;
        let admin = admin(&one).await;

        // Both nodes' statistics, each with its own id and its own sockets.
        let default_id = format!("{}#{}", gethostname::gethostname().to_string_lossy(), std::process::id());
        let stats_of = |id: String| {
            let admin = &admin;
            async move { event(admin, events::SERVER_STATS, |args| args[0]["serverId"] == id.as_str()).await }
        };
        let from_one = stats_of(default_id.clone()).await;
        let from_two = stats_of("node-2".into()).await;
        let chat_sockets = |stats: &[Value]| {
            stats[0]["namespaces"].as_array().unwrap().iter().find(|n| n["name"] == "/").unwrap()["socketsCount"]
                .clone()
        };
        assert_eq!(chat_sockets(&from_one), 0);
        assert_eq!(chat_sockets(&from_two), 1, "node 2 counts its own chat socket");

        // A socket of node 2 from before the admin came: sent by node 2 once it finds the admin.
        let early_id = sid(&early);
        event(&admin, events::SOCKET_CONNECTED, |args| args[0]["id"] == early_id.as_str()).await;
        // A socket of node 2 from after: told as it connects.
        let late = Client::connect(&two, None).await;
        let late_id = sid(&late);
        let connected = event(&admin, events::SOCKET_CONNECTED, |args| args[0]["id"] == late_id.as_str()).await;
        assert_eq!(connected[0]["nsp"], "/");
        assert_eq!(connected[0]["clientId"].as_str().map(str::len), Some(12));

        // Commands from node 1's admin act on node 2's sockets.
        let joined: CommandDone =
            admin.ask::<_, AckReply<CommandDone>>(events::JOIN, &("/", "ops", &late_id)).await.into_result().unwrap();
        assert_eq!(joined.sockets, 1, "the socket of node 2 is found");
        event(&admin, events::ROOM_JOINED, |args| {
            args.get(1) == Some(&json!("ops")) && args.get(2) == Some(&json!(late_id))
        })
        .await;
        let gone = state(&late.socket, |s| matches!(s, ConnectionState::Disconnected(_)));
        let done: CommandDone = admin
            .ask::<_, AckReply<CommandDone>>(events::DISCONNECT, &("/", false, &late_id))
            .await
            .into_result()
            .unwrap();
        assert_eq!(done.sockets, 1);
        within(gone).await;
        let told = event(&admin, events::SOCKET_DISCONNECTED, |args| args[1] == late_id.as_str()).await;
        assert_eq!(told[2], "server namespace disconnect");
        // An emit to every chat socket reaches node 2's.
        let sent: CommandDone = admin
            .ask::<_, AckReply<CommandDone>>(events::EMIT, &("/", (), "admin:notice", "hello from node 1"))
            .await
            .into_result()
            .unwrap();
        assert_eq!(sent.sockets, 1, "the one chat socket left, on node 2");
        early.event::<String>("admin:notice", |notice| notice == "hello from node 1").await;

        // The session given by node 1 logs in to node 2 (the UI reconnecting elsewhere).
        let session = admin.event::<String>(events::SESSION, |_| true).await;
        let mut options = admin_options(&two, "");
        options.auth = Some(json!({ "sessionId": session }));
        let again = Client::connect_with(options).await;
        assert!(again.socket.connected());
        let mut options = admin_options(&two, "");
        options.auth = Some(json!({ "sessionId": "0000000000000000" }));
        assert_eq!(refused_with(options).await, "refused: invalid credentials");

        // Node 2 refuses a wrong password as node 1 does, with the text the UI knows.
        assert_eq!(refused(&two, "wrong").await, "refused: invalid credentials");
        assert_eq!(refused(&one, "wrong").await, "refused: invalid credentials");
        drop(admin);
        one.stop().await;
        two.stop().await;
    });
}

#[test]
fn read_only_nodes_refuse_commands_for_every_node() {
    run(|| async {
        let database = TestDatabase::create().await;
        let one = admin_node(&database, Some("ro-1"), true).await;
        let two = admin_node(&database, Some("ro-2"), true).await;
        let chat = Client::connect(&two, None).await;
        let admin = admin(&one).await;
        let chat_id = sid(&chat);
        event(&admin, events::SOCKET_CONNECTED, |args| args[0]["id"] == chat_id.as_str()).await;
        let refused = admin.ask::<_, AckReply<CommandDone>>(events::DISCONNECT, &("/", false, &chat_id)).await;
        assert_eq!(refused.into_result().unwrap_err().code, AckErrorCode::ReadOnly);
        let config = admin.event::<Value>(events::CONFIG, |_| true).await;
        assert_eq!(config["supportedFeatures"], json!(["AGGREGATED_EVENTS", "ALL_EVENTS"]));
        assert!(chat.socket.connected(), "the socket of node 2 is left alone");
        drop(admin);
        one.stop().await;
        two.stop().await;
    });
}

#[test]
fn one_node_alone_still_tells_its_admin_and_acts() {
    run(|| async {
        let server = TestServer::start_with(|chat| {
            chat.admin_username = Some(USER.into());
            chat.admin_password_hash = Some(password_hash());
        })
        .await;
        let early = Client::connect(&server, None).await;
        let admin = admin(&server).await;
        let early_id = sid(&early);
        let all = admin.event::<Vec<Value>>(events::ALL_SOCKETS, |_| true).await;
        assert!(all.iter().any(|s| s["id"] == early_id.as_str()), "all_sockets lists the chat socket");
        let stats = event(&admin, events::SERVER_STATS, |_| true).await;
        assert_eq!(stats[0]["serverId"], gethostname::gethostname().to_string_lossy().as_ref(), "the host name alone");

        let late = Client::connect(&server, None).await;
        let late_id = sid(&late);
        event(&admin, events::SOCKET_CONNECTED, |args| args[0]["id"] == late_id.as_str()).await;
        let joined: CommandDone =
            admin.ask::<_, AckReply<CommandDone>>(events::JOIN, &("/", "ops", &late_id)).await.into_result().unwrap();
        assert_eq!(joined.sockets, 1);
        event(&admin, events::ROOM_JOINED, |args| args[1] == "ops" && args[2] == late_id.as_str()).await;
        let done: CommandDone = admin
            .ask::<_, AckReply<CommandDone>>(events::DISCONNECT, &("/", false, &late_id))
            .await
            .into_result()
            .unwrap();
        assert_eq!(done.sockets, 1);
        let told = event(&admin, events::SOCKET_DISCONNECTED, |args| args[1] == late_id.as_str()).await;
        assert_eq!(told[2], "server namespace disconnect");
        // The admins' own room is ours, not the package's: never shown.
        assert!(
            admin.events.borrow().iter().filter(|(name, _)| name == events::ROOM_JOINED).all(|(_, payload)| {
                payload
                    .decode::<Arguments>()
                    .is_ok_and(|a| json_arguments(a)[1] != socket_chat::server::admin::WATCHING_ROOM)
            }),
            "the watching room is not told"
        );
        drop(admin);
        server.stop().await;
    });
}
