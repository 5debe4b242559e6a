//! The bounded queue between the emitting threads and the worker.
//!
//! A shared channel costs every emit a few atomic operations on cache lines the worker (on
//! another core) keeps taking back. Here each emitting thread pushes into its own shard under
//! an uncontended lock, and the worker takes a shard's whole buffer at once, so the lines
//! change cores once per drain instead of once per event. An idle worker wakes up on a timer
//! (see `Worker`); an emit wakes it early only when a shard holds a batch's worth, so emitting
//! makes no system call.
//!
//! A shard stores events as they are (not wrapped in another type, which would cost a copy of
//! the event per emit), counts what it accepted (`Counts::emitted`) and reserves room in the
//! queue's bound a chunk at a time, so that an emit's only atomic operations are its shard's
//! lock and unlock, and the one counter the worker also writes (the room left) is touched once
//! per chunk. The worker hands a shard the buffer it drained longest ago, so that the event is
//! copied into memory the worker's core no longer holds (docs/benchmarks.md has the numbers).

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, oneshot};

use crate::clock::Stamp;
use crate::event::Event;
use crate::lock;
use crate::sink::WireEvent;

/// Events the caller already processed (strict mode, client events), with the stamp of the
/// event they came from.
pub(crate) struct Ready {
    pub(crate) stamp: Stamp,
    pub(crate) wire: Vec<WireEvent>,
}

/// One thing for the worker, in emit order.
pub(crate) enum Item<'a> {
    /// An event to process, where the drain put it (moving an event copies a few hundred
    /// bytes; the worker takes only its properties out).
    Event(&'a mut Event),
    /// Events processed already.
    Ready(Ready),
}

/// What one drain took from the shards, each list in emit order.
#[derive(Default)]
pub(crate) struct Drained {
    events: Vec<Event>,
    ready: Vec<Ready>,
    /// Their bytes, still charged to the queue's budget until the worker has processed them
    /// ([`Queue::release_bytes`]): the budget bounds the events the worker holds too.
    bytes: usize,
}

impl Drained {
    /// How many items were taken.
    pub(crate) fn len(&self) -> usize {
        self.events.len() + self.ready.len()
    }

    /// The items, both lists merged in emit order; the ready ones are taken out, the events
    /// lent. [`clear`](Self::clear) drops the events once they are processed.
    pub(crate) fn take(&mut self) -> impl Iterator<Item = Item<'_>> + '_ {
        let mut events = self.events.iter_mut().peekable();
        let mut ready = self.ready.drain(..).peekable();
        std::iter::from_fn(move || match (events.peek(), ready.peek()) {
            (Some(event), Some(first)) if first.stamp < event.stamp => ready.next().map(Item::Ready),
            (Some(_), _) => events.next().map(Item::Event),
            (None, _) => ready.next().map(Item::Ready),
        })
    }

    /// Drops what [`take`](Self::take) went through; leaves the lists empty (and allocated).
    /// Returns the bytes they were charged, for [`Queue::release_bytes`].
    #[must_use]
    pub(crate) fn clear(&mut self) -> usize {
        self.events.clear();
        self.ready.clear();
        std::mem::take(&mut self.bytes)
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
    /// The byte budget is used up.
    OverByteBudget,
    Full,
    Closed,
}

/// What one thread (or a few, beyond twice the cores) handed over since the last drain.
#[derive(Default)]
pub(crate) struct Staged {
    events: Vec<Event>,
    ready: Vec<Ready>,
    /// Items accepted since the queue was made: the queue's share of `Counts::emitted`.
    accepted: u64,
    /// Room in the queue's bound this shard reserved and has not used yet.
    room: usize,
    /// Bytes of the items staged since the last drain.
    bytes: usize,
    /// Bytes reserved from the queue's byte budget and not yet used.
    byte_room: usize,
}

impl Staged {
    fn len(&self) -> usize {
        self.events.len() + self.ready.len()
    }

    /// Stores an event, in the room `Queue::admit` took for it.
    #[inline]
    pub(crate) fn push(&mut self, event: Event) {
        self.events.push(event);
    }
}

/// One shard, on cache lines of its own.
#[derive(Default)]
#[repr(align(128))]
struct Shard {
    staged: Mutex<Staged>,
}

/// Emptied buffers the worker keeps in rotation before handing one back to a shard.
const SPARES: usize = 4;

/// The worker's emptied buffers, kept with the room a burst grew them to: freeing a buffer of
/// a hundred thousand events (its pages unmapped, then faulted in again for the next burst)
/// cost the worker about 5 % of its time under load. They shrink lazily instead, once the
/// drains have been small for a while.
#[derive(Default)]
pub(crate) struct Spares {
    buffers: VecDeque<Vec<Event>>,
    /// Events per drain lately: the largest recent drain, decaying by an eighth per drain.
    recent: usize,
}

impl Spares {
    /// The buffer emptied longest ago, once a few are in rotation, shrunk when it is far
    /// larger than recent drains needed (`floor`: the least worth keeping).
    fn next(&mut self, floor: usize) -> Vec<Event> {
        if self.buffers.len() < SPARES {
            return Vec::new();
        }
        let mut buffer = self.buffers.pop_front().unwrap_or_default();
        let needed = self.recent.max(floor);
        if buffer.capacity() > needed * 4 {
            buffer.shrink_to(needed * 2);
        }
        buffer
    }

