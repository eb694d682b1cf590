//! Routing documents: one versioned JSON format holding a routing with its versions. It is
//! what `export` writes, `import` reads and `validate` checks, and what tests use as fixtures.
//!
//! Documents carry no server identifiers or timestamps of their own (routing and version ids
//! are assigned on import); action and link identifiers are kept, so export → import → export
//! gives the same document.

use std::collections::HashSet;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::compile::{Compiled, Resolver, compile};
use crate::model::{self, ChannelFamily, Routing, RoutingKind, Version, VersionStatus, limits};
use crate::tree::Tree;

/// The `format` field of every routing document.
pub const FORMAT: &str = "switchyard.routing";
/// The current format version.
pub const FORMAT_VERSION: u32 = 1;
/// Largest document accepted, in bytes.
pub const MAX_BYTES: usize = 16 * 1024 * 1024;

/// A routing with its versions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingDocument {
    pub format: String,
    pub format_version: u32,
    pub routing: DocRouting,
    pub versions: Vec<DocVersion>,
}

/// The routing part of a document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocRouting {
    pub reference: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub kind: RoutingKind,
    pub channel_family: ChannelFamily,
}

/// One version of a document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocVersion {
    pub number: u32,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub status: VersionStatus,
    #[serde(default)]
    pub in_test: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_at: Option<Timestamp>,
    pub tree: Tree,
}

/// A document that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("the document is larger than {MAX_BYTES} bytes")]
    TooLarge,
    #[error("the document is not valid JSON: {0}")]
    Json(String),
    #[error("not a routing document: 'format' must be \"{FORMAT}\"")]
    WrongFormat,
    #[error("format_version {0} is newer than this server understands ({FORMAT_VERSION})")]
    TooNew(u64),
    #[error("invalid document at {path}: {message}")]
    Invalid { path: String, message: String },
}

/// Upgrades of older format versions, in order: entry `i` turns version `i + 1` into `i + 2`.
/// Version 1 is the first format, so there is none yet; when the format changes, the new
/// version's upgrade is appended here and old documents keep importing.
const UPGRADES: &[fn(Value) -> Value] = &[];

fn upgrade(mut doc: Value) -> Result<Value, DocumentError> {
    if doc.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(DocumentError::WrongFormat);
    }
    let version = doc
        .get("format_version")
        .and_then(Value::as_u64)
        .ok_or_else(|| DocumentError::Invalid {
            path: ".format_version".into(),
            message: "must be a positive integer".into(),
        })?;
    if version == 0 {
        return Err(DocumentError::Invalid {
            path: ".format_version".into(),
            message: "must be at least 1".into(),
        });
    }
    if version > u64::from(FORMAT_VERSION) {
        return Err(DocumentError::TooNew(version));
    }
    for step in &UPGRADES[(version - 1) as usize..] {
        doc = step(doc);
    }
    doc["format_version"] = Value::from(FORMAT_VERSION);
    Ok(doc)
}

/// Reads a document from JSON text, upgrading older formats.
pub fn parse(text: &str) -> Result<RoutingDocument, DocumentError> {
    if text.len() > MAX_BYTES {
        return Err(DocumentError::TooLarge);
    }
    let value: Value =
        serde_json::from_str(text).map_err(|e| DocumentError::Json(e.to_string()))?;
    from_value(value)
}

/// Reads a document from a JSON value, upgrading older formats.
pub fn from_value(value: Value) -> Result<RoutingDocument, DocumentError> {
    let value = upgrade(value)?;
    serde_path_to_error::deserialize(&value).map_err(|e| DocumentError::Invalid {
        path: e.path().to_string(),
        message: e.into_inner().to_string(),
    })
}

