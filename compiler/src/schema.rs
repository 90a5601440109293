//! JSON Schema of the configuration file, generated from [`crate::ast::Config`] (feature `schema`).

/// The schema as pretty-printed JSON with a trailing newline.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(crate::ast::Config);
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}
