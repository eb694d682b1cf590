//! Wire types of the HTTP API, kept apart from the core types they are built from.

use flow::compile::{Compiled, Diagnostic};
use flow::tree::{Action, Link, Tree};
use flow::{
    ChannelFamily, Routing, RoutingKind, ScheduleFailure, Severity, VersionRecord, VersionStatus,
};
use jiff::Timestamp;
use runtime::maker::{RoutingView, VersionView};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident <=> $core:ty { $($variant:ident),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),* }
        impl From<$core> for $name {
            fn from(v: $core) -> Self { match v { $(<$core>::$variant => $name::$variant),* } }
        }
        impl From<$name> for $core {
            fn from(v: $name) -> Self { match v { $($name::$variant => <$core>::$variant),* } }
        }
    };
}

wire_enum!(
    /// When the routing is invoked.
    Kind <=> RoutingKind { InteractionStart, InteractionEnd }
);
wire_enum!(
    /// Channel family of a routing.
    Family <=> ChannelFamily { Messaging, Email }
);
wire_enum!(
    /// Lifecycle status of a version.
    Status <=> VersionStatus { Development, Production, Backup }
);
wire_enum!(
    /// Severity of a diagnostic.
    DiagnosticSeverity <=> Severity { Error, Warning }
);

/// A version without its tree.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct VersionSummary {
    pub id: Uuid,
    pub routing_id: Uuid,
    pub number: u32,
    pub name: String,
    pub description: String,
    pub status: Status,
    pub in_test: bool,
    /// Planned production time, if any.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub scheduled_at: Option<Timestamp>,
    /// Revision of the version; send it back in `If-Match` when editing.
    pub revision: u64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl From<&VersionRecord> for VersionSummary {
    fn from(v: &VersionRecord) -> Self {
        VersionSummary {
            id: v.id,
            routing_id: v.routing_id,
            number: v.number,
            name: v.name.clone(),
            description: v.description.clone(),
            status: v.status.into(),
            in_test: v.in_test,
            scheduled_at: v.scheduled_at,
            revision: v.revision,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

/// A planned production (what the production banner shows).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PlannedProduction {
    pub version_id: Uuid,
    pub version_number: u32,
    pub version_name: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// The calendar day of `at` in the deployment's time zone (the unit of the one-per-date rule).
    pub date: String,
}

/// The last planned production that could not happen.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ScheduleFailureDto {
    pub version_id: Uuid,
    pub version_name: String,
    #[schema(value_type = String, format = DateTime)]
    pub scheduled_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub recorded_at: Timestamp,
    pub code: String,
    pub message: String,
}

impl From<&ScheduleFailure> for ScheduleFailureDto {
    fn from(f: &ScheduleFailure) -> Self {
        ScheduleFailureDto {
            version_id: f.version_id,
            version_name: f.version_name.clone(),
            scheduled_at: f.scheduled_at,
            recorded_at: f.recorded_at,
            code: f.code.clone(),
            message: f.message.clone(),
        }
    }
}

/// A smart routing in a list.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RoutingSummary {
    pub id: Uuid,
    pub reference: String,
    pub name: String,
    pub description: String,
    pub kind: Kind,
    pub channel_family: Family,
    /// Revision of the routing; send it back in `If-Match` when updating.
    pub revision: u64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl From<&Routing> for RoutingSummary {
    fn from(r: &Routing) -> Self {
        RoutingSummary {
            id: r.id,
            reference: r.reference.clone(),
            name: r.name.clone(),
            description: r.description.clone(),
            kind: r.kind.into(),
            channel_family: r.channel_family.into(),
            revision: r.revision,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// A smart routing with its versions and planned productions.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RoutingDto {
    #[serde(flatten)]
    pub routing: RoutingSummary,
    pub versions: Vec<VersionSummary>,
    pub production_version_id: Option<Uuid>,
    /// Planned productions, soonest first.
    pub planned_productions: Vec<PlannedProduction>,
    pub schedule_failure: Option<ScheduleFailureDto>,
}

impl RoutingDto {
    pub fn new(view: &RoutingView, tz: &jiff::tz::TimeZone) -> Self {
        RoutingDto {
            routing: (&view.routing).into(),
            versions: view.versions.iter().map(Into::into).collect(),
            production_version_id: view
                .versions
                .iter()
                .find(|v| v.status == VersionStatus::Production)
                .map(|v| v.id),
            planned_productions: view
                .schedules()
                .into_iter()
                .filter_map(|v| {
                    let at = v.scheduled_at?;
                    Some(PlannedProduction {
                        version_id: v.id,
                        version_number: v.number,
                        version_name: v.name.clone(),
                        at,
                        date: at.to_zoned(tz.clone()).date().to_string(),
                    })
                })
                .collect(),
            schedule_failure: view.routing.schedule_failure.as_ref().map(Into::into),
        }
    }
}

/// A page of routings.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RoutingPage {
    pub items: Vec<RoutingSummary>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<Uuid>,
}

/// An editor position.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PositionDto {
    pub x: f64,
    pub y: f64,
}

/// An action of a tree.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ActionDto {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub action_type: String,
    /// The action type's label.
    pub label: String,
    pub name: Option<String>,
    #[schema(value_type = Object)]
    pub params: Value,
    pub record_passage: bool,
    pub position: PositionDto,
}

