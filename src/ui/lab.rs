//! `/lab`: our Socket.IO client runs the tutorial's features against a server, step by
//! step, and shows each result. `?server=http://host:port` picks another server (the
//! official Node.js one in our tests); by default, the page's own.

use leptos::prelude::*;

use super::effect;
use leptos_router::{LazyRoute, lazy_route};

/// One step of the scenario, as shown.
#[derive(Debug, Clone, PartialEq)]
pub struct StepView {
    /// What is tried.
    pub name: &'static str,
    /// `pending`, `running`, `waiting` (for the tester to act), `ok` or `failed`.
    pub status: &'static str,
    /// What happened.
    pub detail: String,
}

/// The scenario's steps. The page lists them all (with their count in `data-count`, which
/// the tests read), and the scenario matches on them, so a step cannot be listed without
/// being run or run without being listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// CONNECT with a handshake auth, which the server echoes.
    ConnectWithAuth,
    /// The tutorial's ack, callback flavour.
    AckCallback,
    /// The tutorial's ack, promise flavour.
    AckPromise,
    /// An ack that never comes: the timeout.
    AckTimeout,
    /// The server asks us for an ack.
    ServerToClientAck,
    /// Bytes in an ack and in an event.
    BinaryBothWays,
    /// `io.to(room).emit`.
    RoomBroadcast,
    /// `onAnyOutgoing` and the server's catch-all.
    CatchAllListeners,
    /// The server disconnects us: no automatic reconnection.
    ServerDisconnect,
    /// The server restarts: we reconnect by ourselves. Waits for the tester (or test).
    ReconnectAfterRestart,
}

impl Step {
    /// Every step, in order.
    pub const ALL: [Step; 10] = [
        Step::ConnectWithAuth,
        Step::AckCallback,
        Step::AckPromise,
        Step::AckTimeout,
        Step::ServerToClientAck,
        Step::BinaryBothWays,
        Step::RoomBroadcast,
        Step::CatchAllListeners,
        Step::ServerDisconnect,
        Step::ReconnectAfterRestart,
    ];

    /// Its name on the page (`data-step`).
    pub fn name(self) -> &'static str {
        match self {
            Step::ConnectWithAuth => "connect with auth",
            Step::AckCallback => "ack callback",
            Step::AckPromise => "ack promise",
            Step::AckTimeout => "ack timeout",
            Step::ServerToClientAck => "server-to-client ack",
            Step::BinaryBothWays => "binary both ways",
            Step::RoomBroadcast => "room broadcast",
            Step::CatchAllListeners => "catch-all listeners",
            Step::ServerDisconnect => "server disconnect",
            Step::ReconnectAfterRestart => "reconnect after restart",
        }
    }
}

/// The `/lab` route, loaded lazily: with `cargo leptos build --split` its view, the scenario
/// and everything only they use go to a WASM chunk of their own, which the browser fetches only
/// when it shows `/lab` (the chat page `/` never does: bench/results/SIZE.md, row 17). The
/// server renders it as any other route.
pub struct LabRoute;

impl LabRoute {
    /// The page's view, now. In the browser its chunk must be loaded already (`hydrate` in
    /// src/lib.rs awaits [`LazyRoute::preload`] before hydrating `/lab`); then its lazy view
    /// is ready at the first poll, as on the server, where nothing is split off.
    pub fn view_now() -> AnyView {
        use std::task::{Context, Poll, Waker};
        let mut view = std::pin::pin!(<Self as LazyRoute>::view(Self::data()));
        match view.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(view) => view,
            Poll::Pending => {
                leptos::logging::error!("the /lab page's code is not loaded yet");
                ().into_any()
            }
        }
    }
}

#[lazy_route]
impl LazyRoute for LabRoute {
    fn data() -> Self {
        LabRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <LabPage /> }.into_any()
    }
}

