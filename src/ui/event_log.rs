//! The event log: every event in and out of the page's socket (its `onAny` and
//! `onAnyOutgoing`), with its ack, filterable, pausable and bounded.

use std::collections::VecDeque;

use leptos::prelude::*;

use super::now_ms;
use socketio_browser::display::{Shown, arguments};
use socketio_browser::{Traffic, use_socket};

/// Entries kept; older ones are dropped so a long session stays fast.
pub const MAX_ENTRIES: usize = 300;

/// One event, in or out.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    /// Local id.
    pub id: u64,
    /// Milliseconds since the epoch.
    pub time: f64,
    /// `in` or `out`.
    pub direction: &'static str,
    /// Event name.
    pub event: String,
    /// Arguments, pretty-printed (bytes as bytes).
    pub args: String,
    /// The ack id, when one was asked.
    pub ack_id: Option<i64>,
    /// The ack's answer (or timeout), once known.
    pub ack: Option<String>,
}

/// The log and its controls.
#[derive(Clone, Copy)]
pub struct EventLog {
    entries: RwSignal<VecDeque<LogEntry>>,
    paused: RwSignal<bool>,
    next: StoredValue<u64>,
}

impl EventLog {
    /// Starts recording the page's socket (in the browser) for as long as the caller lives.
    pub fn provide() -> Self {
        let log =
            Self { entries: RwSignal::new(VecDeque::new()), paused: RwSignal::new(false), next: StoredValue::new(0) };
        provide_context(log);
        let socket = use_socket();
        if let Some(guard) = socket.with(|s| s.inspect(move |traffic| log.record(traffic))) {
            let guard = send_wrapper::SendWrapper::new(guard);
            on_cleanup(move || drop(guard));
        }
        log
    }

    fn record(&self, traffic: &Traffic<'_>) {
        if self.paused.get_untracked() {
            return;
        }
        let (direction, name, payload, ack_id) = match traffic {
            Traffic::In { name, payload, ack_id } => ("in", *name, *payload, *ack_id),
            Traffic::Out { name, payload, ack_id } => ("out", *name, *payload, *ack_id),
            Traffic::Ack { id, result } => {
                let answer = match result {
                    Ok(payload) => Shown::Array(arguments(payload)).pretty(),
                    Err(timeout) => timeout.to_string(),
                };
                let id = *id;
                self.entries.update(|entries| {
                    if let Some(e) = entries.iter_mut().rev().find(|e| e.direction == "out" && e.ack_id == Some(id)) {
                        e.ack = Some(answer);
                    }
                });
                return;
            }
        };
        let id = self.next.get_value();
        self.next.set_value(id + 1);
        let entry = LogEntry {
            id,
            time: now_ms(),
            direction,
            event: name.to_owned(),
            args: Shown::Array(arguments(payload)).pretty(),
            ack_id,
            ack: None,
        };
        self.entries.update(|entries| {
            entries.push_back(entry);
            while entries.len() > MAX_ENTRIES {
                entries.pop_front();
            }
        });
    }
}

/// `HH:MM:SS.mmm` in the browser's time zone.
fn clock(ms: f64) -> String {
    #[cfg(feature = "hydrate")]
    {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms));
        format!(
            "{:02}:{:02}:{:02}.{:03}",
            date.get_hours(),
            date.get_minutes(),
            date.get_seconds(),
            date.get_milliseconds()
        )
    }
    #[cfg(not(feature = "hydrate"))]
    {
        format!("{ms}")
    }
}

/// `text` in lower case, for a filter that ignores case. In the browser, by the browser's
/// own `toLowerCase`: Rust's `str::to_lowercase` would bring Unicode's case tables into the
/// WASM (bench/results/SIZE.md, row 24) for one filter box.
fn lowercase(text: &str) -> String {
    #[cfg(feature = "hydrate")]
    {
        String::from(js_sys::JsString::from(text).to_lower_case())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        text.to_lowercase()
    }
}

/// The panel.
#[component]
pub fn EventLogPanel() -> impl IntoView {
    let log = expect_context::<EventLog>();
    let filter = RwSignal::new(String::new());
    let direction = RwSignal::new(String::from("all"));
    let visible = move || {
        let filter = lowercase(&filter.get());
        let direction = direction.get();
        log.entries.with(|entries| {
            entries
                .iter()
                .rev()
                .filter(|e| direction == "all" || e.direction == direction)
                .filter(|e| filter.is_empty() || lowercase(&e.event).contains(&filter))
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    view! {
        <section class="panel event-log" data-testid="event-log">
            <h2>"Event log"</h2>
            <div class="panel-actions">
                <input
                    data-testid="event-log-filter"
                    placeholder="Filter by event name"
                    prop:value=move || filter.get()
                    on:input=move |ev| filter.set(event_target_value(&ev))
                />
                <select data-testid="event-log-direction" aria-label="Direction" on:change=move |ev| direction.set(event_target_value(&ev))>
                    <option value="all">"in and out"</option>
                    <option value="in">"in (onAny)"</option>
                    <option value="out">"out (onAnyOutgoing)"</option>
                </select>
                <button data-testid="event-log-pause" aria-pressed=move || log.paused.get().to_string() on:click=move |_| log.paused.update(|p| *p = !*p)>
                    {move || if log.paused.get() { "Resume" } else { "Pause" }}
                </button>
                <button data-testid="event-log-clear" on:click=move |_| log.entries.update(VecDeque::clear)>"Clear"</button>
            </div>
            <ol class="log-list">
                <For each=visible key=|e| (e.id, e.ack.clone()) let(entry)>
                    <li data-testid="event-log-entry" data-direction=entry.direction data-event=entry.event.clone() class=entry.direction>
                        <div class="log-head">
                            <span class="log-time">{clock(entry.time)}</span>
                            <span class="log-direction">{if entry.direction == "in" { "⬇ in" } else { "⬆ out" }}</span>
                            <span class="log-event">{entry.event.clone()}</span>
                            {entry.ack_id.map(|id| view! { <span class="log-ack-id">{format!("ack #{id}")}</span> })}
                        </div>
                        <pre class="log-args">{entry.args.clone()}</pre>
                        {entry.ack.clone().map(|ack| view! { <pre class="log-ack" data-testid="event-log-ack">{format!("ack: {ack}")}</pre> })}
                    </li>
                </For>
            </ol>
        </section>
    }
}
