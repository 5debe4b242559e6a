//! [`Tracker`]: the handle every front door emits through, and the process-wide default.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tally_catalog::Catalog;
use tally_catalog::model::Privacy;
use tokio::sync::oneshot;

use crate::clock::Anchor;
use crate::config::Config;
use crate::context::Context;
use crate::counters::{Counters, Counts};
use crate::delivery::{self, Delivery, Stop};
use crate::event::{Event, Special};
use crate::identity::Identity;
use crate::pipeline::{Pipeline, Rejection};
use crate::privacy::Pseudonymizer;
use crate::queue::{Control, Queue, Ready, Refused};
use crate::sink::{JsonLinesSink, Sink};
use crate::validate::{ValidationMode, Violations};
use crate::worker::Worker;

/// Why an event was not accepted by [`Tracker::emit`]. Every case is also counted.
#[derive(Debug)]
#[non_exhaustive]
pub enum EmitError {
    /// The event breaks the catalog (strict mode only; other modes report on the worker).
    Invalid(Violations),
    /// No identity is known and the catalog drops such events (strict mode only).
    NoIdentity,
    /// The queue is full.
    QueueFull,
    /// The queue's byte budget (`Config::queue_bytes`) is used up; the event was dropped.
    OverByteBudget,
    /// The event is larger than `Config::max_event_bytes`; it was dropped.
    TooLarge {
        /// About the event's serialized size.
        bytes: usize,
        /// The cap.
        max: usize,
    },
    /// The tracker is shut down.
    Closed,
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Transparent, as thiserror's `#[error(transparent)]`: the violations are the whole
            // message, so the chain does not repeat them through `source()`.
            EmitError::Invalid(violations) => write!(f, "{violations}"),
            EmitError::NoIdentity => f.write_str("no identity is known and the catalog drops such events"),
            EmitError::QueueFull => {
                f.write_str("the tally queue is full (Config::queue_capacity); the event was dropped")
            }
            EmitError::OverByteBudget => {
                f.write_str("the tally queue's byte budget is used up (Config::queue_bytes); the event was dropped")
            }
            EmitError::TooLarge { bytes, max } => write!(
                f,
                "the event is about {bytes} bytes, over the cap of {max} (Config::max_event_bytes); it was dropped"
            ),
            EmitError::Closed => f.write_str("the tracker is shut down"),
        }
    }
}

impl std::error::Error for EmitError {}

/// Why a tracker could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// The catalog pseudonymizes something and no key is configured.
    MissingPseudonymizationKey {
        /// What needs the key (`identity kind \`user\``, `property \`user_name\` of \`user.login\``).
        needed_by: String,
    },
    /// The worker thread could not start.
    Worker(std::io::Error),
    /// A sink could not be created.
    Sink(crate::sink::SinkError),
    /// A setting is not usable.
    InvalidSetting {
        /// The setting (`Config::host`).
        setting: &'static str,
        /// The environment variable it is read from (`AUTHSOME_POSTHOG_HOST`); `None` for a
        /// setting made only in code.
        variable: Option<String>,
        /// What is wrong with it.
        problem: String,
    },
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::MissingPseudonymizationKey { needed_by } => write!(
                f,
                "the catalog pseudonymizes {needed_by} but no key is configured: set TALLY_KEY (or the \
                 application-prefixed variable) or call Config::pseudonymization_key; tally never falls back \
                 to a bare hash"
            ),
            // The cause is the error's `source()`, not pasted here (reporters print the chain).
            BuildError::Worker(_) => f.write_str("cannot start the tally worker thread (see the cause)"),
            BuildError::Sink(_) => f.write_str("cannot create the sink (see the cause)"),
            BuildError::InvalidSetting { setting, variable: Some(variable), problem } => {
                write!(f, "invalid {setting} (environment variable {variable}): {problem}")
            }
            BuildError::InvalidSetting { setting, variable: None, problem } => {
                write!(f, "invalid {setting}: {problem}")
            }
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Worker(error) => Some(error),
            BuildError::Sink(error) => Some(error),
            BuildError::MissingPseudonymizationKey { .. } | BuildError::InvalidSetting { .. } => None,
        }
    }
}

