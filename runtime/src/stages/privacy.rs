//! Privacy: each property's catalog treatment (`drop`, `pseudonymize`, `anonymize_ip`).
//! What the catalog leaves untreated is for the last gate ([`crate::gate`]), in `serialize`.

use serde_json::Value;
use tally_catalog::model::Privacy;

use super::Draft;
use crate::privacy::{self as engine, Pseudonymizer};
use crate::validate::Violation;
use crate::value::PropertyValue;

/// Applies the treatments in place.
pub(crate) fn privacy(draft: &mut Draft<'_>, pseudonymizer: Option<&Pseudonymizer>) {
    for (property, slot) in draft.plan.properties.iter().zip(draft.slots.iter_mut()) {
        let Some(value) = slot else { continue };
        match property.privacy {
            Privacy::None | Privacy::Allowed => {}
            Privacy::Drop => *slot = None,
            // Without a key (which `Tracker::build` refuses for such a catalog) the value is
            // withheld, never sent raw.
            Privacy::Pseudonymize => match pseudonymizer {
                Some(p) => pseudonymize(p, value),
                None => *slot = None,
            },
            Privacy::AnonymizeIp => {
                let anonymized = match &*value {
                    PropertyValue::Null => continue,
                    other => other.as_str().and_then(engine::anonymize_ip),
                };
                match anonymized {
                    Some(anonymized) => *value = PropertyValue::from(anonymized),
                    None => {
                        draft.violations.push(Violation::NotAnIp(property.name.to_string()));
                        *slot = None;
                    }
                }
            }
            // A class newer than this runtime: never sent.
            _ => *slot = None,
        }
    }
}

/// Replaces a value (each item of an array) by its keyed hash.
fn pseudonymize(p: &Pseudonymizer, value: &mut PropertyValue) {
    match value {
        PropertyValue::Null => {}
        PropertyValue::Text(text) => *value = PropertyValue::from(p.pseudonymize(text)),
        PropertyValue::Json(json) => pseudonymize_json(p, json),
        other => *other = PropertyValue::from(p.pseudonymize(&other.to_string())),
    }
}

fn pseudonymize_json(p: &Pseudonymizer, value: &mut Value) {
    match value {
        Value::Null => {}
        Value::String(text) => *text = p.pseudonymize(text),
        Value::Array(items) => items.iter_mut().for_each(|item| pseudonymize_json(p, item)),
        other => *other = Value::String(p.pseudonymize(&other.to_string())),
    }
}
