//! Which page the address shows, and its query parameters, read the same way on the server
//! (from the request) and in the browser (from the address bar).
//!
//! A router of our own instead of leptos_router's `<Router>`: the site has two fixed pages
//! and no links between them that need client-side navigation, and the `<Router>` machinery
//! (matching, history, link interception, nested outlets) was 53 KB gzip of the chat page's
//! WASM (bench/results/SIZE.md, row 21). The server still lists the pages for leptos_axum
//! ([`Page::ROUTES`]); a page that is not one of them renders [`Page::NotFound`] with a 404.

#[cfg(feature = "ssr")]
use leptos::prelude::use_context;

/// A page of the site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// `/`: the chat.
    Chat,
    /// `/lab`: our client runs the tutorial's features step by step (its code is a chunk of
    /// its own: [`super::lab::LabRoute`]).
    Lab,
    /// Anything else.
    NotFound,
}

impl Page {
    /// The paths the server renders as pages, with whether each waits for its data before
    /// sending anything (the chat: its history is in the first HTML response).
    pub const ROUTES: [(&'static str, bool); 2] = [("/", true), ("/lab", false)];

    /// The page at `path`, exactly as the server routes it (`/lab/` is not `/lab`).
    pub fn at(path: &str) -> Self {
        match path {
            "/" | "" => Self::Chat,
            "/lab" => Self::Lab,
            _ => Self::NotFound,
        }
    }

    /// The page being rendered (server) or hydrated (browser).
    pub fn current() -> Self {
        Self::at(&current_path())
    }
}

/// The path of the page being rendered (server) or shown (browser).
fn current_path() -> String {
    #[cfg(feature = "ssr")]
    {
        use_context::<axum::http::request::Parts>().map(|parts| parts.uri.path().to_owned()).unwrap_or_default()
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        web_sys::window().and_then(|w| w.location().pathname().ok()).unwrap_or_default()
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        String::new()
    }
}

/// The query parameter `name` of the page's address, if present and not empty.
pub fn query(name: &str) -> Option<String> {
    #[cfg(feature = "ssr")]
    let search = use_context::<axum::http::request::Parts>()?.uri.query()?.to_owned();
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    let search = web_sys::window()?.location().search().ok()?;
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    let search = String::new();
    query_value(&search, name)
}

/// `name`'s value in a query string (with or without its leading `?`), percent-decoded.
fn query_value(search: &str, name: &str) -> Option<String> {
    #[cfg(feature = "ssr")]
    {
        let search = search.strip_prefix('?').unwrap_or(search);
        form_urlencoded::parse(search.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .filter(|v| !v.is_empty())
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        web_sys::UrlSearchParams::new_with_str(search).ok()?.get(name).filter(|v| !v.is_empty())
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        let _ = (search, name);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_their_pages() {
        assert_eq!(Page::at("/"), Page::Chat);
        assert_eq!(Page::at(""), Page::Chat);
        assert_eq!(Page::at("/lab"), Page::Lab);
        assert_eq!(Page::at("/lab/"), Page::NotFound);
        assert_eq!(Page::at("/labs"), Page::NotFound);
        assert_eq!(Page::at("/lab/x"), Page::NotFound);
        assert_eq!(Page::at("/nope"), Page::NotFound);
        for (path, _) in Page::ROUTES {
            assert_ne!(Page::at(path), Page::NotFound, "{path} is listed but renders no page");
        }
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn query_values_are_decoded() {
        assert_eq!(query_value("?server=http%3A%2F%2Fa%3A1&x=1", "server").as_deref(), Some("http://a:1"));
        assert_eq!(query_value("server=&x=1", "server"), None);
        assert_eq!(query_value("", "server"), None);
    }
}
