//! Turning a request's outcome into catalog role events. The middleware only sets facts (status,
//! sizes, error type, …), the duration and the context; the pipeline fills the catalog's
//! properties from them, so nothing here names a catalog property.

use std::borrow::Cow;
use std::cell::Cell;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use http::HeaderName;
use tally_runtime::catalog::model::{Role, StatusClass};
use tally_runtime::context::Context;
use tally_runtime::{Event, Fact, Identity, Tracker};

use crate::classify::Outcome;
use crate::client_ip::ClientIp;
use crate::login::{LoginOutcome, LogoutOutcome};
use crate::request_id::RequestIdMode;

/// A role's event: the catalog's, another name, or none.
#[derive(Debug, Clone)]
pub(crate) enum RoleName {
    Catalog,
    Named(Cow<'static, str>),
    Off,
}

/// The layer's settings, shared by every service it makes.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) tracker: Option<Tracker>,
    pub(crate) roles: [RoleName; Role::ALL.len()],
    /// `roles` resolved against the catalog of `tracker` when the layer is built (by
    /// [`Settings::resolve_roles`]): each request finds its event by index, without searching
    /// the catalog. `None` without a layer tracker (the tracker is then found per request).
    resolved: Option<[Option<Box<str>>; Role::ALL.len()]>,
    pub(crate) received: bool,
    /// Requests whose id hashes below this are sampled (`u64::MAX`: all).
    pub(crate) sample_threshold: u64,
    pub(crate) request_id_header: HeaderName,
    pub(crate) request_id: RequestIdMode,
    pub(crate) client_ip: ClientIp,
    pub(crate) unmatched_route: Cow<'static, str>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            tracker: None,
            roles: std::array::from_fn(|_| RoleName::Catalog),
            resolved: None,
            received: false,
            sample_threshold: u64::MAX,
            request_id_header: crate::request_id::X_REQUEST_ID,
            request_id: RequestIdMode::Set,
            client_ip: ClientIp::socket(),
            unmatched_route: Cow::Borrowed(UNMATCHED_ROUTE),
        }
    }
}

/// The route reported when no template is known.
pub(crate) const UNMATCHED_ROUTE: &str = "<unmatched>";

fn role_index(role: Role) -> usize {
    Role::ALL.iter().position(|r| *r == role).unwrap_or(0)
}

impl Settings {
    pub(crate) fn set_role(&mut self, role: Role, name: RoleName) {
        if let Some(slot) = self.roles.get_mut(role_index(role)) {
            *slot = name;
        }
    }

    /// Resolves every role to its event name for the layer's tracker, once: called whenever
    /// the layer's settings change, never per request.
    pub(crate) fn resolve_roles(&mut self) {
        self.resolved = self.tracker.as_ref().map(|tracker| {
            let catalog = tracker.catalog();
            std::array::from_fn(|i| match (&self.roles[i], Role::ALL.get(i)) {
                (RoleName::Off, _) | (_, None) => None,
                (RoleName::Named(name), _) => Some(name.as_ref().into()),
                (RoleName::Catalog, Some(role)) => catalog.role_event(*role).map(Box::from),
            })
        });
    }

    /// A new event for the event that plays `role` for this tracker's catalog, if any.
    fn new_event(&self, tracker: &Tracker, role: Role) -> Option<Event> {
        // With a layer tracker, `tracker` is it (the layer's tracker wins over one scoped around the service).
        if let Some(resolved) = &self.resolved {
            return resolved.get(role_index(role))?.as_deref().map(Event::named);
        }
        match self.roles.get(role_index(role))? {
            RoleName::Off => None,
            RoleName::Named(name) => Some(Event::new(name.clone())),
            // Copied inline (no allocation) when the name is short, as most are.
            RoleName::Catalog => tracker.role_event(role).map(Event::named),
        }
    }

