//! The catalog model: events, properties, identity kinds, groups, categories, funnels.
//!
//! Read it through [`crate::Catalog`] and the accessors on these types (`&str`, `bool`,
//! `Copy` enums, iterators in file order). The fields are private: they are the parse tree,
//! which keeps every name's span for diagnostics, and it may change with any new catalog key.
//! The enums are `#[non_exhaustive]` and the lists of their values (`Role::ALL`,
//! `Fill::SIMPLE`) are slices: a catalog format that learns a new type, fill or role is a
//! minor release. Where an item is in the file is [`crate::Catalog::event_location`].
//!
//! Every key is documented in `docs/catalog.md`; the JSON Schema that editors use is derived
//! from these types (see [`crate::format_schema`]).
//!
//! What users cannot reach (each block must fail to compile):
//!
//! ```compile_fail
//! # let catalog = tally_catalog::Catalog::parse("c.toml", "[catalog]\nname = \"x\"\nversion = \"1.0.0\"\n").unwrap();
//! let _ = catalog.file(); // the parse tree
//! ```
//!
//! ```compile_fail
//! # let catalog = tally_catalog::Catalog::parse("c.toml", "[catalog]\nname = \"x\"\nversion = \"1.0.0\"\n").unwrap();
//! # let event = catalog.event("x").unwrap();
//! let _ = &event.properties; // a field: use `properties()`
//! ```
//!
//! ```compile_fail
//! fn name(privacy: tally_catalog::model::Privacy) -> &'static str {
//!     use tally_catalog::model::Privacy;
//!     match privacy { // non-exhaustive: a `_` arm is required
//!         Privacy::None | Privacy::Pseudonymize | Privacy::AnonymizeIp | Privacy::Drop | Privacy::Allowed => "",
//!     }
//! }
//! ```

pub(crate) mod access;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_spanned::Spanned;

/// A name as written in the catalog, with its position in the file.
pub(crate) type Name = Spanned<String>;

/// Per-item lint suppressions: rule id → the reason it does not apply here.
pub(crate) type Allow = IndexMap<String, String>;

/// The whole catalog file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "tally catalog", description = "A tally tracking plan (catalog.toml).")]
pub(crate) struct CatalogFile {
    /// Catalog metadata: name, version, wire namespace, naming convention.
    pub(crate) catalog: Meta,
    /// Which identity becomes the PostHog person (`distinct_id`), and what happens without one.
    #[serde(default)]
    pub(crate) identity: IdentityStrategy,
    /// PostHog groups (e.g. an organization), keyed by group type.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, Group>")]
    pub(crate) groups: IndexMap<Name, Group>,
    /// Retention classes that categories refer to.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, RetentionClass>")]
    pub(crate) retention: IndexMap<Name, RetentionClass>,
    /// Event categories.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, Category>")]
    pub(crate) categories: IndexMap<Name, Category>,
    /// Properties attached to every event (an envelope), usually filled automatically.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, PropertyDef>")]
    pub(crate) common: IndexMap<Name, PropertyDef>,
    /// Privacy rules that apply to the whole catalog.
    #[serde(default)]
    pub(crate) privacy: PrivacyRules,
    /// Severity overrides for lint rules: rule id → `allow`, `warn` or `error`.
    #[serde(default)]
    pub(crate) lints: IndexMap<String, LintLevel>,
    /// The events, keyed by their catalog name (without the wire namespace).
    #[serde(default)]
    #[schemars(with = "IndexMap<String, EventDef>")]
    pub(crate) events: IndexMap<Name, EventDef>,
    /// Funnels the dashboards should show, keyed by name.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, Funnel>")]
    pub(crate) funnels: IndexMap<Name, Funnel>,
    /// The history of this tracking plan, newest first.
    #[serde(default)]
    pub(crate) changelog: Vec<ChangelogEntry>,
}

