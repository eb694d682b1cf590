//! What the four case actions share: reading a case reference parameter, and the outcome a
//! case action resumes with.

use super::prelude::*;

/// A case reference parameter rendered; `None` when absent or rendered empty (the action then
/// takes the customer's latest case, or the interaction's own).
pub fn reference(cx: &dyn Cx, given: &Option<Template<1, 256>>) -> Option<String> {
    given
        .as_ref()
        .map(|t| cx.render(&t.0).trim().to_owned())
        .filter(|r| !r.is_empty())
}

/// The outcome a case action resumes with.
pub fn outcome<'a>(wake: Wake<'a>) -> Option<&'a CaseOutcome> {
    match wake {
        Wake::Result(EffectResult::Case(outcome)) => Some(outcome),
        _ => None,
    }
}
