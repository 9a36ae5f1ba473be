//! Whether the reader can see the page (its tab is the one on screen), as a signal, and the
//! tab's title counting what arrived while they could not.

use leptos::prelude::*;

use super::effect;

/// The page's visibility and what arrived while hidden. `Copy`: signals.
#[derive(Clone, Copy)]
pub struct Visibility {
    /// Whether the tab is on screen (true on the server and until the browser says).
    pub visible: RwSignal<bool>,
    /// Messages from others that arrived while hidden; cleared when the tab comes back.
    pub missed: RwSignal<u32>,
}

impl Visibility {
    /// Provides it, and follows the browser's `visibilitychange`.
    pub fn provide() -> Self {
        let visibility = Self { visible: RwSignal::new(true), missed: RwSignal::new(0) };
        provide_context(visibility);
        #[cfg(feature = "hydrate")]
        {
            let read = move || {
                let hidden = web_sys::window().and_then(|w| w.document()).is_some_and(|d| d.hidden());
                visibility.visible.set(!hidden);
                if !hidden {
                    visibility.missed.set(0);
                }
            };
            effect(move || read());
            let handle = window_event_listener_untyped("visibilitychange", move |_| read());
            on_cleanup(move || handle.remove());
        }
        visibility
    }

    /// Counts a message from someone else.
    pub fn arrived(&self) {
        if !self.visible.get_untracked() {
            self.missed.update(|n| *n += 1);
        }
    }
}

/// The page's [`Visibility`].
pub fn use_visibility() -> Visibility {
    expect_context::<Visibility>()
}

/// The tab's title: `(3) socket-chat` when 3 messages arrived while the tab was hidden.
///
/// Set on `document.title` by an effect (the server's page has the plain title in its head):
/// leptos_meta's `<Title>` did the same through its own machinery in the WASM.
#[component]
pub fn TabTitle() -> impl IntoView {
    let visibility = use_visibility();
    effect(move || {
        let title = match visibility.missed.get() {
            0 => TITLE.to_owned(),
            n => format!("({n}) {TITLE}"),
        };
        #[cfg(feature = "hydrate")]
        if let Some(document) = web_sys::window().and_then(|w| w.document()) {
            document.set_title(&title);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = title;
    });
}

/// The site's name, the page's title.
pub const TITLE: &str = "socket-chat";
