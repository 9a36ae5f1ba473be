//! The acknowledgements panel: the tutorial's two flavours, and every ack of the page,
//! in flight or finished, with its latency.

use leptos::prelude::*;
use serde::de::IgnoredAny;

use super::now_ms;
use crate::protocol::tutorial::{RttMeasured, catch_all_example, request_example};
use crate::protocol::{AckReply, events};
use socketio_browser::codec;
use socketio_browser::display::{Shown, arguments};
use socketio_browser::{AckError, AckTimeout, Emitter, NoArgs, Payload, Socket, use_socket};

/// How the tutorial waits for `request` and `request2`.
const TUTORIAL_TIMEOUT_MS: u32 = 5000;
/// Acks kept on screen.
const MAX_ENTRIES: usize = 100;

/// One ack, in flight or finished.
#[derive(Debug, Clone, PartialEq)]
pub struct AckEntry {
    /// Local id, for updates.
    pub id: u64,
    /// The event that asked for it.
    pub event: String,
    /// Its arguments, as shown.
    pub args: String,
    /// `pending`, `ok`, `timeout` or `error` (an error envelope from the server).
    pub status: &'static str,
    /// The answer, or why there is none.
    pub response: String,
    /// When it was sent (ms since the epoch).
    pub sent_at: f64,
    /// Round trip, once finished.
    pub latency_ms: Option<f64>,
}

/// The acks of the page, newest first.
#[derive(Clone, Copy)]
pub struct AckLog {
    entries: RwSignal<Vec<AckEntry>>,
    next: StoredValue<u64>,
}

impl AckLog {
    /// A new, empty log in context.
    pub fn provide() -> Self {
        let log = Self { entries: RwSignal::new(Vec::new()), next: StoredValue::new(0) };
        provide_context(log);
        log
    }

    fn start(&self, event: &str, args: String) -> u64 {
        let id = self.next.get_value();
        self.next.set_value(id + 1);
        let entry = AckEntry {
            id,
            event: event.to_owned(),
            args,
            status: "pending",
            response: String::new(),
            sent_at: now_ms(),
            latency_ms: None,
        };
        self.entries.update(|e| {
            e.insert(0, entry);
            e.truncate(MAX_ENTRIES);
        });
        id
    }

    fn finish(&self, id: u64, result: &Result<Payload, AckTimeout>) {
        let (status, response) = match result {
            Ok(payload) => {
                let args = arguments(payload);
                // Our error envelope; any other answer (the tutorial's bare ones too) is a success.
                let failed = matches!(payload.decode::<AckReply<IgnoredAny>>(), Ok(AckReply::Error { .. }));
                let shown = match args.as_slice() {
                    [one] => one.pretty(),
                    _ => Shown::Array(args.clone()).pretty(),
                };
                (if failed { "error" } else { "ok" }, shown)
            }
            Err(timeout) => ("timeout", timeout.to_string()),
        };
        self.entries.update(|entries| {
            if let Some(e) = entries.iter_mut().find(|e| e.id == id) {
                e.status = status;
                e.response = response;
                e.latency_ms = Some(now_ms() - e.sent_at);
            }
        });
    }
}

/// The page's [`AckLog`].
pub fn use_acks() -> AckLog {
    expect_context::<AckLog>()
}

/// Emits with an ack (callback flavour) as `emitter` says (`socket.timeout(ms)`, with
/// retries or not), recording it in the acks panel; `done` gets the answer too.
pub fn emit_tracked<T: serde::Serialize + ?Sized>(
    emitter: Emitter<'_>,
    log: AckLog,
    event: &str,
    args: &T,
    done: impl FnOnce(Result<Payload, AckTimeout>) + 'static,
) {
    let id = log.start(event, shown_args(args));
    let sent = emitter.emit_with_callback(event, args, move |result| {
        log.finish(id, &result);
        done(result);
    });
    if let Err(e) = sent {
        log.entries.update(|entries| {
            if let Some(entry) = entries.iter_mut().find(|entry| entry.id == id) {
                entry.status = "error";
                entry.response = e.to_string();
            }
        });
    }
}

/// Emits with an ack (promise flavour, `emitWithAck`), recording it in the acks panel.
pub async fn emit_tracked_async<T: serde::Serialize + ?Sized>(
    socket: &Socket,
    log: AckLog,
    event: &str,
    args: &T,
    timeout_ms: u32,
) -> Result<Payload, AckError> {
    let id = log.start(event, shown_args(args));
    let result = socket.timeout(timeout_ms).emit_with_ack(event, args).await;
    let as_seen = match &result {
        Ok(payload) => Ok(payload.clone()),
        Err(AckError::Timeout(t)) => Err(*t),
        Err(_) => Err(AckTimeout),
    };
    log.finish(id, &as_seen);
    result
}