struct Inner {
    pipeline: Arc<Pipeline>,
    queue: Arc<Queue>,
    counters: Arc<Counters>,
    enabled: bool,
    mode: ValidationMode,
    max_event_bytes: usize,
    worker: Mutex<Option<std::thread::JoinHandle<()>>>,
    stop: Arc<Stop>,
    request_timeout: Duration,
}

impl Drop for Inner {
    /// The last handle is gone: the worker delivers what is queued and stops.
    fn drop(&mut self) {
        self.queue.close();
    }
}

/// A cheap-to-clone handle to one pipeline: a catalog, a configuration, a queue, a worker
/// and its sinks.
///
/// `emit` only enqueues; the worker validates, enriches, scrubs, identifies and delivers.
#[derive(Clone)]
pub struct Tracker {
    inner: Arc<Inner>,
}

impl fmt::Debug for Tracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tracker")
            .field("catalog", &self.inner.pipeline.catalog().name())
            .field("enabled", &self.inner.enabled)
            .field("counts", &self.counts())
            .finish()
    }
}

/// Builds a [`Tracker`]; see [`Tracker::builder`].
#[must_use]
pub struct TrackerBuilder {
    catalog: Catalog,
    config: Config,
    sinks: Vec<Box<dyn Sink>>,
    process_identity: Identity,
}

impl TrackerBuilder {
    /// Uses this configuration (default: [`Config::default`]).
    pub fn with_config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Adds a sink. Without any, the tracker sends to PostHog when the configuration has an
    /// API key, else writes JSON lines to stdout.
    pub fn with_sink(mut self, sink: impl Sink) -> Self {
        self.sinks.push(Box::new(sink));
        self
    }

    /// Sets an identity known for the whole process (Teleport: the license's account).
    pub fn with_process_identity(mut self, kind: &'static str, value: impl Into<String>) -> Self {
        self.process_identity.set(kind, value);
        self
    }

    /// Starts the worker and returns the handle.
    pub fn build(self) -> Result<Tracker, BuildError> {
        let TrackerBuilder { catalog, config, mut sinks, process_identity } = self;
        let pseudonymizer = config.pseudonymization_key.as_ref().map(|key| Pseudonymizer::new(key.expose().as_bytes()));
        if pseudonymizer.is_none()
            && let Some(needed_by) = needs_key(&catalog)
        {
            return Err(BuildError::MissingPseudonymizationKey { needed_by });
        }
        config.check().map_err(|invalid| BuildError::InvalidSetting {
            setting: invalid.setting,
            variable: invalid.variable,
            problem: invalid.problem,
        })?;
        if sinks.is_empty() {
            sinks.push(default_sink(&config)?);
        }
        crate::clock::calibrate();
        let counters = Arc::new(Counters::default());
        let spool = match &config.spool_dir {
            Some(dir) => Some(delivery::open_spool(dir, config.spool_max_bytes, &counters).map_err(|error| {
                BuildError::InvalidSetting {
                    setting: "Config::spool_dir",
                    variable: Some(config.variable("TALLY_SPOOL_DIR")),
                    problem: format!("cannot use `{}` as the spool directory: {error}", dir.display()),
                }
            })?),
            None => None,
        };
        let settings =
            delivery::Settings { retry_horizon: config.retry_horizon, request_timeout: config.request_timeout };
        let stop = Arc::new(Stop::default());
        let enabled = config.is_enabled();
        let mode = config.validation;
        let batch_size = config.batch_size;
        let priority = config.worker_priority;
        let queue = Arc::new(Queue::new(config.queue_capacity, batch_size, config.queue_bytes));
        let max_event_bytes = config.max_event_bytes;
        let pipeline =
            Arc::new(Pipeline::new(Arc::new(catalog), config, pseudonymizer, process_identity, counters.clone()));
        let worker = Worker {
            queue: queue.clone(),
            pipeline: pipeline.clone(),
            delivery: Delivery::new(sinks, counters.clone(), settings, stop.clone(), spool),
            stop: stop.clone(),
            batch_size,
            priority,
        };
        let handle = worker.spawn().map_err(BuildError::Worker)?;
        ANY_TRACKER.store(true, Ordering::Release);
        Ok(Tracker {
            inner: Arc::new(Inner {
                pipeline,
                queue,
                counters,
                enabled,
                mode,
                max_event_bytes,
                worker: Mutex::new(Some(handle)),
                stop,
                request_timeout: settings.request_timeout,
            }),
        })
    }

