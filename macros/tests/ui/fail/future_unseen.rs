use std::future::Future;
use std::pin::Pin;

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

fn main() {}