    /// Whether a request with this id is sampled (deterministic: the same id, the same answer).
    /// A request without an id ([`RequestIdMode::Read`] or [`RequestIdMode::Off`]) is decided
    /// by its turn: a count per thread, mixed.
    pub(crate) fn sampled(&self, request_id: Option<&str>) -> bool {
        if self.sample_threshold == u64::MAX {
            return true;
        }
        let hash = match request_id {
            Some(id) => fnv1a(id.as_bytes()),
            None => {
                // Per thread: no counter shared by every core on the request path.
                thread_local!(static TURN: Cell<u64> = const { Cell::new(0) });
                let turn = TURN.with(|turn| turn.replace(turn.get().wrapping_add(1)));
                mix(mix(turn).wrapping_mul(0xc4ce_b9fe_1a85_ec53))
            }
        };
        hash < self.sample_threshold
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // FNV's low bits are weak for short similar inputs: mix once more.
    mix(hash)
}

/// Half of MurmurHash3's 64-bit finalizer: spreads every input bit over the high bits.
fn mix(mut hash: u64) -> u64 {
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^ (hash >> 33)
}

/// The tracker a request's events go to, held without a clone of its own where one is held
/// already.
pub(crate) enum Route {
    /// The layer's tracker, borrowed from the shared [`Settings`].
    Layer,
    /// The tracker scoped around the service when the request arrived (the recorder's own handle:
    /// the task-local it came from may be gone, or another, when the response future is polled).
    Scoped(Tracker),
    /// The installed default, borrowed ([`tally_runtime::routing::installed`]).
    Installed,
}

impl Route {
    /// A request's route: the layer's tracker, else the one scoped around the service, else the
    /// installed default.
    pub(crate) fn of_request(settings: &Settings) -> Self {
        if settings.tracker.is_some() {
            return Route::Layer;
        }
        tally_runtime::routing::scoped().map_or(Route::Installed, Route::Scoped)
    }

    /// The tracker it names (`None`: none is installed).
    pub(crate) fn tracker<'a>(&'a self, settings: &'a Settings) -> Option<&'a Tracker> {
        match self {
            Route::Layer => settings.tracker.as_ref(),
            Route::Scoped(tracker) => Some(tracker),
            Route::Installed => tally_runtime::routing::installed(),
        }
    }

    /// An owned handle for the inner future's task-local route (`None` for the installed
    /// default, which needs none).
    pub(crate) fn to_owned_handle(&self, settings: &Settings) -> Option<Tracker> {
        match self {
            Route::Installed => None,
            route => route.tracker(settings).cloned(),
        }
    }
}

/// One request's events: what is known from the request, emitted once the outcome is.
///
/// Its tracker is the request's [`Route`]: the layer's tracker and the installed default are
/// borrowed, so a request routed to either costs the recorder no tracker clone.
pub(crate) struct Recorder {
    pub(crate) settings: Arc<Settings>,
    pub(crate) context: Arc<Context>,
    pub(crate) route: Route,
    pub(crate) start: Instant,
    pub(crate) request_size: Option<u64>,
    pub(crate) sampled: bool,
}

impl Recorder {
    /// The request's tracker: the layer makes a recorder only when there is one, and neither the
    /// route nor the installed default goes away while the request runs.
    fn tracker(&self) -> Option<&Tracker> {
        self.route.tracker(&self.settings)
    }

    fn emit(&self, event: Event) {
        let Some(tracker) = self.tracker() else { return };
        if let Err(error) = tracker.emit(event) {
            // Counted by the tracker; logged for whoever debugs a catalog mismatch.
            tracing::debug!(target: "tally::middleware", %error, "event not accepted");
        }
    }

    fn event(&self, role: Role) -> Option<Event> {
        Some(self.settings.new_event(self.tracker()?, role)?.with_context(self.context.clone()))
    }

    /// `request_received`, when enabled and sampled.
    pub(crate) fn received(&self) {
        if !(self.settings.received && self.sampled) {
            return;
        }
        if let Some(mut event) = self.event(Role::RequestReceived) {
            if let Some(size) = self.request_size {
                event = event.with_fact(Fact::RequestSize, size);
            }
            self.emit(event);
        }
    }

    /// `request_completed` (sampled) or `request_failed`, plus `error` for a server error.
    pub(crate) fn finish(&self, outcome: &Outcome, response_size: Option<u64>) {
        let declared;
        let outcome = if !outcome.is_failure()
            && (400..500).contains(&outcome.status())
            && self.tracker().is_some_and(|tracker| tracker.catalog().fails_on(StatusClass::ClientError))
        {
            // The catalog's `failed_statuses` counts client errors as failures.
            declared = crate::classify::client_failure(outcome.status());
            &declared
        } else {
            outcome
        };
        let failure = outcome.failure_info();
        if failure.is_none() && !self.sampled {
            return;
        }
        let elapsed = self.start.elapsed();
        let role = if failure.is_some() { Role::RequestFailed } else { Role::RequestCompleted };
        if let Some(mut event) = self.event(role) {
            event = event.with_duration(elapsed).with_fact(Fact::Status, outcome.status());
            if let Some(size) = self.request_size {
                event = event.with_fact(Fact::RequestSize, size);
            }
            if let Some(size) = response_size {
                event = event.with_fact(Fact::ResponseSize, size);
            }
            if let Some(failure) = failure {
                event = event
                    .with_fact(Fact::ErrorType, failure.error_type().to_owned())
                    .with_fact(Fact::ErrorMessage, failure.message().to_owned());
            }
            self.emit(event);
        }
        if let Some(failure) = failure.filter(|f| f.is_server_error())
            && let Some(mut event) = self.event(Role::Error)
        {
            // One error, one event: the richer report of the failure (status, duration) wins over
            // the tracing layer's for an ERROR log in the same request, and takes its properties.
            if let Some(logged) = self.context.take_logged_error() {
                for (name, value) in logged.properties() {
                    if event.property(name).is_none() {
                        event.insert(name.to_owned(), value.clone());
                    }
                }
            }
            self.emit(
                event
                    .with_duration(elapsed)
                    .with_fact(Fact::Status, outcome.status())
                    .with_fact(Fact::ErrorType, failure.error_type().to_owned())
                    .with_fact(Fact::ErrorMessage, failure.message().to_owned()),
            );
        }
    }

