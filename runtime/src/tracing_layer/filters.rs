//! A subscriber's filter never switches analytics off in silence.
//!
//! A global filter (an `EnvFilter` or a `LevelFilter` added as a layer, or a level on the
//! `fmt` builder) applies to every layer, tally's included, and a callsite above the global
//! max level is skipped by the `tracing` macros before any layer sees it. So the layer warns
//! once if the global max level hides INFO, the level tally events and `#[instrument]` spans
//! use, and counts a `tally.event` callsite that registers above that level anyway (another
//! subscriber in the process enabled it).
//!
//! When does it know the level? `tracing-core` keeps the stack's combined max level hint to
//! itself (`Dispatch::max_level_hint` is crate-private): a layer sees the hint of the stack
//! below it (`Layer::on_layer`), and, once the subscriber is installed, the global max level
//! (`LevelFilter::current()`, the most any installed subscriber enables). So: when the
//! subscriber is installed (`Layer::on_register_dispatch`), a filter below the layer that
//! hides INFO is warned about at once; otherwise, at the first span or event the layer sees
//! afterwards, `LevelFilter::current()` is read, which covers a filter added after (above) the
//! layer. That second check never warns wrongly; it misses a filter that only this subscriber
//! applies while another subscriber in the process (a scoped default on another thread)
//! enables INFO, and it waits for a first span or event at an enabled level.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};

use tracing::callsite::{Callsite, Identifier};
use tracing::dispatcher::WeakDispatch;
use tracing::field::{FieldSet, Value};
use tracing::level_filters::LevelFilter;
use tracing::metadata::Kind;
use tracing::subscriber::Interest;
use tracing::{Dispatch, Level, Metadata};

/// What the layer learned about the filters above it, shared by its clones.
#[derive(Debug, Default)]
pub(super) struct FilterCheck {
    /// The installed stack's max level, as `encode` writes it (0: not known yet).
    global: AtomicU8,
    hidden_callsites: AtomicU64,
    /// Installed, and the level is still to be read at the first span or event (`late_check`).
    pending: AtomicBool,
    /// The installed subscriber, for the late warning (weak: the layer lives inside it).
    installed: Mutex<Option<WeakDispatch>>,
}

impl FilterCheck {
    pub(super) fn new() -> Arc<Self> {
        Arc::default()
    }

    /// The layer was added on top of a stack with this max level (`None`: no filter).
    pub(super) fn layered_over(&self, hint: Option<LevelFilter>) {
        self.global.store(encode(hint.unwrap_or(LevelFilter::TRACE)), Relaxed);
    }

    /// The subscriber holding the layer was installed: warn at once when the filters below the
    /// layer hide the levels tally events use; otherwise read the global level at the first
    /// span or event (`late_check`), when `tracing-core` has computed it.
    pub(super) fn installed(&self, dispatch: &Dispatch) {
        if let Some(global) = decode(self.global.load(Relaxed))
            && global < LevelFilter::INFO
        {
            warn(dispatch, global);
            return;
        }
        *self.installed.lock().unwrap_or_else(PoisonError::into_inner) = Some(dispatch.downgrade());
        self.pending.store(true, Relaxed);
    }

    /// Whether the late check is still to be done: one relaxed load on every span and event.
    #[inline]
    pub(super) fn pending(&self) -> bool {
        self.pending.load(Relaxed)
    }

    /// The first span or event after installation: the global max level now includes the
    /// filters added after the layer.
    #[cold]
    pub(super) fn late_check(&self) {
        if !self.pending.swap(false, Relaxed) {
            return;
        }
        let dispatch = self.installed.lock().unwrap_or_else(PoisonError::into_inner).take();
        let global = LevelFilter::current();
        if global < LevelFilter::INFO {
            self.global.store(encode(global), Relaxed);
            if let Some(dispatch) = dispatch.and_then(|weak| weak.upgrade()) {
                warn(&dispatch, global);
            }
        }
    }

    /// A callsite registered: count it when it names a tally event the global level hides.
    pub(super) fn registered(&self, metadata: &Metadata<'_>) {
        let Some(global) = decode(self.global.load(Relaxed)) else { return };
        if global < *metadata.level() && metadata.fields().field(super::fields::EVENT_FIELD).is_some() {
            self.hidden_callsites.fetch_add(1, Relaxed);
        }
    }

    pub(super) fn hidden_callsites(&self) -> u64 {
        self.hidden_callsites.load(Relaxed)
    }
}

fn encode(level: LevelFilter) -> u8 {
    match level.into_level() {
        None => 1,
        Some(Level::ERROR) => 2,
        Some(Level::WARN) => 3,
        Some(Level::INFO) => 4,
        Some(Level::DEBUG) => 5,
        Some(_) => 6,
    }
}

fn decode(code: u8) -> Option<LevelFilter> {
    Some(match code {
        1 => LevelFilter::OFF,
        2 => LevelFilter::ERROR,
        3 => LevelFilter::WARN,
        4 => LevelFilter::INFO,
        5 => LevelFilter::DEBUG,
        6 => LevelFilter::TRACE,
        _ => return None,
    })
}

/// The start-up warning, sent straight to the subscriber being installed: it is not the
/// current one yet, and a `tracing` macro here could register a callsite while `tracing-core`
/// holds its dispatcher list locked. (The late warning, from inside a span or event callback,
/// goes the same way.)
fn warn(dispatch: &Dispatch, global: LevelFilter) {
    let text = format!(
        "tally: the subscriber's global max level is {global}: tally events and spans at INFO, DEBUG \
         or TRACE never reach the tally layer and are not sent. Put the level filter on the fmt layer \
         only (`fmt::layer().with_filter(EnvFilter::new(\"{global}\"))`), or add the directive \
         `[{{tally.event}}]=trace` to the EnvFilter (`RUST_LOG=\"{global},[{{tally.event}}]=trace\"`). \
         See docs/tracing.md."
    );
    let fields = WARNING.fields();
    let Some(message) = fields.field("message") else { return };
    let values = [(&message, Some(&format_args!("{text}") as &dyn Value))];
    let values = fields.value_set(&values);
    if dispatch.enabled(&WARNING) {
        dispatch.event(&tracing::Event::new(&WARNING, &values));
    }
}

struct WarningCallsite;

static WARNING_CALLSITE: WarningCallsite = WarningCallsite;

static WARNING: Metadata<'static> = Metadata::new(
    "tally filter warning",
    "tally::tracing_layer",
    Level::WARN,
    Some(file!()),
    Some(line!()),
    Some(module_path!()),
    FieldSet::new(&["message"], Identifier(&WARNING_CALLSITE)),
    Kind::EVENT,
);

impl Callsite for WarningCallsite {
    fn set_interest(&self, _: Interest) {}

    fn metadata(&self) -> &Metadata<'_> {
        &WARNING
    }
}
