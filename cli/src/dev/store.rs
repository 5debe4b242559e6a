//! What `tally dev` keeps: the last events and refused requests in memory (bounded, oldest
//! dropped first and counted), the counters, and a broadcast of every change for the page.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use serde_json::Value;
use tally_receiver::{ReceivedEvent, Rejection};
use tokio::sync::broadcast;

use super::check::Finding;

/// How many changes a slow page may fall behind before its stream is closed (it reconnects
/// and starts again from a snapshot).
const BROADCAST_CAPACITY: usize = 1024;

/// One received event with what is wrong with it: the JSON shape of `/api/events`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct DevEvent {
    /// The order of arrival, from 1 since start or the last reset.
    pub(crate) seq: u64,
    /// When `tally dev` received it (RFC 3339, UTC).
    pub(crate) received_at: String,
    /// The endpoint it came in on, e.g. `/batch/`.
    pub(crate) path: String,
    pub(crate) uuid: Option<String>,
    /// The event name as sent (with the catalog's namespace).
    pub(crate) event: String,
    /// Its name in the catalog, when the catalog knows it.
    pub(crate) catalog_event: Option<String>,
    pub(crate) distinct_id: String,
    pub(crate) timestamp: Option<String>,
    pub(crate) properties: Value,
    /// Empty when the event is fine.
    pub(crate) violations: Vec<Finding>,
}

/// A request (or one event of it) PostHog would refuse: the JSON shape of `rejected` in
/// `/api/violations`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Refusal {
    /// The order of arrival, shared with events.
    pub(crate) seq: u64,
    pub(crate) received_at: String,
    pub(crate) path: String,
    /// The HTTP status PostHog answers (`200` for one oversized event in an accepted batch).
    pub(crate) status: u16,
    pub(crate) reason: String,
    /// The event's name, when one event is to blame.
    pub(crate) event: Option<String>,
    pub(crate) batch_index: Option<usize>,
    /// The start of the (decoded) body.
    pub(crate) body_excerpt: String,
}

impl Refusal {
    pub(crate) fn from_rejection(rejection: &Rejection, received_at: &str) -> Self {
        Self {
            seq: 0,
            received_at: received_at.to_owned(),
            path: rejection.path.clone(),
            status: rejection.status.as_u16(),
            reason: rejection.reason.clone(),
            event: rejection.event.clone(),
            batch_index: rejection.batch_index,
            body_excerpt: rejection.body_excerpt.clone(),
        }
    }
}

/// The counters the page shows: the JSON shape of `/api/counts`.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct Counts {
    /// Capture requests received.
    pub(crate) requests: u64,
    /// Events accepted (as PostHog would).
    pub(crate) events: u64,
    /// Of those, events with at least one violation.
    pub(crate) with_violations: u64,
    /// Requests refused, plus events dropped from accepted requests.
    pub(crate) rejected: u64,
    /// Events and refusals no longer kept because the store was full.
    pub(crate) evicted: u64,
    /// Events kept now.
    pub(crate) kept: usize,
    /// The most events kept.
    pub(crate) capacity: usize,
}

/// One change, as the live page receives it.
#[derive(Debug, Clone)]
pub(crate) enum Change {
    Event(Arc<DevEvent>, Counts),
    Refused(Arc<Refusal>, Counts),
    Reset(Counts),
}

/// Everything kept, newest last.
#[derive(Debug, Default)]
struct Inner {
    next_seq: u64,
    events: VecDeque<Arc<DevEvent>>,
    refused: VecDeque<Arc<Refusal>>,
    counts: Counts,
}

/// The in-memory store, shared by the routes.
#[derive(Debug)]
pub(crate) struct Store {
    inner: Mutex<Inner>,
    changes: broadcast::Sender<Change>,
    capacity: usize,
}

/// A consistent view: what is kept and the changes after it.
pub(crate) struct Snapshot {
    pub(crate) events: Vec<Arc<DevEvent>>,
    pub(crate) refused: Vec<Arc<Refusal>>,
    pub(crate) counts: Counts,
    pub(crate) changes: broadcast::Receiver<Change>,
}