/// `[catalog]`: what this tracking plan is.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Meta {
    /// A short name for the plan, e.g. `teleport`.
    #[schemars(with = "String")]
    pub(crate) name: Name,
    /// The plan's semantic version (`MAJOR.MINOR.PATCH`); bump it as `tally diff` says.
    #[schemars(with = "String")]
    pub(crate) version: Spanned<String>,
    /// What the plan covers.
    #[serde(default)]
    pub(crate) description: Option<String>,
    /// Who owns the plan.
    #[serde(default)]
    pub(crate) owner: Option<String>,
    /// A prefix put before every event and property name on the wire, e.g. `tp.`.
    #[serde(default)]
    #[schemars(with = "Option<String>", regex(pattern = r"^[a-z][a-z0-9_]*\.$"))]
    pub(crate) namespace: Option<Spanned<String>>,
    /// The naming convention event names follow.
    #[serde(default)]
    pub(crate) naming: Naming,
}

/// An event naming convention. Property names are always lower `snake_case`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[non_exhaustive]
pub enum Naming {
    /// Two or more dot-separated lower `snake_case` segments: `project.created`, `auth.login_failed`.
    #[default]
    #[serde(rename = "resource.action")]
    ResourceAction,
    /// One lower `snake_case` word: `account_registered`.
    #[serde(rename = "snake_case")]
    SnakeCase,
}

/// `[identity]`: the `distinct_id` strategy.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct IdentityStrategy {
    /// The identity kind that keys events, unless a category or event says otherwise.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub(crate) person: Option<Spanned<String>>,
    /// What to do with an event whose identity is unknown.
    #[serde(default)]
    pub(crate) on_missing: OnMissing,
    /// The identity kinds this application knows, keyed by kind (`user`, `account`, `agent`, …).
    #[serde(default)]
    #[schemars(with = "IndexMap<String, IdentityKindDef>")]
    pub(crate) kinds: IndexMap<Name, IdentityKindDef>,
}

impl Default for IdentityStrategy {
    fn default() -> Self {
        Self { person: None, on_missing: OnMissing::Anonymous, kinds: IndexMap::new() }
    }
}

/// What happens to an event whose `distinct_id` cannot be determined.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OnMissing {
    /// Drop the event and count it (`dropped{reason="no_identity"}`).
    Drop,
    /// Send it personless (`$process_person_profile: false`) under a random id.
    Personless,
    /// Use the request's anonymous id (from the middleware's cookie), else send it personless.
    #[default]
    Anonymous,
}

/// One identity kind, e.g. the license account or the principal.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "IdentityKind")]
pub struct IdentityKindDef {
    /// What this identity is and where it comes from.
    #[serde(default)]
    pub(crate) description: Option<String>,
    /// Where the value is set: per request (`request`) or once for the process (`process`).
    #[serde(default)]
    pub(crate) source: IdentitySource,
    /// The wire format of the `distinct_id`; `{id}` stands for the value, e.g. `tp.{id}`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub(crate) format: Option<Spanned<String>>,
    /// Replace the value by its keyed hash (HMAC-SHA256) before it leaves the process.
    #[serde(default)]
    pub(crate) pseudonymize: bool,
    /// The value is personal data (an email, a user name). Using it as `distinct_id` without
    /// `pseudonymize` is a lint error.
    #[serde(default)]
    pub(crate) personal: bool,
    /// When an event is keyed by this identity and the context also knows these identities,
    /// their `distinct_id`s are set as person properties (`$set`) to cross-link the persons.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub(crate) link: Vec<Spanned<String>>,
    /// Lint suppressions for this item.
    #[serde(default)]
    pub(crate) allow: Allow,
}

/// Where an identity's value comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum IdentitySource {
    /// Set per request, by the middleware's resolver or the application (`Context`).
    #[default]
    Request,
    /// Set once for the whole process at start-up (e.g. a license's account id).
    Process,
}

/// `[groups.<type>]`: a PostHog group type.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// What the group is.
    #[serde(default)]
    pub(crate) description: Option<String>,
    /// An event property that also carries the group key (e.g. `organization_id`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub(crate) property: Option<Spanned<String>>,
}

/// `[retention.<class>]`: how long events of a class are kept.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionClass {
    /// How long events are kept, e.g. `"2 years"`.
    #[schemars(with = "String", regex(pattern = r"^[1-9][0-9]* (day|week|month|year)s?$"))]
    pub(crate) period: Spanned<String>,
    /// When events move to cold storage, e.g. `"1 year"`.
    #[serde(default)]
    #[schemars(with = "Option<String>", regex(pattern = r"^[1-9][0-9]* (day|week|month|year)s?$"))]
    pub(crate) archive_after: Option<Spanned<String>>,
    /// Why this retention applies (compliance basis).
    #[serde(default)]
    pub(crate) reason: Option<String>,
}