impl From<&Action> for ActionDto {
    fn from(a: &Action) -> Self {
        ActionDto {
            id: a.id,
            action_type: a.action_type.clone(),
            label: flow::catalogue::get(&a.action_type)
                .map(|s| s.label().to_owned())
                .unwrap_or_else(|| a.action_type.clone()),
            name: a.name.clone(),
            params: a.params.clone(),
            record_passage: a.record_passage,
            position: PositionDto {
                x: a.position.x,
                y: a.position.y,
            },
        }
    }
}

/// A link of a tree.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkDto {
    pub id: Uuid,
    pub from: Uuid,
    pub branch: String,
    pub to: Uuid,
}

impl From<&Link> for LinkDto {
    fn from(l: &Link) -> Self {
        LinkDto {
            id: l.id,
            from: l.from,
            branch: l.branch.clone(),
            to: l.to,
        }
    }
}

/// An action tree.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TreeDto {
    pub actions: Vec<ActionDto>,
    pub links: Vec<LinkDto>,
}

impl From<&Tree> for TreeDto {
    fn from(t: &Tree) -> Self {
        TreeDto {
            actions: t.actions.iter().map(Into::into).collect(),
            links: t.links.iter().map(Into::into).collect(),
        }
    }
}

/// A problem found by compiling a version.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DiagnosticDto {
    pub severity: DiagnosticSeverity,
    pub code: String,
    pub message: String,
    pub action_id: Option<Uuid>,
    pub link_id: Option<Uuid>,
    pub path: Option<String>,
}

impl From<&Diagnostic> for DiagnosticDto {
    fn from(d: &Diagnostic) -> Self {
        DiagnosticDto {
            severity: d.severity.into(),
            code: d.code.clone(),
            message: d.message.clone(),
            action_id: d.action_id,
            link_id: d.link_id,
            path: d.path.clone(),
        }
    }
}

/// Diagnostics with their counts.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DiagnosticsDto {
    pub errors: usize,
    pub warnings: usize,
    pub items: Vec<DiagnosticDto>,
}

impl From<&Compiled> for DiagnosticsDto {
    fn from(c: &Compiled) -> Self {
        DiagnosticsDto {
            errors: c.error_count(),
            warnings: c.warning_count(),
            items: c.diagnostics.iter().map(Into::into).collect(),
        }
    }
}

/// A version with its tree and diagnostics.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct VersionDto {
    #[serde(flatten)]
    pub version: VersionSummary,
    pub channel_family: Family,
    /// Nothing but Start: cannot go into production.
    pub blank: bool,
    pub tree: TreeDto,
    pub diagnostics: DiagnosticsDto,
    /// The external entry points that run this version in test (seed 001 §4).
    pub test_entry_points: Vec<TestEntryPointDto>,
}

/// An entry point a version in test runs on.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TestEntryPointDto {
    pub id: Uuid,
    pub reference: String,
    pub name: String,
    /// `whatsapp`, `telegram`, `messenger` or `http`.
    pub channel: String,
    /// Its address at the provider, if it has one.
    pub address: Option<String>,
}

impl From<&flow::entry_point::EntryPoint> for TestEntryPointDto {
    fn from(e: &flow::entry_point::EntryPoint) -> Self {
        TestEntryPointDto {
            id: e.id,
            reference: e.reference.clone(),
            name: e.name.clone(),
            channel: e.channel.as_str().to_owned(),
            address: e.address.clone(),
        }
    }
}

impl From<&VersionView> for VersionDto {
    fn from(v: &VersionView) -> Self {
        VersionDto {
            version: (&v.version.record).into(),
            channel_family: v.channel_family.into(),
            blank: v.version.tree.is_blank(),
            tree: (&v.version.tree).into(),
            diagnostics: (&v.compiled).into(),
            test_entry_points: Vec::new(),
        }
    }
}

/// One output branch of an action type.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BranchDto {
    pub key: String,
    pub label: String,
    /// The catch-all branch used when this one is not linked.
    pub fallback: Option<String>,
}

