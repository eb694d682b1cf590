use super::prelude::*;

/// Calls a configured web service.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebService {
    pub service: Of<kind::WebService>,
    /// Values of the web service's declared input variables.
    #[serde(default)]
    pub inputs: List<FieldValue, 0, 50>,
    /// Wait for the answer before going on.
    #[serde(default = "yes")]
    pub synchronous: bool,
    /// Response field → variable (synchronous calls only).
    #[serde(default)]
    pub outputs: List<FieldToVariable, 0, 50>,
}

fn yes() -> bool {
    true
}

impl ActionType for WebService {
    const TYPE: &'static str = "web_service";
    const LABEL: &'static str = "Web service";
    const CATEGORY: Category = Category::Interconnection;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Calls an external HTTP web service; in synchronous mode maps response fields into variables.";
    const BRANCHES: &'static [BranchDef] = branches![ok "OK", not_ok "Not OK"];

    fn check(&self, issues: &mut Vec<ParamIssue>) {
        if !self.synchronous && !self.outputs.is_empty() {
            issues.push(ParamIssue::new("outputs", "response fields can only be stored by a synchronous call"));
        }
    }

    fn references(&self) -> Vec<ObjectRef> {
        vec![ObjectRef::of(&self.service, "service")]
    }
}
