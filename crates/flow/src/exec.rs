//! How an action runs. Each action type's file implements [`Run`] for its parameters; the
//! engine supplies a [`Cx`]: variables, time, randomness, the business objects it may read, and
//! a place to put what the action does (messages, events). Nothing here does IO.

use std::fmt::Debug;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::catalogue::params::Selector;
use crate::ids::ActionId;

/// An attachment sent by the customer. Its content type is sniffed from its bytes by the
/// channel, never taken from the sender's claim.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub content_type: String,
    pub url: String,
    pub size: u64,
}

/// A customer message, as the engine sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inbound {
    #[serde(default)]
    pub text: String,
    /// The button pressed, if the channel reports one (the 1-based choice number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choice: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// The email, on the email channel (the system variable `email`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Box<crate::email::Email>>,
}

/// A message to the customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outbound {
    Text {
        text: String,
    },
    /// A prompt with quick-reply buttons.
    Choice {
        text: String,
        choices: Vec<String>,
    },
}

/// What an action asks for after running.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Continue on this branch.
    Branch(&'static str),
    /// Suspend until a customer message arrives (when `message`) or `until` passes. `memo` is
    /// the action's own state, handed back on resume.
    Wait {
        message: bool,
        until: Option<Timestamp>,
        memo: Value,
    },
    /// Hand the interaction over to another routing (Distribution to a smart routing). The
    /// engine resolves it; `fallback` names the branch for each refusal.
    HandOver { routing: Selector },
    /// Ask the runtime to do something outside the engine (distribute to a queue or a user)
    /// and suspend until its result comes back as [`Wake::Result`]. Customer messages meanwhile
    /// are recorded, not given to the action (they are for the agent). `memo` is the action's
    /// own state; the request is kept in the state so it can be performed again after a crash.
    Effect {
        effect: crate::effect::Effect,
        memo: Value,
    },
    /// Take this branch and end the routing there, linked or not (*Transfer the email* that
    /// closes the interaction).
    End(&'static str),
    /// The action cannot run in this build (its channel or integration is not available yet):
    /// the interaction ends with a visible error.
    Unavailable(&'static str),
}

/// What wakes a waiting action.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Wake<'a> {
    Message(&'a Inbound),
    /// `until` passed.
    Timeout,
    /// The result of the action's effect.
    Result(&'a crate::effect::EffectResult),
}

/// What looking up a business object found.
#[derive(Clone, Debug, PartialEq)]
pub enum Found<T> {
    Yes(T),
    NotFound,
}

/// The world as an action sees it.
pub trait Cx {
    fn now(&self) -> Timestamp;
    /// A uniformly distributed number from the interaction's seeded generator.
    fn random(&mut self) -> u64;
    /// The time zone of the deployment (for dates without one).
    fn time_zone(&self) -> &jiff::tz::TimeZone;
    /// The region used to read phone numbers without a country code (ISO 3166 alpha-2).
    fn phone_region(&self) -> &str;
    /// Renders `{{ variable.field }}` placeholders once; values are inserted as text and never
    /// rendered again.
    fn render(&self, template: &str) -> String;
    /// A variable or field.
    fn get(&self, path: &str) -> Option<&Value>;
    /// Sets a variable or field (creating the variable if needed). System variables are
    /// read-only: setting one is refused with the reason.
    fn set(&mut self, path: &str, value: Value) -> Result<(), String>;
    /// Records why the last action failed, in the system variable `system.error`.
    fn set_error(&mut self, reason: &str);
    /// Records the interaction's case (none: it has none now), in the system variable `case`.
    fn set_case(&mut self, case: Option<&crate::effect::CaseView>);
    /// Records the invoice found (none: none was), in the system variable `bill`.
    fn set_bill(&mut self, bill: Option<&crate::effect::InvoiceView>);
    /// Records the interaction's CRM card (none: it has none now), in the system variable
    /// `card`.
    fn set_card(&mut self, card: Option<&crate::effect::CardView>);
    /// Whether a branch of the running action is linked.
    fn is_linked(&self, branch: &str) -> bool;
    /// Sends a message to the customer.
    fn send(&mut self, message: Outbound);
    /// Counts one more passage of the interaction through `action`; returns the new count.
    fn count_passage(&mut self, action: ActionId) -> u32;
    /// Resets the passage counter of `action` to zero.
    fn reset_passages(&mut self, action: ActionId);
    /// The action being run.
    fn action(&self) -> ActionId;
    /// Resolves a reference code given statically or read from a variable.
    fn reference(&self, selector: &Selector) -> Option<String> {
        match selector {
            Selector::Entity { id } => Some(id.0.clone()),
            Selector::Reference { reference } => Some(reference.0.clone()),
            Selector::ReferenceFromVariable { variable } => self
                .get(&variable.0)
                .map(value_text)
                .filter(|s| !s.is_empty()),
        }
    }
    /// Tags the interaction with a checkpoint.
    fn add_checkpoint(&mut self, checkpoint: &Selector) -> Found<()>;
    /// The value a values table gives `key`: `Yes(None)` when the key is in the table without a
    /// value, `NotFound` when the table does not exist or the key is not in it (seed 003 §6.3:
    /// *Reference not found* / *No value*).
    fn value_table(&self, table: &Selector, key: &str) -> Found<Option<String>>;
    /// Whether a calendar is open now.
    fn calendar_open(&self, calendar: &Selector) -> Found<bool>;
    /// How many contacts the customer had since `since`, this one excluded.
    fn contacts_since(&self, since: Timestamp) -> u32;
}

pub use crate::variables::{SYSTEM_ROOTS, is_system_path};

/// The email of the running interaction (`None` outside email interactions).
pub fn email_of(cx: &dyn Cx) -> Option<crate::email::Email> {
    cx.get("email")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
}

/// Text of a variable value: strings as they are, numbers and booleans printed, null empty.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Reads a date or date-time written by a person or stored by an action: RFC 3339
/// (`2026-06-01T10:00:00+02:00`), ISO civil (`2026-06-01T10:00:00`, `2026-06-01 10:00`,
/// `2026-06-01`) taken in `tz`, or day-first dates (`01/06/2026`, `01-06-2026`, `01.06.2026`).
pub fn parse_when(text: &str, tz: &jiff::tz::TimeZone) -> Option<jiff::Zoned> {
    let text = text.trim();
    if text.is_empty() || text.len() > 64 {
        return None;
    }
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Some(ts.to_zoned(tz.clone()));
    }
    if let Ok(z) = text.parse::<jiff::Zoned>() {
        return Some(z);
    }
    let civil = text.replacen(' ', "T", 1);
    if let Ok(dt) = civil.parse::<jiff::civil::DateTime>() {
        return dt.to_zoned(tz.clone()).ok();
    }
    parse_date(text).and_then(|d| d.to_zoned(tz.clone()).ok())
}

/// Reads a calendar date: ISO (`2026-06-01`) or day first (`01/06/2026`, `1-6-2026`, `01.06.2026`).
pub fn parse_date(text: &str) -> Option<jiff::civil::Date> {
    let text = text.trim();
    if let Ok(d) = text.parse::<jiff::civil::Date>() {
        return Some(d);
    }
    let parts: Vec<&str> = text.split(['/', '-', '.']).collect();
    if parts.len() != 3 || parts[2].len() != 4 || parts[0].len() > 2 || parts[1].len() > 2 {
        return None;
    }
    let n = |s: &str| s.parse::<i16>().ok();
    let (day, month, year) = (n(parts[0])?, n(parts[1])?, n(parts[2])?);
    jiff::civil::Date::new(year, i8::try_from(month).ok()?, i8::try_from(day).ok()?).ok()
}

/// Whether the ISO week of `when` has an even number. ISO weeks run Monday to Sunday and week 1
/// holds the year's first Thursday, so a year has 52 or 53 weeks: after a week 53 (odd) comes
/// week 1 (odd) again, and parity does not strictly alternate across that boundary.
pub fn iso_week_is_even(when: &jiff::Zoned) -> bool {
    when.date().iso_week_date().week() % 2 == 0
}

/// Writes an instant for a variable: RFC 3339 with the offset of its time zone.
pub fn format_when(when: &jiff::Zoned) -> String {
    when.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// How an action runs. Implemented in each action type's file.
pub trait Run: Send + Sync + Debug {
    /// Runs the action from its start.
    fn run(&self, cx: &mut dyn Cx) -> Step;
    /// Resumes a waiting action with its memo.
    fn resume(&self, _cx: &mut dyn Cx, _memo: &Value, _wake: Wake<'_>) -> Step {
        Step::Unavailable("this action does not wait")
    }
}

/// Renders `{{ path }}` placeholders of `template` with `lookup`, once, left to right. Text
/// inserted from variables is never scanned again.
pub fn render(template: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        out.push_str(&lookup(after[..end].trim()).unwrap_or_default());
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        let paris = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
        let d = |s: &str| parse_when(s, &paris).map(|z| format_when(&z));
        assert_eq!(
            d("2026-06-01").as_deref(),
            Some("2026-06-01T00:00:00+02:00")
        );
        assert_eq!(
            d("01/06/2026").as_deref(),
            Some("2026-06-01T00:00:00+02:00")
        );
        assert_eq!(d("1.6.2026").as_deref(), Some("2026-06-01T00:00:00+02:00"));
        assert_eq!(
            d("2026-06-01 10:30").as_deref(),
            Some("2026-06-01T10:30:00+02:00")
        );
        assert_eq!(
            d("2026-06-01T08:00:00Z").as_deref(),
            Some("2026-06-01T10:00:00+02:00")
        );
        for bad in [
            "",
            "31/02/2026",
            "2026-13-01",
            "tomorrow",
            "1/1/26",
            "99999999999",
        ] {
            assert_eq!(d(bad), None, "{bad}");
        }
    }

    #[test]
    fn iso_week_parity_across_a_week_53() {
        let utc = jiff::tz::TimeZone::UTC;
        let even = |s: &str| iso_week_is_even(&parse_when(s, &utc).unwrap());
        // 2026 has 53 ISO weeks: 28 Dec 2026 is in week 53 (odd), 4 Jan 2027 in week 1 (odd)
        assert!(!even("2026-12-28"));
        assert!(!even("2027-01-04"));
        assert!(even("2027-01-11"));
        // 1 Jan 2027 (a Friday) still belongs to 2026-W53
        assert!(!even("2027-01-01"));
        assert!(even("2026-12-21"));
    }

    #[test]
    fn render_once() {
        let lookup = |p: &str| match p {
            "customer.name" => Some("{{ secret.value }}".to_owned()),
            "secret.value" => Some("leaked".to_owned()),
            _ => None,
        };
        assert_eq!(
            render("Hi {{ customer.name }}!", &lookup),
            "Hi {{ secret.value }}!"
        );
        assert_eq!(
            render("{{missing}}x{{ customer.name", &lookup),
            "x{{ customer.name"
        );
        assert_eq!(render("plain", &lookup), "plain");
    }
}
