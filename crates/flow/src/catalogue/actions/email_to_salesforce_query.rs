use super::prelude::*;

/// Creates a Salesforce record from the inbound email.
///
/// Designed here (the seed names it only): the email's data (`{{ email.subject }}`,
/// `{{ email.from }}`, `{{ email.text }}`…) is mapped onto the fields of a Salesforce object
/// through a CRM directory connected to Salesforce. *OK* the record was created (its id stored
/// if asked); *Error* Salesforce refused or could not be reached; *Reference not found* the CRM
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
    runs_itself!();

    fn check(&self, issues: &mut Vec<ParamIssue>) {
        if !is_salesforce_name(&self.object.0) {
            issues.push(ParamIssue::new(
                "object",
                "a Salesforce object's API name: a letter, then letters, digits and _",
            ));
        }
        for (i, f) in self.fields.0.iter().enumerate() {
            if !is_salesforce_name(&f.field.0) {
                issues.push(ParamIssue::new(
                    format!("fields[{i}].field"),
                    "a Salesforce field's API name: a letter, then letters, digits and _",
                ));
            }
        }
    }

    fn references(&self) -> Vec<ObjectRef> {
        vec![ObjectRef::of(&self.crm, "crm")]
    }
}

/// A Salesforce API name (`Case`, `Order__c`).
fn is_salesforce_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 80
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Run for EmailToSalesforceQuery {
    /// Asks for a record of the object with the fields' values rendered (the email's own data
    /// through `{{ email.* }}`), and the email attached when asked.
    fn run(&self, cx: &mut dyn Cx) -> Step {
        let Some(directory) = object_name(cx, &self.crm) else {
            cx.set_error("the variable holding the directory's reference is empty");
            return Step::Branch("reference_not_found");
        };
        Step::Effect {
            effect: Effect::Salesforce(SalesforceRequest {
                directory,
                object: self.object.0.clone(),
                fields: self
                    .fields
                    .0
                    .iter()
                    .map(|f| (f.field.0.clone(), cx.render(&f.value.0)))
                    .collect(),
                attach_email: self.attach_email,
            }),
            memo: Value::Null,
        }
    }

    /// *OK* with the record's Salesforce id stored in the variable asked (if any); *Reference
    /// not found* when there is no such directory; *Error* otherwise (the directory is not
    /// connected to Salesforce, Salesforce refused the connection or the record, or could not
    /// be reached) — `system.error` says why.
    fn resume(&self, cx: &mut dyn Cx, _memo: &Value, wake: Wake<'_>) -> Step {
        let Wake::Result(EffectResult::Salesforce(outcome)) = wake else {
            return Step::Unavailable("a Salesforce record waits for its answer");
        };
        match outcome {
            SalesforceOutcome::Created { id } => {
                if let Some(target) = &self.store_id_in
                    && let Err(reason) = cx.set(&target.0, Value::String(id.clone()))
                {
                    cx.set_error(&reason);
                    return Step::Branch("error");
                }
                Step::Branch("ok")
            }
            SalesforceOutcome::ReferenceNotFound => Step::Branch("reference_not_found"),
            SalesforceOutcome::Error { reason } => {
                cx.set_error(reason);
                Step::Branch("error")
            }
        }
    }
}
