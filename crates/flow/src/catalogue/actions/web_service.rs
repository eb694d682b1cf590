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

fn list<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let all: Vec<&str> = names.map(String::as_str).collect();
    if all.is_empty() { "none".into() } else { all.join(", ") }
}

impl ActionType for WebService {
    const TYPE: &'static str = "web_service";
    const LABEL: &'static str = "Web service";
    const CATEGORY: Category = Category::Interconnection;
    const FAMILIES: &'static [crate::ChannelFamily] = BOTH;
    const DESCRIPTION: &'static str = "Calls an external HTTP web service; in synchronous mode maps response fields into variables.";
    const BRANCHES: &'static [BranchDef] = branches![ok "OK", not_ok "Not OK"];
    runs_itself!();

    fn check(&self, issues: &mut Vec<ParamIssue>) {
        if !self.synchronous && !self.outputs.is_empty() {
            issues.push(ParamIssue::new("outputs", "response fields can only be stored by a synchronous call"));
        }
    }

    fn references(&self) -> Vec<ObjectRef> {
        vec![ObjectRef::of(&self.service, "service")]
    }

    /// Inputs the definition does not declare (they would be ignored), and response fields it
    /// does not map (they would never be stored).
    fn check_objects(&self, data: &dyn Fn(&ObjectRef) -> Option<Value>) -> Vec<ParamIssue> {
        let Some(def) = data(&ObjectRef::of(&self.service, "service"))
            .and_then(|d| serde_json::from_value::<crate::web_service::WebServiceData>(d).ok())
        else {
            return Vec::new();
        };
        let mut issues = Vec::new();
        for (i, f) in self.inputs.0.iter().enumerate() {
            if !def.inputs.contains(&f.field.0) {
                issues.push(ParamIssue::new(
                    format!("inputs[{i}].field"),
                    format!("the web service declares no input '{}' (it has: {})", f.field.0, list(def.inputs.iter())),
                ));
            }
        }
        for (i, f) in self.outputs.0.iter().enumerate() {
            if !def.outputs.iter().any(|o| o.name == f.field.0) {
                issues.push(ParamIssue::new(
                    format!("outputs[{i}].field"),
                    format!("the web service maps no response field '{}' (it has: {})", f.field.0, list(def.outputs.iter().map(|o| &o.name))),
                ));
            }
        }
        issues
    }
}

impl Run for WebService {
    /// Renders each input's value in the interaction's context and asks the runtime to call
    /// the definition ([`Effect::CallWebService`]).
    /// Synchronous, the interaction waits for the answer; asynchronous, the call is queued with
    /// the turn (made at least once by the runtime, with an idempotency key) and the answer is
    /// *OK* at once.
    fn run(&self, cx: &mut dyn Cx) -> Step {
        let Some(service) = object_name(cx, &self.service) else {
            cx.set_error("the variable holding the web service's reference is empty");
            return Step::Branch("not_ok");
        };
        let inputs = self
            .inputs
            .0
            .iter()
            .map(|f| (f.field.0.clone(), cx.render(&f.value.0)))
            .collect();
        Step::Effect {
            effect: Effect::CallWebService(WebServiceCall {
                service,
                inputs,
                synchronous: self.synchronous,
            }),
            memo: Value::Null,
        }
    }

    /// *OK* on a 2xx answer (or, asynchronous, once queued), each mapped response field the
    /// answer held stored into its variable (one it lacks leaves its variable as it was);
    /// *Not OK* otherwise, `system.error` saying why (the status, a timeout, a refused address,
    /// an oversize or unreadable body, no such definition, or a field its variable refuses).
    fn resume(&self, cx: &mut dyn Cx, _memo: &Value, wake: Wake<'_>) -> Step {
        let outcome = match wake {
            Wake::Result(EffectResult::WebService(outcome)) => outcome,
            _ => return Step::Unavailable("a web service call waits for its answer"),
        };
        match outcome {
            WebServiceOutcome::Ok { fields, .. } => {
                for out in &self.outputs.0 {
                    let Some((_, value)) = fields.iter().find(|(n, _)| *n == out.field.0) else {
                        continue;
                    };
                    if let Err(reason) = cx.set(&out.variable.0, Value::String(value.clone())) {
                        cx.set_error(&format!("response field {}: {reason}", out.field.0));
                        return Step::Branch("not_ok");
                    }
                }
                Step::Branch("ok")
            }
            WebServiceOutcome::NotOk { reason, .. } => {
                cx.set_error(reason);
                Step::Branch("not_ok")
            }
        }
    }
}