impl Store {
    /// A store keeping the last `capacity` events (and as many refusals).
    pub(crate) fn new(capacity: usize) -> Self {
        let (changes, _) = broadcast::channel(BROADCAST_CAPACITY);
        let inner = Inner { counts: Counts { capacity, ..Counts::default() }, ..Inner::default() };
        Self { inner: Mutex::new(inner), changes, capacity: capacity.max(1) }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind: keep serving it.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts one capture request.
    pub(crate) fn count_request(&self) -> u64 {
        let mut inner = self.lock();
        inner.counts.requests += 1;
        inner.counts.requests
    }

    /// Keeps an accepted event.
    pub(crate) fn push_event(&self, mut event: DevEvent) {
        let mut inner = self.lock();
        inner.next_seq += 1;
        event.seq = inner.next_seq;
        inner.counts.events += 1;
        if !event.violations.is_empty() {
            inner.counts.with_violations += 1;
        }
        let event = Arc::new(event);
        inner.events.push_back(Arc::clone(&event));
        if inner.events.len() > self.capacity {
            inner.events.pop_front();
            inner.counts.evicted += 1;
        }
        inner.counts.kept = inner.events.len();
        // No page listening is fine: the change is kept all the same.
        let _ = self.changes.send(Change::Event(event, inner.counts));
    }

    /// Keeps a refused request (or dropped event).
    pub(crate) fn push_refusal(&self, mut refusal: Refusal) {
        let mut inner = self.lock();
        inner.next_seq += 1;
        refusal.seq = inner.next_seq;
        inner.counts.rejected += 1;
        let refusal = Arc::new(refusal);
        inner.refused.push_back(Arc::clone(&refusal));
        if inner.refused.len() > self.capacity {
            inner.refused.pop_front();
            inner.counts.evicted += 1;
        }
        let _ = self.changes.send(Change::Refused(refusal, inner.counts));
    }

    /// Forgets everything and starts counting again.
    pub(crate) fn reset(&self) -> Counts {
        let mut inner = self.lock();
        *inner = Inner { counts: Counts { capacity: self.capacity, ..Counts::default() }, ..Inner::default() };
        let _ = self.changes.send(Change::Reset(inner.counts));
        inner.counts
    }

    pub(crate) fn counts(&self) -> Counts {
        self.lock().counts
    }

    /// What is kept now, and a subscription to every change after it (taken under the same
    /// lock, so nothing falls between the two).
    pub(crate) fn snapshot(&self) -> Snapshot {
        let inner = self.lock();
        Snapshot {
            events: inner.events.iter().cloned().collect(),
            refused: inner.refused.iter().cloned().collect(),
            counts: inner.counts,
            changes: self.changes.subscribe(),
        }
    }

    /// Kept events that match, newest first.
    pub(crate) fn events(&self, keep: impl Fn(&DevEvent) -> bool) -> Vec<Arc<DevEvent>> {
        self.lock().events.iter().rev().filter(|event| keep(event)).cloned().collect()
    }

    /// Kept refusals, newest first.
    pub(crate) fn refused(&self) -> Vec<Arc<Refusal>> {
        self.lock().refused.iter().rev().cloned().collect()
    }

    /// Every distinct id merged with `id` into one person (by `$identify`, `$create_alias` or
    /// `$merge_dangerously`), `id` first.
    pub(crate) fn person_ids(&self, id: &str) -> Vec<String> {
        let links: Vec<(String, String)> = self.lock().events.iter().filter_map(|event| merge_link(event)).collect();
        let mut ids = vec![id.to_owned()];
        let mut seen: HashSet<String> = HashSet::from([id.to_owned()]);
        let mut next = 0;
        while next < ids.len() {
            let current = ids[next].clone();
            for (a, b) in &links {
                let other = if *a == current {
                    b
                } else if *b == current {
                    a
                } else {
                    continue;
                };
                if seen.insert(other.clone()) {
                    ids.push(other.clone());
                }
            }
            next += 1;
        }
        ids
    }
}

/// The two ids an event merges into one person, if it is a merge.
fn merge_link(event: &DevEvent) -> Option<(String, String)> {
    let key = match event.event.as_str() {
        "$identify" => "$anon_distinct_id",
        "$create_alias" | "$merge_dangerously" => "alias",
        _ => return None,
    };
    let other = event.properties.get(key)?.as_str()?;
    (!other.is_empty()).then(|| (event.distinct_id.clone(), other.to_owned()))
}

/// A received event, checked, ready to keep (its `seq` is set when kept).
pub(crate) fn dev_event(
    received: ReceivedEvent,
    catalog_event: Option<String>,
    violations: Vec<Finding>,
    received_at: &str,
) -> DevEvent {
    DevEvent {
        seq: 0,
        received_at: received_at.to_owned(),
        path: received.path,
        uuid: received.uuid,
        event: received.event,
        catalog_event,
        distinct_id: received.distinct_id,
        timestamp: received.timestamp,
        properties: received.properties,
        violations,
    }
}
