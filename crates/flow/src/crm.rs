//! CRM directories and their cards (seed 003 §5): a directory of customer-contact cards whose
//! cards are the rows of a custom database (typed fields, unique and indexed ones, searches,
//! CSV import and export — all the database's); a CRM V2 has several objects (card kinds), each
//! kept in its own database, and saved search scenarios, one of them its default.

use serde::{Deserialize, Serialize};

use crate::model::FieldError;

/// Bounds of CRM directories and scenarios.
pub mod limits {
    /// Most objects of a CRM V2.
    pub const OBJECTS: usize = 20;
    /// Longest object name and database reference.
    pub const NAME: usize = 128;
    /// Most assertions of a scenario.
    pub const ASSERTIONS: usize = 20;
    /// Longest assertion value template.
    pub const VALUE: usize = 2_000;
    /// Most cards linked to one interaction.
    pub const LINKS_PER_INTERACTION: usize = 50;
    /// Most fields a card found in Salesforce carries besides those searched.
    pub const SALESFORCE_FIELDS: usize = 50;
}

/// An object (a kind of card) of a CRM V2.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CrmObject {
    pub name: String,
    /// The reference of the custom database its cards are the rows of.
    pub database: String,
}

/// A directory connected to Salesforce: its connected app (the client secret is the directory's
/// write-only secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SalesforceLink {
    /// Where to get an access token (`https://login.salesforce.com`, or the org's My Domain);
    /// reached through the outbound-address policy.
    #[serde(default = "login_url")]
    pub login_url: String,
    /// The connected app's consumer key.
    pub client_id: String,
    /// The REST API version (`v60.0`).
    #[serde(default = "api_version")]
    pub api_version: String,
    /// The Salesforce object the directory's cards are (`Contact`; a CRM V2 action's object
    /// names another): the CRM card actions search it by SOQL and create its records.
    #[serde(default = "cards_object")]
    pub cards: String,
    /// The fields a card found there carries besides those searched (`FirstName`, `Phone`):
    /// at most 50 API names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

fn cards_object() -> String {
    "Contact".into()
}

/// Whether a name is an API name Salesforce gives objects and fields (`Contact`,
/// `Order__c`): a letter, then letters, digits and `_`, at most 80.
pub fn is_salesforce_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 80
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn login_url() -> String {
    "https://login.salesforce.com".into()
}

fn api_version() -> String {
    "v60.0".into()
}

/// A CRM directory (V1: `database`), a CRM V2 (`objects`) or a directory connected to
/// Salesforce (`salesforce`): the data of a `crm_directory` business object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CrmDirectoryData {
    /// The reference of the custom database whose rows are the directory's cards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// A CRM V2's objects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<CrmObject>,
    /// A directory connected to Salesforce: its cards are records there (*Email to a
    /// Salesforce Query* and *Create a task* make records through it too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salesforce: Option<SalesforceLink>,
}

fn bad(message: String) -> FieldError {
    FieldError {
        field: "data",
        message,
    }
}

fn check_name(what: &str, s: &str) -> Result<(), FieldError> {
    let n = s.trim().chars().count();
    if n == 0 || n > limits::NAME || s.chars().any(char::is_control) {
        return Err(bad(format!("{what} has 1 to {} characters", limits::NAME)));
    }
    Ok(())
}

impl CrmDirectoryData {
    /// Checks a directory: a database (V1), 1 to [`limits::OBJECTS`] objects named once each
    /// without case (V2), or a Salesforce connection (an `http(s)` login URL, a client id, an
    /// API version `vNN.N`) — one of them.
    pub fn check(&self) -> Result<(), FieldError> {
        if let Some(sf) = &self.salesforce {
            if self.database.is_some() || !self.objects.is_empty() {
                return Err(bad(
                    "a directory connected to Salesforce names no database nor objects".into(),
                ));
            }
            let lower = sf.login_url.to_ascii_lowercase();
            if !(lower.starts_with("https://") || lower.starts_with("http://"))
                || sf.login_url.chars().count() > 2_000
                || sf.login_url.chars().any(char::is_control)
            {
                return Err(bad("salesforce.login_url is an http(s) URL".into()));
            }
            check_name("salesforce.client_id", &sf.client_id)?;
            let v = sf.api_version.strip_prefix('v').unwrap_or("");
            if v.is_empty() || v.len() > 8 || !v.chars().all(|c| c.is_ascii_digit() || c == '.') {
                return Err(bad("salesforce.api_version is written vNN.N".into()));
            }
            if !is_salesforce_name(&sf.cards) {
                return Err(bad(
                    "salesforce.cards is a Salesforce object's API name (Contact, Account, Order__c)"
                        .into(),
                ));
            }
            if sf.fields.len() > limits::SALESFORCE_FIELDS
                || sf.fields.iter().any(|f| !is_salesforce_name(f))
            {
                return Err(bad(format!(
                    "salesforce.fields holds at most {} API names of fields",
                    limits::SALESFORCE_FIELDS
                )));
            }
            return Ok(());
        }
        match (&self.database, self.objects.is_empty()) {
            (Some(d), true) => check_name("database", d),
            (None, false) => {
                if self.objects.len() > limits::OBJECTS {
                    return Err(bad(format!("a CRM has at most {} objects", limits::OBJECTS)));
                }
                for (i, o) in self.objects.iter().enumerate() {
                    check_name(&format!("objects[{i}].name"), &o.name)?;
                    check_name(&format!("objects[{i}].database"), &o.database)?;
                    if self.objects[..i]
                        .iter()
                        .any(|p| p.name.eq_ignore_ascii_case(&o.name))
                    {
                        return Err(bad(format!("objects[{i}]: '{}' is named twice", o.name)));
                    }
                }
                Ok(())
            }
            _ => Err(bad(
                "a directory names its database (a CRM directory) or its objects (a CRM V2), not both"
                    .into(),
            )),
        }
    }

