//! Variable names: which roots are the system's (filled by the engine, read-only for routings).

/// Roots of the system variables, filled by the engine and read-only for routings.
pub const SYSTEM_ROOTS: &[&str] = &[
    "interaction",
    "customer",
    "channel",
    "entry_point",
    "last_message",
    "email",
    "case",
    "bill",
    "card",
    "now",
    "system",
];

/// Whether `path` names a system variable.
pub fn is_system_path(path: &str) -> bool {
    SYSTEM_ROOTS.contains(&path.split('.').next().unwrap_or_default())
}

/// A field of the system variables, as the Maker's variable picker offers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SystemField {
    /// `root` or `root.field` (`customer.fields` holds the customer's own fields by name).
    pub path: &'static str,
    pub description: &'static str,
    /// Only email interactions have it.
    pub email_only: bool,
}

const fn field(path: &'static str, description: &'static str) -> SystemField {
    SystemField {
        path,
        description,
        email_only: false,
    }
}

const fn email(path: &'static str, description: &'static str) -> SystemField {
    SystemField {
        path,
        description,
        email_only: true,
    }
}

/// Every system variable field the engine fills (a test holds the engine to it: what an
/// interaction's system variables hold is all listed here).
pub const SYSTEM_FIELDS: &[SystemField] = &[
    field("interaction.id", "The interaction's id"),
    field(
        "interaction.mode",
        "live, test, preview, end (an interaction-end routing) or outgoing (an SMS sent)",
    ),
    field(
        "interaction.started_at",
        "When the interaction began (RFC 3339)",
    ),
    field(
        "interaction.parent",
        "The interaction it was transferred from, if any",
    ),
    field("customer.id", "The customer's id"),
    field(
        "customer.address",
        "The customer's address on the channel (phone number, chat id, email address)",
    ),
    field(
        "customer.channel",
        "The channel the customer was first met on",
    ),
    field("customer.reference", "The customer's reference, once set"),
    field("customer.name", "The customer's name"),
    field(
        "customer.fields",
        "The customer's fields, by name (customer.fields.city)",
    ),
    field(
        "customer.owner_id",
        "The agent who owns the customer, if any",
    ),
    field(
        "channel",
        "The interaction's channel: whatsapp, telegram, messenger, web_chat, http, email, preview (or sms for an SMS sent)",
    ),
    field("entry_point.id", "The entry point's id"),
    field("entry_point.reference", "The entry point's reference"),
    field("entry_point.name", "The entry point's name"),
    field("last_message.text", "The customer's last message"),
    field(
        "last_message.choice",
        "The button or list choice of the last message, if any",
    ),
    field("last_message.at", "When the last message came"),
    email("email.from", "The sender's address"),
    email("email.from_name", "The sender's display name"),
    email("email.to", "The To addresses"),
    email("email.cc", "The Cc addresses"),
    email(
        "email.reply_to",
        "The Reply-To address, when another than the sender",
    ),
    email("email.subject", "The subject"),
    email(
        "email.text",
        "The text body (the HTML as text when there is no text part)",
    ),
    email("email.html", "The HTML body"),
    email("email.message_id", "The Message-ID"),
    email("email.in_reply_to", "The In-Reply-To id"),
    email("email.references", "The References ids, oldest first"),
    email("email.priority", "high, normal or low"),
    email("email.attachments", "The attachments (name, type, size)"),
    email("email.date", "The Date header (RFC 3339)"),
    email(
        "email.automatic",
        "Why automatic sends to the sender are suppressed, if they are",
    ),
    email("email.raw_url", "Where the raw message is kept"),
    field(
        "case.id",
        "The interaction's case (once a case action linked one): its id",
    ),
    field("case.reference", "The case's reference"),
    field("case.title", "The case's title"),
    field("case.status", "The case's status"),
    field("case.type", "The case type's reference"),
    field(
        "case.fields",
        "The case's fields, by name (case.fields.order)",
    ),
    field(
        "bill.id",
        "The invoice *Search for invoice* found (once it found one): its id",
    ),
    field("bill.number", "The invoice's number"),
    field("bill.name", "What the invoice is for"),
    field("bill.amount", "The invoice's amount, with its two decimals"),
    field("bill.currency", "The invoice's currency (ISO 4217)"),
    field("bill.due_date", "The invoice's due date (YYYY-MM-DD)"),
    field("bill.status", "open, paid or cancelled"),
    field("bill.customer_number", "The invoice's customer number"),
    field(
        "bill.mobile_phone",
        "The invoice's mobile phone number (E.164)",
    ),
    field("bill.landline", "The invoice's landline number (E.164)"),
    field("bill.email", "The invoice's email address"),
    field(
        "card.id",
        "The interaction's CRM card (once a CRM action linked one): its id",
    ),
    field(
        "card.directory",
        "The card's directory (or CRM V2) reference",
    ),
    field("card.object", "The CRM V2 object the card is of"),
    field(
        "card.fields",
        "The card's fields, by name (card.fields.email)",
    ),
    field("now", "The time of the turn, in the account's time zone"),
    field(
        "system.error",
        "Why the last action went to its error branch",
    ),
];

/// Whether `path` is a field of [`SYSTEM_FIELDS`] or lies inside one (`customer.fields.city`).
pub fn is_listed_system_field(path: &str) -> bool {
    SYSTEM_FIELDS.iter().any(|f| {
        path == f.path
            || path
                .strip_prefix(f.path)
                .is_some_and(|rest| rest.starts_with('.'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_system_field_is_under_a_system_root_and_listed_once() {
        for (i, f) in SYSTEM_FIELDS.iter().enumerate() {
            assert!(is_system_path(f.path), "{} is under no system root", f.path);
            assert!(
                !SYSTEM_FIELDS[..i].iter().any(|g| g.path == f.path),
                "{} listed twice",
                f.path
            );
        }
        assert!(is_listed_system_field("customer.fields.city"));
        assert!(!is_listed_system_field("customer.nickname"));
        assert!(!is_listed_system_field("interaction.identity"));
    }
}
