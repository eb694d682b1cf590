//! The action catalogue: every action type, its category, channel families, typed parameters
//! and output branches. One file per action type under `actions/`, registered by one line in
//! [`actions`]'s `registry!` list; the API catalogue and its JSON Schemas are generated from it.

pub mod actions;
pub mod params;

/// Public pieces of individual action types (answer validation, text folding) for the engine
/// and tests.
pub mod actions_api {
    pub use super::actions::public::*;
}

use std::marker::PhantomData;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::fields::ChannelFamily;
pub use params::Selector;

/// Both channel families.
pub const BOTH: &[ChannelFamily] = &[ChannelFamily::Messaging, ChannelFamily::Email];
/// Messaging only (chat, WhatsApp, Telegram, Messenger).
pub const MESSAGING: &[ChannelFamily] = &[ChannelFamily::Messaging];
/// Email only.
pub const EMAIL: &[ChannelFamily] = &[ChannelFamily::Email];

/// Catalogue category, as the seeds group actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    ActionsAndTree,
    CasesAndCrm,
    Data,
    Distribution,
    Interconnection,
    Messaging,
    Sending,
    Campaigns,
    TimeAndDates,
    Survey,
    Payment,
}

impl Category {
    pub fn label(self) -> &'static str {
        match self {
            Category::ActionsAndTree => "Actions and action tree",
            Category::CasesAndCrm => "Cases & CRM",
            Category::Data => "Data",
            Category::Distribution => "Distribution",
            Category::Interconnection => "Interconnection",
            Category::Messaging => "Messaging",
            Category::Sending => "Sending",
            Category::Campaigns => "Campaigns",
            Category::TimeAndDates => "Time and dates",
            Category::Survey => "Survey",
            Category::Payment => "Payment and billing",
        }
    }
}

/// One output branch of an action type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct BranchDef {
    /// Stable key used in links (`ok`, `link_3`, `overflow_no_user`…).
    pub key: &'static str,
    /// Label shown in the editor, as the seeds name it.
    pub label: &'static str,
    /// A catch-all branch that takes over when this one is not linked (e.g. every specific
    /// *Overflow – …* branch falls back on *Overflow*).
    pub fallback: Option<&'static str>,
}

impl BranchDef {
    pub const fn new(key: &'static str, label: &'static str) -> Self {
        BranchDef {
            key,
            label,
            fallback: None,
        }
    }
    pub const fn with_fallback(
        key: &'static str,
        label: &'static str,
        fallback: &'static str,
    ) -> Self {
        BranchDef {
            key,
            label,
            fallback: Some(fallback),
        }
    }
}

/// Branch lists: `branches![ok "OK", error "Error"]`, with `links` for Link 1 … Link 10.
#[macro_export]
macro_rules! branches {
    (links $(, $key:ident $label:literal)* $(,)?) => {
        &[
            $crate::catalogue::BranchDef::new("link_1", "Link 1"),
            $crate::catalogue::BranchDef::new("link_2", "Link 2"),
            $crate::catalogue::BranchDef::new("link_3", "Link 3"),
            $crate::catalogue::BranchDef::new("link_4", "Link 4"),
            $crate::catalogue::BranchDef::new("link_5", "Link 5"),
            $crate::catalogue::BranchDef::new("link_6", "Link 6"),
            $crate::catalogue::BranchDef::new("link_7", "Link 7"),
            $crate::catalogue::BranchDef::new("link_8", "Link 8"),
            $crate::catalogue::BranchDef::new("link_9", "Link 9"),
            $crate::catalogue::BranchDef::new("link_10", "Link 10"),
            $($crate::catalogue::BranchDef::new(stringify!($key), $label)),*
        ]
    };
    ($($key:ident $label:literal),* $(,)?) => {
        &[$($crate::catalogue::BranchDef::new(stringify!($key), $label)),*]
    };
}

/// The kinds of business objects actions refer to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    Checkpoint,
    Queue,
    QueueGroup,
    Routing,
    User,
    Calendar,
    ValueTable,
    Database,
    EmailTemplate,
    SmsTemplate,
    CrmDirectory,
    CrmScenario,
    CaseType,
    Survey,
    WhatsappCampaign,
    VoiceCampaign,
    SmsCampaign,
    WebService,
    PaymentModule,
    Mailbox,
    Variable,
}

