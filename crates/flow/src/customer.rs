//! Customers: the person behind interactions, identified by their address on a channel. A
//! customer's id is derived from that identity, so every part of the system that meets the
//! same address on the same channel names the same customer without asking anyone.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::entry_point::Channel;
use crate::model::FieldError;

/// Limits of customers.
pub mod limits {
    /// Longest address on a channel (an email address may have 320 characters).
    pub const ADDRESS: usize = 320;
    /// Most fields of one customer.
    pub const FIELDS: usize = 50;
    /// Longest text value of a field.
    pub const FIELD_VALUE: usize = 1_000;
    /// Longest name.
    pub const NAME: usize = 200;
}

/// Namespace of customer ids (UUID v5 over `channel` + newline + `address`).
const NAMESPACE: Uuid = Uuid::from_u128(0x6b1f_4f0e_5d3a_4c8e_9a57_2f0c_8e1d_3b42);

/// The id of the customer with `address` on `channel`.
pub fn customer_id(channel: Channel, address: &str) -> Uuid {
    Uuid::new_v5(
        &NAMESPACE,
        format!("{}\n{address}", channel.as_str()).as_bytes(),
    )
}

/// A customer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    pub id: Uuid,
    pub channel: Channel,
    pub address: String,
    /// An optional reference code (e.g. the customer number of a CRM), unique when set.
    pub reference: Option<String>,
    pub name: String,
    /// Free fields, `{{ customer.fields.<name> }}` in templates: text, numbers or booleans.
    pub fields: Map<String, Value>,
    /// The user who owns the customer (set at their first handled conversation, or through
    /// the API).
    pub owner_id: Option<Uuid>,
    pub revision: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Customer {
    /// A customer met for the first time.
    pub fn new(channel: Channel, address: &str, now: Timestamp) -> Self {
        Customer {
            id: customer_id(channel, address),
            channel,
            address: address.to_owned(),
            reference: None,
            name: String::new(),
            fields: Map::new(),
            owner_id: None,
            revision: 1,
            created_at: now,
            updated_at: now,
        }
    }

    /// What routings see as the system variable `customer`.
    pub fn variable(&self) -> Value {
        serde_json::json!({
            "id": self.id,
            "address": self.address,
            "channel": self.channel.as_str(),
            "reference": self.reference.clone().unwrap_or_default(),
            "name": self.name,
            "fields": self.fields,
            "owner_id": self.owner_id.map(|o| o.to_string()).unwrap_or_default(),
        })
    }
}

fn bad(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field,
        message: message.into(),
    }
}

/// Checks an address: 1 to 256 characters, no control characters.
pub fn check_address(address: &str) -> Result<String, FieldError> {
    if address.trim().is_empty() || address.chars().count() > limits::ADDRESS {
        return Err(bad(
            "address",
            format!("must have 1 to {} characters", limits::ADDRESS),
        ));
    }
    if address.chars().any(char::is_control) {
        return Err(bad("address", "must not hold control characters"));
    }
    Ok(address.to_owned())
}

/// Checks a customer's name (may be empty: most customers arrive without one).
pub fn check_customer_name(name: &str) -> Result<String, FieldError> {
    if name.chars().count() > limits::NAME || name.chars().any(char::is_control) {
        return Err(bad(
            "name",
            format!(
                "must have at most {} characters and no control characters",
                limits::NAME
            ),
        ));
    }
    Ok(name.trim().to_owned())
}

/// Checks customer fields: at most 50, named like variable fields, each a text (≤ 1 000
/// characters), a number, a boolean or null.
pub fn check_fields(fields: &Map<String, Value>) -> Result<Map<String, Value>, FieldError> {
    if fields.len() > limits::FIELDS {
        return Err(bad(
            "fields",
            format!("a customer has at most {} fields", limits::FIELDS),
        ));
    }
    for (name, value) in fields {
        if name.contains('.') || crate::catalogue::params::check_var_path(name).is_err() {
            return Err(bad(
                "fields",
                format!(
                    "'{name}' is not a field name (a letter or '_' then letters, digits or '_')"
                ),
            ));
        }
        match value {
            Value::String(s) if s.chars().count() > limits::FIELD_VALUE => {
                return Err(bad(
                    "fields",
                    format!("'{name}' has more than {} characters", limits::FIELD_VALUE),
                ));
            }
            Value::Array(_) | Value::Object(_) => {
                return Err(bad(
                    "fields",
                    format!("'{name}' must be a text, a number, a boolean or null"),
                ));
            }
            _ => {}
        }
    }
    Ok(fields.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_follow_the_identity() {
        let a = customer_id(Channel::WebChat, "ann");
        assert_eq!(a, customer_id(Channel::WebChat, "ann"));
        assert_ne!(a, customer_id(Channel::Http, "ann"));
        assert_ne!(a, customer_id(Channel::WebChat, "ann "));
        assert_eq!(a.get_version_num(), 5);
    }

    #[test]
    fn fields_and_addresses_are_checked() {
        let ok = json!({"tier": "gold", "score": 3, "vip": true, "none": null});
        assert!(check_fields(ok.as_object().unwrap()).is_ok());
        for bad in [
            json!({"a.b": 1}),
            json!({"1a": 1}),
            json!({"list": [1]}),
            json!({"long": "x".repeat(1_001)}),
        ] {
            assert!(check_fields(bad.as_object().unwrap()).is_err(), "{bad}");
        }
        let many: Map<String, Value> = (0..51).map(|i| (format!("f{i}"), json!(i))).collect();
        assert!(check_fields(&many).is_err());
        assert!(check_address("").is_err());
        assert!(check_address("a\nb").is_err());
        assert!(check_address(&"a".repeat(321)).is_err());
        assert_eq!(check_address("+33 6 12").unwrap(), "+33 6 12");
        assert!(check_customer_name(&"n".repeat(201)).is_err());
    }
}

/// What a phone number is, for an SMS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PhoneKind {
    /// A mobile number (or one that may be, where the numbering plan cannot tell), in E.164.
    Mobile(String),
    /// A valid number that is not a mobile one (fixed line, toll free, …).
    NotMobile(String),
    /// Not a phone number.
    Invalid,
}

/// Reads a phone number written with its country code or in `region`'s national form (ISO
/// 3166 alpha-2) and tells whether it takes SMS.
pub fn phone_kind(text: &str, region: &str) -> PhoneKind {
    let region = region.parse::<phonenumber::country::Id>().ok();
    let Ok(number) = phonenumber::parse(region, text.trim()) else {
        return PhoneKind::Invalid;
    };
    if !phonenumber::is_valid(&number) {
        return PhoneKind::Invalid;
    }
    let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
    match number.number_type(&phonenumber::metadata::DATABASE) {
        phonenumber::Type::Mobile | phonenumber::Type::FixedLineOrMobile => PhoneKind::Mobile(e164),
        _ => PhoneKind::NotMobile(e164),
    }
}

#[cfg(test)]
mod phone_tests {
    use super::*;

    #[test]
    fn mobiles_are_told_from_other_numbers() {
        assert_eq!(
            phone_kind("06 12 34 56 78", "FR"),
            PhoneKind::Mobile("+33612345678".into())
        );
        assert_eq!(
            phone_kind("+33 1 42 68 53 00", "FR"),
            PhoneKind::NotMobile("+33142685300".into())
        );
        assert_eq!(
            phone_kind("+1 650 253 0000", "FR"),
            PhoneKind::Mobile("+16502530000".into())
        );
        assert_eq!(phone_kind("not a number", "FR"), PhoneKind::Invalid);
        assert_eq!(phone_kind("", "FR"), PhoneKind::Invalid);
    }
}