/// `[categories.<name>]`: a functional area.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// What the category covers.
    #[serde(default)]
    pub(crate) description: Option<String>,
    /// The retention class of its events.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub(crate) retention: Option<Spanned<String>>,
    /// The identity kind that keys its events (overrides `identity.person`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub(crate) identity: Option<Spanned<String>>,
    /// Lint suppressions applied to the category and every event in it.
    #[serde(default)]
    pub(crate) allow: Allow,
}

/// `[privacy]`: catalog-wide privacy rules.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PrivacyRules {
    /// Scrub free-text string values of emails, IP addresses, bearer tokens and card-like
    /// numbers that no property classification caught. On by default.
    #[serde(default = "yes")]
    pub(crate) scrub_free_text: bool,
    /// The team's privacy rules in words, rendered into the generated docs.
    #[serde(default)]
    pub(crate) rules: Vec<String>,
}

impl Default for PrivacyRules {
    fn default() -> Self {
        Self { scrub_free_text: true, rules: Vec::new() }
    }
}

/// A lint severity override.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub(crate) enum LintLevel {
    /// Do not report.
    Allow,
    /// Report; `tally check` still succeeds.
    Warn,
    /// Report; `tally check` fails.
    Error,
}

/// `[events."<name>"]`: one event of the tracking plan.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Event")]
pub struct EventDef {
    /// What happened, in one sentence.
    #[serde(default)]
    pub(crate) description: Option<String>,
    /// When exactly it fires.
    #[serde(default)]
    pub(crate) trigger: Option<String>,
    /// The category it belongs to (a key of `[categories]`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub(crate) category: Option<Spanned<String>>,
    /// Who owns it.
    #[serde(default)]
    pub(crate) owner: Option<String>,
    /// The catalog version that introduced it.
    #[serde(default)]
    pub(crate) since: Option<String>,
    /// Set when the event should no longer be emitted.
    #[serde(default)]
    pub(crate) deprecated: Option<Deprecation>,
    /// Where the event originates: the server (default) or a client front end.
    #[serde(default)]
    pub(crate) origin: Origin,
    /// The identity kind that keys this event (overrides the category and `identity.person`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub(crate) identity: Option<Spanned<String>>,
    /// The role this event plays for the middleware (login, request completed, …).
    #[serde(default)]
    #[schemars(with = "Option<Role>")]
    pub(crate) role: Option<Spanned<Role>>,
    /// For the `request_failed` role: the status classes that make a request failed
    /// (`["5xx"]` when absent; `["4xx", "5xx"]` counts client errors as failures too).
    #[serde(default)]
    #[schemars(with = "Option<Vec<StatusClass>>")]
    pub(crate) failed_statuses: Option<Spanned<Vec<StatusClass>>>,
    /// The event's properties.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, PropertyDef>")]
    pub(crate) properties: IndexMap<Name, PropertyDef>,
    /// Person properties this event sets (`$set`).
    #[serde(default)]
    #[schemars(with = "IndexMap<String, PersonProperty>")]
    pub(crate) set: IndexMap<Name, PersonProperty>,
    /// Person properties this event sets only if not set yet (`$set_once`).
    #[serde(default)]
    #[schemars(with = "IndexMap<String, PersonProperty>")]
    pub(crate) set_once: IndexMap<Name, PersonProperty>,
    /// Lint suppressions for this event.
    #[serde(default)]
    pub(crate) allow: Allow,
}

/// Deprecation of an event.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Deprecation {
    /// The catalog version that deprecated it.
    #[serde(default)]
    pub(crate) since: Option<String>,
    /// The event to emit instead.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub(crate) replacement: Option<Spanned<String>>,
    /// Why it is deprecated.
    #[serde(default)]
    pub(crate) reason: Option<String>,
}

/// Where an event originates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Origin {
    /// Emitted by server code.
    #[default]
    Server,
    /// Emitted by a front end and accepted through a validating ingestion endpoint.
    Client,
}

