//! Delivery: how a batch reaches the sinks, and what happens when it cannot.
//!
//! - Each request has a timeout (`Config::request_timeout`); a timed-out batch is retried
//!   like any other failure.
//! - A failing batch is retried with exponential backoff and jitter, at least as long apart as
//!   the server's `Retry-After` when the sink knows it (`retry.rs`), for as long as the outage
//!   is younger than `Config::retry_horizon`. Batches are delivered one after the other, so
//!   order (within a `distinct_id` and overall) is kept; the queue keeps accepting meanwhile,
//!   within its bounds.
//! - A batch refused with 400 is split in halves, each sent again, down to the events the
//!   server refuses on their own: only those are lost, counted `dropped_refused` (`split.rs`).
//!   The parts a sink took are not sent to it again when a later part fails and is retried.
//! - A batch refused for the project key (401/403) logs one ERROR naming the host, counts
//!   `rejected_auth`, and is kept like an undeliverable one.
//! - An undeliverable batch (past the horizon, at shutdown's deadline, refused for the key) goes
//!   to the spool (`spool.rs`) when one is configured, else counts as failed. While the spool
//!   holds batches, new ones are appended behind them, and the spool task (`drain_spool`)
//!   delivers them oldest first.

mod retry;
mod split;
mod spool;
mod stop;

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, oneshot};

pub(crate) use spool::SpoolDir;
pub(crate) use stop::Stop;

use crate::counters::Counters;
use crate::lock;
use crate::sink::{Sink, SinkError, SinkErrorKind, SinkFuture, WireEvent};
use retry::{Outage, backoff};
use split::{Progress, Tally};
use spool::{Entry, Evicted, Oldest};

/// How long a tracker that cannot take the spool's lock waits before trying again.
const LOCK_RETRY: Duration = Duration::from_secs(1);

/// Opens the spool directory (creating it) and takes its lock if free, counting the torn files
/// found; a lock held by another process is logged and tried again as the tracker runs.
pub(crate) fn open_spool(dir: &std::path::Path, max_bytes: u64, counters: &Counters) -> io::Result<SpoolDir> {
    let mut spool = SpoolDir::open(dir, max_bytes)?;
    match spool.try_acquire()? {
        Some(found) => {
            Counters::add(&counters.delivery.spool_corrupt, found.torn);
            if found.torn > 0 {
                tracing::warn!(target: "tally::delivery", files = found.torn, dir = %dir.display(), "torn spool files (a crash mid-write) moved aside");
            }
        }
        None => tracing::warn!(
            target: "tally::delivery",
            dir = %dir.display(),
            "another process holds the spool's lock: this tracker spools nothing until it gets it"
        ),
    }
    Ok(spool)
}

/// The settings delivery runs with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub(crate) retry_horizon: Duration,
    pub(crate) request_timeout: Duration,
}

/// The sinks, and everything about getting batches to them.
pub(crate) struct Delivery {
    sinks: Vec<Box<dyn Sink>>,
    counters: Arc<Counters>,
    settings: Settings,
    stop: Arc<Stop>,
    outage: Outage,
    spool: Option<Spool>,
    /// The key's refusal was logged (once, until a delivery succeeds).
    auth_reported: AtomicBool,
}

/// How a batch's delivery ended, for the events some sink has not taken yet.
enum Outcome {
    /// Every sink took it, but for the events refused on their own.
    Delivered,
    /// Not delivered, and may be later: spool it.
    Undelivered,
    /// Not delivered, and never will be (a permanent error).
    Failed,
}

impl Delivery {
    pub(crate) fn new(
        sinks: Vec<Box<dyn Sink>>,
        counters: Arc<Counters>,
        settings: Settings,
        stop: Arc<Stop>,
        spool: Option<SpoolDir>,
    ) -> Self {
        let spool = spool.map(Spool::new);
        Self {
            sinks,
            counters,
            settings,
            stop,
            outage: Outage::default(),
            spool,
            auth_reported: AtomicBool::new(false),
        }
    }

    /// Whether a spool task must run.
    pub(crate) fn has_spool(&self) -> bool {
        self.spool.is_some()
    }