    /// A drain took `events`.
    fn drained(&mut self, events: usize) {
        self.recent = events.max(self.recent - self.recent / 8);
    }
}

pub(crate) struct Queue {
    shards: Box<[Shard]>,
    /// Room left in the bound: the capacity less what is queued and what shards reserved.
    /// Never negative, so the queue never holds more than its capacity; a thread may be
    /// refused while other shards hold unused reservations (at most `chunk` each).
    available: AtomicUsize,
    /// The byte budget, what is left of it, and the most ever used.
    byte_budget: usize,
    bytes_available: AtomicUsize,
    bytes_peak: AtomicUsize,
    byte_chunk: usize,
    /// How much room a shard reserves at once.
    chunk: usize,
    /// A shard this long wakes a waiting worker.
    wake_at: usize,
    /// The worker is waiting (or about to).
    idle: AtomicBool,
    closed: AtomicBool,
    wake: Notify,
    control: Mutex<Requests>,
}

impl Queue {
    pub(crate) fn new(capacity: usize, wake_at: usize, byte_budget: usize) -> Self {
        // Twice the cores: threads beyond that share shards, which only costs an occasional
        // contended lock. A power of two, so that picking one is a mask.
        let shards = std::thread::available_parallelism().map_or(4, |n| n.get() * 2).next_power_of_two();
        // A zero capacity never gets here: `Config::check` refuses it when the tracker is built.
        Self {
            shards: (0..shards).map(|_| Shard::default()).collect(),
            available: AtomicUsize::new(capacity),
            byte_budget,
            bytes_available: AtomicUsize::new(byte_budget),
            bytes_peak: AtomicUsize::new(0),
            // Small against the budget, so that reservations strand little of it.
            byte_chunk: (byte_budget / (shards * 16)).clamp(1, 64 << 10),
            // Small against the capacity, so that reservations strand little of it.
            chunk: (capacity / (shards * 16)).clamp(1, 256),
            wake_at: wake_at.clamp(1, capacity.div_ceil(2).max(1)),
            idle: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            wake: Notify::new(),
            control: Mutex::default(),
        }
    }

    /// Queues an event for the worker to process; never blocks beyond a shard lock held for a
    /// push or a swap.
    #[inline]
    pub(crate) fn push_event(&self, event: Event, bytes: usize) -> Result<(), Refused> {
        let mut staged = self.admit(bytes)?;
        staged.push(event);
        self.release(staged);
        Ok(())
    }

    /// Queues events the caller processed.
    pub(crate) fn push_ready(&self, ready: Ready, bytes: usize) -> Result<(), Refused> {
        let mut staged = self.admit(bytes)?;
        staged.ready.push(ready);
        self.release(staged);
        Ok(())
    }

    /// Locks this thread's shard and takes room for one item in it, or refuses.
    #[inline]
    pub(crate) fn admit(&self, bytes: usize) -> Result<MutexGuard<'_, Staged>, Refused> {
        let shard = &self.shards[shard_of_this_thread() & (self.shards.len() - 1)];
        let mut staged = lock(&shard.staged);
        // Read under the lock: the worker closes before draining every shard under it.
        if self.closed.load(Relaxed) {
            return Err(Refused::Closed);
        }
        if staged.byte_room < bytes {
            let need = bytes - staged.byte_room;
            staged.byte_room += self.reserve_bytes(need)?;
        }
        if staged.room == 0 {
            staged.room = self.reserve()?;
        }
        staged.room -= 1;
        staged.byte_room -= bytes;
        staged.bytes += bytes;
        staged.accepted += 1;
        Ok(staged)
    }

    /// Unlocks the shard after a push, waking a waiting worker if it holds a batch's worth.
    #[inline]
    pub(crate) fn release(&self, staged: MutexGuard<'_, Staged>) {
        // Read under the lock: a worker going idle sets the flag before it looks into the
        // shards under their locks, so either it sees these items or this push sees the flag.
        let wake = staged.len() >= self.wake_at && self.idle.load(Relaxed);
        drop(staged);
        if wake {
            self.wake_worker();
        }
    }

