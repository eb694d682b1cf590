//! Identifiers of the things inside an action tree.

use uuid::Uuid;

/// Identifier of an action within a tree.
pub type ActionId = Uuid;
/// Identifier of a link within a tree.
pub type LinkId = Uuid;
