//! The pages' HTTP answers: each carries its own Content-Security-Policy, however many of the
//! site's files are asked for at the same moment.

use crate::support::{TestServer, http_get};

/// A reload's page and the previous page's favicon request reach the server together. The
/// favicon's answer once took the page's policy (leptos_axum's file handler read the headers
/// of whatever page the worker thread was rendering: src/server/assets.rs, `site_files`),
/// and the page, left with the default policy, could not run its hydration script.
#[test]
fn a_page_keeps_its_policy_while_the_sites_files_are_fetched_beside_it() {
    // Several worker threads, as the real server runs.
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let site = std::env::temp_dir().join(format!("socket-chat-site-{}", std::process::id()));
        std::fs::create_dir_all(&site).unwrap();
        std::fs::write(site.join("favicon.png"), b"not really a png").unwrap();
        let server = TestServer::start_serving(&site).await;
        let host = server.addr.to_string();

        let mut requests = Vec::new();
        for _ in 0..50 {
            requests.push(tokio::spawn(get(host.clone(), "/")));
            requests.push(tokio::spawn(get(host.clone(), "/favicon.png")));
        }
        let (mut pages, mut files) = (0, 0);
        for request in requests {
            let (path, status, policy) = request.await.unwrap();
            assert_eq!(status, 200, "{path}");
            if path == "/" {
                pages += 1;
                assert!(policy.contains("script-src 'self' 'nonce-"), "a page went out with {policy:?}");
            } else {
                files += 1;
                assert!(!policy.contains("nonce"), "a file took a page's policy: {policy:?}");
            }
        }
        assert_eq!((pages, files), (50, 50));

        let (_, status, policy) = get(host.clone(), "/no-such-page").await;
        assert_eq!(status, 404, "an unknown address is the app's 404 page");
        assert!(policy.contains("'nonce-"), "rendered as a page, with its own policy: {policy:?}");
        server.stop().await;
        let _ = std::fs::remove_dir_all(&site);
    });
}

/// The path, the status and the Content-Security-Policy ("" without one) of `GET path`.
async fn get(host: String, path: &'static str) -> (&'static str, u16, String) {
    let reply = http_get(&host, path, &[]).await;
    (path, reply.status, reply.header("content-security-policy").unwrap_or_default().to_owned())
}
