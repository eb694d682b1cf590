use super::prelude::*;
use crate::email::Priority;

/// Branches on the priority of the inbound email.
///
/// Designed here (the seed names it only). The priority is read from the headers, their names
/// in any case, the first one present in this order deciding:
///
/// | header | High | Normal | Low |
/// |---|---|---|---|
/// | `X-Priority` (its leading digit) | 1, 2 | 3 | 4, 5 |
/// | `Importance` (RFC 2156) | `high` | `normal` | `low` |
/// | `Priority` (RFC 2156) | `urgent` | `normal` | `non-urgent` |
/// | `X-MSMail-Priority` | `high` | `normal` | `low` |
///
/// A value that is none of these is passed over; no header at all (or an interaction that is no
/// email, such as a preview) is *Normal*.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestEmailPriority {}

impl ActionType for TestEmailPriority {
    const TYPE: &'static str = "test_email_priority";
    const LABEL: &'static str = "Test an email priority";
    const CATEGORY: Category = Category::Interconnection;
    const FAMILIES: &'static [crate::ChannelFamily] = EMAIL;
    const DESCRIPTION: &'static str = "Branches on the priority the sender gave the email (High, Normal, Low).";
    const BRANCHES: &'static [BranchDef] = branches![high "High", normal "Normal", low "Low"];
    runs_itself!();
}

impl Run for TestEmailPriority {
    /// The priority the channel read when the email arrived ([`priority_of`]).
    fn run(&self, cx: &mut dyn Cx) -> Step {
        let priority = crate::exec::email_of(cx).map(|e| e.priority).unwrap_or_default();
        Step::Branch(priority.as_str())
    }
}

/// The priority given by an email's headers (name, value), as the table above says.
pub fn priority_of<'a>(headers: impl IntoIterator<Item = (&'a str, &'a str)> + Clone) -> Priority {
    const ORDER: [&str; 4] = ["x-priority", "importance", "priority", "x-msmail-priority"];
    for wanted in ORDER {
        for (name, value) in headers.clone() {
            if !name.trim().eq_ignore_ascii_case(wanted) {
                continue;
            }
            let value = value.trim().to_ascii_lowercase();
            let found = match wanted {
                "x-priority" => match value.chars().next() {
                    Some('1' | '2') => Some(Priority::High),
                    Some('3') => Some(Priority::Normal),
                    Some('4' | '5') => Some(Priority::Low),
                    _ => None,
                },
                "priority" => match value.as_str() {
                    "urgent" => Some(Priority::High),
                    "normal" => Some(Priority::Normal),
                    "non-urgent" => Some(Priority::Low),
                    _ => None,
                },
                _ => match value.as_str() {
                    "high" => Some(Priority::High),
                    "normal" => Some(Priority::Normal),
                    "low" => Some(Priority::Low),
                    _ => None,
                },
            };
            if let Some(p) = found {
                return p;
            }
        }
    }
    Priority::Normal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_map_to_priorities_in_any_case() {
        let p = |h: &[(&'static str, &'static str)]| priority_of(h.iter().copied());
        assert_eq!(p(&[("X-Priority", "1 (Highest)")]), Priority::High);
        assert_eq!(p(&[("x-priority", "2")]), Priority::High);
        assert_eq!(p(&[("X-PRIORITY", "3 (Normal)")]), Priority::Normal);
        assert_eq!(p(&[("X-Priority", "5 (Lowest)")]), Priority::Low);
        assert_eq!(p(&[("Importance", "HIGH")]), Priority::High);
        assert_eq!(p(&[("importance", "low")]), Priority::Low);
        assert_eq!(p(&[("Priority", "urgent")]), Priority::High);
        assert_eq!(p(&[("Priority", "non-urgent")]), Priority::Low);
        assert_eq!(p(&[("X-MSMail-Priority", "High")]), Priority::High);
        assert_eq!(p(&[("X-MSMail-Priority", "Low")]), Priority::Low);
        // X-Priority decides over Importance; an unreadable value is passed over
        assert_eq!(p(&[("Importance", "low"), ("X-Priority", "1")]), Priority::High);
        assert_eq!(p(&[("X-Priority", "soon"), ("Importance", "low")]), Priority::Low);
        assert_eq!(p(&[("Subject", "urgent")]), Priority::Normal);
        assert_eq!(p(&[]), Priority::Normal);
    }
}
