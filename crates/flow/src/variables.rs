//! Variable names: which roots are the system's (filled by the engine, read-only for routings).

/// Roots of the system variables, filled by the engine and read-only for routings.
pub const SYSTEM_ROOTS: &[&str] = &[
    "interaction",
    "customer",
    "channel",
    "entry_point",
    "last_message",
    "email",
    "now",
    "system",
];

/// Whether `path` names a system variable.
pub fn is_system_path(path: &str) -> bool {
    SYSTEM_ROOTS.contains(&path.split('.').next().unwrap_or_default())
}
