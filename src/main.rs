//! Starts the socket-chat server: see [`socket_chat::server::run`].

#[tokio::main]
async fn main() -> std::process::ExitCode {
    socket_chat::server::run().await
}