    /// `$identify` and `login`, or `login_failed`; then `login_attempt` for either. After a
    /// successful login, the request's own remaining events (`request_completed`, …) are keyed
    /// by the identity that logged in.
    pub(crate) fn login(&mut self, outcome: &LoginOutcome) {
        let with_facts = |mut event: Event| {
            if let Some(reason) = outcome.reason() {
                event = event.with_fact(Fact::FailureReason, reason);
            }
            if let Some(method) = outcome.login_method() {
                event = event.with_fact(Fact::LoginMethod, method);
            }
            if let Some(username) = outcome.attempted_username() {
                event = event.with_fact(Fact::Username, username.to_owned());
            }
            event.with_fact(Fact::Success, outcome.is_success())
        };
        match outcome.identity() {
            Some(identity) => {
                if let Some(anonymous) = self.context.identity().get(Identity::ANONYMOUS)
                    && let Some(tracker) = self.tracker()
                    && let Err(error) = tracker.identify(anonymous, identity.clone())
                {
                    tracing::debug!(target: "tally::middleware", %error, "$identify not accepted");
                }
                let mut context = (*self.context).clone().with_identity(identity.clone());
                if let Some(session) = outcome.session() {
                    context = context.with_session_id(session);
                }
                self.context = Arc::new(context);
                if let Some(event) = self.event(Role::Login) {
                    self.emit(with_facts(event));
                }
            }
            None => {
                if let Some(event) = self.event(Role::LoginFailed) {
                    self.emit(with_facts(event));
                }
            }
        }
        if let Some(event) = self.event(Role::LoginAttempt) {
            self.emit(with_facts(event));
        }
    }

    /// `logout`, or `session_expired` for an expiry (else `logout` with reason `timeout`).
    pub(crate) fn logout(&self, outcome: &LogoutOutcome) {
        let Some(tracker) = self.tracker() else { return };
        let expired = outcome.is_expiry().then(|| self.settings.new_event(tracker, Role::SessionExpired));
        let Some(mut event) = expired.flatten().or_else(|| self.settings.new_event(tracker, Role::Logout)) else {
            return;
        };
        let now = SystemTime::now();
        event = event.with_fact(Fact::LogoutReason, outcome.logout_reason());
        if let Some(duration) = outcome.session_duration(now) {
            event = event.with_fact(Fact::SessionDuration, duration.as_secs_f64());
        }
        if let Some(at) = outcome.last_activity_at() {
            let at: chrono::DateTime<chrono::Utc> = at.into();
            event = event.with_fact(Fact::LastActivity, at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        }
        let context = match outcome.who() {
            Some(identity) => Arc::new((*self.context).clone().with_identity(identity.clone())),
            None => self.context.clone(),
        };
        self.emit(event.with_context(context));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_is_deterministic_and_close_to_the_rate() {
        let settings = Settings { sample_threshold: (u64::MAX as f64 * 0.25) as u64, ..Settings::default() };
        let ids: Vec<String> = (0..4000).map(|_| crate::request_id::generate()).collect();
        let kept = ids.iter().filter(|id| settings.sampled(Some(id))).count();
        assert!((800..1200).contains(&kept), "{kept} of 4000 at 25%");
        assert!(ids.iter().all(|id| settings.sampled(Some(id)) == settings.sampled(Some(id))));
        assert!(Settings::default().sampled(Some("anything")));
        assert!(Settings::default().sampled(None));
    }

    #[test]
    fn requests_without_an_id_are_sampled_close_to_the_rate() {
        let settings = Settings { sample_threshold: (u64::MAX as f64 * 0.25) as u64, ..Settings::default() };
        let kept = (0..4000).filter(|_| settings.sampled(None)).count();
        assert!((800..1200).contains(&kept), "{kept} of 4000 at 25%");
        let none = Settings { sample_threshold: 0, ..Settings::default() };
        assert!((0..100).all(|_| !none.sampled(None)));
    }
}
