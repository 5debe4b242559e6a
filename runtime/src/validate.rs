//! Run-time validation of dynamic events (from tracing, raw names, front ends) against the
//! catalog. Events from `#[track_event]` are checked at compile time; their values still pass
//! here for what only run time knows (enum values, lengths).

use std::fmt;

use tally_catalog::model::PropertyType;

/// What happens to an event that breaks the catalog.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ValidationMode {
    /// The violation reaches the caller of `emit` as an error and the event is not sent.
    /// The default of test trackers: a test fails where the code is wrong.
    Strict,
    /// The event is dropped, counted (`dropped_invalid`) and logged (rate-limited).
    #[default]
    Drop,
    /// The event is sent with its violations in a `$tally_violations` property.
    Flag,
}

/// One way an event breaks the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Violation {
    /// The event is not in the catalog.
    UnknownEvent {
        /// The name emitted.
        event: String,
        /// The closest catalog name.
        suggestion: Option<String>,
    },
    /// A property the event does not declare.
    UnknownProperty(String),
    /// A required property neither given nor filled.
    MissingProperty(String),
    /// A value of the wrong type.
    WrongType {
        /// The property.
        property: String,
        /// The declared type.
        expected: PropertyType,
        /// What was given.
        found: &'static str,
    },
    /// A value outside the enum.
    NotInEnum {
        /// The property. (Never the value: a violation's text is logged and sent.)
        property: String,
    },
    /// `null` for a property that is not nullable.
    Null(String),
    /// An empty value for a `non_empty` property.
    Empty(String),
    /// A value longer than `max_length`.
    TooLong {
        /// The property.
        property: String,
        /// The declared maximum.
        max: u32,
        /// The actual length.
        length: usize,
    },
    /// A value for an `anonymize_ip` property that is not an IP address (it was removed).
    NotAnIp(String),
    /// A front end sent an event the catalog does not mark `origin = "client"`.
    NotAClientEvent(String),
    /// An identifier (`kind`: an identity kind, `anonymous`, `explicit`, `request_id`,
    /// `session_id`, `group.<type>`) looks personal (`rule`: email, ip address, …). Identifiers
    /// are never placeholdered, as that would merge people: the event is refused.
    PersonalIdentifier {
        /// Where the identifier came from.
        kind: String,
        /// What it looks like.
        rule: &'static str,
    },
    /// A `distinct_id` PostHog would not take as a person's id (`rule`: blank, too long, on
    /// its list of illegal ids).
    InvalidDistinctId {
        /// The identity kind it came from.
        kind: String,
        /// The rule it breaks.
        rule: &'static str,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::UnknownEvent { event, suggestion: Some(best) } => {
                write!(f, "unknown event `{event}` (did you mean `{best}`?)")
            }
            Violation::UnknownEvent { event, suggestion: None } => write!(f, "unknown event `{event}`"),
            Violation::UnknownProperty(p) => write!(f, "unknown property `{p}`"),
            Violation::MissingProperty(p) => write!(f, "missing required property `{p}`"),
            Violation::WrongType { property, expected, found } => {
                write!(f, "property `{property}` must be {}, found {found}", expected.as_str())
            }
            Violation::NotInEnum { property } => write!(f, "property `{property}` is not one of its allowed values"),
            Violation::Null(p) => write!(f, "property `{p}` is not nullable"),
            Violation::Empty(p) => write!(f, "property `{p}` must not be empty"),
            Violation::TooLong { property, max, length } => {
                write!(f, "property `{property}` is {length} long, over its max_length {max}")
            }
            Violation::NotAnIp(p) => write!(f, "property `{p}` is not an IP address"),
            Violation::NotAClientEvent(e) => write!(f, "`{e}` is not an event a client may send"),
            Violation::PersonalIdentifier { kind, rule } => write!(
                f,
                "the {kind} identifier looks personal ({rule}); identifiers are never scrubbed, so the event \
                 was refused: send an opaque id, or set `pseudonymize = true` on the identity kind in the catalog"
            ),
            Violation::InvalidDistinctId { kind, rule } => write!(
                f,
                "the distinct_id from identity `{kind}` breaks PostHog's rule `{rule}` (empty, blank, over 200 \
                 characters, or on its list of illegal ids), so the event was refused: give this identity a \
                 real id or leave it unset"
            ),
        }
    }
}

/// The violations of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violations {
    /// The event's catalog name.
    pub event: String,
    /// What is wrong, in property order.
    pub violations: Vec<Violation>,
}

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "event `{}` breaks the catalog: ", self.event)?;
        for (i, violation) in self.violations.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{violation}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Violations {}
