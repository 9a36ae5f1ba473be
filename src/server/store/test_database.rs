//! A PostgreSQL database of its own for each test (store tests, server tests, cluster
//! tests): created empty on the server named by `TEST_POSTGRES_URL` (default: this
//! machine's, `postgres://postgres@127.0.0.1:5432/postgres`), dropped when the test is done,
//! so runs never see each other's rows.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::{Connection, PgConnection};

/// The server's maintenance database, where test databases are created and dropped.
pub fn admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database that exists until this is dropped.
#[derive(Debug)]
pub struct TestDatabase {
    /// Its name.
    pub name: String,
    /// Its URL, for `DATABASE_URL`.
    pub url: String,
}

impl TestDatabase {
    /// Creates a new empty database.
    ///
    /// # Panics
    /// When PostgreSQL does not answer: tests need a real one (`scripts/setup.sh` starts it).
    pub async fn create() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let name =
            format!("socket_chat_test_{}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed), nanos);
        let admin = admin_url();
        let mut connection = PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is needed for this test: {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut connection).await.expect("CREATE DATABASE");
        let _ = connection.close().await;
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(base, _)| base);
        Self { url: format!("{base}/{name}"), name }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop may run inside or outside a runtime: a thread of its own, with its own.
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async move {
                let mut connection = PgConnection::connect(&admin_url()).await.ok()?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut connection).await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("could not drop the test database {}", self.name);
        }
    }
}