    /// Builds the tracker and makes it the process-wide default that the macros, the tracing
    /// layer and the middleware use when no tracker is in scope. Keep the guard alive: dropping
    /// it flushes and stops the tracker.
    pub fn install(self) -> Result<TrackerGuard, InstallError> {
        let tracker = self.build().map_err(InstallError::Build)?;
        GLOBAL.set(tracker.clone()).map_err(|_| InstallError::AlreadyInstalled)?;
        Ok(TrackerGuard { tracker: Some(tracker) })
    }
}

/// Why [`TrackerBuilder::install`] failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum InstallError {
    /// The tracker could not be built.
    Build(BuildError),
    /// A default tracker is already installed in this process.
    AlreadyInstalled,
}

impl fmt::Display for InstallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Transparent: the build error's own message, and its cause as the source.
            InstallError::Build(error) => fmt::Display::fmt(error, f),
            InstallError::AlreadyInstalled => f.write_str(
                "a default tally tracker is already installed in this process: install once at start-up and keep \
                 its guard; for another tracker, `build()` it and route to it with `Tracker::scope`",
            ),
        }
    }
}

impl std::error::Error for InstallError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InstallError::Build(error) => std::error::Error::source(error),
            InstallError::AlreadyInstalled => None,
        }
    }
}

fn needs_key(catalog: &Catalog) -> Option<String> {
    if let Some((kind, _)) = catalog.identity_kinds().find(|(_, kind)| kind.pseudonymize()) {
        return Some(format!("identity kind `{kind}`"));
    }
    let common = catalog.common_properties().map(|(name, p)| (name, p, "every event"));
    let per_event = catalog.events().flat_map(|(event, def)| def.properties().map(move |(name, p)| (name, p, event)));
    common
        .chain(per_event)
        .find(|(_, property, _)| property.privacy() == Privacy::Pseudonymize)
        .map(|(name, _, event)| format!("property `{name}` of `{event}`"))
}

fn default_sink(config: &Config) -> Result<Box<dyn Sink>, BuildError> {
    #[cfg(feature = "posthog")]
    if let Some(key) = &config.api_key {
        let sink = crate::sink::PostHogSink::with_request_timeout(key, config.host.as_deref(), config.request_timeout);
        return Ok(Box::new(sink.map_err(BuildError::Sink)?));
    }
    let _ = config;
    Ok(Box::new(JsonLinesSink::stdout()))
}

impl Tracker {
    /// Starts building a tracker for this catalog.
    pub fn builder(catalog: Catalog) -> TrackerBuilder {
        TrackerBuilder { catalog, config: Config::default(), sinks: Vec::new(), process_identity: Identity::new() }
    }

    /// A tracker for tests: strict validation, events into `sink`, a fixed test key for
    /// pseudonymization.
    pub fn for_tests(catalog: Catalog, sink: impl Sink) -> Result<Tracker, BuildError> {
        Tracker::builder(catalog)
            .with_config(Config::default().validation(ValidationMode::Strict).pseudonymization_key("tally-test-key"))
            .with_sink(sink)
            .build()
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        self.inner.pipeline.catalog()
    }

    /// The catalog event that plays `role` (for the middleware), from the compiled plan: an
    /// array lookup, where [`Catalog::role_event`] scans the catalog.
    pub fn role_event(&self, role: tally_catalog::model::Role) -> Option<&str> {
        self.inner.pipeline.plan().role_event(role)
    }

    /// Whether events are tracked (not opted out, right environment).
    pub fn is_enabled(&self) -> bool {
        self.inner.enabled
    }

    /// Hands an event to the pipeline. It takes the current [`Context`] unless it carries one.
    ///
    /// Only enqueues, except in strict mode, where the event is processed here so that a
    /// violation reaches the caller. Never panics; every refusal is counted.
    #[inline]
    pub fn emit(&self, event: Event) -> Result<(), EmitError> {
        self.emit_in(event, Context::current)
    }

