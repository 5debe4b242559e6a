//! The bounded queue between the emitting threads and the worker.
//!
//! A shared channel costs every emit a few atomic operations on cache lines the worker (on
//! another core) keeps taking back. Here each emitting thread pushes into its own shard under
//! an uncontended lock, and the worker takes a shard's whole buffer at once, so the lines
//! change cores once per drain instead of once per event. An idle worker wakes up on a timer
//! (see `Worker`); an emit wakes it early only when a shard holds a batch's worth, so emitting
//! makes no system call and touches no line the worker writes.

use std::cell::Cell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

use tokio::sync::{Notify, oneshot};

use crate::clock::Stamp;
use crate::event::Event;
use crate::lock;
use crate::pipeline::Special;
use crate::sink::WireEvent;

/// What travels from the front doors to the worker.
// An event is stored in the shards' recycled buffers as it is: boxing it would be the
// per-event allocation the queue exists to avoid.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Item {
    /// An event to process on the worker (boxed, what only `$identify` needs).
    Event(Event, Option<Box<Special>>),
    /// Events the caller already processed (strict mode, client events), with the stamp of
    /// the event they came from.
    Ready(Vec<WireEvent>, Stamp),
}

impl Item {
    fn emitted_at(&self) -> Stamp {
        match self {
            Item::Event(event, _) => event.stamp,
            Item::Ready(_, stamp) => *stamp,
        }
    }
}

/// Requests to the worker that are not events.
pub(crate) enum Control {
    /// Answer once everything emitted before it is delivered or counted.
    Flush(oneshot::Sender<()>),
    /// Flush, shut the sinks down, answer, stop.
    Shutdown(oneshot::Sender<()>),
}

impl Control {
    /// Tells the caller it is done.
    pub(crate) fn answer(self) {
        let (Control::Flush(ack) | Control::Shutdown(ack)) = self;
        let _ = ack.send(());
    }
}

/// Pending requests, and whether the worker has stopped (requests are then answered at once).
#[derive(Default)]
struct Requests {
    pending: Vec<Control>,
    stopped: bool,
}

/// Why an item was not queued.
pub(crate) enum Refused {
    Full,
    Closed,
}

/// One shard, on cache lines of its own.
#[derive(Default)]
#[repr(align(128))]
struct Shard {
    items: Mutex<Vec<Item>>,
}

pub(crate) struct Queue {
    shards: Box<[Shard]>,
    /// Items in the shards; bounded by `capacity` (approximately: concurrent emits may pass
    /// it by one each).
    len: AtomicUsize,
    capacity: usize,
    /// A shard this long wakes a waiting worker.
    wake_at: usize,
    /// The worker is waiting (or about to).
    idle: AtomicBool,
    closed: AtomicBool,
    wake: Notify,
    control: Mutex<Requests>,
}

impl Queue {
    pub(crate) fn new(capacity: usize, wake_at: usize) -> Self {
        // Twice the cores: threads beyond that share shards, which only costs an occasional
        // contended lock.
        let shards = std::thread::available_parallelism().map_or(4, |n| n.get() * 2);
        Self {
            shards: (0..shards).map(|_| Shard::default()).collect(),
            len: AtomicUsize::new(0),
            capacity: capacity.max(1),
            wake_at: wake_at.clamp(1, capacity.div_ceil(2).max(1)),
            idle: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            wake: Notify::new(),
            control: Mutex::default(),
        }
    }

    /// Queues an item; never blocks beyond a shard lock held for a push or a swap.
    #[inline]
    pub(crate) fn push(&self, item: Item) -> Result<(), Refused> {
        let shard = &self.shards[shard_of_this_thread() % self.shards.len()];
        let idle = {
            let mut items = lock(&shard.items);
            // Read under the lock: the worker closes before draining every shard under it.
            if self.closed.load(Relaxed) {
                return Err(Refused::Closed);
            }
            if self.len.load(Relaxed) >= self.capacity {
                return Err(Refused::Full);
            }
            self.len.fetch_add(1, Relaxed);
            items.push(item);
            // Read under the lock: a worker going idle sets the flag before it looks into the
            // shards under their locks, so either it sees these items or this push sees the flag.
            items.len() >= self.wake_at && self.idle.load(Relaxed)
        };
        if idle {
            self.wake_worker();
        }
        Ok(())
    }

    /// Asks the worker for a flush or a shutdown; answered at once when the worker has stopped
    /// (everything was delivered before it did).
    pub(crate) fn control(&self, control: Control) {
        let mut requests = lock(&self.control);
        if requests.stopped {
            drop(requests);
            return control.answer();
        }
        requests.pending.push(control);
        drop(requests);
        self.wake_worker();
    }