/// Writes a routing and its versions as a document (versions in number order).
pub fn export(routing: &Routing, versions: &[Version]) -> RoutingDocument {
    let mut versions: Vec<&Version> = versions.iter().collect();
    versions.sort_by_key(|v| v.record.number);
    RoutingDocument {
        format: FORMAT.to_owned(),
        format_version: FORMAT_VERSION,
        routing: DocRouting {
            reference: routing.reference.clone(),
            name: routing.name.clone(),
            description: routing.description.clone(),
            kind: routing.kind,
            channel_family: routing.channel_family,
        },
        versions: versions
            .into_iter()
            .map(|v| DocVersion {
                number: v.record.number,
                name: v.record.name.clone(),
                description: v.record.description.clone(),
                status: v.record.status,
                in_test: v.record.in_test,
                scheduled_at: v.record.scheduled_at,
                tree: v.tree.clone(),
            })
            .collect(),
    }
}

/// What checking a document found.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DocumentReport {
    /// Problems of the document as a whole (they prevent an import).
    pub problems: Vec<String>,
    /// Diagnostics per version, by version number.
    pub versions: Vec<VersionReport>,
}

/// The diagnostics of one version of a document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionReport {
    pub number: u32,
    pub name: String,
    pub status: VersionStatus,
    #[serde(flatten)]
    pub compiled: Compiled,
}

impl DocumentReport {
    /// Whether anything is an error.
    pub fn has_errors(&self) -> bool {
        !self.problems.is_empty() || self.versions.iter().any(|v| v.compiled.has_errors())
    }

    /// Human-readable lines, one per problem and diagnostic.
    pub fn lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .problems
            .iter()
            .map(|p| format!("error: {p}"))
            .collect();
        for v in &self.versions {
            for d in &v.compiled.diagnostics {
                let sev = match d.severity {
                    crate::Severity::Error => "error",
                    crate::Severity::Warning => "warning",
                };
                let at = d
                    .action_id
                    .map(|a| format!(" action {a}"))
                    .unwrap_or_default();
                let link = d.link_id.map(|l| format!(" link {l}")).unwrap_or_default();
                out.push(format!(
                    "{sev}: version {} '{}'{at}{link}: [{}] {}",
                    v.number, v.name, d.code, d.message
                ));
            }
        }
        out
    }
}