    /// The reference of the database of an object (none: a directory's own database).
    pub fn database_of(&self, object: Option<&str>) -> Result<&str, String> {
        if self.salesforce.is_some() {
            return Err("the directory is connected to Salesforce: its cards are there".into());
        }
        match (object, &self.database) {
            (None, Some(d)) => Ok(d),
            (None, None) => Err("a CRM V2 card is of one of its objects".into()),
            (Some(name), _) => self
                .objects
                .iter()
                .find(|o| o.name.eq_ignore_ascii_case(name.trim()))
                .map(|o| o.database.as_str())
                .ok_or_else(|| format!("the CRM has no object '{name}'")),
        }
    }
}

/// One assertion of a scenario: a field and the value it must have (a template).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioAssertion {
    pub field: String,
    pub value: String,
}

/// A saved search of a CRM V2: the data of a `crm_scenario` business object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CrmScenarioData {
    /// The reference of its CRM V2.
    pub crm: String,
    /// The object whose cards it searches.
    pub object: String,
    /// Every assertion must hold (none: any one).
    #[serde(default = "yes")]
    pub all: bool,
    /// `{{ variable }}` placeholders are read in the interaction's context.
    pub assertions: Vec<ScenarioAssertion>,
    /// The CRM's scenario when an action names none (one per CRM).
    #[serde(default)]
    pub default: bool,
}

fn yes() -> bool {
    true
}

impl CrmScenarioData {
    /// Checks a scenario: its CRM and object named, 1 to [`limits::ASSERTIONS`] assertions.
    pub fn check(&self) -> Result<(), FieldError> {
        check_name("crm", &self.crm)?;
        check_name("object", &self.object)?;
        if self.assertions.is_empty() || self.assertions.len() > limits::ASSERTIONS {
            return Err(bad(format!(
                "a scenario has 1 to {} assertions",
                limits::ASSERTIONS
            )));
        }
        for (i, a) in self.assertions.iter().enumerate() {
            check_name(&format!("assertions[{i}].field"), &a.field)?;
            if a.value.chars().count() > limits::VALUE {
                return Err(bad(format!(
                    "assertions[{i}].value has at most {} characters",
                    limits::VALUE
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn directories_and_scenarios_are_checked() {
        let v1: CrmDirectoryData = serde_json::from_value(json!({"database": "CONTACTS"})).unwrap();
        assert!(v1.check().is_ok());
        assert_eq!(v1.database_of(None), Ok("CONTACTS"));
        let v2: CrmDirectoryData = serde_json::from_value(
            json!({"objects": [{"name": "Contact", "database": "CONTACTS"}, {"name": "Company", "database": "COMPANIES"}]}),
        )
        .unwrap();
        assert!(v2.check().is_ok());
        assert_eq!(v2.database_of(Some("company")), Ok("COMPANIES"));
        assert!(v2.database_of(None).is_err());
        assert!(v2.database_of(Some("Deal")).is_err());
        let sf: CrmDirectoryData =
            serde_json::from_value(json!({"salesforce": {"client_id": "3MVG9"}})).unwrap();
        assert!(sf.check().is_ok());
        assert!(sf.database_of(None).is_err());
        for bad in [
            json!({"salesforce": {"client_id": "x", "api_version": "60"}}),
            json!({"salesforce": {"client_id": "x", "login_url": "ftp://x"}}),
            json!({"salesforce": {"client_id": "x"}, "database": "A"}),
            json!({}),
            json!({"database": "A", "objects": [{"name": "X", "database": "B"}]}),
            json!({"objects": [{"name": "X", "database": "B"}, {"name": "x", "database": "C"}]}),
            json!({"database": ""}),
        ] {
            let d: CrmDirectoryData = serde_json::from_value(bad.clone()).unwrap();
            assert!(d.check().is_err(), "{bad}");
        }
        let s: CrmScenarioData = serde_json::from_value(
            json!({"crm": "SALES", "object": "Contact", "assertions": [{"field": "phone", "value": "{{ customer.address }}"}]}),
        )
        .unwrap();
        assert!(s.check().is_ok() && s.all && !s.default);
        let none: CrmScenarioData =
            serde_json::from_value(json!({"crm": "SALES", "object": "Contact", "assertions": []}))
                .unwrap();
        assert!(none.check().is_err());
    }
}