    /// `emit`, with the context taken from `current` when the event carries none.
    #[inline]
    pub(crate) fn emit_in(
        &self,
        mut event: Event,
        current: impl FnOnce() -> Option<Arc<Context>>,
    ) -> Result<(), EmitError> {
        if !self.tracking() {
            return Ok(());
        }
        if event.context.is_none() {
            event.context = current();
        }
        let bytes = event.byte_size();
        if bytes > self.inner.max_event_bytes {
            return self.too_large(bytes);
        }
        if self.inner.mode == ValidationMode::Strict {
            return self.process_here(event);
        }
        // Locked before the event is moved: the move copies the just-built event, and its loads
        // stall on the builder's stores unless an atomic instruction (the lock's) drained them.
        match self.inner.queue.admit(EVENT_BYTES + bytes) {
            Ok(mut staged) => {
                staged.push(event);
                self.inner.queue.release(staged);
                Ok(())
            }
            Err(refused) => self.enqueue(Err(refused)),
        }
    }

    /// Processes the event on the caller's thread (strict mode, client events), so that a
    /// violation reaches the caller, and queues the result.
    #[inline(never)]
    fn process_here(&self, mut event: Event) -> Result<(), EmitError> {
        let stamp = event.stamp;
        let bytes = event.byte_size();
        if bytes > self.inner.max_event_bytes {
            return self.too_large(bytes);
        }
        let mut wire = Vec::with_capacity(1);
        match self.inner.pipeline.process(&mut event, &Anchor::now(), &mut wire) {
            Ok(()) => {
                let bytes = wire.iter().map(wire_bytes).sum();
                self.enqueue(self.inner.queue.push_ready(Ready { stamp, wire }, bytes))
            }
            Err(Rejection::Invalid(violations)) => self.not_queued(EmitError::Invalid(violations)),
            Err(Rejection::NoIdentity) => self.not_queued(EmitError::NoIdentity),
        }
    }

    /// Accepts an event posted by a front end (Teleport's `tp.ui.*` clicks): only events the
    /// catalog marks `origin = "client"`, named as on the wire or in the catalog, with their
    /// properties likewise. It is processed here, whatever the validation mode, so that the
    /// endpoint can answer `400` with the violations; nothing a client sends can panic.
    ///
    /// PostHog `$` properties the event does not declare are ignored and counted in
    /// `ignored_fields`: a front end's SDK adds them to every event (posthog-js's
    /// `$current_url`, `$browser`, `$set`, …), and only the catalog lets a value out. The
    /// identity is the current [`Context`]'s, never the client's.
    pub fn emit_client(
        &self,
        name: &str,
        properties: serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), EmitError> {
        if !self.tracking() {
            return Ok(());
        }
        let inner = &*self.inner;
        let catalog = inner.pipeline.catalog();
        let namespace = catalog.namespace();
        let local = name.strip_prefix(namespace).filter(|_| !namespace.is_empty()).unwrap_or(name);
        let plan =
            inner.pipeline.plan().event(local).filter(|plan| plan.origin == tally_catalog::model::Origin::Client);
        let Some(plan) = plan else {
            return self.not_queued(EmitError::Invalid(inner.pipeline.refuse_client_event(name)));
        };
        let mut event = Event::with_capacity(local.to_owned(), properties.len());
        let mut ignored = 0;
        for (key, value) in properties {
            let key = match key.strip_prefix(namespace).filter(|_| !namespace.is_empty()) {
                Some(stripped) => stripped.to_owned(),
                None => key,
            };
            if key.starts_with('$') && plan.position(&key).is_none() {
                ignored += 1;
                continue;
            }
            event.insert(key, value);
        }
        if ignored > 0 {
            Counters::add(&inner.counters.ignored_fields, ignored);
        }
        if event.context.is_none() {
            event.context = Context::current();
        }
        self.process_here(event)
    }

    /// Counts one refusal by a client-events endpoint before the pipeline (a malformed or
    /// oversized request, an event with an oversized property): `Counts::client_refused`.
    /// For tally-middleware's `ClientEvents`, and any endpoint written by hand.
    pub fn count_client_refusal(&self) {
        Counters::add(&self.inner.counters.client_refused, 1);
    }

