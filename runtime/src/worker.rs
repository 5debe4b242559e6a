//! The worker: a thread of its own with a single-threaded runtime, so delivery never runs
//! on (or blocks) the host's threads. It drains the queue in order, batches, delivers with
//! retries, and answers flushes once everything queued before them is settled.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::clock::Anchor;
use crate::delivery::{Delivery, Stop};
use crate::pipeline::Pipeline;
use crate::queue::{Control, Drained, Item, Queue, Spares};
use crate::sink::WireEvent;

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
    pub(crate) delivery: Delivery,
    pub(crate) stop: Arc<Stop>,
    pub(crate) batch_size: usize,
    pub(crate) priority: WorkerPriority,
}

/// The worker thread's scheduling priority ([`Config::worker_priority`](crate::Config::worker_priority)).
///
/// ```
/// use tally_runtime::{Config, WorkerPriority};
/// let config = Config::default().worker_priority(WorkerPriority::Normal);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WorkerPriority {
    /// The default: on Linux, the worker thread runs at nice 10 (or the process's own nice
    /// value, if higher), so the threads that serve requests go first and delivery takes the
    /// CPU they leave. A saturated service keeps its throughput; if it stays saturated, the
    /// queue fills and emits are dropped, counted as `dropped_over_byte_budget` or
    /// `dropped_queue_full` (whichever bound is reached first). Elsewhere, the same as
    /// [`Normal`](Self::Normal).
    #[default]
    Background,
    /// The process's priority: under saturation delivery competes with requests for the CPU,
    /// and keeps up at their expense.
    Normal,
}

impl WorkerPriority {
    /// Applies the priority to the current thread. Lowering a thread's priority needs no
    /// privilege; should it fail anyway, the worker runs at the process's priority.
    fn apply(self) {
        #[cfg(target_os = "linux")]
        if self == WorkerPriority::Background {
            const BACKGROUND_NICE: i32 = 10;
            // Linux applies `setpriority` to the one thread whose id it is given.
            let thread = Some(rustix::thread::gettid());
            let nice = rustix::process::getpriority_process(thread).unwrap_or(0).max(BACKGROUND_NICE);
            if let Err(error) = rustix::process::setpriority_process(thread, nice) {
                tracing::debug!(target: "tally::worker", %error, "cannot lower the worker thread's priority");
            }
        }
    }
}

/// How long the worker keeps delivering when the last handle is dropped without `shutdown`.
const DROP_DEADLINE: Duration = Duration::from_secs(5);

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
            self.priority.apply();
            runtime.block_on(self.run())
        })
    }

    async fn run(self) {
        let Worker { queue, pipeline, delivery, stop, batch_size, priority: _ } = self;
        let delivery = Arc::new(delivery);
        let spool_task = delivery.has_spool().then(|| tokio::spawn(delivery.clone().drain_spool()));
        let mut in_flight = InFlight::default();
        let mut items = Drained::default();
        let mut spares = Spares::default();
        let mut pending: Vec<WireEvent> = Vec::with_capacity(batch_size);
        loop {
            // Requests first: everything emitted before a flush is in the shards by now.
            let requests = queue.take_control();
            if requests.iter().any(|request| matches!(request, Control::Shutdown(_))) {
                queue.close();
            }
            let stopping = queue.is_closed();
            if stopping {
                // `shutdown` set its deadline already; a dropped tracker gets this one.
                stop.begin_unless_begun(DROP_DEADLINE);
            }
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
            // Processed: their bytes leave the budget only now, so that the events a busy or
            // stalled worker holds count against it as the queued ones do.
            queue.release_bytes(items.clear());
            if !pending.is_empty() {
                let batch = std::mem::replace(&mut pending, Vec::with_capacity(batch_size));
                send(&delivery, &mut in_flight, batch).await;
            }
            if !requests.is_empty() || stopping {
                // Batches go out in order: once all are settled, so is everything before.
                while in_flight.tasks.join_next().await.is_some() {}
            }
            if stopping {
                // The spool task delivers what it can by the deadline, then stops.
                if let Some(task) = spool_task {
                    let _ = task.await;
                }
                delivery.shutdown_sinks().await;
                // The last reference: the spool's lock is released before anyone is told.
                drop(delivery);
                requests.into_iter().for_each(Control::answer);
                queue.stopped();
                return;
            }
            requests.into_iter().for_each(Control::answer);
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
