//! The Socket.IO tutorial's chat page, in Rust: a form and a list, the tutorial's
//! `serverOffset` in the auth and `clientOffset` with retries, no framework.
//!
//! It needs a page with `<ul id="messages"></ul><form id="form"><input id="input" /></form>`
//! on the server it talks to (the tutorial's own server works). Build it for the browser:
//!
//! ```sh
//! cargo build -p socketio-browser --example tutorial_chat --features browser --target wasm32-unknown-unknown
//! wasm-bindgen --target web --out-dir pkg target/wasm32-unknown-unknown/debug/examples/tutorial_chat.wasm
//! ```
//!
//! then load `pkg/tutorial_chat.js` from the page (`import init from "./pkg/tutorial_chat.js"; init();`).

#[cfg(target_arch = "wasm32")]
fn main() {
    browser::run();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("this example runs in a browser: build it with --target wasm32-unknown-unknown");
}

#[cfg(target_arch = "wasm32")]
mod browser {
    use std::cell::Cell;
    use std::rc::Rc;

    use socketio_browser::browser::{BrowserEnvironment, same_origin_url};
    use socketio_browser::{Socket, SocketOptions};
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    use web_sys::{Document, HtmlInputElement};

    /// The tutorial's `auth`: the last server offset seen, sent again on every reconnection.
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Auth {
        server_offset: i64,
    }

    pub fn run() {
        let document = web_sys::window().and_then(|w| w.document()).expect("a page");
        let url = same_origin_url().expect("a page with an origin");
        let options = SocketOptions::new(url).with_auth(&Auth { server_offset: 0 }).expect("JSON");
        let socket = Socket::new(options, BrowserEnvironment);

        // socket.on('chat message', (msg, serverOffset) => { … socket.auth.serverOffset = serverOffset; })
        let listing = document.clone();
        let auth = socket.clone();
        socket
            .on("chat message", move |payload| {
                if let Ok((msg, server_offset)) = payload.decode::<(String, i64)>() {
                    append(&listing, &msg);
                    let _ = auth.set_auth(&Auth { server_offset });
                }
            })
            .forget();

        // form.addEventListener('submit', …): clientOffset = `${socket.id}-${counter++}`,
        // sent with an ack timeout and retries so the server stores it once.
        let counter = Rc::new(Cell::new(0u64));
        let sender = socket.clone();
        let form = document.get_element_by_id("form").expect("#form");
        let input: HtmlInputElement = document.get_element_by_id("input").expect("#input").unchecked_into();
        let on_submit = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            event.prevent_default();
            let text = input.value();
            if text.is_empty() {
                return;
            }
            let client_offset = format!("{}-{}", sender.id().unwrap_or_default(), counter.get());
            counter.set(counter.get() + 1);
            let _ = sender.timeout(5000).retries(3).emit("chat message", &(text, client_offset));
            input.set_value("");
        });
        let _ = form.add_event_listener_with_callback("submit", on_submit.as_ref().unchecked_ref());
        on_submit.forget();

        socket.connect();
        // The page keeps its socket for its whole life.
        std::mem::forget(socket);
    }

    fn append(document: &Document, text: &str) {
        let (Some(list), Ok(item)) = (document.get_element_by_id("messages"), document.create_element("li")) else {
            return;
        };
        item.set_text_content(Some(text));
        let _ = list.append_child(&item);
        if let Some(window) = web_sys::window() {
            window.scroll_to_with_x_and_y(0.0, f64::from(document.body().map_or(0, |b| b.scroll_height())));
        }
    }
}