    /// Sends `$identify`: the person keyed by `identity` (per the catalog's strategy) absorbs
    /// the anonymous id, so events from before the login join the same person.
    pub fn identify(&self, anonymous: impl Into<String>, identity: Identity) -> Result<(), EmitError> {
        if !self.tracking() {
            return Ok(());
        }
        let special = Special::Identify { anonymous: anonymous.into(), identity };
        let event = Event::special("$identify", special);
        let bytes = EVENT_BYTES + event.byte_size();
        self.enqueue(self.inner.queue.push_event(event, bytes))
    }

    /// Counts a tracing field that a tally event carried and no catalog property takes (an
    /// undeclared `message`).
    #[cfg_attr(not(feature = "tracing-layer"), allow(dead_code))]
    pub(crate) fn count_ignored_field(&self) {
        Counters::add(&self.inner.counters.ignored_fields, 1);
    }

    /// Whether tracking is on (not opted out, right environment); an emit while it is off
    /// counts as `dropped_opted_out`, not as `emitted`.
    #[inline]
    fn tracking(&self) -> bool {
        if !self.inner.enabled {
            Counters::add(&self.inner.counters.dropped_opted_out, 1);
        }
        self.inner.enabled
    }

    /// The queue counts what it accepts as `emitted`; what it refuses is counted here.
    #[inline]
    fn enqueue(&self, pushed: Result<(), Refused>) -> Result<(), EmitError> {
        match pushed {
            Ok(()) => Ok(()),
            Err(Refused::Full) => self.not_queued(EmitError::QueueFull),
            Err(Refused::OverByteBudget) => self.not_queued(EmitError::OverByteBudget),
            Err(Refused::Closed) => self.not_queued(EmitError::Closed),
        }
    }

    /// Counts an emit that did not reach the queue: `emitted`, and why it was dropped (the
    /// pipeline counts its own rejections).
    #[cold]
    fn too_large(&self, bytes: usize) -> Result<(), EmitError> {
        self.not_queued(EmitError::TooLarge { bytes, max: self.inner.max_event_bytes })
    }

    #[cold]
    fn not_queued(&self, error: EmitError) -> Result<(), EmitError> {
        let counters = &self.inner.counters;
        Counters::add(&counters.not_queued, 1);
        match error {
            EmitError::QueueFull => Counters::add(&counters.dropped_queue_full, 1),
            EmitError::OverByteBudget => Counters::add(&counters.dropped_over_byte_budget, 1),
            EmitError::TooLarge { .. } => Counters::add(&counters.dropped_too_large, 1),
            EmitError::Closed => Counters::add(&counters.dropped_closed, 1),
            EmitError::Invalid(_) | EmitError::NoIdentity => {}
        }
        Err(error)
    }

    /// The counters now.
    pub fn counts(&self) -> Counts {
        let mut counts = self.inner.counters.snapshot_with(|emitted| emitted + self.inner.queue.accepted());
        let (held, peak) = self.inner.queue.bytes();
        (counts.queued_bytes, counts.queued_bytes_peak) = (held as u64, peak as u64);
        counts
    }

    /// Waits until every event emitted before this call is delivered, failed or dropped.
    ///
    /// While PostHog is unreachable that lasts as long as the retries do (up to
    /// [`Config::retry_horizon`], 10 minutes by default). Where a caller must not wait that
    /// long, bound the wait; the events stay queued and keep being retried:
    ///
    /// ```
    /// # async fn example(tracker: tally_runtime::Tracker) {
    /// use std::time::Duration;
    /// if tokio::time::timeout(Duration::from_secs(2), tracker.flush()).await.is_err() {
    ///     // Still delivering: the events stay queued and keep being retried.
    /// }
    /// # }
    /// ```
    pub async fn flush(&self) {
        let (ack, done) = oneshot::channel();
        self.inner.queue.control(Control::Flush(ack));
        // An error means the worker is gone, with nothing left to wait for.
        let _ = done.await;
    }

    /// Delivers everything accepted so far, shuts the sinks down and stops the worker, waiting
    /// at most `deadline`. Returns the final counts; emits after this are counted as `closed`.
    pub async fn shutdown(&self, deadline: Duration) -> Counts {
        let (ack, done) = oneshot::channel();
        self.inner.stop.begin(deadline);
        self.inner.queue.control(Control::Shutdown(ack));
        let stop = async {
            let _ = done.await;
        };
        // The worker stops retrying at the deadline; a request under way then ends within the
        // request timeout.
        if tokio::time::timeout(deadline + self.inner.request_timeout, stop).await.is_err() {
            tracing::warn!(target: "tally::tracker", ?deadline, "shutdown deadline passed with events still queued");
        }
        self.counts()
    }

