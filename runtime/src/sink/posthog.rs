use tokio::sync::OnceCell;

use super::posthog_event::to_posthog;
use super::{Sink, SinkError, SinkFuture, WireEvent};
use crate::config::Secret;

/// Delivers to PostHog through posthog-rs.
///
/// Each batch goes out as one `/batch/` request (`capture_batch_immediate`, one attempt), so
/// the worker learns the outcome and can count and retry with the same event ids. GeoIP
/// enrichment from the server's own address is disabled. The client is created lazily on the
/// worker's runtime and shut down with the tracker.
pub struct PostHogSink {
    options: posthog_rs::ClientOptions,
    client: OnceCell<posthog_rs::Client>,
}

/// The US cloud ingestion host, posthog-rs's default.
pub const DEFAULT_HOST: &str = "https://us.i.posthog.com";

impl PostHogSink {
    /// A sink for this project key and host (`None`: PostHog's US cloud).
    pub fn new(api_key: &Secret, host: Option<&str>) -> Result<Self, SinkError> {
        let options = posthog_rs::ClientOptionsBuilder::default()
            .api_key(api_key.expose().to_owned())
            .host(host.unwrap_or(DEFAULT_HOST).to_owned())
            .disable_geoip(true)
            .request_timeout_seconds(10)
            // One attempt per call: the worker retries (same event ids, counted in
            // `Counts::retried`, `Config::max_attempts`), not posthog-rs behind its back.
            .max_capture_attempts(1u32)
            .build()
            .map_err(|e| SinkError::permanent(format!("invalid PostHog options: {e}")))?;
        Ok(Self { options, client: OnceCell::new() })
    }

    async fn client(&self) -> &posthog_rs::Client {
        self.client.get_or_init(|| posthog_rs::client(self.options.clone())).await
    }
}

impl Sink for PostHogSink {
    fn send<'a>(&'a self, batch: &'a [WireEvent]) -> SinkFuture<'a, Result<(), SinkError>> {
        // Converted now, not in the future: this overlaps the previous batch's request.
        let events = batch.iter().map(to_posthog).collect::<Result<Vec<_>, _>>();
        Box::pin(async move {
            let events = events.map_err(|e| SinkError::permanent(e.to_string()))?;
            match self.client().await.capture_batch_immediate(events, false).await {
                Ok(_) => Ok(()),
                Err(
                    error @ (posthog_rs::Error::Connection(_)
                    | posthog_rs::Error::RateLimit
                    | posthog_rs::Error::ServerError { .. }),
                ) => Err(SinkError::retryable(error.to_string())),
                Err(error) => Err(SinkError::permanent(error.to_string())),
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
