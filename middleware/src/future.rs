//! The response future and body of [`TrackService`](crate::TrackService).

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Buf;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tally_runtime::context::Scoped;
use tally_runtime::routing::Routed;

use crate::classify::{Classify, ServiceFailure};
use crate::identity::ResolveIdentity;
use crate::layer::Completion;
use crate::login::DetectLogin;
use crate::record::Recorder;

pin_project! {
    /// The response future of [`TrackService`](crate::TrackService): the inner service's
    /// future `F`, not boxed, polled with the request context in scope and its panics caught.
    /// It asks nothing more of `F` than the inner service does (no `Send`, no `'static`).
    pub struct ResponseFuture<F, C: Classify, I, L> {
        #[pin]
        pub(crate) inner: Inner<F>,
        pub(crate) state: Option<Completion<C, I, L>>,
    }
}

pin_project! {
    /// The inner service's future, with or without the request context.
    #[project = InnerProj]
    pub(crate) enum Inner<F> {
        /// Polled with the request context in scope and its events routed to the request's tracker.
        Scoped { #[pin] future: CatchUnwind<Scoped<Routed<F>>> },
        /// No tracker: polled as is.
        Plain { #[pin] future: CatchUnwind<F> },
        /// The inner service's `call` panicked, or the future completed.
        Done,
    }
}

impl<F, C, I, L, B, E> Future for ResponseFuture<F, C, I, L>
where
    F: Future<Output = Result<http::Response<B>, E>>,
    C: Classify,
    I: ResolveIdentity,
    L: DetectLogin,
    B: Body,
{
    type Output = Result<http::Response<TrackBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let polled = match this.inner.as_mut().project() {
            InnerProj::Scoped { future } => ready!(future.poll(cx)),
            InnerProj::Plain { future } => ready!(future.poll(cx)),
            InnerProj::Done => Err(()),
        };
        let result = match polled {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(error)) => Err(Some(error)),
            Err(()) => Err(None),
        };
        // The handler's state goes now, not when the response future is dropped.
        this.inner.set(Inner::Done);
        match this.state.take() {
            Some(state) => Poll::Ready(state.complete(result)),
            // Polled again after completion: a contract violation, answered without panicking.
            None => Poll::Pending,
        }
    }
}

impl<F, C: Classify, I, L> fmt::Debug for ResponseFuture<F, C, I, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

pin_project! {
    /// Polls a future, turning a panic into `Err(())`.
    pub(crate) struct CatchUnwind<F> {
        #[pin]
        inner: F,
    }
}

impl<F> CatchUnwind<F> {
    pub(crate) fn new(inner: F) -> Self {
        Self { inner }
    }
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, ()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.project().inner;
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(_) => Poll::Ready(Err(())),
        }
    }
}

/// A gRPC response whose outcome is in its trailers: the request's events wait for them.
pub(crate) struct Eos {
    pub(crate) recorder: Recorder,
    pub(crate) classifier: Arc<dyn Classify>,
    pub(crate) bytes: u64,
}

pin_project! {
    /// The response body of [`TrackService`](crate::TrackService): the inner body as is (or
    /// an empty one in place of a panicked handler's). For a gRPC response whose status is in
    /// its trailers, it counts the bytes and emits the request's events at the end of the
    /// stream: on the trailers, at the end without trailers, on a body error, or when dropped
    /// before the end (the client went away: `cancelled`).
    pub struct TrackBody<B> {
        #[pin]
        inner: Option<B>,
        eos: Option<Box<Eos>>,
    }

    impl<B> PinnedDrop for TrackBody<B> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(eos) = this.eos.take() {
                let outcome = eos.classifier.classify_error(ServiceFailure::Cancelled);
                eos.recorder.finish(&outcome, Some(eos.bytes));
            }
        }
    }
}

impl<B> TrackBody<B> {
    pub(crate) fn new(inner: B, eos: Option<Box<Eos>>) -> Self {
        Self { inner: Some(inner), eos }
    }

    pub(crate) fn empty() -> Self {
        Self { inner: None, eos: None }
    }
}

impl<B> fmt::Debug for TrackBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrackBody").field("empty", &self.inner.is_none()).finish_non_exhaustive()
    }
}

impl<B: Body> Body for TrackBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let Some(mut inner) = this.inner.as_pin_mut() else { return Poll::Ready(None) };
        let result = ready!(inner.as_mut().poll_frame(cx));
        if let Some(eos) = this.eos {
            let outcome = match &result {
                Some(Ok(frame)) => match (frame.data_ref(), frame.trailers_ref()) {
                    (Some(data), _) => {
                        eos.bytes = eos.bytes.saturating_add(data.remaining() as u64);
                        // A server stops polling a body that says it has ended.
                        inner.is_end_stream().then(|| eos.classifier.classify_eos(None))
                    }
                    (None, Some(trailers)) => Some(eos.classifier.classify_eos(Some(trailers))),
                    (None, None) => None,
                },
                Some(Err(_)) => Some(eos.classifier.classify_error(ServiceFailure::Error)),
                None => Some(eos.classifier.classify_eos(None)),
            };
            if let Some(outcome) = outcome
                && let Some(eos) = this.eos.take()
            {
                eos.recorder.finish(&outcome, Some(eos.bytes));
            }
        }
        Poll::Ready(result)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Some(inner) => inner.size_hint(),
            None => SizeHint::with_exact(0),
        }
    }
}
