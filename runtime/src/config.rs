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
use crate::worker::WorkerPriority;

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
/// [`Config::from_env_prefixed`], then adjust with the setters. Every setting is checked once,
/// when the tracker is built: an unusable one (a zero batch size, a host that is not a URL)
/// fails [`TrackerBuilder::build`](crate::TrackerBuilder::build) with
/// [`BuildError::InvalidSetting`](crate::BuildError::InvalidSetting), naming the setting and the
/// environment variable it came from.
#[derive(Debug, Clone)]
pub struct Config {
    /// The PostHog project API key.
    pub(crate) api_key: Option<Secret>,
    /// The PostHog host.
    pub(crate) host: Option<String>,
    /// The environment name (`fill = "environment"`).
    pub(crate) environment: Option<String>,
    /// The application's release version (`fill = "release"`).
    pub(crate) release: Option<String>,
    /// The component that generates events (`fill = "service"`).
    pub(crate) service: Option<String>,
    /// Where this process runs (`library`, `cli`, `server`, …; `fill = "surface"`), set once
    /// at start-up so that every event of the process carries it.
    pub(crate) surface: Option<String>,
    /// Opted out: nothing is sent, emits are counted as `opted_out`.
    pub(crate) do_not_track: bool,
    /// When set, tracking only happens in this environment (Authsome: `prod`).
    pub(crate) required_environment: Option<String>,
    /// The key for pseudonymization (HMAC-SHA256).
    pub(crate) pseudonymization_key: Option<Secret>,
    /// What to do with events that break the catalog.
    pub(crate) validation: ValidationMode,
    /// Events the queue holds before emits are dropped (and counted).
    pub(crate) queue_capacity: usize,
    /// Bytes the queue holds before emits are dropped (and counted as
    /// `dropped_over_byte_budget`): the queue is bounded in memory as well as in count.
    /// Default 64 MiB.
    pub(crate) queue_bytes: usize,
    /// The largest event, in bytes of its names and values (about its serialized size), that
    /// is accepted; a larger one is dropped and counted as `dropped_too_large`. Default 32 KiB.
    pub(crate) max_event_bytes: usize,
    /// Events per delivery batch.
    pub(crate) batch_size: usize,
    /// The worker thread's scheduling priority.
    pub(crate) worker_priority: WorkerPriority,
    /// How long a failing batch is retried (with backoff, jitter and `Retry-After`) before it
    /// goes to the spool, or counts as failed without one. Default 10 minutes.
    pub(crate) retry_horizon: Duration,
    /// How long one delivery request may take before it is abandoned and retried. Default 10 s.
    pub(crate) request_timeout: Duration,
    /// Where batches that cannot be delivered (within the horizon, by shutdown's deadline, or
    /// refused for the project key) wait on disk, to be delivered first by the next tracker on
    /// the same directory. Off when unset (`TALLY_SPOOL_DIR`).
    pub(crate) spool_dir: Option<PathBuf>,
    /// The most bytes the spool keeps; past it the oldest batches are dropped (and counted).
    /// Default 256 MiB.
    pub(crate) spool_max_bytes: u64,
    /// The application prefix the variables were read with (`AUTHSOME_`), so that a build
    /// error names the variable a bad setting came from.
    pub(crate) env_prefix: String,
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
            queue_capacity: Self::DEFAULT_QUEUE_CAPACITY,
            queue_bytes: Self::DEFAULT_QUEUE_BYTES,
            max_event_bytes: Self::DEFAULT_MAX_EVENT_BYTES,
            batch_size: Self::DEFAULT_BATCH_SIZE,
            worker_priority: WorkerPriority::Background,
            retry_horizon: Duration::from_secs(600),
            request_timeout: Duration::from_secs(10),
            spool_dir: None,
            spool_max_bytes: 256 * 1024 * 1024,
            env_prefix: String::new(),
        }
    }
}

impl Config {
    /// Events the queue holds at most, by default ([`Config::queue_capacity`]).
    pub const DEFAULT_QUEUE_CAPACITY: usize = 131_072;
    /// Bytes the queued events take at most, by default ([`Config::queue_bytes`]).
    pub const DEFAULT_QUEUE_BYTES: usize = 64 << 20;
    /// The largest event accepted, by default ([`Config::max_event_bytes`]).
    pub const DEFAULT_MAX_EVENT_BYTES: usize = 32 << 10;
    /// Events per delivery request, by default ([`Config::batch_size`]).
    pub const DEFAULT_BATCH_SIZE: usize = 500;

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