    /// Delivers a batch after `previous` (the batch before) has settled. The first request is
    /// prepared before waiting, so that converting this batch overlaps the previous request.
    pub(crate) async fn deliver(&self, batch: Vec<WireEvent>, previous: Option<oneshot::Receiver<()>>) {
        let prepared = self.sinks.first().map(|sink| sink.send(&batch));
        if let Some(previous) = previous {
            // An error means the delivery before panicked: nothing to wait for.
            let _ = previous.await;
        }
        if let Some(spool) = &self.spool
            && spool.has_backlog()
        {
            // Older batches wait on disk: this one goes behind them.
            drop(prepared);
            self.spool_or_fail(batch).await;
            return;
        }
        let (outcome, tally) = self.send_with_retries(&batch, prepared).await;
        Counters::add(&self.counters.delivered, tally.delivered);
        Counters::add(&self.counters.delivery.dropped_refused, tally.refused);
        let left = tally.take_left(batch);
        if left.is_empty() {
            return;
        }
        match outcome {
            Outcome::Undelivered => self.spool_or_fail(left).await,
            Outcome::Delivered | Outcome::Failed => Counters::add(&self.counters.failed, left.len() as u64),
        }
    }

    /// Sends a batch to every sink, retrying within the horizon and the shutdown deadline; how
    /// it ended, and where its events stand (a retry resumes where the last attempt stopped).
    async fn send_with_retries<'a>(
        &'a self,
        batch: &'a [WireEvent],
        prepared: Option<SinkFuture<'a, Result<(), SinkError>>>,
    ) -> (Outcome, Tally) {
        let mut progress = vec![Progress::new(batch.len()); self.sinks.len()];
        let mut prepared = prepared;
        let mut attempt = 0u32;
        loop {
            let Some(timeout) = self.attempt_timeout() else {
                return (Outcome::Undelivered, Tally::of(batch.len(), &progress));
            };
            let failure = self.send_to_sinks(batch, timeout, &mut progress, prepared.take()).await;
            let Err(error) = failure else {
                self.outage.ended();
                self.auth_reported.store(false, Relaxed);
                return (Outcome::Delivered, Tally::of(batch.len(), &progress));
            };
            let tally = Tally::of(batch.len(), &progress);
            if error.kind() == SinkErrorKind::Unauthorized {
                Counters::add(&self.counters.delivery.rejected_auth, tally.left.len() as u64);
                self.report_auth(&error);
                return (Outcome::Undelivered, tally);
            }
            if !error.is_retryable() {
                tracing::warn!(target: "tally::delivery", %error, events = tally.left.len(), "delivery failed for good");
                return (Outcome::Failed, tally);
            }
            let since = self.outage.failed();
            let left = self.settings.retry_horizon.saturating_sub(since.elapsed());
            if left.is_zero() || self.stop.passed() {
                tracing::warn!(
                    target: "tally::delivery",
                    %error,
                    events = tally.left.len(),
                    "delivery failed for longer than the retry horizon (or past the shutdown deadline)"
                );
                return (Outcome::Undelivered, tally);
            }
            attempt += 1;
            Counters::add(&self.counters.retried, 1);
            tracing::debug!(target: "tally::delivery", %error, attempt, "delivery failed; retrying");
            self.stop.sleep(backoff(attempt, error.retry_after()).min(left)).await;
        }
    }

    /// The timeout of the next attempt: the request timeout, cut to what is left before the
    /// shutdown deadline; `None` once it has passed.
    fn attempt_timeout(&self) -> Option<Duration> {
        let timeout = self.settings.request_timeout;
        match self.stop.left() {
            None => Some(timeout),
            Some(left) if left.is_zero() => None,
            Some(left) => Some(timeout.min(left)),
        }
    }

    /// One attempt at what is left of a batch, sink after sink; stops at the first failure.
    async fn send_to_sinks<'a>(
        &'a self,
        batch: &'a [WireEvent],
        timeout: Duration,
        progress: &mut [Progress],
        mut prepared: Option<SinkFuture<'a, Result<(), SinkError>>>,
    ) -> Result<(), SinkError> {
        for (sink, progress) in self.sinks.iter().zip(progress) {
            // The first sink's first request was made ahead; only it can use it.
            let first = prepared.take();
            if !progress.is_done() {
                progress.send(sink.as_ref(), batch, timeout, first).await?;
            }
        }
        Ok(())
    }

    /// The key was refused: one ERROR (naming the host, never the key) until a delivery works.
    fn report_auth(&self, error: &SinkError) {
        if self.auth_reported.swap(true, Relaxed) {
            return;
        }
        let kept = match &self.spool {
            Some(spool) => format!("batches are kept in the spool ({})", spool.dir.display()),
            None => "without a spool (TALLY_SPOOL_DIR) the refused batches count as failed".to_owned(),
        };
        tracing::error!(target: "tally::delivery", "{error}; {kept}");
    }

    /// Spools an undeliverable batch, or counts it failed (no spool, or the write failed).
    async fn spool_or_fail(&self, batch: Vec<WireEvent>) {
        let events = batch.len() as u64;
        let Some(spool) = &self.spool else {
            Counters::add(&self.counters.failed, events);
            return;
        };
        match spool.write(batch).await {
            Ok(evicted) => {
                Counters::add(&self.counters.delivery.spooled, events);
                self.count_evicted(evicted);
            }
            Err(error) => {
                tracing::warn!(target: "tally::delivery", %error, events, dir = %spool.dir.display(), "cannot spool a batch; it counts as failed");
                Counters::add(&self.counters.failed, events);
            }
        }
    }

    fn count_evicted(&self, evicted: Evicted) {
        if evicted.ours + evicted.earlier == 0 {
            return;
        }
        tracing::warn!(
            target: "tally::delivery",
            events = evicted.ours + evicted.earlier,
            "the spool is full: its oldest batches were dropped"
        );
        self.counters.delivery.unspool(evicted.ours);
        Counters::add(&self.counters.delivery.dropped_spool_full, evicted.ours);
        Counters::add(&self.counters.delivery.replay_dropped, evicted.earlier);
    }

    /// The spool task: delivers spooled batches, oldest first, whenever there are some and the
    /// server answers; at shutdown, until the spool is empty or the deadline passes.
    pub(crate) async fn drain_spool(self: Arc<Self>) {
        let Some(spool) = &self.spool else { return };
        let mut attempt = 0u32;
        // What the last attempt at the oldest batch got through (by its sequence number): a
        // retry resumes from there.
        let mut resume: Option<(u64, Vec<Progress>)> = None;
        loop {
            if self.stop.passed() {
                break;
            }
            let stopping = self.stop.deadline().is_some();
            let oldest = match spool.oldest().await {
                Ok(oldest) => oldest,
                Err(error) => {
                    tracing::warn!(target: "tally::delivery", %error, "cannot read the spool");
                    if stopping {
                        break;
                    }
                    attempt += 1;
                    self.stop.sleep(backoff(attempt, None)).await;
                    continue;
                }
            };
            match oldest {
                Oldest::None if !spool.is_holder() => {
                    if stopping {
                        break;
                    }
                    self.stop.sleep(LOCK_RETRY).await;
                    spool.try_acquire(&self.counters).await;
                }
                Oldest::None => {
                    if stopping {
                        break;
                    }
                    tokio::select! {
                        () = spool.appended.notified() => {}
                        () = self.stop.begun() => {}
                    }
                }
                Oldest::Corrupt(entry) => {
                    tracing::warn!(target: "tally::delivery", file = %entry_name(&entry), "a spool file does not parse; moved aside");
                    Counters::add(&self.counters.delivery.spool_corrupt, 1);
                    self.count_gone(&entry);
                }
                Oldest::Batch(entry, batch) => {
                    let mut progress = match resume.take() {
                        Some((seq, progress)) if seq == entry.seq() => progress,
                        _ => vec![Progress::new(batch.len()); self.sinks.len()],
                    };
                    let Err(error) = self.send_spooled(&batch, &mut progress).await else {
                        attempt = 0;
                        if let Err(error) = spool.remove(entry.clone()).await {
                            tracing::warn!(target: "tally::delivery", %error, "cannot delete a delivered spool file");
                        }
                        self.settle_spooled(&entry, &Tally::of(batch.len(), &progress));
                        continue;
                    };
                    spool.unmark().await;
                    if error.kind() == SinkErrorKind::Permanent {
                        // It will never go: drop it rather than block the spool for good.
                        tracing::warn!(target: "tally::delivery", %error, events = entry.events, "a spooled batch failed for good");
                        let _ = spool.remove(entry.clone()).await;
                        self.settle_spooled(&entry, &Tally::of(batch.len(), &progress));
                        continue;
                    }
                    if error.kind() == SinkErrorKind::Unauthorized {
                        self.report_auth(&error);
                    }
                    resume = Some((entry.seq(), progress));
                    attempt += 1;
                    Counters::add(&self.counters.retried, 1);
                    self.stop.sleep(backoff(attempt, error.retry_after())).await;
                }
            }
        }
    }

    /// A spooled batch that will never be delivered (a corrupt file).
    fn count_gone(&self, entry: &Entry) {
        self.settle_spooled(entry, &Tally::none_delivered(entry.events));
    }

    /// A spooled batch is off the disk: its events delivered, refused on their own, or (those
    /// still left) never to be delivered.
    fn settle_spooled(&self, entry: &Entry, tally: &Tally) {
        let gone = tally.left.len() as u64;
        if entry.ours {
            self.counters.delivery.unspool(entry.events);
            Counters::add(&self.counters.delivered, tally.delivered);
            Counters::add(&self.counters.delivery.dropped_refused, tally.refused);
            Counters::add(&self.counters.failed, gone);
        } else {
            Counters::add(&self.counters.delivery.replayed, tally.delivered);
            Counters::add(&self.counters.delivery.replay_dropped, tally.refused + gone);
        }
    }

    /// One attempt at what is left of a spooled batch, sink after sink.
    async fn send_spooled(&self, batch: &[WireEvent], progress: &mut [Progress]) -> Result<(), SinkError> {
        let Some(timeout) = self.attempt_timeout() else {
            return Err(SinkError::retryable("the shutdown deadline has passed"));
        };
        self.send_to_sinks(batch, timeout, progress, None).await?;
        self.outage.ended();
        self.auth_reported.store(false, Relaxed);
        Ok(())
    }

    /// Shuts the sinks down, each within the request timeout.
    pub(crate) async fn shutdown_sinks(&self) {
        for sink in &self.sinks {
            let _ = tokio::time::timeout(self.settings.request_timeout, sink.shutdown()).await;
        }
    }
}

