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

impl Worker {
    /// Starts the worker thread.
    pub(crate) fn spawn(self) -> std::io::Result<std::thread::JoinHandle<()>> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        std::thread::Builder::new().name("tally-worker".into()).spawn(move || {
            ON_WORKER.set(true);
            runtime.block_on(self.run())
        })
    }

    async fn run(mut self) {
        let mut messages = Vec::with_capacity(self.batch_size);
        let mut pending: Vec<WireEvent> = Vec::with_capacity(self.batch_size);
        let mut acks = Vec::new();
        let mut stopping = false;
        while !stopping {
            if self.receiver.recv_many(&mut messages, self.batch_size).await == 0 {
                stopping = true; // every tracker handle is gone
            }
            for message in messages.drain(..) {
                match message {
                    Message::Event(event, special) => {
                        if let Ok(wire) = self.pipeline.process(event, special) {
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
                if pending.len() >= self.batch_size {
                    self.deliver(&mut pending).await;
                }
            }
            // Natural batching: deliver when the queue runs dry, or when someone waits.
            if !pending.is_empty() && (self.receiver.is_empty() || !acks.is_empty() || stopping) {
                self.deliver(&mut pending).await;
            }
            if stopping {
                self.receiver.close();
                for sink in &self.sinks {
                    sink.shutdown().await;
                }
            }
            for ack in acks.drain(..) {
                let _ = ack.send(());
            }
        }
    }

    /// Sends a batch to every sink, retrying retryable failures with backoff; the batch counts
    /// as delivered when every sink took it.
    async fn deliver(&self, pending: &mut Vec<WireEvent>) {
        let batch = std::mem::take(pending);
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
        *pending = batch;
        pending.clear();
    }
}

/// 100 ms, 200 ms, 400 ms, … capped at 5 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(100u64.saturating_mul(1 << attempt.min(6))).min(Duration::from_secs(5))
}
