//! A subscriber's filter never switches analytics off in silence: a global `warn` filter gives
//! a start-up warning, and the documented setups deliver every event. Real subscriber stacks
//! (registry + EnvFilter + fmt + the layer), delivering to a receiver on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: failing loudly is the point

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tally_receiver::{ReceivedEvent, Receiver};
use tally_runtime::catalog::Catalog;
use tally_runtime::tracing_layer::TallyLayer;
use tally_runtime::{Config, Tracker};
use tracing::Dispatch;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;

mod common;

const WAIT: Duration = Duration::from_secs(20);

async fn setup() -> (Receiver, Tracker) {
    let receiver = common::receiver().await;
    let catalog = Catalog::from_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/catalogs/workflows.toml")).unwrap();
    let config = common::delivering_to(&receiver, Config::default());
    let tracker = Tracker::builder(catalog).with_config(config).build().unwrap();
    (receiver, tracker)
}

async fn delivered(receiver: &Receiver, tracker: &Tracker, count: usize) -> Vec<ReceivedEvent> {
    tracker.flush().await;
    receiver.wait_for_events(count, WAIT).await.unwrap_or_else(|e| panic!("{e}; counts: {}", tracker.counts()))
}

/// What the fmt layer printed.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// A handler's work: an info span with a tally event (closes after the info event in it) and
/// an info event outside any span, then a warn-level one.
fn emit_the_three() {
    tracing::info_span!("run", tally.event = "workflow.ran", workflow_id = "wf-span").in_scope(|| {
        tracing::info!(tally.event = "workflow.ran", workflow_id = "wf-in-span");
    });
    tracing::info!(tally.event = "workflow.ran", workflow_id = "wf-alone");
    tracing::warn!(tally.event = "workflow.ran", workflow_id = "wf-warn");
}

fn ids(events: &[ReceivedEvent]) -> Vec<&str> {
    let mut ids: Vec<&str> = events.iter().filter_map(|e| e.property("workflow_id")?.as_str()).collect();
    ids.sort_unstable();
    ids
}

#[tokio::test]
async fn a_global_warn_filter_gives_one_start_up_warning_naming_the_level_and_both_fixes() {
    let (receiver, tracker) = setup().await;
    let output = Captured::default();
    let subscriber = tracing_subscriber::registry()
        .with(EnvFilter::new("warn"))
        .with(tracing_subscriber::fmt::layer().with_writer(output.clone()).with_ansi(false))
        .with(TallyLayer::with_tracker(tracker.clone()));
    let _guard = tracing::subscriber::set_default(subscriber);
    let printed = output.text();
    assert_eq!(printed.matches("tally: the subscriber's global max level is warn").count(), 1, "{printed}");
    assert!(printed.contains(" WARN "), "{printed}");
    assert!(printed.contains("fmt::layer().with_filter(EnvFilter::new(\"warn\"))"), "{printed}");
    assert!(printed.contains("[{tally.event}]=trace"), "{printed}");
    emit_the_three();
    let events = delivered(&receiver, &tracker, 1).await;
    assert_eq!(ids(&events), ["wf-warn"], "the info-level events are what the filter hid");
}

/// Set in the child process of
/// `a_global_filter_added_after_the_tally_layer_gives_the_warning_at_the_first_event`.
const FILTER_AFTER_CHILD: &str = "TALLY_FILTER_AFTER_CHILD";