/// A class of HTTP statuses, for an event's `failed_statuses`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, JsonSchema)]
#[non_exhaustive]
pub enum StatusClass {
    /// Client errors, `400`–`499`.
    #[serde(rename = "4xx")]
    ClientError,
    /// Server errors, `500`–`599`.
    #[serde(rename = "5xx")]
    ServerError,
}

impl StatusClass {
    /// The class as written in the catalog.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusClass::ClientError => "4xx",
            StatusClass::ServerError => "5xx",
        }
    }
}

/// The role an event plays for the middleware, which emits role events by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Role {
    /// A successful login.
    Login,
    /// A failed login attempt.
    LoginFailed,
    /// Every login attempt, successful or not (fill `success` tells which).
    LoginAttempt,
    /// A logout.
    Logout,
    /// A session that expired, as the application reports it.
    SessionExpired,
    /// An API request arrived (off by default in the middleware).
    RequestReceived,
    /// An API request completed without a server error.
    RequestCompleted,
    /// An API request failed.
    RequestFailed,
    /// An unhandled error (5xx, gRPC error, panic, ERROR-level trace).
    Error,
}

impl Role {
    /// Every role, in documentation order. A slice: a new role is not a breaking change.
    pub const ALL: &'static [Role] = &[
        Role::Login,
        Role::LoginFailed,
        Role::LoginAttempt,
        Role::Logout,
        Role::SessionExpired,
        Role::RequestReceived,
        Role::RequestCompleted,
        Role::RequestFailed,
        Role::Error,
    ];

    /// The role's name as written in the catalog.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Login => "login",
            Role::LoginFailed => "login_failed",
            Role::LoginAttempt => "login_attempt",
            Role::Logout => "logout",
            Role::SessionExpired => "session_expired",
            Role::RequestReceived => "request_received",
            Role::RequestCompleted => "request_completed",
            Role::RequestFailed => "request_failed",
            Role::Error => "error",
        }
    }
}

/// A property of an event, or a common property.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Property")]
pub struct PropertyDef {
    /// The value type.
    #[serde(rename = "type")]
    #[schemars(with = "PropertyType")]
    pub(crate) ty: Spanned<PropertyType>,
    /// The allowed values, for `type = "enum"` (or arrays with `items = "enum"`).
    #[serde(default)]
    pub(crate) values: Option<Vec<String>>,
    /// The item type, for `type = "array"`.
    #[serde(default)]
    pub(crate) items: Option<PropertyType>,
    /// Whether `null` is an allowed value.
    #[serde(default)]
    pub(crate) nullable: bool,
    /// Whether every event must carry it (default `true`). A property with `fill` is satisfied
    /// whenever its source is known at run time.
    #[serde(default = "yes")]
    pub(crate) required: bool,
    /// An empty string (or array) is a violation.
    #[serde(default)]
    pub(crate) non_empty: bool,
    /// The longest allowed string, in characters (or array, in items).
    #[serde(default)]
    pub(crate) max_length: Option<u32>,
    /// What the property means.
    #[serde(default)]
    pub(crate) description: Option<String>,
    /// How the value is treated before it leaves the process.
    #[serde(default)]
    pub(crate) privacy: Privacy,
    /// Why personal data is allowed to leave (required with `privacy = "allowed"`).
    #[serde(default)]
    pub(crate) reason: Option<String>,
    /// A value the pipeline fills in when the emitter does not give one.
    #[serde(default)]
    #[schemars(with = "Option<Fill>")]
    pub(crate) fill: Option<Spanned<Fill>>,
    /// Lint suppressions for this property.
    #[serde(default)]
    pub(crate) allow: Allow,
}

/// A property value type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PropertyType {
    /// UTF-8 text.
    String,
    /// A whole number (i64).
    Integer,
    /// Any number (f64).
    Number,
    /// `true` or `false`.
    Boolean,
    /// An RFC 3339 timestamp.
    Datetime,
    /// A UUID in its hyphenated form.
    Uuid,
    /// One of `values`.
    Enum,
    /// A list of `items`.
    Array,
    /// A free-form JSON object (scrubbed recursively).
    Object,
}

