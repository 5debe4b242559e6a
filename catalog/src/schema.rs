//! The JSON Schema of the catalog format, for editors (Taplo, Even Better TOML) and CI.

use crate::model::CatalogFile;

/// The catalog format's JSON Schema (draft 2020-12), as generated from the model types.
pub fn format_schema() -> serde_json::Value {
    schemars::schema_for!(CatalogFile).to_value()
}
