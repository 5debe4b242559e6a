//! Configuration from code and from the environment.
//!
//! | variable (with an optional application prefix, e.g. `AUTHSOME_`) | meaning |
//! | --- | --- |
//! | `POSTHOG_API_KEY` | project API key; without it events go to the JSON-lines sink on stdout |
//! | `POSTHOG_HOST` | PostHog host (default `https://us.i.posthog.com`) |
//! | `DO_NOT_TRACK` | `1`/`true`: nothing is sent (the unprefixed variable is always honoured too) |
//! | `ENV` | the environment name (`prod`, `staging`, …), sent with `fill = "environment"` |
//! | `TALLY_KEY` | the pseudonymization key (HMAC-SHA256) |
//! | `TALLY_SPOOL_DIR` | a directory where undelivered batches wait on disk (off when unset); see [`Config::spool_dir`] |
//!
//! ```
//! use tally_runtime::Config;
//! let config = Config::from_vars("AUTHSOME", [
//!     ("AUTHSOME_POSTHOG_API_KEY", "phc_secret"),
//!     ("AUTHSOME_ENV", "prod"),
//!     ("AUTHSOME_DO_NOT_TRACK", "0"),
//! ]).require_environment("prod");
//! assert!(config.is_enabled());
//! assert!(!format!("{config:?}").contains("phc_secret"));
//! ```

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::validate::ValidationMode;

/// A secret (API key, pseudonymization key): never shown by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The tracker's configuration. Start from [`Config::default`], [`Config::from_env`] or
/// [`Config::from_env_prefixed`], then adjust with the builder methods.
#[derive(Debug, Clone)]
pub struct Config {
    /// The PostHog project API key.
    pub api_key: Option<Secret>,
    /// The PostHog host.
    pub host: Option<String>,
    /// The environment name (`fill = "environment"`).
    pub environment: Option<String>,
    /// The application's release version (`fill = "release"`).
    pub release: Option<String>,
    /// The component that generates events (`fill = "service"`).
    pub service: Option<String>,
    /// Where this process runs (`library`, `cli`, `server`, …; `fill = "surface"`), set once
    /// at start-up so that every event of the process carries it.
    pub surface: Option<String>,
    /// Opted out: nothing is sent, emits are counted as `opted_out`.
    pub do_not_track: bool,
    /// When set, tracking only happens in this environment (Authsome: `prod`).
    pub required_environment: Option<String>,
    /// The key for pseudonymization (HMAC-SHA256).
    pub pseudonymization_key: Option<Secret>,
    /// What to do with events that break the catalog.
    pub validation: ValidationMode,
    /// Events the queue holds before emits are dropped (and counted).
    pub queue_capacity: usize,
    /// Bytes the queue holds before emits are dropped (and counted as
    /// `dropped_over_byte_budget`): the queue is bounded in memory as well as in count.
    /// Default 64 MiB.
    pub queue_bytes: usize,
    /// The largest event, in bytes of its names and values (about its serialized size), that
    /// is accepted; a larger one is dropped and counted as `dropped_too_large`. Default 32 KiB.
    pub max_event_bytes: usize,
    /// Events per delivery batch.
    pub batch_size: usize,
    /// How long a failing batch is retried (with backoff, jitter and `Retry-After`) before it
    /// goes to the spool, or counts as failed without one. Default 10 minutes.
    pub retry_horizon: Duration,
    /// How long one delivery request may take before it is abandoned and retried. Default 10 s.
    pub request_timeout: Duration,
    /// Where batches that cannot be delivered (within the horizon, by shutdown's deadline, or
    /// refused for the project key) wait on disk, to be delivered first by the next tracker on
    /// the same directory. Off when unset (`TALLY_SPOOL_DIR`).
    pub spool_dir: Option<PathBuf>,
    /// The most bytes the spool keeps; past it the oldest batches are dropped (and counted).
    /// Default 256 MiB.
    pub spool_max_bytes: u64,
    /// The application prefix the variables were read with (`AUTHSOME_`), so that a build
    /// error names the variable a bad setting came from.
    pub env_prefix: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            api_key: None,
            host: None,
            environment: None,
            release: None,
            service: None,
            surface: None,
            do_not_track: false,
            required_environment: None,
            pseudonymization_key: None,
            validation: ValidationMode::Drop,
            queue_capacity: 131_072,
            queue_bytes: 64 << 20,
            max_event_bytes: 32 << 10,
            batch_size: 500,
            retry_horizon: Duration::from_secs(600),
            request_timeout: Duration::from_secs(10),
            spool_dir: None,
            spool_max_bytes: 256 * 1024 * 1024,
            env_prefix: String::new(),
        }
    }
}

impl Config {
    /// From the unprefixed variables (`POSTHOG_API_KEY`, `POSTHOG_HOST`, `DO_NOT_TRACK`, …).
    pub fn from_env() -> Self {
        Self::from_vars("", std::env::vars())
    }