    /// The PostHog project API key (`POSTHOG_API_KEY`). Without one, events go to the JSON-lines
    /// sink on stdout. Kept as a [`Secret`]: never printed, not even by `Debug`.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(Secret::new(key));
        self
    }

    /// The PostHog host (`POSTHOG_HOST`; default PostHog's US cloud, `https://us.i.posthog.com`).
    /// Must be an `http://` or `https://` URL, checked when the tracker is built.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }

    /// The environment name (`ENV` or `ENVIRONMENT`), for `fill = "environment"` and
    /// [`Config::require_environment`].
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// The application's release version, for `fill = "release"`.
    pub fn release(mut self, release: impl Into<String>) -> Self {
        self.release = Some(release.into());
        self
    }

    /// The component that generates events, for `fill = "service"`.
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.service = Some(service.into());
        self
    }

    /// Sets where this process runs (`fill = "surface"`): `library`, `cli`, `server`, …
    pub fn surface(mut self, surface: impl Into<String>) -> Self {
        self.surface = Some(surface.into());
        self
    }

    /// Tracks only when the environment is `environment` (Authsome: `prod`); elsewhere emits
    /// are counted as `dropped_opted_out`.
    pub fn require_environment(mut self, environment: impl Into<String>) -> Self {
        self.required_environment = Some(environment.into());
        self
    }

    /// The key that pseudonymizes what the catalog marks `pseudonymize` (`TALLY_KEY`): HMAC-SHA256,
    /// never a bare hash. Required when the catalog pseudonymizes anything.
    pub fn pseudonymization_key(mut self, key: impl Into<String>) -> Self {
        self.pseudonymization_key = Some(Secret::new(key));
        self
    }

    /// What to do with events that break the catalog (default [`ValidationMode::Drop`]: dropped,
    /// counted and logged).
    pub fn validation(mut self, mode: ValidationMode) -> Self {
        self.validation = mode;
        self
    }

    /// Events the queue holds before emits are dropped and counted as `dropped_queue_full`
    /// (default [`Config::DEFAULT_QUEUE_CAPACITY`]; zero is refused when the tracker is built).
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity;
        self
    }

    /// How long a failing batch is retried (with backoff, jitter and `Retry-After`) before it
    /// goes to the spool, or counts as failed without one (default 10 minutes).
    pub fn retry_horizon(mut self, horizon: Duration) -> Self {
        self.retry_horizon = horizon;
        self
    }

    /// How long one delivery request may take before it is abandoned and retried (default
    /// 10 s; zero is refused when the tracker is built).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Spools undelivered batches in this directory, created if missing (`TALLY_SPOOL_DIR`; off
    /// by default): batches not delivered within the retry horizon, by shutdown's deadline, or
    /// refused for the project key wait there, to be delivered first by the next tracker on it.
    pub fn spool_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.spool_dir = Some(dir.into());
        self
    }

    /// The most bytes the spool keeps (default 256 MiB); past it the oldest batches are dropped
    /// and counted. Zero is refused when the tracker is built.
    pub fn spool_max_bytes(mut self, bytes: u64) -> Self {
        self.spool_max_bytes = bytes;
        self
    }

    /// The environment variable a setting is read from, with this configuration's prefix.
    pub(crate) fn variable(&self, name: &str) -> String {
        format!("{}{name}", self.env_prefix)
    }

    /// Bytes the queued events may take before emits are dropped and counted as
    /// `dropped_over_byte_budget`: the queue is bounded in memory as well as in count (default
    /// [`Config::DEFAULT_QUEUE_BYTES`], 64 MiB; zero is refused when the tracker is built).
    pub fn queue_bytes(mut self, bytes: usize) -> Self {
        self.queue_bytes = bytes;
        self
    }

    /// The largest event accepted, in bytes of its names and values (about its serialized
    /// size); a larger one is dropped and counted as `dropped_too_large` (default
    /// [`Config::DEFAULT_MAX_EVENT_BYTES`], 32 KiB; zero is refused when the tracker is built).
    pub fn max_event_bytes(mut self, bytes: usize) -> Self {
        self.max_event_bytes = bytes;
        self
    }

    /// How many events one delivery request carries at most (default
    /// [`Config::DEFAULT_BATCH_SIZE`]; zero is refused when the tracker is built).
    pub fn batch_size(mut self, events: usize) -> Self {
        self.batch_size = events;
        self
    }

    /// The worker thread's scheduling priority (default [`WorkerPriority::Background`]: the
    /// threads that serve requests go first).
    pub fn worker_priority(mut self, priority: WorkerPriority) -> Self {
        self.worker_priority = priority;
        self
    }

    /// Forgets the API key (read from the environment, say), so that events go to the
    /// JSON-lines sink on stdout instead of PostHog: a dry run.
    pub fn without_api_key(mut self) -> Self {
        self.api_key = None;
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

// Readers for what an application decides on (its own defaults, a dry run). The setters above
// hold the nouns, so these are named for the question they answer.
impl Config {
    /// Whether an API key is set (PostHog delivery rather than the JSON-lines sink).
    pub fn has_api_key(&self) -> bool {
        self.api_key.is_some()
    }

    /// Whether a pseudonymization key is set.
    pub fn has_pseudonymization_key(&self) -> bool {
        self.pseudonymization_key.is_some()
    }

    /// Whether the process opted out (`DO_NOT_TRACK`, or [`Config::do_not_track`]).
    pub fn is_opted_out(&self) -> bool {
        self.do_not_track
    }

    /// The environment name, if set.
    pub fn environment_name(&self) -> Option<&str> {
        self.environment.as_deref()
    }

    /// The service name, if set.
    pub fn service_name(&self) -> Option<&str> {
        self.service.as_deref()
    }

    /// Checks every setting once, when the tracker is built: what would only fail later (a bad
    /// host, a zero timeout, an empty queue) fails now, naming the setting.
    pub(crate) fn check(&self) -> Result<(), InvalidSetting> {
        let in_code = |setting: &'static str, problem: &str| InvalidSetting {
            setting,
            variable: None,
            problem: problem.to_owned(),
        };
        if let Some(host) = &self.host
            && let Err(problem) = check_host(host)
        {
            return Err(InvalidSetting {
                setting: "Config::host",
                variable: Some(self.variable("POSTHOG_HOST")),
                problem: format!("`{host}` {problem}"),
            });
        }
        if self.request_timeout.is_zero() {
            return Err(in_code("Config::request_timeout", "a zero timeout would fail every request"));
        }
        if self.queue_capacity == 0 {
            return Err(in_code("Config::queue_capacity", "a queue of zero events would drop every event"));
        }
        if self.queue_bytes == 0 {
            return Err(in_code("Config::queue_bytes", "a budget of zero bytes would drop every event"));
        }
        if self.max_event_bytes == 0 {
            return Err(in_code("Config::max_event_bytes", "a limit of zero bytes would refuse every event"));
        }
        if self.batch_size == 0 {
            return Err(in_code("Config::batch_size", "a batch of zero events would never deliver"));
        }
        if self.spool_dir.is_some() && self.spool_max_bytes == 0 {
            return Err(in_code("Config::spool_max_bytes", "a spool of zero bytes would drop every batch"));
        }
        Ok(())
    }
}

