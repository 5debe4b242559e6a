//! `tally dev`: a local PostHog-compatible collector with a live page.
//!
//! It serves, on loopback, the endpoints PostHog's SDKs send to, answers as PostHog's capture
//! does (tally-receiver's wire rules), checks every event against the catalog and the privacy
//! rules, keeps the last events in memory, and shows them live at `/`. See `docs/dev.md`.

mod check;
mod page;
mod server;
mod store;

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use tally_catalog::Catalog;

use crate::error::CliError;
use crate::load;

const EXAMPLES: &str = "\
Examples:
  tally dev
  tally dev --catalog examples/catalogs/teleport.toml --port 8020
  POSTHOG_HOST=http://127.0.0.1:8010 cargo run     # then open http://127.0.0.1:8010/

The REST API (GET /api/events, GET /api/violations, POST /api/reset) is in docs/dev.md.";

/// Run a local PostHog-compatible collector: check every event against the catalog, watch
/// them live at http://127.0.0.1:8010/.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub(crate) struct Args {
    /// The catalog to check events against [default: the current crate's, found as the macros
    /// find it: `[package.metadata.tally]`, `catalog.toml`, `TALLY_CATALOG`].
    #[arg(long, value_name = "FILE")]
    catalog: Option<PathBuf>,
    /// The port to listen on, on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8010)]
    port: u16,
    /// How many events to keep in memory; the oldest go first (counted as evicted).
    #[arg(long, default_value_t = 10_000, value_name = "EVENTS")]
    keep: usize,
}

/// Runs `tally dev` until interrupted.
pub(crate) fn run(args: &Args) -> Result<ExitCode, CliError> {
    let catalog = catalog(args)?;
    let summary = match &catalog {
        Some(catalog) => format!("catalog {} ({} events)", catalog.source().path().display(), catalog.events().count()),
        None => "no catalog: events are checked with PostHog's rules and the privacy rules only".to_owned(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|error| CliError::Run(format!("cannot start the async runtime: {error}")))?;
    runtime.block_on(serve(args, catalog, &summary))
}

/// The catalog given, else the current crate's (found as the macros find it), else none.
fn catalog(args: &Args) -> Result<Option<Catalog>, CliError> {
    if let Some(path) = &args.catalog {
        return load::catalog(path).map(Some);
    }
    match load::crate_catalog() {
        Ok((path, _origin)) if path.is_file() => load::catalog(&path).map(Some),
        // Not in a crate, or a crate without a catalog: PostHog's and the privacy rules only.
        _ => Ok(None),
    }
}

async fn serve(args: &Args, catalog: Option<Catalog>, summary: &str) -> Result<ExitCode, CliError> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let listener = tokio::net::TcpListener::bind(address).await.map_err(|error| {
        CliError::Run(format!("cannot listen on {address}: {error}; pick another port with --port"))
    })?;
    let address =
        listener.local_addr().map_err(|error| CliError::Run(format!("cannot read the bound address: {error}")))?;
    let dev = Arc::new(server::Dev { store: store::Store::new(args.keep), checker: check::Checker::new(catalog) });
    // The first line is what scripts (and the tests) read the address from. A closed stdout
    // (the reader went away) must not stop the collector: write errors are ignored.
    let banner = format!(
        "tally dev: listening on http://{address}\n  {summary}\n  send events with POSTHOG_HOST=http://{address}; \
         watch them at http://{address}/\n  REST API: GET /api/events, GET /api/violations, POST /api/reset \
         (docs/dev.md); Ctrl-C stops\n"
    );
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(banner.as_bytes()).and_then(|()| stdout.flush());
    drop(stdout);
    let serving = axum::serve(listener, server::router(dev));
    tokio::select! {
        result = serving => result.map_err(|error| CliError::Run(format!("the server stopped: {error}")))?,
        // Nothing to flush: what is kept lives in memory only. Open live pages hold their
        // connections, so stop here rather than wait for them.
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(ExitCode::SUCCESS)
}
