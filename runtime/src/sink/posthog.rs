use tokio::sync::OnceCell;

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

fn to_posthog(event: &WireEvent) -> Result<posthog_rs::Event, posthog_rs::Error> {
    let mut out = posthog_rs::Event::new(event.event.as_str(), event.distinct_id.as_str());
    out.set_uuid(event.uuid);
    out.set_timestamp(event.timestamp)?;
    for (name, value) in &event.properties {
        out.insert_prop(name.as_str(), value)?;
    }
    // posthog-rs stamps its own version's parts unless they are set; `$lib` and `$lib_version`
    // name tally, so must these.
    out.insert_prop("$lib_version__major", LIB_VERSION.0)?;
    out.insert_prop("$lib_version__minor", LIB_VERSION.1)?;
    out.insert_prop("$lib_version__patch", LIB_VERSION.2)?;
    Ok(out)
}

/// tally's version (`$lib_version`) as PostHog's `$lib_version__major`, `__minor`, `__patch`.
const LIB_VERSION: (u64, u64, u64) = (
    version_part(env!("CARGO_PKG_VERSION_MAJOR")),
    version_part(env!("CARGO_PKG_VERSION_MINOR")),
    version_part(env!("CARGO_PKG_VERSION_PATCH")),
);

/// A version number from Cargo's decimal digits, at compile time.
const fn version_part(digits: &str) -> u64 {
    let digits = digits.as_bytes();
    let mut value = 0;
    let mut i = 0;
    while i < digits.len() {
        value = value * 10 + (digits[i] - b'0') as u64;
        i += 1;
    }
    value
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
