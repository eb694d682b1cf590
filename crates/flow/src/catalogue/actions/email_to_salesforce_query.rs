use super::prelude::*;

/// Creates a Salesforce record from the inbound email.
///
/// Designed here (the seed names it only): the email's data (`{{ email.subject }}`,
/// `{{ email.from }}`, `{{ email.body }}`…) is mapped onto the fields of a Salesforce object
/// through a CRM directory backed by Salesforce. *OK* the record was created (its id stored if
/// asked); *Error* Salesforce refused or could not be reached; *Reference not found* the CRM
/// directory does not exist.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailToSalesforceQuery {
    /// CRM directory connected to Salesforce.
    pub crm: Of<kind::CrmDirectory>,
    /// Salesforce object API name (`Case`, `Lead`…).
    pub object: Text<1, 80>,
    pub fields: List<FieldValue, 1, 50>,
    /// Attach the original email (with its attachments) to the created record.
    #[serde(default)]
    pub attach_email: bool,
    /// Variable receiving the Salesforce id of the created record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id_in: Option<VarTarget>,
}

impl ActionType for EmailToSalesforceQuery {
    const TYPE: &'static str = "email_to_salesforce_query";
    const LABEL: &'static str = "Email to a Salesforce Query";
    const CATEGORY: Category = Category::CasesAndCrm;
    const FAMILIES: &'static [crate::ChannelFamily] = EMAIL;
    const DESCRIPTION: &'static str = "Creates a Salesforce record from the inbound email's data.";
    const BRANCHES: &'static [BranchDef] =
        branches![ok "OK", error "Error", reference_not_found "Reference not found"];

    fn references(&self) -> Vec<ObjectRef> {
        vec![ObjectRef::of(&self.crm, "crm")]
    }
}
