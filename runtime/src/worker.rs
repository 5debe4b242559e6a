//! The worker: a thread of its own with a single-threaded runtime, so delivery never runs
//! on (or blocks) the host's threads. It drains the queue in order, batches, delivers with
//! retries, and answers flushes once everything queued before them is settled.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::counters::Counters;
use crate::event::Event;
use crate::pipeline::{Pipeline, Special};
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

/// What travels through the queue.
pub(crate) enum Message {
    /// An event to process here.
    Event(Event, Option<Special>),
    /// Events already processed by the caller (strict mode).
    Ready(Vec<WireEvent>),
    /// Answer once everything before it is delivered or counted.
    Flush(oneshot::Sender<()>),
    /// Flush, shut the sinks down, answer, stop.
    Shutdown(oneshot::Sender<()>),
}

pub(crate) struct Worker {
    pub(crate) receiver: mpsc::Receiver<Message>,
    pub(crate) pipeline: Arc<Pipeline>,
    pub(crate) sinks: Vec<Box<dyn Sink>>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) batch_size: usize,
    pub(crate) max_attempts: u32,
}

/// Batches on the wire at once. One keeps delivery in emit order while the next batch is
/// processed during the previous one's round trip.
const IN_FLIGHT: usize = 1;

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
        let Worker { mut receiver, pipeline, sinks, counters, batch_size, max_attempts } = self;
        let delivery = Arc::new(Delivery { sinks, counters, max_attempts });
        let mut in_flight = tokio::task::JoinSet::new();
        let mut messages = Vec::with_capacity(batch_size);
        let mut pending: Vec<WireEvent> = Vec::with_capacity(batch_size);
        let mut acks = Vec::new();
        let mut stopping = false;
        while !stopping {
            if receiver.recv_many(&mut messages, batch_size).await == 0 {
                stopping = true; // every tracker handle is gone
            }
            for message in messages.drain(..) {
                match message {
                    Message::Event(event, special) => {
                        if let Ok(wire) = pipeline.process(event, special) {
                            pending.extend(wire);
                        }
                    }
                    Message::Ready(wire) => pending.extend(wire),
                    Message::Flush(ack) => acks.push(ack),
                    Message::Shutdown(ack) => {
                        acks.push(ack);
                        stopping = true;
                    }
                }
                if pending.len() >= batch_size {
                    send(&delivery, &mut in_flight, std::mem::take(&mut pending)).await;
                }
            }
            // Natural batching: deliver when the queue runs dry, or when someone waits.
            if !pending.is_empty() && (receiver.is_empty() || !acks.is_empty() || stopping) {
                send(&delivery, &mut in_flight, std::mem::take(&mut pending)).await;
            }
            if !acks.is_empty() || stopping {
                // Batches go out in order; an ack means everything before it is settled.
                while in_flight.join_next().await.is_some() {}
            }
            if stopping {
                receiver.close();
                for sink in &delivery.sinks {
                    sink.shutdown().await;
                }
            }
            for ack in acks.drain(..) {
                let _ = ack.send(());
            }
            // Linger before waiting on the queue again: a steady trickle of emits then wakes
            // the worker once per `LINGER`, not once per event (each wake is a context switch
            // on the emitting side).
            if !stopping && receiver.is_empty() {
                tokio::time::sleep(LINGER).await;
            }
        }
    }
}

/// How long the worker lets events accumulate after a drain. Bounds the extra delivery delay.
const LINGER: std::time::Duration = std::time::Duration::from_millis(2);

/// Starts delivering a batch, first waiting for a slot when `IN_FLIGHT` batches are out.
async fn send(delivery: &Arc<Delivery>, in_flight: &mut tokio::task::JoinSet<()>, batch: Vec<WireEvent>) {
    while in_flight.len() >= IN_FLIGHT {
        in_flight.join_next().await;
    }
    let delivery = delivery.clone();
    in_flight.spawn(async move { delivery.deliver(batch).await });
}

/// The sinks and what delivery counts.
struct Delivery {
    sinks: Vec<Box<dyn Sink>>,
    counters: Arc<Counters>,
    max_attempts: u32,
}

impl Delivery {
    /// Sends a batch to every sink, retrying retryable failures with backoff; the batch counts
    /// as delivered when every sink took it.
    async fn deliver(&self, batch: Vec<WireEvent>) {
        let mut all_ok = true;
        for sink in &self.sinks {
            let mut attempt = 1;
            loop {
                match sink.send(&batch).await {
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

/// 100 ms, 200 ms, 400 ms, … capped at 5 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(100u64.saturating_mul(1 << attempt.min(6))).min(Duration::from_secs(5))
}