/// A setting [`Config::check`] refused.
pub(crate) struct InvalidSetting {
    pub(crate) setting: &'static str,
    pub(crate) variable: Option<String>,
    pub(crate) problem: String,
}

/// Whether a host is an `http`/`https` URL with a host name and nothing after its path.
fn check_host(host: &str) -> Result<(), &'static str> {
    let rest = host
        .strip_prefix("https://")
        .or_else(|| host.strip_prefix("http://"))
        .ok_or("is not an http:// or https:// URL")?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() || authority.starts_with(':') {
        return Err("has no host name");
    }
    if rest.chars().any(|c| c.is_whitespace() || c.is_control()) || rest.contains(['?', '#', '@']) {
        return Err("is not a plain URL (spaces, a query, a fragment or user info)");
    }
    Ok(())
}

fn truthy(value: &str) -> bool {
    matches!(value.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unusable_setting_is_refused_by_name_in_one_check() {
        let cases: [(Config, &str); 6] = [
            (Config::default().request_timeout(Duration::ZERO), "Config::request_timeout"),
            (Config::default().queue_capacity(0), "Config::queue_capacity"),
            (Config::default().queue_bytes(0), "Config::queue_bytes"),
            (Config::default().max_event_bytes(0), "Config::max_event_bytes"),
            (Config::default().batch_size(0), "Config::batch_size"),
            (Config::default().spool_dir("spool").spool_max_bytes(0), "Config::spool_max_bytes"),
        ];
        for (config, setting) in cases {
            let invalid = config.check().err().map(|invalid| (invalid.setting, invalid.variable));
            assert_eq!(invalid, Some((setting, None)), "set only in code: no variable to name");
        }
        let from_env = Config::from_vars("APP", [("APP_POSTHOG_HOST", "ftp://example.com")]);
        let invalid = from_env.check().err().map(|invalid| (invalid.setting, invalid.variable));
        assert_eq!(invalid, Some(("Config::host", Some("APP_POSTHOG_HOST".to_owned()))));
        assert!(Config::default().check().is_ok(), "the defaults are usable");
    }
}
