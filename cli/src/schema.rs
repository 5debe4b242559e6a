//! `tally schema`: a JSON Schema (draft 2020-12) of each event's wire properties, and the
//! catalog format's own schema.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::{Map, Value, json};
use tally_catalog::Catalog;
use tally_catalog::model::{EventDef, PersonProperty, Privacy, PropertyDef, PropertyType};

use crate::error::CliError;
use crate::{load, output};

const EXAMPLES: &str = "\
Examples:
  tally schema catalog.toml                      # one JSON object: wire event name → schema
  tally schema catalog.toml --event user.login   # one event's schema
  tally schema catalog.toml -o schemas/          # schemas/<wire name>.schema.json per event
  tally schema --format-schema > catalog.schema.json

Each schema describes the `properties` object PostHog receives: wire names (with the catalog's
namespace), types, enums, nullability, required keys, non-empty and length limits, plus the
common properties and the `$set`/`$set_once` person properties. Properties with
privacy = \"drop\" are never sent and are left out; pseudonymized ones are hex strings.
Exit codes: 0 written, 1 the catalog does not load or has no such event, 2 a file could not be
read or written.";

const DRAFT: &str = "https://json-schema.org/draft/2020-12/schema";

/// Print a JSON Schema of each event's properties, or the catalog format's schema.
#[derive(Debug, clap::Args)]
#[command(after_help = EXAMPLES)]
pub(crate) struct Args {
    /// The catalog file (default: the current crate's, found as the macros find it).
    #[arg(value_name = "CATALOG", conflicts_with = "format_schema")]
    catalog: Option<PathBuf>,
    /// Only this event (its catalog name or its wire name).
    #[arg(long, value_name = "NAME")]
    event: Option<String>,
    /// Write one `<wire name>.schema.json` file per event into this directory.
    #[arg(short, long, value_name = "DIR")]
    output: Option<PathBuf>,
    /// Print the JSON Schema of the catalog format itself (for editors and CI) and exit.
    #[arg(long)]
    format_schema: bool,
}

