use std::time::Duration;

use tokio::sync::OnceCell;

use super::posthog_event::to_posthog;
use super::{Sink, SinkError, SinkErrorKind, SinkFuture, WireEvent};
use crate::config::Secret;

/// Delivers to PostHog through posthog-rs.
///
/// Each batch goes out as one `/batch/` request (`capture_batch_immediate`, one attempt), so
/// the worker learns the outcome and can count and retry with the same event ids. GeoIP
/// enrichment from the server's own address is disabled. The client is created lazily on the
/// worker's runtime and shut down with the tracker.
///
/// Outcomes as the worker sees them: network errors, 5xx and 429 are
/// [`Retryable`](super::SinkErrorKind::Retryable); 400 and 413 are
/// [`BadRequest`](super::SinkErrorKind::BadRequest) (the worker splits the batch); 401 and 403
/// are [`Unauthorized`](super::SinkErrorKind::Unauthorized), with a message naming
/// the host (never the key). posthog-rs 0.30 does not pass a 429's `Retry-After` on when it
/// makes a single attempt, so this sink cannot report it; the worker's own backoff applies.
pub struct PostHogSink {
    options: posthog_rs::ClientOptions,
    client: OnceCell<posthog_rs::Client>,
    host: String,
}

/// The US cloud ingestion host, posthog-rs's default.
pub const DEFAULT_HOST: &str = "https://us.i.posthog.com";

impl PostHogSink {
    /// A sink for this project key and host (`None`: PostHog's US cloud).
    pub fn new(api_key: &Secret, host: Option<&str>) -> Result<Self, SinkError> {
        Self::with_request_timeout(api_key, host, Duration::from_secs(10))
    }

    /// A sink whose requests give up after `timeout` (rounded up to whole seconds for
    /// posthog-rs; the worker also cuts each attempt at the exact timeout).
    pub fn with_request_timeout(api_key: &Secret, host: Option<&str>, timeout: Duration) -> Result<Self, SinkError> {
        let host = host.unwrap_or(DEFAULT_HOST).to_owned();
        let seconds = timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0);
        let options = posthog_rs::ClientOptionsBuilder::default()
            .api_key(api_key.expose().to_owned())
            .host(host.clone())
            .disable_geoip(true)
            .request_timeout_seconds(seconds.max(1))
            // One attempt per call: the worker retries (same event ids, counted in
            // `Counts::retried`, within `Config::retry_horizon`), not posthog-rs behind its back.
            .max_capture_attempts(1u32)
            .build()
            .map_err(|e| SinkError::permanent(format!("invalid PostHog options: {e}")))?;
        Ok(Self { options, client: OnceCell::new(), host })
    }

    async fn client(&self) -> &posthog_rs::Client {
        self.client.get_or_init(|| posthog_rs::client(self.options.clone())).await
    }
}

/// What a posthog-rs error means for the worker.
fn classify(host: &str, error: posthog_rs::Error) -> SinkError {
    use posthog_rs::Error;
    match error {
        Error::Unauthorized => refused_key(host, 401),
        // posthog-rs reports statuses it has no variant for as a connection error.
        Error::Connection(message) if message.starts_with("Unexpected HTTP status 403") => refused_key(host, 403),
        // The server's text through the gate; the configured host as is.
        Error::BadRequest(message) => SinkError::ungated(
            SinkErrorKind::BadRequest,
            format!("PostHog at {host} refused the batch: {}", super::gated(message)),
        ),
        error @ (Error::Connection(_) | Error::RateLimit | Error::ServerError { .. }) => {
            SinkError::retryable(error.to_string())
        }
        error => SinkError::permanent(error.to_string()),
    }
}

/// The project key was refused: the message names the host and the fix, never the key.
fn refused_key(host: &str, status: u16) -> SinkError {
    // Tally's own text and the configured host: nothing to gate (an IP host must stay readable).
    SinkError::ungated(
        SinkErrorKind::Unauthorized,
        format!(
            "PostHog at {host} refused the project key (HTTP {status}): check POSTHOG_API_KEY (or the \
             application-prefixed variable) and the host"
        ),
    )
}

impl Sink for PostHogSink {
    fn send<'a>(&'a self, batch: &'a [WireEvent]) -> SinkFuture<'a, Result<(), SinkError>> {
        // Converted now, not in the future: this overlaps the previous batch's request.
        let events = batch.iter().map(to_posthog).collect::<Result<Vec<_>, _>>();
        Box::pin(async move {
            let events = events.map_err(|e| SinkError::permanent(e.to_string()))?;
            match self.client().await.capture_batch_immediate(events, false).await {
                Ok(_) => Ok(()),
                Err(error) => Err(classify(&self.host, error)),
            }
        })
    }

    fn shutdown(&self) -> SinkFuture<'_, ()> {
        Box::pin(async move {
            if let Some(client) = self.client.get() {
                client.shutdown().await;
            }
        })
    }
}
