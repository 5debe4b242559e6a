//! The worker: a thread of its own with a single-threaded runtime, so delivery never runs
//! on (or blocks) the host's threads. It drains the queue in order, batches, delivers with
//! retries, and answers flushes once everything queued before them is settled.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::clock::Anchor;
use crate::counters::Counters;
use crate::pipeline::Pipeline;
use crate::queue::{Control, Drained, Item, Queue};
use crate::sink::{Sink, WireEvent};

thread_local! {
    static ON_WORKER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the current thread is a tally worker: what happens there (delivery, the HTTP
/// client's logs) must never become events.
#[cfg_attr(not(feature = "tracing-layer"), allow(dead_code))]
pub(crate) fn on_worker_thread() -> bool {
    ON_WORKER.get()
}

pub(crate) struct Worker {
    pub(crate) queue: Arc<Queue>,
    pub(crate) pipeline: Arc<Pipeline>,
    pub(crate) sinks: Vec<Box<dyn Sink>>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) batch_size: usize,
    pub(crate) max_attempts: u32,
}

/// Deliveries under way at once: one on the wire, the next one preparing (a sink may convert
/// the batch in `Sink::send` before its future runs). The next one's future waits until the
/// one before has finished, so batches reach the sinks in emit order.
const IN_FLIGHT: usize = 2;

impl Worker {
    /// Starts the worker thread.
    pub(crate) fn spawn(self) -> std::io::Result<std::thread::JoinHandle<()>> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        std::thread::Builder::new().name("tally-worker".into()).spawn(move || {
            ON_WORKER.set(true);
            runtime.block_on(self.run())
        })
    }

    async fn run(self) {
        let Worker { queue, pipeline, sinks, counters, batch_size, max_attempts } = self;
        let delivery = Arc::new(Delivery { sinks, counters, max_attempts });
        let mut in_flight = InFlight::default();
        let mut items = Drained::default();
        let mut spares = std::collections::VecDeque::new();
        let mut pending: Vec<WireEvent> = Vec::with_capacity(batch_size);
        loop {
            // Requests first: everything emitted before a flush is in the shards by now.
            let requests = queue.take_control();
            if requests.iter().any(|request| matches!(request, Control::Shutdown(_))) {
                queue.close();
            }
            let stopping = queue.is_closed();
            queue.drain(&mut spares, &mut items);
            let drained = items.len();
            // One anchor per drain: the drained events keep their order and distances.
            let anchor = Anchor::now();
            for item in items.take() {
                match item {
                    Item::Event(event) => {
                        // A rejection is counted by the pipeline.
                        let _ = pipeline.process(event, &anchor, &mut pending);
                    }
                    Item::Ready(ready) => pending.extend(ready.wire),
                }
                if pending.len() >= batch_size {
                    let batch = std::mem::replace(&mut pending, Vec::with_capacity(batch_size));
                    send(&delivery, &mut in_flight, batch).await;
                }
            }
            if !pending.is_empty() {
                let batch = std::mem::replace(&mut pending, Vec::with_capacity(batch_size));
                send(&delivery, &mut in_flight, batch).await;
            }
            if !requests.is_empty() || stopping {
                // Batches go out in order: once all are settled, so is everything before.
                while in_flight.tasks.join_next().await.is_some() {}
            }
            if stopping {
                for sink in &delivery.sinks {
                    sink.shutdown().await;
                }
            }
            requests.into_iter().for_each(Control::answer);
            if stopping {
                queue.stopped();
                return;
            }
            if drained < batch_size {
                // Let events accumulate: into full batches when they come fast, for at most
                // `MAX_DELAY` when they trickle.
                queue.wait(MAX_DELAY).await;
            }
        }
    }
}

/// How long an event waits at most before the worker takes it, unless a batch's worth is
/// waiting or someone flushes. Analytics can wait; the emitting threads then never have to
/// wake the worker.
const MAX_DELAY: Duration = Duration::from_millis(100);

/// The deliveries under way, and the signal that the latest one has finished.
#[derive(Default)]
struct InFlight {
    tasks: tokio::task::JoinSet<()>,
    latest_done: Option<oneshot::Receiver<()>>,
}

/// Starts delivering a batch, first waiting for a slot when `IN_FLIGHT` batches are out.
async fn send(delivery: &Arc<Delivery>, in_flight: &mut InFlight, batch: Vec<WireEvent>) {
    while in_flight.tasks.len() >= IN_FLIGHT {
        in_flight.tasks.join_next().await;
    }
    let delivery = delivery.clone();
    let (done, done_signal) = oneshot::channel();
    let previous = in_flight.latest_done.replace(done_signal);
    in_flight.tasks.spawn(async move {
        delivery.deliver(batch, previous).await;
        let _ = done.send(());
    });
    // Let the delivery start (prepare, or write its request) before processing goes on, so
    // the next batch is processed while this one is on the wire.
    tokio::task::yield_now().await;
}

/// The sinks and what delivery counts.
struct Delivery {
    sinks: Vec<Box<dyn Sink>>,
    counters: Arc<Counters>,
    max_attempts: u32,
}

impl Delivery {
    /// Sends a batch to every sink, retrying retryable failures with backoff; the batch counts
    /// as delivered when every sink took it. Sending starts once `previous`, the delivery of
    /// the batch before, has finished (or failed, or panicked: the signal then drops).
    async fn deliver(&self, batch: Vec<WireEvent>, mut previous: Option<oneshot::Receiver<()>>) {
        let mut all_ok = true;
        for sink in &self.sinks {
            let mut attempt = 1;
            loop {
                // Called before waiting: what the sink prepares in `send` overlaps the batch
                // before; its future runs after it.
                let sending = sink.send(&batch);
                if let Some(previous) = previous.take() {
                    let _ = previous.await;
                }
                match sending.await {
                    Ok(()) => break,
                    Err(error) if error.retryable && attempt < self.max_attempts => {
                        Counters::add(&self.counters.retried, 1);
                        tracing::debug!(target: "tally::worker", %error, attempt, "delivery failed; retrying");
                        tokio::time::sleep(backoff(attempt)).await;
                        attempt += 1;
                    }
                    Err(error) => {
                        tracing::warn!(target: "tally::worker", %error, events = batch.len(), "delivery failed");
                        all_ok = false;
                        break;
                    }
                }
            }
        }
        let counter = if all_ok { &self.counters.delivered } else { &self.counters.failed };
        Counters::add(counter, batch.len() as u64);
    }
}

/// The wait after failed attempt `attempt` (from 1): 100 ms, 200 ms, 400 ms, … capped at 5 s.
fn backoff(attempt: u32) -> Duration {
    let doublings = attempt.saturating_sub(1).min(6);
    Duration::from_millis(100u64 << doublings).min(Duration::from_secs(5))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_starts_at_100_ms_and_doubles_up_to_5_s() {
        let waits: Vec<u128> = (1..=9).map(|attempt| backoff(attempt).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
    }
}
