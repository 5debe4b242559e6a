//! Where the emit path's time goes: the wall clock, building a 5-property event, and one push
//! into the bounded channel the worker drains.
//!
//! `cargo bench -p tally-runtime --bench breakdown`

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: failing loudly is the point

use divan::Bencher;
use tally_runtime::Event;

fn main() {
    divan::main();
}

#[divan::bench(sample_count = 200, sample_size = 2000)]
fn wall_clock(b: Bencher) {
    b.bench_local(chrono::Utc::now);
}

/// Building and dropping the event: the drop happens on the worker in real use.
#[divan::bench(sample_count = 200, sample_size = 2000)]
fn build_event(b: Bencher) {
    let mut i = 0u64;
    b.bench_local(|| {
        i += 1;
        Event::with_capacity("project.created", 5)
            .with("project_id", "p-42")
            .with("project_name", "Apollo")
            .with("has_client", true)
            .with("member_count", i)
            .with("budget", 1250.5)
    });
}

#[divan::bench(sample_count = 200, sample_size = 2000)]
fn channel_push(b: Bencher) {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<[u64; 24]>(1 << 24);
    std::thread::spawn(move || {
        rt.block_on(async move {
            let mut batch = Vec::new();
            while rx.recv_many(&mut batch, 512).await > 0 {
                batch.clear();
            }
        })
    });
    b.bench_local(|| tx.try_send([0; 24]).unwrap());
}
