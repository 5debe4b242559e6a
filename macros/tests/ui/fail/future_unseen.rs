use std::future::Future;
use std::pin::Pin;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

// A future whose completion the macro cannot see: refused at the attribute, and the
// arguments do not also warn as unused.
#[tally::track_event("export.finished", rows = count)]
fn ready_later(count: u32) -> impl Future<Output = u32> {
    std::future::ready(1)
}

#[tally::track_event("export.finished", rows = count)]
fn boxed_elsewhere(count: u32) -> Pin<Box<dyn Future<Output = u32> + Send>> {
    Box::pin(std::future::ready(1))
}

// `.boxed()` on a future that is not an async block written here.
#[tally::track_event("export.finished", rows = count)]
fn boxed_ready(count: u32) -> BoxFuture<'static, u32> {
    std::future::ready(1).boxed()
}

fn main() {}