    /// Takes up to a chunk of the room left, for a shard to use up.
    #[cold]
    fn reserve(&self) -> Result<usize, Refused> {
        let chunk = self.chunk;
        match self.available.fetch_update(Relaxed, Relaxed, |room| (room > 0).then(|| room - room.min(chunk))) {
            Ok(room) => Ok(room.min(chunk)),
            Err(_) => Err(Refused::Full),
        }
    }
    /// Takes at least `need` bytes of the budget (a chunk when there is room for one).
    #[cold]
    fn reserve_bytes(&self, need: usize) -> Result<usize, Refused> {
        let want = need.max(self.byte_chunk);
        let before = self
            .bytes_available
            .fetch_update(Relaxed, Relaxed, |left| (left >= need).then(|| left - left.min(want)))
            .map_err(|_| Refused::OverByteBudget)?;
        let taken = before.min(want);
        self.bytes_peak.fetch_max(self.byte_budget - (before - taken), Relaxed);
        Ok(taken)
    }

    /// Worker side: gives back the budget of drained items once processed (see
    /// [`Drained::clear`]).
    pub(crate) fn release_bytes(&self, bytes: usize) {
        self.bytes_available.fetch_add(bytes, Relaxed);
    }

    /// Bytes held now (staged items, the room reserved by emitting threads since the last
    /// drain, and what the worker drained and has not processed yet: 0 once the worker has
    /// processed a drain that found nothing new), and the most ever held; neither exceeds the
    /// budget.
    pub(crate) fn bytes(&self) -> (usize, usize) {
        let held = self.byte_budget.saturating_sub(self.bytes_available.load(Relaxed));
        (held, self.bytes_peak.load(Relaxed))
    }

    /// Items accepted since the queue was made.
    pub(crate) fn accepted(&self) -> u64 {
        self.shards.iter().map(|shard| lock(&shard.staged).accepted).sum()
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

    /// Worker side: takes every shard's items into `out`, each list sorted by emit time (which
    /// keeps each thread's order and interleaves threads). Each shard gets an emptied buffer
    /// from `spares` in exchange, so a lock is held for a swap, never for a copy, and emitting
    /// threads push into memory that is already allocated.
    pub(crate) fn drain(&self, spares: &mut Spares, out: &mut Drained) {
        let mut taken = 0;
        let mut bytes = 0;
        let mut unused = 0;
        for shard in &self.shards {
            let mut staged = lock(&shard.staged);
            taken += staged.len();
            // The shard's unused byte reservation goes back too: otherwise a quiet tracker
            // reports a chunk per shard as queued (`Counts::queued_bytes`) with nothing pending.
            // The next emit on the shard reserves again, once per drain.
            bytes += std::mem::take(&mut staged.bytes);
            unused += std::mem::take(&mut staged.byte_room);
            if !staged.events.is_empty() {
                // The buffer drained longest ago, once a few are in rotation: the worker has read
                // what the last drains took, and an emitting thread writing into cache lines
                // another core holds waits for that core to let go of them.
                let spare = spares.next(self.wake_at);
                let mut full = std::mem::replace(&mut staged.events, spare);
                if out.events.is_empty() {
                    // The common case, one busy shard: no copy at all.
                    std::mem::swap(&mut out.events, &mut full);
                } else {
                    out.events.append(&mut full);
                }
                spares.buffers.push_back(full);
            }
            out.ready.append(&mut staged.ready);
        }
        spares.drained(out.events.len());
        self.available.fetch_add(taken, Relaxed);
        // What was reserved and not used is free now; what was drained, once processed.
        self.bytes_available.fetch_add(unused, Relaxed);
        out.bytes += bytes;
        out.events.sort_by_key(|event| event.stamp);
        out.ready.sort_by_key(|ready| ready.stamp);
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
        } || self.shards.iter().any(|shard| lock(&shard.staged).len() >= self.wake_at);
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

    fn event() -> Event {
        Event::new("e")
    }

    /// The lost-wakeup race: a worker about to wait and threads filling a shard. Every round
    /// must end with the worker woken (or never asleep): a lost wakeup hangs until the
    /// hour-long timeout and fails the test.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_shard_reaching_its_threshold_wakes_a_waiting_worker() {
        let queue = std::sync::Arc::new(Queue::new(1 << 20, 8, usize::MAX / 2));
        let mut spares = Spares::default();
        let mut out = Drained::default();
        for _ in 0..200 {
            let pusher = {
                let queue = queue.clone();
                std::thread::spawn(move || {
                    for _ in 0..8 {
                        assert!(queue.push_event(event(), 1).is_ok());
                    }
                })
            };
            tokio::time::timeout(Duration::from_secs(60), queue.wait(Duration::from_secs(3600)))
                .await
                .expect("the worker was woken");
            pusher.join().unwrap();
            queue.drain(&mut spares, &mut out);
            out.take().for_each(drop);
            queue.release_bytes(out.clear());
        }
    }