    /// From variables carrying an application prefix: `from_env_prefixed("AUTHSOME")` reads
    /// `AUTHSOME_POSTHOG_API_KEY`, `AUTHSOME_DO_NOT_TRACK`, `AUTHSOME_ENV`, …; the unprefixed
    /// `DO_NOT_TRACK` is honoured too.
    pub fn from_env_prefixed(prefix: &str) -> Self {
        Self::from_vars(prefix, std::env::vars())
    }

    /// From explicit variables (what [`Config::from_env_prefixed`] reads, for tests).
    pub fn from_vars<K: AsRef<str>, V: Into<String>>(prefix: &str, vars: impl IntoIterator<Item = (K, V)>) -> Self {
        let prefix = if prefix.is_empty() { String::new() } else { format!("{}_", prefix.trim_end_matches('_')) };
        let mut config = Self { env_prefix: prefix.clone(), ..Self::default() };
        for (name, value) in vars {
            let name = name.as_ref();
            let value: String = value.into();
            if name == "DO_NOT_TRACK" && truthy(&value) {
                config.do_not_track = true;
            }
            let Some(name) = name.strip_prefix(prefix.as_str()) else { continue };
            let value = value.trim().to_owned();
            match name {
                "POSTHOG_API_KEY" if !value.is_empty() => config.api_key = Some(Secret::new(value)),
                "POSTHOG_HOST" if !value.is_empty() => config.host = Some(value),
                "DO_NOT_TRACK" => config.do_not_track |= truthy(&value),
                "ENV" | "ENVIRONMENT" if !value.is_empty() => config.environment = Some(value),
                "TALLY_KEY" if !value.is_empty() => config.pseudonymization_key = Some(Secret::new(value)),
                "TALLY_SPOOL_DIR" if !value.is_empty() => config.spool_dir = Some(PathBuf::from(value)),
                _ => {}
            }
        }
        config
    }

    /// Sets the PostHog API key.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(Secret::new(key));
        self
    }

    /// Sets the PostHog host.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }

    /// Sets the environment name.
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// Sets the release version.
    pub fn release(mut self, release: impl Into<String>) -> Self {
        self.release = Some(release.into());
        self
    }

    /// Sets the service name.
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.service = Some(service.into());
        self
    }

    /// Sets where this process runs (`fill = "surface"`): `library`, `cli`, `server`, …
    pub fn surface(mut self, surface: impl Into<String>) -> Self {
        self.surface = Some(surface.into());
        self
    }

    /// Tracks only when the environment is `environment`.
    pub fn require_environment(mut self, environment: impl Into<String>) -> Self {
        self.required_environment = Some(environment.into());
        self
    }

    /// Sets the pseudonymization key.
    pub fn pseudonymization_key(mut self, key: impl Into<String>) -> Self {
        self.pseudonymization_key = Some(Secret::new(key));
        self
    }

    /// Sets the validation mode.
    pub fn validation(mut self, mode: ValidationMode) -> Self {
        self.validation = mode;
        self
    }

    /// Sets the queue capacity.
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity.max(1);
        self
    }

    /// Sets how long a failing batch is retried before it is spooled (or counted failed).
    pub fn retry_horizon(mut self, horizon: Duration) -> Self {
        self.retry_horizon = horizon;
        self
    }

    /// Sets the timeout of one delivery request (must not be zero).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Spools undelivered batches in this directory (created if missing).
    pub fn spool_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.spool_dir = Some(dir.into());
        self
    }

    /// Sets the spool's byte quota.
    pub fn spool_max_bytes(mut self, bytes: u64) -> Self {
        self.spool_max_bytes = bytes;
        self
    }

    /// The environment variable a setting is read from, with this configuration's prefix.
    pub(crate) fn variable(&self, name: &str) -> String {
        format!("{}{name}", self.env_prefix)
    }

    /// Sets the queue's byte budget ([`Config::queue_bytes`]).
    pub fn queue_bytes(mut self, bytes: usize) -> Self {
        self.queue_bytes = bytes.max(1);
        self
    }

    /// Sets the largest event accepted ([`Config::max_event_bytes`]).
    pub fn max_event_bytes(mut self, bytes: usize) -> Self {
        self.max_event_bytes = bytes.max(1);
        self
    }

    /// Opts out (as `DO_NOT_TRACK=1` does).
    pub fn do_not_track(mut self, opted_out: bool) -> Self {
        self.do_not_track = opted_out;
        self
    }

    /// Whether events are tracked at all: not opted out, and in the required environment.
    pub fn is_enabled(&self) -> bool {
        !self.do_not_track
            && self.required_environment.as_ref().is_none_or(|required| self.environment.as_ref() == Some(required))
    }
}

fn truthy(value: &str) -> bool {
    matches!(value.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")
}