/// Checks a document: its own rules (fields, numbering, statuses) and every version's tree.
pub fn check(doc: &RoutingDocument, resolver: &dyn Resolver) -> DocumentReport {
    let mut problems = Vec::new();
    let r = &doc.routing;
    for e in [
        model::check_reference(&r.reference).err(),
        model::check_name("name", &r.name).err(),
        model::check_description(&r.description).err(),
    ]
    .into_iter()
    .flatten()
    {
        problems.push(format!("routing {e}"));
    }
    if doc.versions.len() > limits::VERSIONS_PER_ROUTING {
        problems.push(format!(
            "a routing holds at most {} versions; the document has {}",
            limits::VERSIONS_PER_ROUTING,
            doc.versions.len()
        ));
    }
    let mut numbers = HashSet::new();
    let mut productions = 0;
    let mut versions = Vec::new();
    for v in &doc.versions {
        let label = format!("version {} '{}'", v.number, v.name);
        if v.number == 0 || !numbers.insert(v.number) {
            problems.push(format!(
                "{label}: version numbers must be positive and unique"
            ));
        }
        if let Err(e) = model::check_name("name", &v.name) {
            problems.push(format!("{label}: {e}"));
        }
        if let Err(e) = model::check_description(&v.description) {
            problems.push(format!("{label}: {e}"));
        }
        if v.status != VersionStatus::Development && (v.in_test || v.scheduled_at.is_some()) {
            problems.push(format!(
                "{label}: only development versions can be in test or scheduled"
            ));
        }
        // the bounds tree edits keep hold for imported trees too
        let (actions, links) = (v.tree.actions.len(), v.tree.links.len());
        if actions > crate::tree::limits::ACTIONS || links > crate::tree::limits::LINKS {
            problems.push(format!(
                "{label}: a tree holds at most {} actions and {} links; this one has {actions} and {links}",
                crate::tree::limits::ACTIONS,
                crate::tree::limits::LINKS
            ));
        }
        let compiled = compile(&v.tree, r.channel_family, resolver);
        if v.status == VersionStatus::Production {
            productions += 1;
            if v.tree.is_blank() {
                problems.push(format!("{label}: a blank version cannot be in production"));
            }
            if compiled.has_errors() {
                problems.push(format!(
                    "{label}: a version with errors cannot be in production"
                ));
            }
        }
        versions.push(VersionReport {
            number: v.number,
            name: v.name.clone(),
            status: v.status,
            compiled,
        });
    }
    if productions > 1 {
        problems.push(format!(
            "{productions} versions are in production; at most one can be"
        ));
    }
    DocumentReport { problems, versions }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::NoResolver;

    fn doc(status: &str, tree: Value) -> Value {
        serde_json::json!({
            "format": FORMAT, "format_version": 1,
            "routing": {"reference": "R1", "name": "Support", "kind": "interaction_start", "channel_family": "messaging"},
            "versions": [{"number": 1, "name": "Main", "status": status, "tree": tree}]
        })
    }

    fn tree() -> Value {
        serde_json::json!({
            "actions": [
                {"id": "00000000-0000-0000-0000-000000000001", "type": "start", "params": {}},
                {"id": "00000000-0000-0000-0000-000000000002", "type": "simple_message", "params": {"message": "Hello"}}
            ],
            "links": [{"id": "00000000-0000-0000-0000-000000000003", "from": "00000000-0000-0000-0000-000000000001", "branch": "ok", "to": "00000000-0000-0000-0000-000000000002"}]
        })
    }

    #[test]
    fn parse_and_check() {
        let d = from_value(doc("production", tree())).unwrap();
        let report = check(&d, &NoResolver);
        assert!(!report.has_errors(), "{:?}", report.lines());
    }

    #[test]
    fn format_errors() {
        let mut v = doc("production", tree());
        v["format"] = "other".into();
        assert_eq!(from_value(v).unwrap_err(), DocumentError::WrongFormat);
        let mut v = doc("production", tree());
        v["format_version"] = 99.into();
        assert_eq!(from_value(v).unwrap_err(), DocumentError::TooNew(99));
        let mut v = doc("production", tree());
        v["routing"]["extra"] = 1.into();
        assert!(matches!(
            from_value(v).unwrap_err(),
            DocumentError::Invalid { .. }
        ));
        assert!(matches!(parse("{"), Err(DocumentError::Json(_))));
    }

    #[test]
    fn trees_beyond_the_edit_limits_are_refused() {
        let actions: Vec<Value> = std::iter::once(serde_json::json!({"id": uuid::Uuid::from_u128(1), "type": "start", "params": {}}))
            .chain((2..=(crate::tree::limits::ACTIONS as u128 + 1)).map(|n| serde_json::json!({"id": uuid::Uuid::from_u128(n), "type": "simple_message", "params": {"message": "hi"}})))
            .collect();
        let d = from_value(doc(
            "development",
            serde_json::json!({"actions": actions, "links": []}),
        ))
        .unwrap();
        let report = check(&d, &crate::compile::NoResolver);
        assert!(
            report
                .problems
                .iter()
                .any(|p| p.contains("at most 500 actions")),
            "{:?}",
            report.problems
        );
    }

    #[test]
    fn production_with_errors_is_a_problem() {
        let mut t = tree();
        t["actions"][1]["params"]["message"] = "".into();
        let d = from_value(doc("production", t.clone())).unwrap();
        let report = check(&d, &NoResolver);
        assert!(report.has_errors());
        assert_eq!(report.problems.len(), 1);
        // the same tree in development is reported, not refused as a document
        let d = from_value(doc("development", t)).unwrap();
        let report = check(&d, &NoResolver);
        assert!(report.problems.is_empty());
        assert!(report.has_errors());
        assert!(
            report
                .lines()
                .iter()
                .any(|l| l.contains("invalid_parameters"))
        );
    }
}
