//! Invoices (seed 003 §11): what an invoice holds and the rules its values follow — an amount
//! of at most two decimals in an ISO 4217 currency, phone numbers kept in E.164, an email kept
//! in lower case — and the canonical form of each identifier *Search for invoice* and *Pay an
//! invoice* look an invoice up by.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::catalogue::params::InvoiceKey;
use crate::customer::{PhoneKind, phone_kind};
use crate::model::FieldError;

/// Bounds of invoices.
pub mod limits {
    /// Longest invoice number and customer number.
    pub const NUMBER: usize = 64;
    /// Longest invoice name (what the customer reads it is for).
    pub const NAME: usize = 200;
    /// Longest email address.
    pub const EMAIL: usize = 320;
    /// Longest phone number as written.
    pub const PHONE: usize = 64;
    /// Largest amount, in minor units (one billion in a two-decimal currency).
    pub const AMOUNT_MINOR: i64 = 100_000_000_000;
    /// Most invoices a deployment keeps.
    pub const INVOICES: u64 = 10_000_000;
    /// Largest CSV file an import reads, in bytes, and most lines it takes.
    pub const IMPORT_BYTES: usize = 20 * 1024 * 1024;
    pub const IMPORT_LINES: usize = 100_000;
    /// Invoices written by one transaction of an import.
    pub const IMPORT_BATCH: usize = 500;
}

/// Where an invoice is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    /// Waiting to be paid.
    Open,
    Paid,
    /// Withdrawn: not to be paid.
    Cancelled,
}

impl InvoiceStatus {
    pub const ALL: [InvoiceStatus; 3] = [
        InvoiceStatus::Open,
        InvoiceStatus::Paid,
        InvoiceStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceStatus::Open => "open",
            InvoiceStatus::Paid => "paid",
            InvoiceStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<InvoiceStatus> {
        InvoiceStatus::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// Reads an amount written with at most two decimals (`12`, `12.5`, `12.50`, a comma for the
/// point accepted) into minor units; refuses a negative or larger than [`limits::AMOUNT_MINOR`].
pub fn parse_amount(text: &str) -> Result<i64, String> {
    let t = text.trim().replace(',', ".");
    let refuse = || format!("'{text}' is not an amount with at most two decimals");
    let (units, cents) = match t.split_once('.') {
        Some((u, c)) => (u, c),
        None => (t.as_str(), ""),
    };
    if units.is_empty()
        || cents.len() > 2
        || !units.bytes().all(|b| b.is_ascii_digit())
        || !cents.bytes().all(|b| b.is_ascii_digit())
        || units.len() > 12
    {
        return Err(refuse());
    }
    let units: i64 = units.parse().map_err(|_| refuse())?;
    let cents: i64 = match cents.len() {
        0 => 0,
        1 => cents.parse::<i64>().map_err(|_| refuse())? * 10,
        _ => cents.parse().map_err(|_| refuse())?,
    };
    let minor = units
        .checked_mul(100)
        .and_then(|u| u.checked_add(cents))
        .ok_or_else(refuse)?;
    if minor > limits::AMOUNT_MINOR {
        return Err(format!(
            "an amount is at most {}",
            format_amount(limits::AMOUNT_MINOR)
        ));
    }
    Ok(minor)
}

/// An amount in minor units written with its two decimals (`1250` → `12.50`).
pub fn format_amount(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let m = minor.unsigned_abs();
    format!("{sign}{}.{:02}", m / 100, m % 100)
}

/// An ISO 4217 code in upper case (`eur` → `EUR`).
pub fn check_currency(text: &str) -> Result<String, String> {
    let t = text.trim();
    if t.len() == 3 && t.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(t.to_ascii_uppercase())
    } else {
        Err(format!(
            "'{text}' is not a currency: three letters of ISO 4217, such as EUR"
        ))
    }
}

/// A phone number in E.164 (read with its country code or in `region`'s national form).
pub fn phone_number(text: &str, region: &str) -> Option<String> {
    match phone_kind(text, region) {
        PhoneKind::Mobile(n) | PhoneKind::NotMobile(n) => Some(n),
        PhoneKind::Invalid => None,
    }
}

/// The value an invoice is looked up by in the form invoices keep it: a phone number in E.164,
/// an email in lower case, the others as written without surrounding spaces. `Err` says why the
/// value cannot identify an invoice (empty, not a phone number, not an id).
pub fn lookup_value(key: InvoiceKey, value: &str, region: &str) -> Result<String, String> {
    let v = value.trim();
    if v.is_empty() {
        return Err("the value to look the invoice up by is empty".into());
    }
    match key {
        InvoiceKey::MobilePhone | InvoiceKey::Landline => {
            phone_number(v, region).ok_or_else(|| format!("'{v}' is not a phone number"))
        }
        InvoiceKey::Email => Ok(v.to_lowercase()),
        InvoiceKey::InvoiceId => uuid::Uuid::parse_str(v)
            .map(|u| u.to_string())
            .map_err(|_| format!("'{v}' is not an invoice id")),
        InvoiceKey::InvoiceNumber | InvoiceKey::CustomerNumber => Ok(v.to_owned()),
    }
}

/// An invoice's values as given (the API's fields, an imported line's), every one text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InvoiceInput {
    pub number: Option<String>,
    pub name: Option<String>,
    pub customer_number: Option<String>,
    pub mobile_phone: Option<String>,
    pub landline: Option<String>,
    pub email: Option<String>,
    pub amount: Option<String>,
    pub currency: Option<String>,
    pub due_date: Option<String>,
    pub status: Option<String>,
}

/// An invoice's values, checked and in canonical form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvoiceValues {
    pub number: String,
    pub name: String,
    pub customer_number: Option<String>,
    pub mobile_phone: Option<String>,
    pub landline: Option<String>,
    pub email: Option<String>,
    pub amount_minor: i64,
    pub currency: String,
    pub due_date: Option<Date>,
    pub status: InvoiceStatus,
}