/// Runs `tally schema`.
pub(crate) fn run(args: &Args) -> Result<ExitCode, CliError> {
    if args.format_schema {
        output::emit(&output::json(&tally_catalog::format_schema())?, args.output.as_deref())?;
        return Ok(ExitCode::SUCCESS);
    }
    let path = &load::catalog_path(args.catalog.as_deref())?;
    let catalog = load::catalog(path)?;
    let selected: Vec<(&str, &EventDef)> = match &args.event {
        Some(wanted) => {
            let found = catalog.events().find(|(name, _)| *name == wanted || catalog.wire_name(name) == *wanted);
            match found {
                Some(event) => vec![event],
                None => {
                    let hint = catalog
                        .closest_event(wanted.strip_prefix(catalog.namespace()).unwrap_or(wanted))
                        .map(|best| format!("; did you mean `{best}`?"))
                        .unwrap_or_default();
                    return Err(CliError::Invalid(format!(
                        "error: `{}` has no event `{wanted}`{hint}",
                        path.display()
                    )));
                }
            }
        }
        None => catalog.events().collect(),
    };

    match &args.output {
        Some(dir) => write_dir(&catalog, &selected, dir)?,
        None => {
            let value = if let [(name, event)] = selected.as_slice()
                && args.event.is_some()
            {
                event_schema(&catalog, name, event)
            } else {
                let all: Map<String, Value> = selected
                    .iter()
                    .map(|(name, event)| (catalog.wire_name(name), event_schema(&catalog, name, event)))
                    .collect();
                Value::Object(all)
            };
            output::stdout(&output::json(&value)?)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write_dir(catalog: &Catalog, events: &[(&str, &EventDef)], dir: &Path) -> Result<(), CliError> {
    if dir.is_file() {
        return Err(CliError::Run(format!("`{}` is a file; -o takes a directory for schemas", dir.display())));
    }
    for (name, event) in events {
        let wire = catalog.wire_name(name);
        let file = dir.join(format!("{}.schema.json", file_name(&wire)));
        output::write_file(&file, &output::json(&event_schema(catalog, name, event))?)?;
    }
    output::stderr(&format!("wrote {} to {}\n", output::plural(events.len(), "schema"), dir.display()));
    Ok(())
}

/// A file name for a wire event name: characters other than letters, digits, `.`, `-`, `_`
/// become `_`.
fn file_name(wire: &str) -> String {
    wire.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' }).collect()
}

/// The JSON Schema of one event's wire `properties`.
pub(crate) fn event_schema(catalog: &Catalog, name: &str, event: &EventDef) -> Value {
    let wire = catalog.wire_name(name);
    let mut properties = Map::new();
    let mut required = Vec::new();
    let all = catalog.common_properties().chain(event.properties());
    for (property_name, property) in all {
        if property.privacy() == Privacy::Drop {
            continue;
        }
        let key = catalog.wire_name(property_name);
        if property.required() && property.fill().is_none() && !required.contains(&key) {
            required.push(key.clone());
        }
        properties.insert(key, property_schema(property));
    }
    for (key, people) in [("$set", event.set().collect::<Vec<_>>()), ("$set_once", event.set_once().collect())] {
        if people.is_empty() {
            continue;
        }
        let people: Map<String, Value> = people
            .into_iter()
            .map(|(person, p)| (catalog.wire_name(person), person_schema(catalog, event, p)))
            .collect();
        properties.insert(
            key.to_owned(),
            json!({
                "type": "object",
                "description": format!("Person properties set with `{key}`."),
                "properties": people,
            }),
        );
    }
    let mut schema = Map::new();
    schema.insert("$schema".into(), json!(DRAFT));
    schema.insert("$id".into(), json!(format!("urn:tally:{}:{}:{wire}", catalog.name(), catalog.version())));
    schema.insert("title".into(), json!(wire));
    if let Some(description) = event.description() {
        schema.insert("description".into(), json!(crate::doc::one_line(description)));
    }
    if event.deprecated().is_some() {
        schema.insert("deprecated".into(), json!(true));
    }
    schema.insert("type".into(), json!("object"));
    schema.insert("properties".into(), Value::Object(properties));
    schema.insert("required".into(), json!(required));
    Value::Object(schema)
}

/// The schema of one property value as it is sent.
fn property_schema(property: &PropertyDef) -> Value {
    let mut schema = match property.privacy() {
        // The keyed hash (hex) replaces the value, whatever its type.
        Privacy::Pseudonymize => {
            let mut schema = Map::new();
            schema.insert("type".into(), json!("string"));
            schema.insert("pattern".into(), json!("^[0-9a-f]{64}$"));
            schema
        }
        _ => value_schema(property.ty(), property.items(), property.values()),
    };
    let ty = property.ty();
    let hashed = property.privacy() == Privacy::Pseudonymize;
    let is_string = !hashed && matches!(schema.get("type"), Some(Value::String(t)) if t == "string");
    if property.non_empty() {
        if ty == PropertyType::Array && !hashed {
            schema.insert("minItems".into(), json!(1));
        } else if is_string {
            schema.insert("minLength".into(), json!(1));
        }
    }
    if let Some(max) = property.max_length() {
        if ty == PropertyType::Array && !hashed {
            schema.insert("maxItems".into(), json!(max));
        } else if is_string {
            schema.insert("maxLength".into(), json!(max));
        }
    }
    if property.nullable() {
        make_nullable(&mut schema);
    }
    let mut description = property.description().map(crate::doc::one_line).unwrap_or_default();
    let note = match property.privacy() {
        Privacy::Pseudonymize => Some("Pseudonymized: the keyed hash (HMAC-SHA256, hex) of the value."),
        Privacy::AnonymizeIp => Some("An IP address with its host part zeroed."),
        _ => None,
    };
    if let Some(note) = note {
        if !description.is_empty() {
            description.push(' ');
        }
        description.push_str(note);
    }
    if !description.is_empty() {
        schema.insert("description".into(), json!(description));
    }
    Value::Object(schema)
}

fn value_schema(ty: PropertyType, items: Option<PropertyType>, values: Option<&[String]>) -> Map<String, Value> {
    let mut schema = Map::new();
    match ty {
        PropertyType::String => {
            schema.insert("type".into(), json!("string"));
        }
        PropertyType::Integer => {
            schema.insert("type".into(), json!("integer"));
        }
        PropertyType::Number => {
            schema.insert("type".into(), json!("number"));
        }
        PropertyType::Boolean => {
            schema.insert("type".into(), json!("boolean"));
        }
        PropertyType::Datetime => {
            schema.insert("type".into(), json!("string"));
            schema.insert("format".into(), json!("date-time"));
        }
        PropertyType::Uuid => {
            schema.insert("type".into(), json!("string"));
            schema.insert("format".into(), json!("uuid"));
        }
        PropertyType::Enum => {
            schema.insert("type".into(), json!("string"));
            schema.insert("enum".into(), json!(values.unwrap_or_default()));
        }
        PropertyType::Array => {
            schema.insert("type".into(), json!("array"));
            if let Some(items) = items.filter(|items| *items != PropertyType::Array) {
                schema.insert("items".into(), Value::Object(value_schema(items, None, values)));
            }
        }
        PropertyType::Object => {
            schema.insert("type".into(), json!("object"));
        }
        // A type newer than this tool: any value.
        _ => {}
    }
    schema
}

/// Adds `null` to a schema's type (and enum).
fn make_nullable(schema: &mut Map<String, Value>) {
    if let Some(Value::String(ty)) = schema.get("type").cloned() {
        schema.insert("type".into(), json!([ty, "null"]));
    }
    if let Some(Value::Array(values)) = schema.get_mut("enum") {
        values.push(Value::Null);
    }
}

fn person_schema(catalog: &Catalog, event: &EventDef, person: &PersonProperty) -> Value {
    let from = person.from();
    let mut schema = if from == "timestamp" {
        json!({ "type": "string", "format": "date-time" })
    } else if let Some(source) = from.strip_prefix("property.")
        && let Some(property) = catalog.property_of(event, source)
    {
        property_schema(property)
    } else {
        json!({})
    };
    if let (Some(description), Value::Object(map)) = (person.description(), &mut schema) {
        map.insert("description".into(), json!(crate::doc::one_line(description)));
    }
    schema
}
