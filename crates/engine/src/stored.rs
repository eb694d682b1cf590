//! The persisted form of [`State`]: its JSON with a `format` number, read back through one
//! upgrade chain, so a state saved by an older build continues where it stopped.
//!
//! To change the state's shape: bump [`STATE_FORMAT`] and add one step to [`UPGRADES`] that
//! turns the previous format's JSON into the new one (and a test that loads the old form).

use serde_json::{Map, Value};

use crate::State;

/// The format states are saved in.
pub const STATE_FORMAT: u64 = 2;

/// `UPGRADES[k]` turns format `k + 1` into format `k + 2`.
const UPGRADES: &[fn(&mut Map<String, Value>)] = &[v1_to_v2];

/// Format 1 (no `format` field): effects were untagged distribution requests, and the welcome
/// message of the customer routing rules sat in the cursor's memo.
fn v1_to_v2(state: &mut Map<String, Value>) {
    let Some(Value::Object(cursor)) = state.get_mut("cursor") else {
        return;
    };
    let welcome = match cursor.get_mut("memo") {
        Some(Value::Object(memo)) => memo.remove("welcome"),
        _ => None,
    };
    if let Some(Value::Object(effect)) = cursor.get_mut("effect") {
        effect.insert("effect".into(), Value::String("distribute".into()));
        if effect.get("distribute").and_then(Value::as_str) == Some("rules")
            && let Some(Value::String(w)) = welcome
            && !w.is_empty()
        {
            effect.insert("welcome".into(), Value::String(w));
        }
    }
    if matches!(cursor.get("memo"), Some(Value::Object(m)) if m.is_empty()) {
        cursor.insert("memo".into(), Value::Null);
    }
}

/// Why a stored state cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("the stored state is not a JSON object")]
    NotAnObject,
    #[error("the stored state has format {0}, newer than this build's {STATE_FORMAT}")]
    Newer(u64),
    #[error("the stored state cannot be read: {0}")]
    Invalid(#[from] serde_json::Error),
}

/// The state as it is saved.
pub fn save_state(state: &State) -> Value {
    let mut v = serde_json::to_value(state).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut v {
        map.insert("format".into(), Value::from(STATE_FORMAT));
    }
    v
}

/// Reads a saved state, upgrading an older format first.
pub fn load_state(stored: &Value) -> Result<State, StateError> {
    let Value::Object(map) = stored else {
        return Err(StateError::NotAnObject);
    };
    let mut map = map.clone();
    let format = match map.remove("format") {
        None => 1,
        Some(v) => v.as_u64().ok_or(StateError::NotAnObject)?,
    };
    if format > STATE_FORMAT {
        return Err(StateError::Newer(format));
    }
    for up in UPGRADES.iter().skip(format.saturating_sub(1) as usize) {
        up(&mut map);
    }
    Ok(serde_json::from_value(Value::Object(map))?)
}