/// The scenario page.
#[component]
pub fn LabPage() -> impl IntoView {
    let steps = RwSignal::new(
        Step::ALL
            .iter()
            .map(|s| StepView { name: s.name(), status: "pending", detail: String::new() })
            .collect::<Vec<_>>(),
    );
    effect(move || {
        let server = super::other_server();
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(scenario::run(server, steps));
        #[cfg(not(feature = "hydrate"))]
        let _ = server;
    });
    view! {
        <main class="lab">
            <h1>"Client lab"</h1>
            <p class="lab-intro">"Our Rust Socket.IO client runs the tutorial's features against the server, one by one."</p>
            <ol class="lab-steps" data-testid="lab-steps" data-count=Step::ALL.len()>
                <For each=move || steps.get() key=|s| (s.name, s.status, s.detail.clone()) let(step)>
                    <li data-testid="lab-step" data-step=step.name data-status=step.status class=step.status>
                        <span class="lab-name">{step.name}</span>
                        <span class="lab-detail">{step.detail}</span>
                    </li>
                </For>
            </ol>
        </main>
    }
}

#[cfg(feature = "hydrate")]
mod scenario {
    //! The steps. Each returns `Ok(detail)` or `Err(reason)`; a failure stops the run.

    use std::future::Future;

    use bytes::Bytes;
    use futures_channel::oneshot;
    use leptos::prelude::*;

    use super::{Step, StepView};
    use crate::protocol::events::{self, lab};
    use crate::protocol::lab::{LabAuth, LabRoomJoined, Welcome};
    use crate::protocol::tutorial::{
        REQUEST_STATUS, REQUEST2_STATUS, RttMeasured, TutorialStatus, UnhandledEvent, catch_all_example,
        request_example,
    };
    use crate::protocol::{AckError as Refused, AckReply};
    use socketio_browser::browser::{BrowserEnvironment, same_origin_url, websocket_url};
    use socketio_browser::{AckError, ConnectionState, ListenerGuard, NoArgs, Payload, Socket, SocketOptions};

    type Outcome = Result<String, String>;

    pub async fn run(server: Option<String>, steps: RwSignal<Vec<StepView>>) {
        let url = match server.as_deref() {
            Some(base) => websocket_url(base),
            None => same_origin_url().unwrap_or_default(),
        };
        let auth = LabAuth { token: TOKEN.into() };
        let Ok(mut options) = SocketOptions::new(url).with_auth(&auth) else { return };
        options.namespace = lab::NAMESPACE.into();
        let socket = Socket::new(options, BrowserEnvironment);
        for (index, step) in Step::ALL.into_iter().enumerate() {
            set(steps, index, "running", String::new());
            let outcome = match step {
                Step::ConnectWithAuth => connect_with_auth(&socket).await,
                Step::AckCallback => ack_callback(&socket).await,
                Step::AckPromise => ack_promise(&socket).await,
                Step::AckTimeout => ack_timeout(&socket).await,
                Step::ServerToClientAck => server_to_client_ack(&socket).await,
                Step::BinaryBothWays => binary_both_ways(&socket).await,
                Step::RoomBroadcast => room_broadcast(&socket).await,
                Step::CatchAllListeners => catch_all(&socket).await,
                Step::ServerDisconnect => server_disconnect(&socket).await,
                Step::ReconnectAfterRestart => reconnect_after_restart(&socket, steps, index).await,
            };
            match outcome {
                Ok(detail) => set(steps, index, "ok", detail),
                Err(reason) => {
                    leptos::logging::warn!("lab step {} failed: {reason}", step.name());
                    set(steps, index, "failed", reason);
                    return;
                }
            }
        }
    }

    fn set(steps: RwSignal<Vec<StepView>>, index: usize, status: &'static str, detail: String) {
        steps.update(|s| {
            s[index].status = status;
            s[index].detail = detail;
        });
    }