impl ObjectKind {
    pub fn label(self) -> &'static str {
        match self {
            ObjectKind::Checkpoint => "checkpoint",
            ObjectKind::Queue => "queue",
            ObjectKind::QueueGroup => "queue group",
            ObjectKind::Routing => "smart routing",
            ObjectKind::User => "user",
            ObjectKind::Calendar => "calendar",
            ObjectKind::ValueTable => "values table",
            ObjectKind::Database => "database",
            ObjectKind::EmailTemplate => "email template",
            ObjectKind::SmsTemplate => "SMS template",
            ObjectKind::CrmDirectory => "CRM directory",
            ObjectKind::CrmScenario => "CRM scenario",
            ObjectKind::CaseType => "case type",
            ObjectKind::Survey => "survey",
            ObjectKind::WhatsappCampaign => "WhatsApp campaign",
            ObjectKind::VoiceCampaign => "voice campaign",
            ObjectKind::SmsCampaign => "SMS campaign",
            ObjectKind::WebService => "web service",
            ObjectKind::PaymentModule => "payment module",
            ObjectKind::Mailbox => "mailbox",
            ObjectKind::Variable => "variable",
        }
    }
}

/// A reference from an action's parameters to a business object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectRef {
    pub kind: ObjectKind,
    pub selector: Selector,
    /// JSON pointer of the selector inside the parameters.
    pub path: String,
}

impl ObjectRef {
    /// The reference of a selector of one kind (the kind its type names).
    pub fn of<K: params::Kind>(selector: &params::Of<K>, path: &str) -> Self {
        ObjectRef::new(K::KIND, selector, path)
    }

    pub fn new(kind: ObjectKind, selector: &Selector, path: &str) -> Self {
        ObjectRef {
            kind,
            selector: selector.clone(),
            path: path.to_owned(),
        }
    }
}

/// A parameter problem found while parsing or checking an action's parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ParamIssue {
    /// Where in the parameters (`questions[2].question`), empty for the whole object.
    pub path: String,
    pub message: String,
}

impl ParamIssue {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ParamIssue {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// What an action type is. Implemented once per action type, by its parameter struct.
pub trait ActionType: Serialize + DeserializeOwned + JsonSchema + 'static {
    /// Stable type key used in trees and documents (`message_with_choice`).
    const TYPE: &'static str;
    /// Label as the seeds name it.
    const LABEL: &'static str;
    const CATEGORY: Category;
    const FAMILIES: &'static [ChannelFamily];
    /// One or two sentences for the catalogue.
    const DESCRIPTION: &'static str;
    const BRANCHES: &'static [BranchDef];
    /// Whether this build can run the type: `true` exactly when [`ActionType::runner`] is given.
    const RUNS: bool = false;