impl PropertyType {
    /// The type's name as written in the catalog.
    pub fn as_str(self) -> &'static str {
        match self {
            PropertyType::String => "string",
            PropertyType::Integer => "integer",
            PropertyType::Number => "number",
            PropertyType::Boolean => "boolean",
            PropertyType::Datetime => "datetime",
            PropertyType::Uuid => "uuid",
            PropertyType::Enum => "enum",
            PropertyType::Array => "array",
            PropertyType::Object => "object",
        }
    }
}

/// How a property's value is treated before it leaves the process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Privacy {
    /// Not personal data: sent as is (free text is still scrubbed).
    #[default]
    None,
    /// Replaced by its keyed hash (HMAC-SHA256, hex). Needs a key in the configuration.
    Pseudonymize,
    /// An IP address, sent with its host part zeroed (/24 for IPv4, /48 for IPv6).
    AnonymizeIp,
    /// Never sent.
    Drop,
    /// Personal data that is sent as is, with a written `reason`.
    Allowed,
}

impl Privacy {
    /// The class's name as written in the catalog.
    pub fn as_str(self) -> &'static str {
        match self {
            Privacy::None => "none",
            Privacy::Pseudonymize => "pseudonymize",
            Privacy::AnonymizeIp => "anonymize_ip",
            Privacy::Drop => "drop",
            Privacy::Allowed => "allowed",
        }
    }
}

/// A value the pipeline fills in automatically.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
#[non_exhaustive]
pub enum Fill {
    /// The event's UUID v7 (the one PostHog deduplicates on).
    EventId,
    /// The event's catalog name.
    EventName,
    /// The time of emission (RFC 3339).
    Timestamp,
    /// The catalog's version.
    CatalogVersion,
    /// The configured environment (`production`, `staging`, …).
    Environment,
    /// The configured release version of the application.
    Release,
    /// The configured service name (the component that generated the event).
    Service,
    /// The request id from the context.
    RequestId,
    /// The session id from the context.
    SessionId,
    /// How long the annotated function, span or request took, in milliseconds.
    DurationMs,
    /// The same duration, in seconds.
    DurationSecs,
    /// The request's HTTP method or `grpc`.
    Method,
    /// The route template (never the raw path) or gRPC method.
    Route,
    /// The HTTP status or gRPC code.
    Status,
    /// The request body size, when known.
    RequestSize,
    /// The response body size, when known.
    ResponseSize,
    /// The client's user agent.
    UserAgent,
    /// The client's IP address (anonymize it with `privacy = "anonymize_ip"`).
    ClientIp,
    /// The error's kind (`server_error`, `panic`, a gRPC code name, …).
    ErrorType,
    /// The error's sanitized message.
    ErrorMessage,
    /// The login failure reason.
    FailureReason,
    /// The login method (`password`, `sso`, `oidc`, …).
    LoginMethod,
    /// Whether the login attempt succeeded (for the `login_attempt` role).
    Success,
    /// The user name a login attempt gave. Personal data: the property needs a privacy class
    /// (`pseudonymize`, `drop`, or `allowed` with a reason).
    Username,
    /// How long the session that ended (logout, expiry) lasted, in seconds.
    SessionDurationSecs,
    /// The same session duration, in minutes.
    SessionDurationMins,
    /// When the session that ended last saw activity (RFC 3339).
    LastActivity,
    /// Why the session ended (`manual`, `timeout`, `forced`, …).
    LogoutReason,
    /// The device class derived from the user agent: `desktop`, `mobile`, `tablet` or `bot`.
    DeviceType,
    /// The browser name and major version derived from the user agent, e.g. `Firefox 133`.
    Browser,
    /// The event's category (a key of `[categories]`).
    Category,
    /// Where the process runs, as configured once at start-up (`library`, `cli`, `server`, …).
    Surface,
    /// The value of an identity kind from the context (`identity.user`).
    Identity(String),
    /// The key of a group from the context (`group.organization`).
    Group(String),
    /// A context property of the same name as the property.
    Context,
}

