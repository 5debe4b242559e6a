//! What every example shares: serving an axum app on loopback, the `--serve` flag, the
//! tracker's configuration and the closing report. Included with `#[path]` by the examples and
//! by their integration tests.
#![allow(dead_code)] // each example uses a different part

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tally::{Config, Tracker, tracker::Counts};

/// Where an example's files are.
pub(crate) fn example_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples").join(name)
}

/// A seed catalog by name (`examples/catalogs/<name>.toml`).
pub(crate) fn catalog(name: &str) -> tally::catalog::Catalog {
    load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/catalogs").join(format!("{name}.toml")))
}

/// A catalog file, or its errors (`file:line:col: …`) and exit.
pub(crate) fn load(path: &std::path::Path) -> tally::catalog::Catalog {
    tally::catalog::Catalog::from_path(path).unwrap_or_else(|error| {
        eprintln!("{error}");
        std::process::exit(1)
    })
}

/// The configuration an example runs with: the environment (`POSTHOG_API_KEY`,
/// `POSTHOG_HOST`, `DO_NOT_TRACK`, `TALLY_KEY`), plus a clearly-marked demo key when no
/// pseudonymization key is set, so the demo runs on a fresh machine.
pub(crate) fn config_from_env() -> Config {
    let config = Config::from_env();
    if config.has_pseudonymization_key() {
        return config;
    }
    eprintln!("note: TALLY_KEY is not set; pseudonymizing with a demo key (never do this in production)");
    config.pseudonymization_key("tally-demo-key-not-for-production")
}

/// Whether the example should keep serving after its scripted session (`--serve`).
pub(crate) fn keep_serving() -> bool {
    std::env::args().any(|arg| arg == "--serve")
}

/// A running app on 127.0.0.1 with an ephemeral port.
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Serves `app` (with the peer address available to the middleware's client-IP logic).
    pub(crate) async fn start(app: axum::Router) -> std::io::Result<Server> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, service)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Server { addr, stop, task })
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Serves until Ctrl-C when `--serve` was given, then stops.
    pub(crate) async fn finish(self) {
        if keep_serving() {
            eprintln!(
                "serving on http://{} — Ctrl-C to stop\nwatch its events live: run `tally dev`, then start this again with \
                 POSTHOG_API_KEY=phc_dev POSTHOG_HOST=http://127.0.0.1:8010 and open http://127.0.0.1:8010/",
                self.addr
            );
            let _ = tokio::signal::ctrl_c().await;
        }
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// An HTTP client that keeps cookies, as a browser would (the anonymous-id cookie).
pub(crate) fn client() -> reqwest::Client {
    match reqwest::Client::builder().cookie_store(true).build() {
        Ok(client) => client,
        Err(error) => {
            eprintln!("cannot build the HTTP client: {error}");
            std::process::exit(1);
        }
    }
}

/// Builds the tracker, or explains why not and exits.
pub(crate) fn tracker(builder: tally::tracker::TrackerBuilder) -> Tracker {
    builder.build().unwrap_or_else(|error| {
        eprintln!("{error}");
        std::process::exit(1)
    })
}

/// Serves the app on loopback, or explains why not and exits.
pub(crate) async fn serve(app: axum::Router) -> Server {
    Server::start(app).await.unwrap_or_else(|error| {
        eprintln!("cannot start the server: {error}");
        std::process::exit(1)
    })
}

/// Serves `app`, drives the scripted `session` against it over HTTP, keeps serving with
/// `--serve`, then shuts the tracker down and returns its final counters.
pub(crate) async fn drive(
    tracker: &Tracker,
    app: axum::Router,
    session: impl AsyncFnOnce(&Server) -> Result<(), reqwest::Error>,
) -> Counts {
    let server = serve(app).await;
    if let Err(error) = session(&server).await {
        eprintln!("the scripted session failed: {error}");
    }
    server.finish().await;
    finish(tracker).await
}

/// Shuts the tracker down (delivering everything) and returns the final counters.
pub(crate) async fn finish(tracker: &Tracker) -> Counts {
    tracker.shutdown(Duration::from_secs(30)).await
}

/// The closing report on stderr, so stdout stays pure JSON lines: the counters, and where the
/// events that were not delivered went.
pub(crate) fn report(counts: &Counts) {
    eprintln!("\ncounters: {counts}");
    eprintln!("{}", undelivered(counts));
}

/// One sentence on where undelivered events went.
pub(crate) fn undelivered(counts: &Counts) -> String {
    let mut parts = Vec::new();
    if counts.spooled > 0 {
        parts.push(format!(
            "{} wait in the spool directory (TALLY_SPOOL_DIR) and go out first on the next start",
            counts.spooled
        ));
    }
    if counts.failed > 0 {
        parts.push(format!("{} failed to deliver and are lost (set TALLY_SPOOL_DIR to keep them)", counts.failed));
    }
    if counts.pending > 0 {
        parts.push(format!("{} were still on their way when the shutdown deadline came", counts.pending));
    }
    if counts.dropped() > 0 {
        parts.push(format!("{} were dropped before delivery, each counted by reason above", counts.dropped()));
    }
    if parts.is_empty() {
        "undelivered: none; every event emitted was delivered.".to_owned()
    } else {
        format!("undelivered: {}.", parts.join("; "))
    }
}