fn entry_name(entry: &Entry) -> String {
    format!("{entry:?}")
}

/// The spool directory, used from async code: every file operation runs on the blocking pool.
struct Spool {
    inner: Arc<Mutex<SpoolDir>>,
    dir: std::path::PathBuf,
    /// Batches on disk (as of the last operation): read without waiting for the file lock.
    backlog: AtomicU64,
    holder: AtomicBool,
    appended: Notify,
}

impl Spool {
    fn new(dir: SpoolDir) -> Self {
        let backlog = AtomicU64::new(u64::from(dir.has_backlog()));
        let holder = AtomicBool::new(dir.is_holder());
        Self { dir: dir.dir().to_owned(), inner: Arc::new(Mutex::new(dir)), backlog, holder, appended: Notify::new() }
    }

    fn has_backlog(&self) -> bool {
        self.backlog.load(Relaxed) > 0
    }

    fn is_holder(&self) -> bool {
        self.holder.load(Relaxed)
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut SpoolDir) -> io::Result<T> + Send + 'static,
    ) -> io::Result<T> {
        let inner = self.inner.clone();
        let (result, backlog, holder) = tokio::task::spawn_blocking(move || {
            let mut dir = lock(&inner);
            let result = job(&mut dir);
            (result, dir.has_backlog(), dir.is_holder())
        })
        .await
        .map_err(io::Error::other)?;
        self.backlog.store(u64::from(backlog), Relaxed);
        self.holder.store(holder, Relaxed);
        result
    }

    async fn write(&self, batch: Vec<WireEvent>) -> io::Result<Evicted> {
        let evicted = self.run(move |dir| dir.write(&batch).map(|(_, evicted)| evicted)).await?;
        self.appended.notify_one();
        Ok(evicted)
    }

    async fn oldest(&self) -> io::Result<Oldest> {
        self.run(SpoolDir::oldest).await
    }

    async fn remove(&self, entry: Entry) -> io::Result<bool> {
        self.run(move |dir| dir.remove(&entry)).await
    }

    async fn unmark(&self) {
        let _ = self
            .run(|dir| {
                dir.unmark();
                Ok(())
            })
            .await;
    }

    /// Tries to take the lock another process held; counts what the scan found.
    async fn try_acquire(&self, counters: &Counters) {
        match self.run(SpoolDir::try_acquire).await {
            Ok(Some(found)) => {
                Counters::add(&counters.delivery.spool_corrupt, found.torn);
                if found.earlier_events > 0 {
                    tracing::info!(target: "tally::delivery", events = found.earlier_events, dir = %self.dir.display(), "took over a spool with batches to deliver");
                }
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(target: "tally::delivery", %error, "cannot lock the spool"),
        }
    }
}