    /// Rules across fields that types alone cannot state (e.g. load weights summing to 100).
    fn check(&self, _issues: &mut Vec<ParamIssue>) {}
    /// Business objects these parameters refer to.
    fn references(&self) -> Vec<ObjectRef> {
        Vec::new()
    }
    /// What these parameters ask of the objects they name that the objects do not offer (a
    /// web service input it does not declare): compile warns of each. `data` gives a named
    /// object's data when the compiler knows it.
    fn check_objects(&self, _data: &dyn Fn(&ObjectRef) -> Option<Value>) -> Vec<ParamIssue> {
        Vec::new()
    }
    /// Whether a branch can be taken with these parameters (e.g. *Link 7* of a choice with 3
    /// responses cannot). Links on branches that cannot be taken produce a warning.
    fn branch_reachable(&self, _branch: &str) -> bool {
        true
    }
    /// How the action runs, built once from its parameters; `None` when this build cannot run
    /// it yet (its integration does not exist), which ends an interaction reaching it with a
    /// visible error.
    fn runner(self) -> Option<Box<dyn crate::exec::Run>> {
        None
    }
}

/// What analysing one action's parameters found.
#[derive(Clone, Debug, Default)]
pub struct Analysis {
    /// Problems; empty when the parameters are valid.
    pub issues: Vec<ParamIssue>,
    /// The parameters re-serialised in canonical form (when they parse).
    pub normalized: Option<Value>,
    pub references: Vec<ObjectRef>,
    /// Branches these parameters can never take.
    pub unreachable_branches: Vec<&'static str>,
    /// Variables the parameters read (placeholders, variables read) or store into.
    pub variables: Vec<params::uses::VarUse>,
}

/// The object-safe face of an action type, used by the registry.
pub trait Spec: Sync {
    fn type_key(&self) -> &'static str;
    fn label(&self) -> &'static str;
    fn category(&self) -> Category;
    fn families(&self) -> &'static [ChannelFamily];
    fn description(&self) -> &'static str;
    fn branches(&self) -> &'static [BranchDef];
    /// JSON Schema (2020-12) of the parameters.
    fn schema(&self) -> Value;
    fn analyse(&self, params: &Value) -> Analysis;
    /// [`ActionType::check_objects`] of these parameters (none when they do not parse).
    fn object_issues(
        &self,
        params: &Value,
        data: &dyn Fn(&ObjectRef) -> Option<Value>,
    ) -> Vec<ParamIssue>;
    /// How an action with these parameters runs: `Err` when they are invalid, `Ok(None)` when
    /// the type cannot run in this build.
    fn instantiate(
        &self,
        params: &Value,
    ) -> Result<Option<Box<dyn crate::exec::Run>>, Vec<ParamIssue>>;
    /// Whether this build can run the type.
    fn runnable(&self) -> bool;
    fn has_branch(&self, key: &str) -> bool {
        self.branches().iter().any(|b| b.key == key)
    }
    fn in_family(&self, family: ChannelFamily) -> bool {
        self.families().contains(&family)
    }
}

/// Registry entry for one action type.
pub struct Entry<T>(PhantomData<fn() -> T>);

impl<T> Entry<T> {
    pub const NEW: Self = Entry(PhantomData);
}

impl<T: ActionType> Spec for Entry<T> {
    fn type_key(&self) -> &'static str {
        T::TYPE
    }
    fn label(&self) -> &'static str {
        T::LABEL
    }
    fn category(&self) -> Category {
        T::CATEGORY
    }
    fn families(&self) -> &'static [ChannelFamily] {
        T::FAMILIES
    }
    fn description(&self) -> &'static str {
        T::DESCRIPTION
    }
    fn branches(&self) -> &'static [BranchDef] {
        T::BRANCHES
    }
    fn schema(&self) -> Value {
        let schema = schemars::SchemaGenerator::default().into_root_schema_for::<T>();
        serde_json::to_value(schema).unwrap_or(Value::Null)
    }
    fn instantiate(
        &self,
        params: &Value,
    ) -> Result<Option<Box<dyn crate::exec::Run>>, Vec<ParamIssue>> {
        let empty = Value::Object(Default::default());
        let params = if params.is_null() { &empty } else { params };
        let parsed: T = serde_path_to_error::deserialize(params).map_err(|e| {
            let path = e.path().to_string();
            vec![ParamIssue::new(
                if path == "." { String::new() } else { path },
                e.into_inner().to_string(),
            )]
        })?;
        let mut issues = Vec::new();
        parsed.check(&mut issues);
        if !issues.is_empty() {
            return Err(issues);
        }
        Ok(parsed.runner())
    }
    fn runnable(&self) -> bool {
        T::RUNS
    }
    fn object_issues(
        &self,
        params: &Value,
        data: &dyn Fn(&ObjectRef) -> Option<Value>,
    ) -> Vec<ParamIssue> {
        match serde_json::from_value::<T>(params.clone()) {
            Ok(parsed) => parsed.check_objects(data),
            Err(_) => Vec::new(),
        }
    }
    fn analyse(&self, params: &Value) -> Analysis {
        let owned;
        let params = if params.is_null() {
            owned = Value::Object(Default::default());
            &owned
        } else {
            params
        };
        let (parsed, variables) =
            params::uses::collect(|| serde_path_to_error::deserialize::<_, T>(params));
        match parsed {
            Err(e) => {
                let path = e.path().to_string();
                let path = if path == "." { String::new() } else { path };
                Analysis {
                    issues: vec![ParamIssue::new(path, e.into_inner().to_string())],
                    ..Analysis::default()
                }
            }
            Ok(parsed) => {
                let mut issues = Vec::new();
                parsed.check(&mut issues);
                Analysis {
                    issues,
                    normalized: serde_json::to_value(&parsed).ok(),
                    references: parsed.references(),
                    unreachable_branches: T::BRANCHES
                        .iter()
                        .filter(|b| !parsed.branch_reachable(b.key))
                        .map(|b| b.key)
                        .collect(),
                    variables,
                }
            }
        }
    }
}

/// Every action type.
pub fn all() -> &'static [&'static dyn Spec] {
    actions::REGISTRY
}

/// The action type with this key.
pub fn get(type_key: &str) -> Option<&'static dyn Spec> {
    all().iter().copied().find(|s| s.type_key() == type_key)
}

/// Key of the Start action type.
pub const START: &str = "start";
