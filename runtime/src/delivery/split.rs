//! A batch's progress through one sink, kept across retries: a batch refused with 400 is split
//! in halves, each sent again, down to the single events the server refuses on their own; when
//! a later part fails (the server went down halfway), the retry resumes with what is left
//! instead of sending the parts already delivered again.

use std::ops::Range;
use std::time::Duration;

use crate::sink::{Sink, SinkError, SinkErrorKind, SinkFuture, WireEvent};

/// What is left to send of one batch to one sink.
#[derive(Debug, Clone)]
pub(crate) struct Progress {
    /// Parts of the batch still to send, the next one last (a stack, so that a split pushes
    /// its halves in order).
    left: Vec<Range<usize>>,
    /// Events the server refused on their own (indices into the batch).
    refused: Vec<usize>,
}

impl Progress {
    /// Nothing sent yet of a batch of `len` events.
    pub(crate) fn new(len: usize) -> Self {
        // A list of parts, the whole batch the only one for now.
        let mut left = Vec::with_capacity(4);
        left.push(0..len);
        Self { left, refused: Vec::new() }
    }

    /// Whether every part was delivered (but the events refused on their own).
    pub(crate) fn is_done(&self) -> bool {
        self.left.is_empty()
    }

    /// Sends what is left, in order, each part within `timeout`; `prepared` is the whole batch's
    /// first request, made ahead of time. Stops at the first failure other than a 400, leaving
    /// the failed part to send on the next call.
    pub(crate) async fn send<'a>(
        &mut self,
        sink: &'a dyn Sink,
        batch: &'a [WireEvent],
        timeout: Duration,
        mut prepared: Option<SinkFuture<'a, Result<(), SinkError>>>,
    ) -> Result<(), SinkError> {
        while let Some(part) = self.left.pop() {
            let whole = part == (0..batch.len());
            let sending = match prepared.take() {
                Some(prepared) if whole => prepared,
                _ => sink.send(&batch[part.clone()]),
            };
            let result = match tokio::time::timeout(timeout, sending).await {
                Ok(result) => result,
                Err(_) => Err(SinkError::retryable(format!("no answer within {timeout:?}"))),
            };
            match result {
                Ok(()) => {}
                Err(error) if error.kind() == SinkErrorKind::BadRequest => {
                    if part.len() <= 1 {
                        if let Some(event) = batch.get(part.start) {
                            tracing::warn!(
                                target: "tally::delivery",
                                event = event.event.as_str(),
                                %error,
                                "the server refused this event (400); it is dropped and counted"
                            );
                        }
                        self.refused.extend(part);
                        continue;
                    }
                    let middle = part.start + part.len() / 2;
                    self.left.push(middle..part.end);
                    self.left.push(part.start..middle);
                }
                Err(error) => {
                    self.left.push(part);
                    return Err(error);
                }
            }
        }
        Ok(())
    }
}

/// Where a batch's events stand across all the sinks.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Taken by every sink (refused by none).
    pub(crate) delivered: u64,
    /// Refused on their own by a sink, and not waiting for any other.
    pub(crate) refused: u64,
    /// Still to send to at least one sink, in batch order.
    pub(crate) left: Vec<usize>,
}

impl Tally {
    /// Sorts each event of a batch of `len` by the sinks' progress.
    pub(crate) fn of(len: usize, progress: &[Progress]) -> Self {
        #[derive(Clone, Copy, PartialEq)]
        enum State {
            Delivered,
            Refused,
            Left,
        }
        let mut states = vec![State::Delivered; len];
        for sink in progress {
            for &index in &sink.refused {
                if let Some(state @ State::Delivered) = states.get_mut(index) {
                    *state = State::Refused;
                }
            }
        }
        for sink in progress {
            for part in &sink.left {
                for state in states.get_mut(part.clone()).into_iter().flatten() {
                    *state = State::Left;
                }
            }
        }
        let mut tally = Self::default();
        for (index, state) in states.into_iter().enumerate() {
            match state {
                State::Delivered => tally.delivered += 1,
                State::Refused => tally.refused += 1,
                State::Left => tally.left.push(index),
            }
        }
        tally
    }

    /// A batch of `len` events none of which was sent.
    pub(crate) fn none_delivered(len: u64) -> Self {
        Self { left: (0..len as usize).collect(), ..Self::default() }
    }

