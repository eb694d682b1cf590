//! What an email we send carries: its message id (naming its interaction, so that a reply
//! finds it), and a reply's headers, subject and quoted history, fixed when the reply is
//! written.

use flow::entry_point::EntryPoint;
use uuid::Uuid;

/// The id a message we send carries: `sy.<interaction>.<row>@<domain of the mailbox>`, so a
/// reply naming it in `In-Reply-To` / `References` finds its interaction.
pub fn message_id(interaction: Uuid, row: Uuid, mailbox: &str) -> String {
    let domain = mailbox.rsplit('@').next().unwrap_or("switchyard.invalid");
    format!("sy.{}.{}@{domain}", interaction.simple(), row.simple())
}

/// The interaction a message id of ours names.
pub fn interaction_of(message_id: &str) -> Option<Uuid> {
    let rest = message_id.strip_prefix("sy.")?;
    let (interaction, _) = rest.split_once('.')?;
    Uuid::try_parse(interaction).ok()
}

/// How a reply of an email interaction goes out, fixed when the reply is written: to the
/// customer (`Reply-To` if they gave one) from the mailbox, in the thread of their latest email,
/// that email quoted below.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EmailReply {
    pub from: String,
    pub from_name: String,
    pub to: String,
    pub subject: String,
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    /// The customer's email, quoted (`> `), with who wrote it and when.
    pub quoted: String,
}

/// Most lines of the customer's email quoted in a reply.
const QUOTED_LINES: usize = 200;
/// Most message ids kept in `References`.
const REFERENCES: usize = 20;

/// A subject for our answer: `Re: ` once, and the interaction's reference.
pub fn reply_subject(subject: &str, interaction: Uuid) -> String {
    let reference = flow::email::subject_reference(interaction);
    let mut s = subject.trim().to_owned();
    let lower = s.to_lowercase();
    if !(lower.starts_with("re:") || lower.starts_with("re :")) {
        s = format!("Re: {s}");
    }
    if !s.contains(&reference) {
        s = format!("{s} {reference}");
    }
    s.chars().take(998).collect()
}

impl EmailReply {
    /// The reply, from mailbox `ep`, to `email`, as row `row` of `interaction`.
    pub fn to(
        ep: &EntryPoint,
        email: &flow::email::Email,
        interaction: Uuid,
        row: Uuid,
    ) -> EmailReply {
        let mailbox = ep.address.clone().unwrap_or_default();
        let mut references: Vec<String> = email.references.clone();
        if !email.message_id.is_empty() {
            references.push(email.message_id.clone());
        }
        if references.len() > REFERENCES {
            references.drain(..references.len() - REFERENCES);
        }
        let who = if email.from_name.is_empty() {
            email.from.clone()
        } else {
            format!("{} <{}>", email.from_name, email.from)
        };
        let mut quoted = match &email.date {
            Some(d) => format!("On {d}, {who} wrote:\n"),
            None => format!("{who} wrote:\n"),
        };
        for line in email.text.lines().take(QUOTED_LINES) {
            quoted.push_str("> ");
            quoted.push_str(line);
            quoted.push('\n');
        }
        EmailReply {
            message_id: message_id(interaction, row, &mailbox),
            from: mailbox,
            from_name: ep.name.clone(),
            to: email.answer_to().to_owned(),
            subject: reply_subject(&email.subject, interaction),
            in_reply_to: (!email.message_id.is_empty()).then(|| email.message_id.clone()),
            references,
            quoted,
        }
    }
}

/// The text of a reply: choices (an email has no buttons) as a numbered list.
pub(crate) fn reply_text(message: &flow::exec::Outbound) -> String {
    match message {
        flow::exec::Outbound::Text { text } => text.clone(),
        flow::exec::Outbound::Choice { text, choices } => {
            let mut t = text.clone();
            for (k, c) in choices.iter().enumerate() {
                t.push_str(&format!("\n{}. {c}", k + 1));
            }
            t
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_message_ids_name_their_interaction() {
        let (i, r) = (Uuid::now_v7(), Uuid::now_v7());
        let id = message_id(i, r, "support@shop.test");
        assert!(id.ends_with("@shop.test"));
        assert_eq!(interaction_of(&id), Some(i));
        assert_eq!(interaction_of("abc@example.com"), None);
        assert_eq!(interaction_of("sy.nothex.x@y"), None);
    }
}