    /// Shutdown from synchronous code (no runtime on this thread), waiting at most `deadline`.
    fn shutdown_blocking(&self, deadline: Duration) {
        let (ack, done) = oneshot::channel();
        self.inner.stop.begin(deadline);
        self.inner.queue.control(Control::Shutdown(ack));
        let deadline = deadline + self.inner.request_timeout;
        let handle = self.inner.worker.lock().ok().and_then(|mut worker| worker.take());
        match tokio::runtime::Builder::new_current_thread().enable_time().build() {
            Ok(runtime) => {
                let finished = runtime.block_on(async { tokio::time::timeout(deadline, done).await.is_ok() });
                if finished && let Some(handle) = handle {
                    let _ = handle.join();
                }
            }
            Err(error) => tracing::warn!(target: "tally::tracker", %error, "cannot wait for the tally worker"),
        }
    }
}

/// Keeps the installed default tracker alive; flushes and stops it when dropped.
///
/// Dropping inside an async runtime never blocks the runtime's thread: the shutdown then runs
/// on a helper thread. Prefer `guard.shutdown().await` in async code, which waits for it.
#[must_use = "dropping the guard shuts the tracker down"]
pub struct TrackerGuard {
    tracker: Option<Tracker>,
}

impl TrackerGuard {
    /// The installed tracker.
    pub fn tracker(&self) -> Option<&Tracker> {
        self.tracker.as_ref()
    }

    /// Shuts the tracker down, waiting at most `deadline`, and returns the final counts.
    pub async fn shutdown(mut self, deadline: Duration) -> Counts {
        match self.tracker.take() {
            Some(tracker) => tracker.shutdown(deadline).await,
            None => Counts::default(),
        }
    }
}

/// How long a dropped guard waits for the queue to drain.
const DROP_DEADLINE: Duration = Duration::from_secs(5);

impl Drop for TrackerGuard {
    fn drop(&mut self) {
        let Some(tracker) = self.tracker.take() else { return };
        if tokio::runtime::Handle::try_current().is_ok() {
            // Inside a runtime: never block its thread.
            let _ = std::thread::Builder::new()
                .name("tally-shutdown".into())
                .spawn(move || tracker.shutdown_blocking(DROP_DEADLINE));
        } else {
            tracker.shutdown_blocking(DROP_DEADLINE);
        }
    }
}

/// The installed default tracker.
static GLOBAL: OnceLock<Tracker> = OnceLock::new();
/// Set once any tracker exists: until then every front door returns at the cost of one load.
static ANY_TRACKER: AtomicBool = AtomicBool::new(false);

/// Whether any tracker was built in this process.
#[inline]
pub(crate) fn any_built() -> bool {
    ANY_TRACKER.load(Ordering::Relaxed)
}

/// The installed default tracker, if one is.
#[inline]
pub(crate) fn installed() -> Option<&'static Tracker> {
    GLOBAL.get()
}

/// What the queue charges for an event besides its names and values: the event itself.
const EVENT_BYTES: usize = std::mem::size_of::<Event>();

/// About the bytes of a wire event serialized.
fn wire_bytes(wire: &crate::sink::WireEvent) -> usize {
    let properties: usize = wire.properties.iter().map(|(name, value)| name.len() + 4 + value.byte_size()).sum();
    wire.event.len() + wire.distinct_id.len() + 120 + properties
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::{BuildError, InstallError};

    #[test]
    fn build_errors_chain_their_cause_instead_of_pasting_it() {
        let io = std::io::Error::other("no threads left");
        let error = BuildError::Worker(io);
        assert!(!error.to_string().contains("no threads left"), "{error}");
        assert_eq!(error.source().map(ToString::to_string).as_deref(), Some("no threads left"));
        let install = InstallError::Build(BuildError::Worker(std::io::Error::other("no threads left")));
        assert_eq!(install.to_string(), "cannot start the tally worker thread (see the cause)");
        assert_eq!(install.source().map(ToString::to_string).as_deref(), Some("no threads left"));
    }
}