/// One entry of the catalogue.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ActionTypeDto {
    #[serde(rename = "type")]
    pub action_type: String,
    pub label: String,
    pub category: String,
    pub category_label: String,
    pub channel_families: Vec<Family>,
    pub description: String,
    /// Whether this build can run the action; an interaction reaching one that it cannot run
    /// ends with an `action_unavailable` error.
    pub runnable: bool,
    pub branches: Vec<BranchDto>,
    /// JSON Schema (2020-12) of the parameters.
    #[schema(value_type = Object)]
    pub params_schema: Value,
}

impl From<&dyn flow::catalogue::Spec> for ActionTypeDto {
    fn from(s: &dyn flow::catalogue::Spec) -> Self {
        let category = serde_json::to_value(s.category())
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        ActionTypeDto {
            action_type: s.type_key().to_owned(),
            label: s.label().to_owned(),
            category,
            category_label: s.category().label().to_owned(),
            channel_families: s.families().iter().map(|f| (*f).into()).collect(),
            description: s.description().to_owned(),
            runnable: s.runnable(),
            branches: s
                .branches()
                .iter()
                .map(|b| BranchDto {
                    key: b.key.into(),
                    label: b.label.into(),
                    fallback: b.fallback.map(Into::into),
                })
                .collect(),
            params_schema: s.schema(),
        }
    }
}

/// The whole catalogue.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CatalogueDto {
    pub items: Vec<ActionTypeDto>,
}

/// A field of the system variables routings read (`{{ customer.name }}`).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SystemVariableDto {
    /// `root` or `root.field`.
    pub path: String,
    pub description: String,
    /// Only email interactions have it.
    pub email_only: bool,
}

/// The system variables, in the order the Maker offers them.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SystemVariablesDto {
    pub items: Vec<SystemVariableDto>,
}

// ----- requests -----

/// A new smart routing.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRouting {
    pub name: String,
    pub reference: String,
    #[serde(default)]
    pub description: String,
    pub kind: Kind,
    pub channel_family: Family,
}

/// Changes to a smart routing. `kind` and `channel_family` cannot change: sending a different
/// value is refused.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRouting {
    pub name: Option<String>,
    pub reference: Option<String>,
    pub description: Option<String>,
    pub kind: Option<Kind>,
    pub channel_family: Option<Family>,
}

/// Copy of a smart routing.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CopyRouting {
    pub name: String,
    pub reference: String,
    pub description: Option<String>,
}

/// A new version: from zero, or a copy of another version's tree.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateVersion {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Version whose tree is copied (of this or another routing of the same channel family).
    pub copy_of: Option<Uuid>,
}

/// Changes to a development version's name and description.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateVersion {
    pub name: Option<String>,
    pub description: Option<String>,
}

/// Duplicate of a version.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DuplicateVersion {
    /// Defaults to "Copy of <name>".
    pub name: Option<String>,
}

/// Planned production time.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleRequest {
    /// RFC 3339 instant in the future.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
}

/// An action of another (or the same) version whose type and parameters are copied.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CopySource {
    pub version_id: Uuid,
    pub action_id: Uuid,
}

/// Where a new action goes: after an action in one of its branches.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct After {
    pub action_id: Uuid,
    pub branch: String,
}

/// Where a new action goes: on an existing link, between its two actions.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Between {
    pub link_id: Uuid,
    /// Branch of the new action that leads to the old target (its first branch by default).
    pub out_branch: Option<String>,
}

/// A new action: a type with parameters, or a copy of an existing action (parameters, not links).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAction {
    #[serde(rename = "type")]
    pub action_type: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub params: Option<Value>,
    pub copy_from: Option<CopySource>,
    pub name: Option<String>,
    pub record_passage: Option<bool>,
    pub position: Option<PositionDto>,
    pub after: Option<After>,
    pub between: Option<Between>,
}

/// A whole tree, as `GET /versions/{id}` gives it (`label` left out): its Start first.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceTree {
    /// The first is the version's Start.
    #[schema(min_items = 1, max_items = 500)]
    pub actions: Vec<TreeAction>,
    #[schema(max_items = 2000)]
    pub links: Vec<LinkDto>,
}

/// One action of a [`ReplaceTree`].
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TreeAction {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub action_type: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: Value,
    #[serde(default)]
    pub record_passage: bool,
    pub position: PositionDto,
}