/// A filter added after (above) the tally layer is not in the hint the layer sees when it is
/// added; the global max level `tracing` computes at installation is read at the first event.
/// That level is process-wide (the most any subscriber enables), so the case runs in a child
/// process (this test binary, run again for this test alone) whose only subscriber is this one.
#[test]
fn a_global_filter_added_after_the_tally_layer_gives_the_warning_at_the_first_event() {
    if std::env::var_os(FILTER_AFTER_CHILD).is_some() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        return runtime.block_on(async {
            let (receiver, tracker) = setup().await;
            let output = Captured::default();
            tracing_subscriber::registry()
                .with(TallyLayer::with_tracker(tracker.clone()))
                .with(tracing_subscriber::fmt::layer().with_writer(output.clone()).with_ansi(false))
                .with(LevelFilter::WARN)
                .init();
            assert_eq!(output.text(), "", "not known when the subscriber is installed");
            tracing::warn!("the application's first warning");
            let printed = output.text();
            assert_eq!(printed.matches("tally: the subscriber's global max level is warn").count(), 1, "{printed}");
            emit_the_three();
            let printed = output.text();
            assert_eq!(printed.matches("tally: the subscriber's global max level").count(), 1, "once: {printed}");
            let events = delivered(&receiver, &tracker, 1).await;
            assert_eq!(ids(&events), ["wf-warn"], "the filter above the layer hid the info-level events");
        });
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "a_global_filter_added_after_the_tally_layer_gives_the_warning_at_the_first_event"])
        .args(["--nocapture", "--test-threads=1"])
        .env(FILTER_AFTER_CHILD, "1")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the child failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn an_info_filter_gives_no_warning() {
    let output = Captured::default();
    let subscriber = tracing_subscriber::registry()
        .with(EnvFilter::new("info"))
        .with(tracing_subscriber::fmt::layer().with_writer(output.clone()))
        .with(TallyLayer::new());
    let _guard = tracing::subscriber::set_default(subscriber);
    assert_eq!(output.text(), "");
}

#[tokio::test]
async fn a_per_layer_filter_on_fmt_keeps_the_logs_quiet_and_delivers_every_event() {
    let (receiver, tracker) = setup().await;
    let output = Captured::default();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(output.clone()).with_filter(EnvFilter::new("warn")))
        .with(TallyLayer::with_tracker(tracker.clone()));
    let _guard = tracing::subscriber::set_default(subscriber);
    emit_the_three();
    let events = delivered(&receiver, &tracker, 4).await;
    assert_eq!(ids(&events), ["wf-alone", "wf-in-span", "wf-span", "wf-warn"]);
    let printed = output.text();
    assert!(!printed.contains("wf-alone") && printed.contains("wf-warn"), "fmt still logs at warn: {printed}");
}

#[tokio::test]
async fn the_tally_event_directive_enables_every_tally_span_and_event() {
    let (receiver, tracker) = setup().await;
    let output = Captured::default();
    let subscriber = tracing_subscriber::registry()
        .with(EnvFilter::new("warn,[{tally.event}]=trace"))
        .with(tracing_subscriber::fmt::layer().with_writer(output.clone()))
        .with(TallyLayer::with_tracker(tracker.clone()));
    let _guard = tracing::subscriber::set_default(subscriber);
    assert_eq!(output.text(), "", "the directive raises the max level: no warning");
    emit_the_three();
    tracing::info!("an ordinary info line");
    let events = delivered(&receiver, &tracker, 4).await;
    assert_eq!(ids(&events), ["wf-alone", "wf-in-span", "wf-span", "wf-warn"]);
    let printed = output.text();
    assert!(!printed.contains("an ordinary info line"), "{printed}");
}

#[tokio::test]
async fn a_tally_callsite_the_global_level_hides_is_counted_when_it_registers() {
    // Another subscriber in the process enables every level, so the info callsite registers
    // with every dispatcher, the filtered one included.
    let _everything = Dispatch::new(tracing_subscriber::registry());
    let layer = TallyLayer::new();
    let subscriber = tracing_subscriber::registry().with(EnvFilter::new("warn")).with(layer.clone());
    let _guard = tracing::subscriber::set_default(subscriber);
    tracing::info!(tally.event = "workflow.ran", workflow_id = "hidden");
    let hidden = layer.hidden_callsites();
    tracing::warn!(tally.event = "workflow.ran", workflow_id = "seen");
    // At least this test's info callsite; the tests running beside it register theirs with
    // every dispatcher too, this one included.
    assert!(hidden >= 1, "{hidden}");
}
