//! Light and dark themes: the system's choice until the reader picks one with the toggle,
//! remembered in `localStorage`.
//!
//! The choice is a `data-theme` attribute on `<html>` (the stylesheet's variables follow
//! it); `public/theme.js`, loaded in the head, applies a remembered choice before the first
//! paint, so a dark-theme reader never sees a white flash.

use leptos::prelude::*;

use super::effect;

/// Where the choice is kept (read by `public/theme.js` too).
#[cfg(feature = "hydrate")]
const STORAGE_KEY: &str = "socket-chat:theme";

/// The theme on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    /// Dark text on light.
    Light,
    /// Light text on dark.
    Dark,
}

impl Theme {
    fn as_str(self) -> &'static str {
        match self {
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    fn other(self) -> Self {
        match self {
            Theme::Light => Theme::Dark,
            Theme::Dark => Theme::Light,
        }
    }
}

/// The toggle: shows the theme it switches to.
#[component]
pub fn ThemeToggle() -> impl IntoView {
    // Light on the server; the browser reads the real one once hydrated.
    let theme = RwSignal::new(Theme::Light);
    effect(move || theme.set(current()));
    let toggle = move |_| {
        let next = theme.get_untracked().other();
        apply(next);
        theme.set(next);
    };
    view! {
        <button
            class="theme-toggle"
            data-testid="theme-toggle"
            aria-label=move || format!("Switch to the {} theme", theme.get().other().as_str())
            title=move || format!("Switch to the {} theme", theme.get().other().as_str())
            on:click=toggle
        >
            {move || if theme.get() == Theme::Dark { "☀" } else { "☾" }}
        </button>
    }
}

/// The theme now: the remembered choice, else the system's.
fn current() -> Theme {
    #[cfg(feature = "hydrate")]
    {
        let stored = web_sys::window()
            .and_then(|w| w.local_storage().ok().flatten())
            .and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
        match stored.as_deref() {
            Some("dark") => return Theme::Dark,
            Some("light") => return Theme::Light,
            _ => {}
        }
        let dark = web_sys::window()
            .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
            .is_some_and(|m| m.matches());
        if dark { Theme::Dark } else { Theme::Light }
    }
    #[cfg(not(feature = "hydrate"))]
    Theme::Light
}

/// Shows `theme` and remembers it.
fn apply(theme: Theme) {
    #[cfg(feature = "hydrate")]
    {
        if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
            let _ = root.set_attribute("data-theme", theme.as_str());
        }
        if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
            let _ = storage.set_item(STORAGE_KEY, theme.as_str());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = theme;
}