    /// The next `event`'s arguments.
    fn next_event(socket: &Socket, event: &str) -> impl Future<Output = Payload> + 'static {
        let (tx, rx) = oneshot::channel();
        let mut tx = Some(tx);
        let guard = socket.once(event, move |p| {
            if let Some(tx) = tx.take() {
                let _ = tx.send(p.clone());
            }
        });
        async move {
            let payload = rx.await.expect("the listener lives until it fires");
            drop(guard);
            payload
        }
    }

    /// The next connection state that `accept` takes.
    fn next_state(
        socket: &Socket,
        accept: impl Fn(&ConnectionState) -> bool + 'static,
    ) -> impl Future<Output = ConnectionState> + 'static {
        let (tx, rx) = oneshot::channel();
        let tx = std::cell::RefCell::new(Some(tx));
        let guard: ListenerGuard = socket.on_state(move |s| {
            if accept(s)
                && let Some(tx) = tx.borrow_mut().take()
            {
                let _ = tx.send(s.clone());
            }
        });
        async move {
            let state = rx.await.expect("the listener lives until it fires");
            drop(guard);
            state
        }
    }

    /// The token the scenario authenticates with.
    const TOKEN: &str = "lab-token";

    fn status_of(payload: &Payload) -> Result<String, String> {
        payload.decode::<TutorialStatus>().map(|s| s.status).map_err(|e| e.to_string())
    }

    /// The data of one of our envelopes, or why there is none.
    fn data_of<T: serde::de::DeserializeOwned>(payload: &Payload) -> Result<T, String> {
        let reply: AckReply<T> = payload.decode().map_err(|e| e.to_string())?;
        reply.into_result().map_err(|e: Refused| e.message)
    }

    async fn connect_with_auth(socket: &Socket) -> Outcome {
        let welcome = next_event(socket, lab::WELCOME);
        socket.connect();
        let welcome: Welcome<Option<LabAuth>> = welcome.await.decode().map_err(|e| e.to_string())?;
        if welcome.auth.as_ref().map(|a| a.token.as_str()) != Some(TOKEN) {
            return Err(format!("the server saw auth {:?}", welcome.auth));
        }
        if Some(&welcome.id) != socket.id().as_ref() {
            return Err(format!("socket id {:?} but the server says {}", socket.id(), welcome.id));
        }
        Ok(format!("connected as {}", socket.id().unwrap_or_default()))
    }

    async fn ack_callback(socket: &Socket) -> Outcome {
        let (tx, rx) = oneshot::channel();
        socket
            .timeout(5000)
            .emit_with_callback(events::REQUEST, &request_example(), move |result| {
                let _ = tx.send(result);
            })
            .map_err(|e| e.to_string())?;
        let payload = rx.await.map_err(|_| "callback dropped".to_owned())?.map_err(|e| e.to_string())?;
        let status = status_of(&payload)?;
        if status == REQUEST_STATUS { Ok(format!("status: {status}")) } else { Err(format!("status: {status}")) }
    }

    async fn ack_promise(socket: &Socket) -> Outcome {
        let payload = socket
            .timeout(5000)
            .emit_with_ack(events::REQUEST2, &request_example())
            .await
            .map_err(|e| e.to_string())?;
        let status = status_of(&payload)?;
        if status == REQUEST2_STATUS { Ok(format!("status: {status}")) } else { Err(format!("status: {status}")) }
    }

    async fn ack_timeout(socket: &Socket) -> Outcome {
        socket.timeout(5000).emit_with_ack(events::WITHHOLD, &true).await.map_err(|e| e.to_string())?;
        let result = socket.timeout(300).emit_with_ack(events::REQUEST, &request_example()).await;
        socket.timeout(5000).emit_with_ack(events::WITHHOLD, &false).await.map_err(|e| e.to_string())?;
        match result {
            Err(AckError::Timeout(e)) => Ok(e.to_string()),
            Ok(_) => Err("the server answered although told to withhold".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    async fn server_to_client_ack(socket: &Socket) -> Outcome {
        let answering = socket.clone();
        let guard = socket.on_with_ack(events::RTT_PROBE, move |payload, ack_id| {
            if let (Ok(token), Some(id)) = (payload.decode::<String>(), ack_id) {
                let _ = answering.ack(id, &(token,));
            }
        });
        let measured = next_event(socket, events::RTT_MEASURED);
        socket.emit(events::RTT, &NoArgs).map_err(|e| e.to_string())?;
        let measured: RttMeasured = measured.await.decode().map_err(|e| e.to_string())?;
        drop(guard);
        if measured.echoed {
            Ok(format!("round trip {:.1} ms", measured.ms))
        } else {
            Err(format!("the server did not get our answer: {measured:?}"))
        }
    }

    async fn binary_both_ways(socket: &Socket) -> Outcome {
        let pushed = next_event(socket, lab::BINARY_PUSHED);
        let ack = socket
            .timeout(5000)
            .emit_with_ack(lab::BINARY_ECHO, &(Bytes::from_static(&[1, 2, 3]),))
            .await
            .map_err(|e| e.to_string())?;
        let (reversed,): (Bytes,) = ack.decode().map_err(|e| e.to_string())?;
        let (original,): (Bytes,) = pushed.await.decode().map_err(|e| e.to_string())?;
        if reversed[..] == [3, 2, 1] && original[..] == [1, 2, 3] {
            Ok(format!("sent {:?}, ack {:?}, event {:?}", [1, 2, 3], &reversed[..], &original[..]))
        } else {
            Err(format!("ack {:?}, event {:?}", &reversed[..], &original[..]))
        }
    }

    async fn room_broadcast(socket: &Socket) -> Outcome {
        let joined =
            socket.timeout(5000).emit_with_ack(events::ROOM_JOIN, &"lab-room").await.map_err(|e| e.to_string())?;
        let joined: LabRoomJoined = data_of(&joined)?;
        if joined.members == 0 {
            return Err(format!("joined {} but the server counts no one in it", joined.room));
        }
        let shouted = next_event(socket, lab::ROOM_SHOUTED);
        socket.emit(lab::ROOM_SHOUT, &("lab-room", "hello room")).map_err(|e| e.to_string())?;
        let (room, text): (String, String) = shouted.await.decode().map_err(|e| e.to_string())?;
        Ok(format!("{room}: {text}"))
    }

    async fn catch_all(socket: &Socket) -> Outcome {
        let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::<String>::new()));
        let log = seen.clone();
        let guard = socket.on_any_outgoing(move |name, _| log.borrow_mut().push(name.to_owned()));
        let ack = socket
            .timeout(5000)
            .emit_with_ack(events::CATCH_ALL, &catch_all_example())
            .await
            .map_err(|e| e.to_string())?;
        drop(guard);
        let reply: UnhandledEvent = data_of(&ack)?;
        if reply.event != events::CATCH_ALL {
            return Err(format!("the server's fallback answered for {}", reply.event));
        }
        if *seen.borrow() != ["catch-all-listeners"] {
            return Err(format!("onAnyOutgoing saw {:?}", seen.borrow()));
        }
        Ok("onAnyOutgoing saw it; the server's catch-all acked it".into())
    }

    async fn server_disconnect(socket: &Socket) -> Outcome {
        let disconnected = next_state(socket, |s| matches!(s, ConnectionState::Disconnected(_)));
        socket.emit(lab::KICK, &NoArgs).map_err(|e| e.to_string())?;
        match disconnected.await {
            ConnectionState::Disconnected(reason) if reason == "io server disconnect" => Ok(reason),
            other => Err(format!("{other:?}")),
        }
    }

    async fn reconnect_after_restart(socket: &Socket, steps: RwSignal<Vec<StepView>>, index: usize) -> Outcome {
        let welcome = next_event(socket, lab::WELCOME);
        socket.connect();
        welcome.await;
        let lost = next_state(socket, |s| matches!(s, ConnectionState::Reconnecting { .. }));
        set(steps, index, "waiting", "connected: restart the server".into());
        lost.await;
        set(steps, index, "running", "reconnecting".into());
        let welcome = next_event(socket, lab::WELCOME);
        welcome.await;
        Ok(format!("reconnected as {}", socket.id().unwrap_or_default()))
    }
}