    /// Worker side, last: requests from now on are answered at once, as are any that came in
    /// since the last `take_control`.
    pub(crate) fn stopped(&self) {
        let pending = {
            let mut requests = lock(&self.control);
            requests.stopped = true;
            std::mem::take(&mut requests.pending)
        };
        pending.into_iter().for_each(Control::answer);
    }

    /// No more items: every handle is gone. The worker delivers what is queued and stops.
    pub(crate) fn close(&self) {
        // Under the control lock, for the same reason `push` reads `idle` under a shard lock.
        {
            let _control = lock(&self.control);
            self.closed.store(true, Relaxed);
        }
        self.wake_worker();
    }

    fn wake_worker(&self) {
        if self.idle.swap(false, Relaxed) {
            self.wake.notify_one();
        }
    }

    /// Worker side: the pending requests, taken before the items they must follow.
    pub(crate) fn take_control(&self) -> Vec<Control> {
        std::mem::take(&mut lock(&self.control).pending)
    }

    /// Worker side: takes every shard's items, in emit order (by emit time, which keeps each
    /// thread's order and interleaves threads). Each shard gets an emptied buffer from
    /// `spares` in exchange, so a lock is held for a swap, never for a copy, and emitting
    /// threads push into memory that is already allocated.
    pub(crate) fn drain(&self, spares: &mut Vec<Vec<Item>>, out: &mut Vec<Item>) {
        let mut taken = 0;
        for shard in &self.shards {
            let mut full = {
                let mut items = lock(&shard.items);
                if items.is_empty() {
                    continue;
                }
                std::mem::replace(&mut *items, spares.pop().unwrap_or_default())
            };
            taken += full.len();
            if out.is_empty() {
                // The common case, one busy shard: no copy at all.
                std::mem::swap(out, &mut full);
            } else {
                out.append(&mut full);
            }
            spares.push(full);
        }
        self.len.fetch_sub(taken, Relaxed);
        out.sort_by_key(Item::emitted_at);
    }

    /// Worker side: whether every handle is gone.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Relaxed)
    }

    /// Worker side: waits at most `timeout`, less if a shard fills up to `wake_at`, a flush
    /// or shutdown is requested, or the queue is closed.
    pub(crate) async fn wait(&self, timeout: Duration) {
        self.idle.store(true, Relaxed);
        let pending = {
            let requests = lock(&self.control);
            self.is_closed() || !requests.pending.is_empty()
        } || self.shards.iter().any(|shard| lock(&shard.items).len() >= self.wake_at);
        if !pending {
            // A wake between the check and here left a permit: this returns at once.
            let _ = tokio::time::timeout(timeout, self.wake.notified()).await;
        }
        self.idle.store(false, Relaxed);
    }
}

/// A small per-thread number, handed out round-robin, that picks the thread's shard.
fn shard_of_this_thread() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    SHARD.with(|shard| {
        if shard.get() == usize::MAX {
            shard.set(NEXT.fetch_add(1, Relaxed));
        }
        shard.get()
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // a test: failing loudly is the point

    use super::*;

    fn event() -> Item {
        Item::Event(Event::new("e"), None)
    }

    /// The lost-wakeup race: a worker about to wait and threads filling a shard. Every round
    /// must end with the worker woken (or never asleep): a lost wakeup hangs until the
    /// hour-long timeout and fails the test.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_shard_reaching_its_threshold_wakes_a_waiting_worker() {
        let queue = std::sync::Arc::new(Queue::new(1 << 20, 8));
        let mut spares = Vec::new();
        let mut out = Vec::new();
        for _ in 0..200 {
            let pusher = {
                let queue = queue.clone();
                std::thread::spawn(move || {
                    for _ in 0..8 {
                        assert!(queue.push(event()).is_ok());
                    }
                })
            };
            tokio::time::timeout(Duration::from_secs(60), queue.wait(Duration::from_secs(3600)))
                .await
                .expect("the worker was woken");
            pusher.join().unwrap();
            out.clear();
            queue.drain(&mut spares, &mut out);
        }
    }

    #[test]
    fn a_full_queue_refuses_and_a_closed_one_too() {
        let queue = Queue::new(2, 500);
        assert!(queue.push(event()).is_ok());
        assert!(queue.push(event()).is_ok());
        assert!(matches!(queue.push(event()), Err(Refused::Full)));
        let mut out = Vec::new();
        queue.drain(&mut Vec::new(), &mut out);
        assert_eq!(out.len(), 2);
        assert!(queue.push(event()).is_ok(), "draining frees room");
        queue.close();
        assert!(matches!(queue.push(event()), Err(Refused::Closed)));
    }
}