    /// The events still to send, taken out of the batch in order.
    pub(crate) fn take_left(&self, batch: Vec<WireEvent>) -> Vec<WireEvent> {
        if self.left.len() == batch.len() {
            return batch;
        }
        let mut left = self.left.iter().copied().peekable();
        batch
            .into_iter()
            .enumerate()
            .filter(|(index, _)| left.next_if_eq(index).is_some())
            .map(|(_, event)| event)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a test: failing loudly is the point

    use std::sync::Mutex;

    use super::*;

    /// A sink that refuses (400) any part holding the event named `bad`, fails its `fail_at`-th
    /// request (from 1) as a network error would, and records the events it took.
    struct Scripted {
        fail_at: usize,
        requests: Mutex<usize>,
        taken: Mutex<Vec<String>>,
    }

    impl Sink for Scripted {
        fn send<'a>(&'a self, batch: &'a [WireEvent]) -> SinkFuture<'a, Result<(), SinkError>> {
            Box::pin(async move {
                let request = {
                    let mut requests = self.requests.lock().unwrap();
                    *requests += 1;
                    *requests
                };
                if request == self.fail_at {
                    return Err(SinkError::retryable("connection reset"));
                }
                if batch.iter().any(|event| event.event == "bad") {
                    return Err(SinkError::bad_request("bad event"));
                }
                self.taken.lock().unwrap().extend(batch.iter().map(|event| event.event.to_string()));
                Ok(())
            })
        }
    }

    fn batch(names: &[&str]) -> Vec<WireEvent> {
        names
            .iter()
            .map(|name| WireEvent {
                uuid: uuid::Uuid::new_v4(),
                event: (*name).into(),
                distinct_id: "u".to_owned(),
                timestamp: chrono::Utc::now(),
                properties: crate::sink::WireProperties::new(),
            })
            .collect()
    }

    /// `[bad a b c]` is refused, then `[bad a]`, then `[bad]`; `[a]` is taken; `[b c]` hits a
    /// network failure. The retry sends `[b c]` only: `a` is not sent twice.
    #[tokio::test]
    async fn a_retry_after_a_split_resumes_with_what_is_left() {
        let sink = Scripted { fail_at: 5, requests: Mutex::new(0), taken: Mutex::new(Vec::new()) };
        let batch = batch(&["bad", "a", "b", "c"]);
        let mut progress = Progress::new(batch.len());
        let timeout = Duration::from_secs(5);
        assert!(progress.send(&sink, &batch, timeout, None).await.is_err());
        let tally = Tally::of(batch.len(), std::slice::from_ref(&progress));
        assert_eq!((tally.delivered, tally.refused, tally.left.as_slice()), (1, 1, &[2, 3][..]));
        let left: Vec<String> =
            tally.take_left(batch.clone()).into_iter().map(|event| event.event.to_string()).collect();
        assert_eq!(left, ["b", "c"]);

        progress.send(&sink, &batch, timeout, None).await.unwrap();
        assert!(progress.is_done());
        assert_eq!(*sink.taken.lock().unwrap(), ["a", "b", "c"], "each event taken once, in order");
        assert_eq!(*sink.requests.lock().unwrap(), 6);
        let tally = Tally::of(batch.len(), &[progress]);
        assert_eq!((tally.delivered, tally.refused, tally.left.len()), (3, 1, 0));
    }

    fn progress(left: Vec<Range<usize>>, refused: Vec<usize>) -> Progress {
        Progress { left, refused }
    }

    #[test]
    fn an_event_left_for_one_sink_is_left_even_if_another_refused_it() {
        let sinks = [progress(vec![], vec![1, 4]), progress(std::iter::once(4..6).collect(), vec![])];
        let tally = Tally::of(6, &sinks);
        assert_eq!((tally.delivered, tally.refused, tally.left.as_slice()), (3, 1, &[4, 5][..]));
    }

    #[test]
    fn nothing_sent_leaves_the_whole_batch() {
        let tally = Tally::of(3, &[Progress::new(3)]);
        assert_eq!((tally.delivered, tally.refused, tally.left.as_slice()), (0, 0, &[0, 1, 2][..]));
    }
}
