//! The field rules every record shares (names, descriptions, references and their limits) and
//! the channel family, which both routings and action types name.

use serde::{Deserialize, Serialize};

/// Limits that keep every stored object bounded.
pub mod limits {
    /// Longest name of a routing or a version, in characters.
    pub const NAME_MAX: usize = 200;
    /// Longest description, in characters.
    pub const DESCRIPTION_MAX: usize = 2_000;
    /// Longest routing reference, in characters.
    pub const REFERENCE_MAX: usize = 64;
    /// Most versions one routing may hold.
    pub const VERSIONS_PER_ROUTING: usize = 200;
    /// Most routings one deployment may hold.
    pub const ROUTINGS: u64 = 10_000;
}

/// The channel family a routing processes; fixed at creation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelFamily {
    Messaging,
    Email,
}

impl ChannelFamily {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelFamily::Messaging => "messaging",
            ChannelFamily::Email => "email",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "messaging" => Some(Self::Messaging),
            "email" => Some(Self::Email),
            _ => None,
        }
    }
}

/// A refused field value: which field, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

fn field_error(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field,
        message: message.into(),
    }
}

/// A name: at most [`limits::NAME_MAX`] characters (spaces included), not blank, no control
/// character. Returns it trimmed.
pub fn check_name(field: &'static str, name: &str) -> Result<String, FieldError> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(field_error(field, "must not be blank"));
    }
    if name.chars().count() > limits::NAME_MAX {
        return Err(field_error(
            field,
            format!("must be at most {} characters", limits::NAME_MAX),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(field_error(field, "must not contain control characters"));
    }
    Ok(trimmed.to_owned())
}

/// A description: at most [`limits::DESCRIPTION_MAX`] characters.
pub fn check_description(description: &str) -> Result<String, FieldError> {
    if description.chars().count() > limits::DESCRIPTION_MAX {
        return Err(field_error(
            "description",
            format!("must be at most {} characters", limits::DESCRIPTION_MAX),
        ));
    }
    Ok(description.trim().to_owned())
}

/// A reference code: a letter or digit, then letters, digits, `_`, `-` or `.`; at most
/// [`limits::REFERENCE_MAX`] characters. References are case-sensitive.
pub fn check_reference(reference: &str) -> Result<String, FieldError> {
    let ok_first = reference
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    let ok_rest = reference
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !ok_first || !ok_rest {
        return Err(field_error(
            "reference",
            "must start with a letter or digit and hold only letters, digits, '_', '-' and '.'",
        ));
    }
    if reference.len() > limits::REFERENCE_MAX {
        return Err(field_error(
            "reference",
            format!("must be at most {} characters", limits::REFERENCE_MAX),
        ));
    }
    Ok(reference.to_owned())
}