/// The CSV columns of an invoice import, as [`InvoiceInput`] names its fields.
pub const COLUMNS: &[&str] = &[
    "number",
    "name",
    "customer_number",
    "mobile_phone",
    "landline",
    "email",
    "amount",
    "currency",
    "due_date",
    "status",
];

impl InvoiceInput {
    /// Sets a field by its column name ([`COLUMNS`]); `false` for another name.
    pub fn set(&mut self, column: &str, value: String) -> bool {
        let slot = match column {
            "number" => &mut self.number,
            "name" => &mut self.name,
            "customer_number" => &mut self.customer_number,
            "mobile_phone" => &mut self.mobile_phone,
            "landline" => &mut self.landline,
            "email" => &mut self.email,
            "amount" => &mut self.amount,
            "currency" => &mut self.currency,
            "due_date" => &mut self.due_date,
            "status" => &mut self.status,
            _ => return false,
        };
        *slot = Some(value);
        true
    }

    /// The values over `current` (an update; none: a new invoice, whose number, amount and
    /// currency are required): a field given empty is emptied (number, amount, currency and
    /// status cannot be).
    pub fn check(
        &self,
        current: Option<&InvoiceValues>,
        region: &str,
    ) -> Result<InvoiceValues, FieldError> {
        fn given(v: &Option<String>) -> Option<Option<&str>> {
            v.as_deref()
                .map(|s| Some(s.trim()).filter(|s| !s.is_empty()))
        }
        fn bad(field: &'static str, message: String) -> FieldError {
            FieldError { field, message }
        }
        fn bounded(
            field: &'static str,
            v: Option<&str>,
            max: usize,
        ) -> Result<Option<String>, FieldError> {
            match v {
                Some(s) if s.chars().count() > max || s.chars().any(char::is_control) => Err(bad(
                    field,
                    format!("{field} has at most {max} characters and no control character"),
                )),
                other => Ok(other.map(str::to_owned)),
            }
        }
        let required = |field: &'static str, v: Option<Option<&str>>, now: Option<String>| match v {
            Some(Some(s)) => Ok(s.to_owned()),
            Some(None) => Err(bad(field, format!("an invoice's {field} cannot be empty"))),
            None => now.ok_or_else(|| bad(field, format!("an invoice needs its {field}"))),
        };
        let optional = |v: Option<Option<&str>>, now: Option<String>| match v {
            Some(s) => s.map(str::to_owned),
            None => now,
        };
        let number = required(
            "number",
            given(&self.number),
            current.map(|c| c.number.clone()),
        )?;
        let number = bounded("number", Some(&number), limits::NUMBER)?.unwrap_or_default();
        let name = optional(given(&self.name), current.map(|c| c.name.clone())).unwrap_or_default();
        let name = bounded("name", Some(&name), limits::NAME)?.unwrap_or_default();
        let customer_number = optional(
            given(&self.customer_number),
            current.and_then(|c| c.customer_number.clone()),
        );
        let customer_number = bounded(
            "customer_number",
            customer_number.as_deref(),
            limits::NUMBER,
        )?;
        let phone = |field: &'static str, v: &Option<String>, now: Option<String>| match given(v) {
            None => Ok(now),
            Some(None) => Ok(None),
            Some(Some(s)) => {
                bounded(field, Some(s), limits::PHONE)?;
                phone_number(s, region)
                    .map(Some)
                    .ok_or_else(|| bad(field, format!("'{s}' is not a phone number")))
            }
        };
        let mobile_phone = phone(
            "mobile_phone",
            &self.mobile_phone,
            current.and_then(|c| c.mobile_phone.clone()),
        )?;
        let landline = phone(
            "landline",
            &self.landline,
            current.and_then(|c| c.landline.clone()),
        )?;
        let email = match given(&self.email) {
            None => current.and_then(|c| c.email.clone()),
            Some(None) => None,
            Some(Some(s)) => {
                bounded("email", Some(s), limits::EMAIL)?;
                if !email_address::EmailAddress::is_valid(s) {
                    return Err(bad("email", format!("'{s}' is not an email address")));
                }
                Some(s.to_lowercase())
            }
        };
        let amount_minor = match given(&self.amount) {
            Some(Some(s)) => parse_amount(s).map_err(|m| bad("amount", m))?,
            Some(None) => return Err(bad("amount", "an invoice's amount cannot be empty".into())),
            None => current
                .map(|c| c.amount_minor)
                .ok_or_else(|| bad("amount", "an invoice needs its amount".into()))?,
        };
        let currency = required(
            "currency",
            given(&self.currency),
            current.map(|c| c.currency.clone()),
        )?;
        let currency = check_currency(&currency).map_err(|m| bad("currency", m))?;
        let due_date = match given(&self.due_date) {
            None => current.and_then(|c| c.due_date),
            Some(None) => None,
            Some(Some(s)) => Some(
                s.parse::<Date>()
                    .map_err(|_| bad("due_date", format!("'{s}' is not a date (YYYY-MM-DD)")))?,
            ),
        };
        let status = match given(&self.status) {
            None => current.map_or(InvoiceStatus::Open, |c| c.status),
            Some(None) => return Err(bad("status", "an invoice's status cannot be empty".into())),
            Some(Some(s)) => InvoiceStatus::parse(s).ok_or_else(|| {
                bad(
                    "status",
                    format!("'{s}' is not a status: open, paid or cancelled"),
                )
            })?,
        };
        Ok(InvoiceValues {
            number,
            name,
            customer_number,
            mobile_phone,
            landline,
            email,
            amount_minor,
            currency,
            due_date,
            status,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_have_at_most_two_decimals() {
        assert_eq!(parse_amount("12"), Ok(1200));
        assert_eq!(parse_amount("12.5"), Ok(1250));
        assert_eq!(parse_amount(" 12,05 "), Ok(1205));
        assert_eq!(parse_amount("0.01"), Ok(1));
        for bad in ["12.345", "-3", "", ".5", "1e3", "abc", "1 000"] {
            assert!(parse_amount(bad).is_err(), "{bad}");
        }
        assert!(parse_amount("1000000000.01").is_err());
        assert_eq!(parse_amount("1000000000"), Ok(limits::AMOUNT_MINOR));
        assert_eq!(format_amount(1205), "12.05");
        assert_eq!(format_amount(7), "0.07");
    }

    #[test]
    fn identifiers_are_read_as_invoices_keep_them() {
        assert_eq!(
            lookup_value(InvoiceKey::MobilePhone, "06 12 34 56 78", "FR"),
            Ok("+33612345678".into())
        );
        assert!(lookup_value(InvoiceKey::Landline, "not a phone", "FR").is_err());
        assert_eq!(
            lookup_value(InvoiceKey::Email, " Ana@Example.COM ", "FR"),
            Ok("ana@example.com".into())
        );
        assert!(lookup_value(InvoiceKey::InvoiceId, "42", "FR").is_err());
        assert!(lookup_value(InvoiceKey::InvoiceNumber, "  ", "FR").is_err());
    }

    #[test]
    fn an_invoice_is_checked_and_changed_field_by_field() {
        let new = InvoiceInput {
            number: Some("F-1".into()),
            amount: Some("49.90".into()),
            currency: Some("eur".into()),
            mobile_phone: Some("06 12 34 56 78".into()),
            email: Some("Ana@Example.com".into()),
            due_date: Some("2026-12-31".into()),
            ..Default::default()
        };
        let v = new.check(None, "FR").unwrap();
        assert_eq!(v.amount_minor, 4990);
        assert_eq!(v.currency, "EUR");
        assert_eq!(v.mobile_phone.as_deref(), Some("+33612345678"));
        assert_eq!(v.email.as_deref(), Some("ana@example.com"));
        assert_eq!(v.status, InvoiceStatus::Open);
        let change = InvoiceInput {
            status: Some("PAID".into()),
            email: Some(String::new()),
            ..Default::default()
        };
        let w = change.check(Some(&v), "FR").unwrap();
        assert_eq!(w.status, InvoiceStatus::Paid);
        assert_eq!(w.email, None);
        assert_eq!(w.amount_minor, 4990);
        for (field, input) in [
            (
                "number",
                InvoiceInput {
                    number: None,
                    ..new.clone()
                },
            ),
            (
                "amount",
                InvoiceInput {
                    amount: Some("1.234".into()),
                    ..new.clone()
                },
            ),
            (
                "currency",
                InvoiceInput {
                    currency: Some("EURO".into()),
                    ..new.clone()
                },
            ),
            (
                "mobile_phone",
                InvoiceInput {
                    mobile_phone: Some("12".into()),
                    ..new.clone()
                },
            ),
            (
                "email",
                InvoiceInput {
                    email: Some("nobody".into()),
                    ..new.clone()
                },
            ),
            (
                "due_date",
                InvoiceInput {
                    due_date: Some("31/12/2026".into()),
                    ..new.clone()
                },
            ),
            (
                "status",
                InvoiceInput {
                    status: Some("late".into()),
                    ..new.clone()
                },
            ),
            (
                "number",
                InvoiceInput {
                    number: Some("n".repeat(65)),
                    ..new.clone()
                },
            ),
        ] {
            assert_eq!(input.check(None, "FR").unwrap_err().field, field);
        }
    }
}