/// The arguments on one line, bytes as bytes.
fn shown_args<T: serde::Serialize + ?Sized>(args: &T) -> String {
    match codec::ack_value(args) {
        Ok(value) => Shown::Array(arguments(&Payload::new(value, false))).inline(),
        Err(e) => format!("<{e}>"),
    }
}

/// The panel: buttons for the tutorial's examples, then every ack.
#[component]
pub fn AcksPanel() -> impl IntoView {
    let socket = use_socket();
    let log = use_acks();
    let withhold = RwSignal::new(false);
    let tutorial_args = request_example;

    let request_callback = move |_| {
        socket.with(|s| emit_tracked(s.timeout(TUTORIAL_TIMEOUT_MS), log, events::REQUEST, &tutorial_args(), |_| ()));
    };
    let request_promise = move |_| {
        if let Some(s) = socket.socket() {
            leptos::task::spawn_local(async move {
                let _ = emit_tracked_async(&s, log, events::REQUEST2, &tutorial_args(), TUTORIAL_TIMEOUT_MS).await;
            });
        }
    };
    let catch_all = move |_| {
        socket.with(|s| {
            emit_tracked(s.timeout(TUTORIAL_TIMEOUT_MS), log, events::CATCH_ALL, &catch_all_example(), |_| ())
        });
    };
    // The server-to-client ack: the server sends `rtt:probe` and waits for our answer.
    let rtt = RwSignal::new(None::<f64>);
    if let Some(guard) = socket.with(|s| {
        let answering = s.clone();
        s.on_with_ack(events::RTT_PROBE, move |payload, ack_id| {
            if let (Ok(token), Some(id)) = (payload.decode::<String>(), ack_id) {
                let _ = answering.ack(id, &(token,));
            }
        })
    }) {
        let guard = send_wrapper::SendWrapper::new(guard);
        on_cleanup(move || drop(guard));
    }
    socket.on(events::RTT_MEASURED, move |payload| {
        if let Ok(measured) = payload.decode::<RttMeasured>() {
            rtt.set(Some(measured.ms));
        }
    });
    let measure = move |_| {
        socket.with(|s| {
            let _ = s.emit(events::RTT, &NoArgs);
        });
    };
    let toggle_withhold = move |ev: leptos::ev::Event| {
        let on = event_target_checked(&ev);
        socket.with(|s| {
            emit_tracked(s.timeout(TUTORIAL_TIMEOUT_MS), log, events::WITHHOLD, &on, move |r| {
                if r.is_ok() {
                    withhold.set(on);
                }
            })
        });
    };

    view! {
        <section class="panel acks" data-testid="acks-panel">
            <h2>"Acknowledgements"</h2>
            <div class="panel-actions">
                <button data-testid="ack-request-callback" on:click=request_callback title="socket.timeout(5000).emit(\"request\", …, callback)">
                    "request (callback)"
                </button>
                <button data-testid="ack-request-promise" on:click=request_promise title="await socket.timeout(5000).emitWithAck(\"request2\", …)">
                    "request2 (promise)"
                </button>
                <button data-testid="catch-all-send" on:click=catch_all title="socket.emit(\"catch-all-listeners\", 1, \"2\", { 3: \"4\", 5: Uint8Array.from([6]) })">
                    "catch-all (binary)"
                </button>
                <button data-testid="rtt-measure" on:click=measure title="The server asks us for an ack and times the answer">
                    "server → client ack"
                </button>
                <span class="rtt" data-testid="rtt-value">
                    {move || rtt.get().map(|ms| format!("round trip {ms:.1} ms")).unwrap_or_default()}
                </span>
                <label class="check">
                    <input type="checkbox" data-testid="ack-withhold" prop:checked=move || withhold.get() on:change=toggle_withhold />
                    "server withholds acks"
                </label>
            </div>
            <ul class="ack-list">
                <For each=move || log.entries.get() key=|e| (e.id, e.status) let(entry)>
                    <li data-testid="ack-entry" data-status=entry.status data-event=entry.event.clone() class=entry.status>
                        <div class="ack-head">
                            <span class="ack-event">{entry.event.clone()}</span>
                            <span class="ack-status">{entry.status}</span>
                            <span class="ack-latency">
                                {entry.latency_ms.map(|ms| format!("{ms:.0} ms")).unwrap_or_default()}
                            </span>
                        </div>
                        <code class="ack-args">{entry.args.clone()}</code>
                        <pre class="ack-response">{entry.response.clone()}</pre>
                    </li>
                </For>
            </ul>
        </section>
    }
}
