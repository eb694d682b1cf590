//! Routings and versions: the records, their field rules and their limits.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::tree::Tree;

/// Identifier of a smart routing.
pub type RoutingId = Uuid;
/// Identifier of a version.
pub type VersionId = Uuid;

pub use crate::fields::{
    ChannelFamily, FieldError, check_description, check_name, check_reference, limits,
};

/// When a routing is invoked; fixed at creation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoutingKind {
    InteractionStart,
    InteractionEnd,
}

impl RoutingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RoutingKind::InteractionStart => "interaction_start",
            RoutingKind::InteractionEnd => "interaction_end",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "interaction_start" => Some(Self::InteractionStart),
            "interaction_end" => Some(Self::InteractionEnd),
            _ => None,
        }
    }
}

/// A recorded failure of a scheduled production.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleFailure {
    pub version_id: VersionId,
    pub version_name: String,
    /// When the production was due.
    pub scheduled_at: Timestamp,
    /// When the failure was recorded.
    pub recorded_at: Timestamp,
    /// Stable code of the rule that refused the production (e.g. `version_has_errors`).
    pub code: String,
    pub message: String,
}

/// A smart routing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Routing {
    pub id: RoutingId,
    pub reference: String,
    pub name: String,
    pub description: String,
    pub kind: RoutingKind,
    pub channel_family: ChannelFamily,
    /// Bumped by every change to the routing or to the lifecycle of one of its versions.
    pub revision: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The last scheduled production that could not happen, if any.
    pub schedule_failure: Option<ScheduleFailure>,
}

/// Lifecycle status of a version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionStatus {
    Development,
    Production,
    Backup,
}

impl VersionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VersionStatus::Development => "development",
            VersionStatus::Production => "production",
            VersionStatus::Backup => "backup",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "development" => Some(Self::Development),
            "production" => Some(Self::Production),
            "backup" => Some(Self::Backup),
            _ => None,
        }
    }
}

/// A version without its tree: what lifecycle rules look at.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionRecord {
    pub id: VersionId,
    pub routing_id: RoutingId,
    /// 1, 2, 3… in creation order within the routing.
    pub number: u32,
    pub name: String,
    pub description: String,
    pub status: VersionStatus,
    pub in_test: bool,
    pub scheduled_at: Option<Timestamp>,
    /// Bumped by every change to the version (tree or lifecycle); the ETag of the version.
    pub revision: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A version with its action tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Version {
    #[serde(flatten)]
    pub record: VersionRecord,
    pub tree: Tree,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        assert!(check_reference("SALES_fr-1.2").is_ok());
        for bad in ["", "_x", "a b", "é", &"a".repeat(65)] {
            assert!(check_reference(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names() {
        assert_eq!(check_name("name", "  Main  ").unwrap(), "Main");
        assert!(check_name("name", "   ").is_err());
        assert!(check_name("name", &"x".repeat(201)).is_err());
        assert!(check_name("name", "a\u{0}b").is_err());
    }
}