impl ReplaceTree {
    pub fn into_tree(self) -> flow::tree::Tree {
        flow::tree::Tree {
            actions: self
                .actions
                .into_iter()
                .map(|a| flow::tree::Action {
                    id: a.id,
                    action_type: a.action_type,
                    name: a.name,
                    params: a.params,
                    record_passage: a.record_passage,
                    position: flow::tree::Position {
                        x: a.position.x,
                        y: a.position.y,
                    },
                })
                .collect(),
            links: self
                .links
                .into_iter()
                .map(|l| flow::tree::Link {
                    id: l.id,
                    from: l.from,
                    branch: l.branch,
                    to: l.to,
                })
                .collect(),
        }
    }
}

/// Changes to an action. `name: null` clears the name.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAction {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    #[schema(value_type = Option<Object>)]
    pub params: Option<Value>,
    pub record_passage: Option<bool>,
    pub position: Option<PositionDto>,
}

fn double_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// A new link.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLink {
    pub from: Uuid,
    pub branch: String,
    pub to: Uuid,
}

/// Re-pointing a link.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateLink {
    pub from: Option<Uuid>,
    pub branch: Option<String>,
    pub to: Option<Uuid>,
}

/// Result of an import.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ImportResult {
    pub routing: RoutingDto,
    /// Diagnostics of the imported versions (development versions may carry errors).
    #[schema(value_type = Object)]
    pub report: Value,
}

/// Result of checking a document without importing it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DocumentCheck {
    pub valid: bool,
    /// Human-readable lines, one per problem.
    pub lines: Vec<String>,
    #[schema(value_type = Object)]
    pub report: Value,
}

wire_enum!(
    /// How a customer routing rule distributes inside its group (seed 004): none given, the
    /// group's own algorithm.
    RuleAlgorithmDto <=> flow::entry_point::RuleAlgorithm { Random, InOrder, MostWaiting, LeastChats }
);

/// A group of a customer routing rule, how it distributes, and the message the customer gets
/// (empty: none).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleGroupDto {
    pub group_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<RuleAlgorithmDto>,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub message: String,
}

/// What happens when a returning customer's owner is not online: wait for the owner even
/// offline (`keep_user`), or a group while anyone is online (`group`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "rule", rename_all = "snake_case", deny_unknown_fields)]
pub enum OwnerOfflineDto {
    KeepUser,
    Group {
        group_id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        algorithm: Option<RuleAlgorithmDto>,
        #[serde(default)]
        #[schema(max_length = 2000)]
        message: String,
    },
}

/// Customer routing rules (seed 004), used instead of a smart routing: a new customer goes to
/// `new_online` while anyone is online, else to `new_offline`; a returning customer goes to
/// their owner, or by `owner_offline` when the owner is not online.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerRoutingDto {
    pub new_online: RuleGroupDto,
    pub new_offline: RuleGroupDto,
    pub owner_offline: OwnerOfflineDto,
}

impl From<flow::entry_point::RuleGroup> for RuleGroupDto {
    fn from(g: flow::entry_point::RuleGroup) -> Self {
        RuleGroupDto {
            group_id: g.group_id,
            algorithm: g.algorithm.map(Into::into),
            message: g.message,
        }
    }
}

impl From<RuleGroupDto> for flow::entry_point::RuleGroup {
    fn from(g: RuleGroupDto) -> Self {
        flow::entry_point::RuleGroup {
            group_id: g.group_id,
            algorithm: g.algorithm.map(Into::into),
            message: g.message,
        }
    }
}

impl From<flow::entry_point::CustomerRoutingRules> for CustomerRoutingDto {
    fn from(r: flow::entry_point::CustomerRoutingRules) -> Self {
        use flow::entry_point::OwnerOfflineRule as O;
        CustomerRoutingDto {
            new_online: r.new_online.into(),
            new_offline: r.new_offline.into(),
            owner_offline: match r.owner_offline {
                O::KeepUser => OwnerOfflineDto::KeepUser,
                O::Group {
                    group_id,
                    algorithm,
                    message,
                } => OwnerOfflineDto::Group {
                    group_id,
                    algorithm: algorithm.map(Into::into),
                    message,
                },
            },
        }
    }
}

impl From<CustomerRoutingDto> for flow::entry_point::CustomerRoutingRules {
    fn from(r: CustomerRoutingDto) -> Self {
        use flow::entry_point::OwnerOfflineRule as O;
        flow::entry_point::CustomerRoutingRules {
            new_online: r.new_online.into(),
            new_offline: r.new_offline.into(),
            owner_offline: match r.owner_offline {
                OwnerOfflineDto::KeepUser => O::KeepUser,
                OwnerOfflineDto::Group {
                    group_id,
                    algorithm,
                    message,
                } => O::Group {
                    group_id,
                    algorithm: algorithm.map(Into::into),
                    message,
                },
            },
        }
    }
}