impl Fill {
    /// Every fill source without a parameter, as written in the catalog.
    pub const SIMPLE: &'static [(&'static str, Fill)] = &[
        ("event_id", Fill::EventId),
        ("event_name", Fill::EventName),
        ("timestamp", Fill::Timestamp),
        ("catalog_version", Fill::CatalogVersion),
        ("environment", Fill::Environment),
        ("release", Fill::Release),
        ("service", Fill::Service),
        ("request_id", Fill::RequestId),
        ("session_id", Fill::SessionId),
        ("duration_ms", Fill::DurationMs),
        ("duration_secs", Fill::DurationSecs),
        ("method", Fill::Method),
        ("route", Fill::Route),
        ("status", Fill::Status),
        ("request_size", Fill::RequestSize),
        ("response_size", Fill::ResponseSize),
        ("user_agent", Fill::UserAgent),
        ("client_ip", Fill::ClientIp),
        ("error_type", Fill::ErrorType),
        ("error_message", Fill::ErrorMessage),
        ("failure_reason", Fill::FailureReason),
        ("login_method", Fill::LoginMethod),
        ("success", Fill::Success),
        ("username", Fill::Username),
        ("session_duration_secs", Fill::SessionDurationSecs),
        ("session_duration_mins", Fill::SessionDurationMins),
        ("last_activity", Fill::LastActivity),
        ("logout_reason", Fill::LogoutReason),
        ("device_type", Fill::DeviceType),
        ("browser", Fill::Browser),
        ("category", Fill::Category),
        ("surface", Fill::Surface),
        ("context", Fill::Context),
    ];

    /// Whether this fill is a duration measured by the front door.
    pub fn is_duration(&self) -> bool {
        matches!(self, Fill::DurationMs | Fill::DurationSecs)
    }
}

impl std::fmt::Display for Fill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fill::Identity(kind) => write!(f, "identity.{kind}"),
            Fill::Group(kind) => write!(f, "group.{kind}"),
            other => {
                let name = Fill::SIMPLE.iter().find(|(_, fill)| fill == other).map(|(name, _)| *name);
                f.write_str(name.unwrap_or("context"))
            }
        }
    }
}

impl TryFrom<String> for Fill {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        if let Some(kind) = value.strip_prefix("identity.") {
            return Ok(Fill::Identity(kind.to_owned()));
        }
        if let Some(kind) = value.strip_prefix("group.") {
            return Ok(Fill::Group(kind.to_owned()));
        }
        if let Some((_, fill)) = Fill::SIMPLE.iter().find(|(name, _)| *name == value) {
            return Ok(fill.clone());
        }
        let mut valid: Vec<&str> = Fill::SIMPLE.iter().map(|(name, _)| *name).collect();
        valid.extend(["identity.<kind>", "group.<type>"]);
        let hint = crate::suggest::closest(&value, valid.iter().copied())
            .map(|best| format!("; did you mean `{best}`?"))
            .unwrap_or_default();
        Err(format!("unknown fill source `{value}`{hint} (valid: {})", valid.join(", ")))
    }
}

impl JsonSchema for Fill {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Fill".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<&str> = Fill::SIMPLE.iter().map(|(name, _)| *name).collect();
        schemars::json_schema!({
            "description": "A value the pipeline fills in: one of the names, `identity.<kind>` or `group.<type>`.",
            "anyOf": [
                { "enum": names },
                { "type": "string", "pattern": "^(identity|group)\\.[a-z][a-z0-9_]*$" }
            ]
        })
    }
}

/// A person property set by an event.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonProperty {
    /// Where the value comes from: `timestamp`, or `property.<name>` for one of the event's
    /// properties.
    #[schemars(with = "String")]
    pub(crate) from: Spanned<String>,
    /// Only set it when this event property is present (e.g. `connector_type`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub(crate) when: Option<Spanned<String>>,
    /// What the person property means.
    #[serde(default)]
    pub(crate) description: Option<String>,
}

/// `[funnels.<name>]`: a conversion funnel for the generated dashboard.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Funnel {
    /// What the funnel measures.
    #[serde(default)]
    pub(crate) description: Option<String>,
    /// The events, in order.
    #[schemars(with = "Vec<String>")]
    pub(crate) steps: Vec<Spanned<String>>,
}

/// `[[changelog]]`: one entry of the plan's history.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangelogEntry {
    /// The catalog version.
    pub(crate) version: String,
    /// The date, `YYYY-MM-DD`.
    #[serde(default)]
    pub(crate) date: Option<String>,
    /// What changed.
    pub(crate) changes: Vec<String>,
}

fn yes() -> bool {
    true
}
