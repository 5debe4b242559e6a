//! The cost of `#[tally::track_event]`: an annotated function against the same plain function,
//! with no tracker in the process and with one installed (delivering to a sink that discards).
//!
//! `cargo bench -p tally --bench macros`
//!
//! Divan runs the modules in name order: `no_tracker` before `with_tracker`, which installs
//! the process's default tracker (the check in `no_tracker` fails loudly if that ever changes).

use std::sync::OnceLock;

use divan::{Bencher, black_box};
use tally::sink::SinkFuture;
use tally::{
    Config, Context, Identity, Tracker,
    sink::{Sink, SinkError, WireEvent},
    tracker::TrackerGuard,
};

fn main() {
    divan::main();
}

struct Project {
    id: String,
}

fn project(name: &str) -> Result<Project, String> {
    if name.is_empty() { Err("a project needs a name".to_owned()) } else { Ok(Project { id: name.to_owned() }) }
}

#[inline(never)]
fn archive_plain(name: &str) -> Result<Project, String> {
    project(name)
}

#[inline(never)]
#[tally::track_event("project.archived", project_id = ret.id)]
fn archive_annotated(name: &str) -> Result<Project, String> {
    project(name)
}

/// Delivery that costs nothing, so that only the emitting side is measured.
struct Discard;

impl Sink for Discard {
    fn send<'a>(&'a self, _: &'a [WireEvent]) -> SinkFuture<'a, Result<(), SinkError>> {
        Box::pin(async { Ok(()) })
    }
}

/// The default tracker, installed once. Its queue is large enough that no emit of the run
/// takes the queue-full fast path.
fn installed() -> &'static Tracker {
    static GUARD: OnceLock<TrackerGuard> = OnceLock::new();
    let guard = GUARD.get_or_init(|| {
        let catalog = tally::catalog::Catalog::from_path(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/catalogs/timetracker.toml"
        ))
        .unwrap_or_else(|error| panic!("{error}"));
        Tracker::builder(catalog)
            .with_config(Config::default().queue_capacity(1 << 24).pseudonymization_key("bench-key"))
            .with_sink(Discard)
            .install()
            .unwrap_or_else(|error| panic!("{error}"))
    });
    guard.tracker().unwrap_or_else(|| panic!("the guard holds the tracker"))
}

/// Waits until the tracker's worker has processed everything emitted so far, so that one
/// benchmark's backlog does not compete with the next for the CPU.
fn settle(tracker: &Tracker) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
    let runtime = runtime.unwrap_or_else(|error| panic!("{error}"));
    runtime.block_on(tracker.flush());
    assert_eq!(tracker.counts().dropped_queue_full, 0, "the benchmark must not measure drops");
}

/// Emits per sample of the `with_tracker` benchmarks.
const SAMPLE: u32 = 500;

/// Times `f`, letting the worker drain between samples (untimed): every sample measures a
/// service whose worker keeps up, as in production.
fn bench_drained<O>(bencher: Bencher, tracker: &Tracker, mut f: impl FnMut() -> O) {
    bench_drained_with(bencher, tracker, || (), |()| f());
}

/// `bench_drained`, with an input made by `input` outside the timing.
fn bench_drained_with<I, O>(bencher: Bencher, tracker: &Tracker, mut input: impl FnMut() -> I, f: impl FnMut(I) -> O) {
    let mut n = 0u32;
    bencher
        .with_inputs(|| {
            if n.is_multiple_of(SAMPLE) {
                settle(tracker);
            }
            n += 1;
            input()
        })
        .bench_local_values(f);
}

mod no_tracker {
    use super::*;

    #[divan::bench(sample_count = 200, sample_size = 2000)]
    fn plain(bencher: Bencher) {
        bencher.bench_local(|| archive_plain(black_box("p-42")));
    }

    #[divan::bench(sample_count = 200, sample_size = 2000)]
    fn annotated(bencher: Bencher) {
        assert!(!tally::routing::is_active(), "this benchmark must run before any tracker exists");
        bencher.bench_local(|| archive_annotated(black_box("p-42")));
    }
}

mod with_tracker {
    use super::*;

    #[divan::bench(sample_count = 200, sample_size = 500)]
    fn plain(bencher: Bencher) {
        settle(installed());
        bencher.bench_local(|| archive_plain(black_box("p-42")));
    }

    /// Emits through the installed default tracker.
    #[divan::bench(sample_count = 200, sample_size = SAMPLE)]
    fn annotated(bencher: Bencher) {
        bench_drained(bencher, installed(), || archive_annotated(black_box("p-42")));
    }

    /// As a handler would: inside a request context with a user identity.
    #[divan::bench(sample_count = 200, sample_size = SAMPLE)]
    fn annotated_in_request_context(bencher: Bencher) {
        Context::new().with_identity(Identity::user("u-7")).with_request_id("req-1").sync_scope(|| {
            bench_drained(bencher, installed(), || archive_annotated(black_box("p-42")));
        });
    }

    /// Where the time goes, part 1: building the event the expansion builds (the runtime's
    /// `Event::with_capacity` reads the emit clock) and converting the property.
    #[divan::bench(sample_count = 200, sample_size = 500)]
    fn part_build_event(bencher: Bencher) {
        settle(installed());
        bencher.bench_local(|| {
            let mut event = tally::Event::with_capacity("project.archived", 1);
            event.insert("project_id", tally::convert::string(black_box("p-42")));
            event
        });
    }

    /// Where the time goes, part 2: handing a built event to the installed tracker.
    #[divan::bench(sample_count = 200, sample_size = SAMPLE)]
    fn part_emit_built_event(bencher: Bencher) {
        bench_drained_with(
            bencher,
            installed(),
            || tally::Event::with_capacity("project.archived", 1).with("project_id", "p-42"),
            tally::__private::emit,
        );
    }

    /// An `Err` without `on_err`: nothing is emitted.
    #[divan::bench(sample_count = 200, sample_size = 2000)]
    fn annotated_err(bencher: Bencher) {
        settle(installed());
        bencher.bench_local(|| archive_annotated(black_box("")));
    }
}