    #[test]
    fn a_full_queue_refuses_and_a_closed_one_too() {
        let queue = Queue::new(2, 500, usize::MAX / 2);
        assert!(queue.push_event(event(), 1).is_ok());
        assert!(queue.push_event(event(), 1).is_ok());
        assert!(matches!(queue.push_event(event(), 1), Err(Refused::Full)));
        let mut out = Drained::default();
        queue.drain(&mut Spares::default(), &mut out);
        assert_eq!(out.len(), 2);
        assert!(queue.push_event(event(), 1).is_ok(), "draining frees room");
        assert_eq!(queue.accepted(), 3, "refusals are not accepted");
        queue.close();
        assert!(matches!(queue.push_event(event(), 1), Err(Refused::Closed)));
    }

    /// Threads reserve room a chunk at a time; together they never hold more than the
    /// capacity, and what a drain takes is room again.
    #[test]
    fn the_bound_holds_across_threads() {
        let queue = std::sync::Arc::new(Queue::new(1000, 1 << 20, usize::MAX / 2));
        let accepted: usize = (0..4)
            .map(|_| {
                let queue = queue.clone();
                std::thread::spawn(move || (0..1000).filter(|_| queue.push_event(event(), 1).is_ok()).count())
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|pusher| pusher.join().unwrap())
            .sum();
        let mut out = Drained::default();
        queue.drain(&mut Spares::default(), &mut out);
        assert_eq!(out.len(), accepted);
        assert!(accepted <= 1000, "{accepted} queued past a capacity of 1000");
        // Reservations strand at most a chunk per shard.
        assert!(accepted >= 1000 - queue.chunk * queue.shards.len(), "{accepted}");
        assert_eq!(queue.accepted(), accepted as u64);
        assert!(queue.push_event(event(), 1).is_ok(), "the drain made room");
    }

    /// A drain takes back the byte room the shards reserved and did not use: once drained and
    /// processed, the queue holds no bytes.
    #[test]
    fn a_drain_returns_unused_byte_reservations() {
        let queue = Queue::new(100, 500, 1 << 20);
        queue.push_event(event(), 10).ok();
        let (held, _) = queue.bytes();
        assert!(held >= queue.byte_chunk, "a shard reserves a chunk at a time: {held}");
        let mut out = Drained::default();
        queue.drain(&mut Spares::default(), &mut out);
        assert_eq!(queue.bytes().0, 10, "the drained event is charged until processed");
        out.take().for_each(drop);
        queue.release_bytes(out.clear());
        assert_eq!(queue.bytes().0, 0);
        assert!(queue.push_event(event(), 10).is_ok(), "the next emit reserves again");
        assert!(queue.bytes().0 >= 10);
    }

    /// Buffers a burst grew are kept through the burst (no free and fault-in per drain), and
    /// shrunk once the drains have been small for a while.
    #[test]
    fn burst_grown_buffers_are_kept_then_shrunk_lazily() {
        let queue = Queue::new(1 << 20, 8, usize::MAX / 2);
        let mut spares = Spares::default();
        let mut out = Drained::default();
        let mut drain = |count: usize, spares: &mut Spares| {
            for _ in 0..count {
                assert!(queue.push_event(event(), 1).is_ok());
            }
            queue.drain(spares, &mut out);
            assert_eq!(out.len(), count);
            out.take().for_each(drop);
            queue.release_bytes(out.clear());
        };
        for _ in 0..SPARES + 2 {
            drain(20_000, &mut spares);
        }
        let largest = |spares: &Spares| spares.buffers.iter().map(Vec::capacity).max().unwrap_or(0);
        assert!(largest(&spares) >= 20_000, "kept through the burst: {}", largest(&spares));
        for _ in 0..200 {
            drain(3, &mut spares);
        }
        assert!(largest(&spares) <= 8 * 4, "shrunk once drains are small: {}", largest(&spares));
    }

    /// Ready items and events come out in emit order, whichever list they were in.
    #[test]
    fn drained_items_merge_in_emit_order() {
        let queue = Queue::new(100, 500, usize::MAX / 2);
        let first = event();
        let ready = Ready { stamp: Stamp::now(), wire: Vec::new() };
        let last = event();
        queue.push_event(last, 1).ok();
        queue.push_ready(ready, 1).ok();
        queue.push_event(first, 1).ok();
        let mut out = Drained::default();
        queue.drain(&mut Spares::default(), &mut out);
        let order: Vec<_> = out.take().map(|item| matches!(item, Item::Ready(_))).collect();
        assert_eq!(order, [false, true, false]);
    }
}
