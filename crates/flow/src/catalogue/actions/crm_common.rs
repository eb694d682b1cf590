//! What the four CRM actions share: their field values rendered, and how an association's
//! outcome maps to the branches *OK*, *Not OK*, *Not found* and *By default*.

use super::prelude::*;

/// `(field, value)` pairs rendered in the interaction's context, values trimmed.
pub fn rendered(cx: &dyn Cx, pairs: &[FieldValue]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|p| (p.field.0.clone(), cx.render(&p.value.0).trim().to_owned()))
        .collect()
}

/// The outcome a CRM action resumes with.
pub fn outcome<'a>(wake: Wake<'a>) -> Option<&'a CrmOutcome> {
    match wake {
        Wake::Result(EffectResult::Crm(outcome)) => Some(outcome),
        _ => None,
    }
}

/// An association's branch: *OK* with the card in the system variable `card` (found, or made
/// when none was and creation is on); *Not OK* when several cards match (none is linked) or the
/// card to make is refused; *Not found* when none matches; *By default* when the directory
/// could not be searched (no such directory, scenario, object or database, a field it lacks).
/// `system.error` says why for *Not OK* and *By default*.
pub fn associated(cx: &mut dyn Cx, outcome: &CrmOutcome) -> Step {
    match outcome {
        CrmOutcome::Card { card, .. } => {
            cx.set_card(Some(card));
            Step::Branch("ok")
        }
        CrmOutcome::Several => {
            cx.set_error("several cards match: none was linked");
            Step::Branch("not_ok")
        }
        CrmOutcome::NotFound => Step::Branch("not_found"),
        CrmOutcome::Error { reason } => {
            cx.set_error(reason);
            Step::Branch("not_ok")
        }
        CrmOutcome::Unavailable { reason } => {
            cx.set_error(reason);
            Step::Branch("by_default")
        }
        CrmOutcome::Scenario { .. } => {
            Step::Unavailable("a card search got the answer of a scenario request")
        }
    }
}

/// A creation's branch: *OK* with the card in `card` when it is linked; *Error* otherwise,
/// `system.error` saying why (no such directory, object or database, a field it lacks, a
/// required field without value, a value that does not fit, a unique value taken).
pub fn created(cx: &mut dyn Cx, outcome: &CrmOutcome, associate: bool) -> Step {
    match outcome {
        CrmOutcome::Card { card, .. } => {
            if associate {
                cx.set_card(Some(card));
            }
            Step::Branch("ok")
        }
        CrmOutcome::Error { reason } | CrmOutcome::Unavailable { reason } => {
            cx.set_error(reason);
            Step::Branch("error")
        }
        CrmOutcome::Several | CrmOutcome::NotFound | CrmOutcome::Scenario { .. } => {
            Step::Unavailable("a card creation got the answer of another request")
        }
    }
}

/// Asks for a card of `directory` (its `object` for a CRM V2) made of the fields' values
/// (checked as the database checks a row), linked to the interaction and its customer when
/// `associate`; written with the turn.
pub fn create(
    cx: &mut dyn Cx,
    directory: &Selector,
    object: Option<String>,
    fields: &[FieldValue],
    associate: bool,
) -> Step {
    let Some(directory) = object_name(cx, directory) else {
        cx.set_error("the variable holding the directory's reference is empty");
        return Step::Branch("error");
    };
    Step::Effect {
        effect: Effect::Crm(CrmRequest::Create {
            directory,
            object,
            values: rendered(cx, fields),
            associate,
        }),
        memo: Value::Null,
    }
}

/// A creation's resume: see [`created`].
pub fn resume_create(cx: &mut dyn Cx, wake: Wake<'_>, associate: bool) -> Step {
    match outcome(wake) {
        Some(o) => created(cx, o, associate),
        None => Step::Unavailable("a card creation waits for its answer"),
    }
}
