//! Who may do what: permissions are a resource and a verb (`routings.messaging:publish`), a
//! role is a set of them. The built-in roles are here; the server checks a permission on every
//! operation (each route declares the one it needs).

use std::collections::BTreeSet;
use std::fmt;

use crate::fields::ChannelFamily;

/// What a permission is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    /// Smart routings of one channel family, their versions and trees.
    Routings(ChannelFamily),
    EntryPoints,
    Checkpoints,
    ValueTables,
    Calendars,
    Variables,
    SmsTemplates,
    EmailTemplates,
    /// Web service definitions (their credentials are write-only).
    WebServices,
    /// Custom database definitions.
    Databases,
    /// Case types (the kinds of cases, their fields and statuses).
    CaseTypes,
    /// Payment modules (their API keys and webhook secrets are write-only).
    PaymentModules,
    /// WhatsApp, voice and SMS campaigns (their layouts, priorities and duplicate rules).
    Campaigns,
    /// CRM directories, CRM V2s and their scenarios (the cards are their databases' rows).
    CrmDirectories,
    /// Surveys (their questions, intro and thanks).
    Surveys,
    /// The targets routings insert into campaigns (personal data).
    CampaignTargets,
    /// Customers' answers to surveys (personal data).
    SurveyResponses,
    /// Cases: what a contact centre follows for a customer (personal data).
    Cases,
    /// Invoices: what customers owe and pay (personal data).
    Invoices,
    /// Tasks routings make (about customers: personal data).
    Tasks,
    /// Files uploaded for business objects (the attachments of email templates).
    Files,
    /// Groups (queues) of agents.
    Groups,
    QueueGroups,
    /// Accounts, users (agents), roles and API tokens.
    Accounts,
    Interactions,
    /// Customers: personal data.
    Customers,
    Audit,
    Settings,
    /// The agent API: the caller's own offers and conversations.
    Agent,
}

/// What is done to a resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verb {
    Read,
    Create,
    Edit,
    Delete,
    /// Put in production, schedule, put in test (routings only).
    Publish,
    /// Close an interaction.
    Close,
    /// Take an interaction out of quarantine.
    Retry,
    /// Use the agent API.
    Use,
}

const VERBS: [Verb; 8] = [
    Verb::Read,
    Verb::Create,
    Verb::Edit,
    Verb::Delete,
    Verb::Publish,
    Verb::Close,
    Verb::Retry,
    Verb::Use,
];

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Read => "read",
            Verb::Create => "create",
            Verb::Edit => "edit",
            Verb::Delete => "delete",
            Verb::Publish => "publish",
            Verb::Close => "close",
            Verb::Retry => "retry",
            Verb::Use => "use",
        }
    }
    fn parse(s: &str) -> Option<Verb> {
        VERBS.into_iter().find(|v| v.as_str() == s)
    }
}

/// The verbs each resource has.
fn verbs_of(resource: Resource) -> &'static [Verb] {
    use Verb::*;
    match resource {
        Resource::Routings(_) => &[Read, Create, Edit, Delete, Publish],
        Resource::Interactions => &[Read, Close, Retry],
        Resource::Customers | Resource::Settings => &[Read, Edit],
        Resource::Audit | Resource::CampaignTargets | Resource::SurveyResponses => &[Read],
        Resource::Agent => &[Use],
        Resource::Files => &[Read, Create, Delete],
        _ => &[Read, Create, Edit, Delete],
    }
}

const RESOURCES: [Resource; 30] = [
    Resource::Routings(ChannelFamily::Messaging),
    Resource::Routings(ChannelFamily::Email),
    Resource::EntryPoints,
    Resource::Checkpoints,
    Resource::ValueTables,
    Resource::Calendars,
    Resource::Variables,
    Resource::SmsTemplates,
    Resource::EmailTemplates,
    Resource::WebServices,
    Resource::Databases,
    Resource::CaseTypes,
    Resource::PaymentModules,
    Resource::Campaigns,
    Resource::CrmDirectories,
    Resource::Surveys,
    Resource::CampaignTargets,
    Resource::SurveyResponses,
    Resource::Cases,
    Resource::Invoices,
    Resource::Tasks,
    Resource::Files,
    Resource::Groups,
    Resource::QueueGroups,
    Resource::Accounts,
    Resource::Interactions,
    Resource::Customers,
    Resource::Audit,
    Resource::Settings,
    Resource::Agent,
];

impl Resource {
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Routings(ChannelFamily::Messaging) => "routings.messaging",
            Resource::Routings(ChannelFamily::Email) => "routings.email",
            Resource::EntryPoints => "entry_points",
            Resource::Checkpoints => "checkpoints",
            Resource::ValueTables => "value_tables",
            Resource::Calendars => "calendars",
            Resource::Variables => "variables",
            Resource::SmsTemplates => "sms_templates",
            Resource::EmailTemplates => "email_templates",
            Resource::WebServices => "web_services",
            Resource::Databases => "databases",
            Resource::CaseTypes => "case_types",
            Resource::PaymentModules => "payment_modules",
            Resource::Campaigns => "campaigns",
            Resource::CrmDirectories => "crm_directories",
            Resource::Surveys => "surveys",
            Resource::CampaignTargets => "campaign_targets",
            Resource::SurveyResponses => "survey_responses",
            Resource::Cases => "cases",
            Resource::Invoices => "invoices",
            Resource::Tasks => "tasks",
            Resource::Files => "files",
            Resource::Groups => "groups",
            Resource::QueueGroups => "queue_groups",
            Resource::Accounts => "accounts",
            Resource::Interactions => "interactions",
            Resource::Customers => "customers",
            Resource::Audit => "audit",
            Resource::Settings => "settings",
            Resource::Agent => "agent",
        }
    }
}

/// A resource and a verb: `calendars:edit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Permission {
    pub resource: Resource,
    pub verb: Verb,
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.resource.as_str(), self.verb.as_str())
    }
}

impl Permission {
    /// Every permission there is.
    pub fn all() -> impl Iterator<Item = Permission> {
        RESOURCES.into_iter().flat_map(|resource| {
            verbs_of(resource)
                .iter()
                .map(move |&verb| Permission { resource, verb })
        })
    }

    /// Reads `resource:verb`; `None` for anything that is not a permission.
    pub fn parse(s: &str) -> Option<Permission> {
        let (r, v) = s.split_once(':')?;
        let verb = Verb::parse(v)?;
        let resource = RESOURCES.into_iter().find(|x| x.as_str() == r)?;
        verbs_of(resource)
            .contains(&verb)
            .then_some(Permission { resource, verb })
    }
}

/// What an operation needs: a permission, or — for smart routings, whose family is known only
/// once the routing is read — a verb on the routings of either family (the operation then checks
/// the routing's own family).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Need {
    Permission(Permission),
    /// `routings:<verb>`.
    Routings(Verb),
}

impl Need {
    /// Reads a route's declaration: `routings:publish`, `calendars:read`, …
    pub fn parse(s: &str) -> Option<Need> {
        if let Some(v) = s.strip_prefix("routings:") {
            let verb = Verb::parse(v)?;
            return verbs_of(Resource::Routings(ChannelFamily::Messaging))
                .contains(&verb)
                .then_some(Need::Routings(verb));
        }
        Permission::parse(s).map(Need::Permission)
    }
}

impl fmt::Display for Need {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Need::Permission(p) => p.fmt(f),
            Need::Routings(v) => write!(f, "routings:{}", v.as_str()),
        }
    }
}

/// A role: a name and its permissions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Role {
    pub reference: String,
    pub name: String,
    pub permissions: BTreeSet<Permission>,
}

impl Role {
    pub fn allows(&self, p: Permission) -> bool {
        self.permissions.contains(&p)
    }

    /// Whether the role satisfies a route's need (for routings, on either family).
    pub fn meets(&self, need: Need) -> bool {
        match need {
            Need::Permission(p) => self.allows(p),
            Need::Routings(verb) => [ChannelFamily::Messaging, ChannelFamily::Email]
                .into_iter()
                .any(|family| {
                    self.allows(Permission {
                        resource: Resource::Routings(family),
                        verb,
                    })
                }),
        }
    }
}

/// The built-in roles' references.
pub const BUILT_IN: [&str; 6] = [
    "administrator",
    "designer",
    "publisher",
    "supervisor",
    "agent",
    "viewer",
];

/// A built-in role by reference.
pub fn built_in(reference: &str) -> Option<Role> {
    use Resource::*;
    let routings = [
        Routings(ChannelFamily::Messaging),
        Routings(ChannelFamily::Email),
    ];
    let objects = [
        Checkpoints,
        ValueTables,
        Calendars,
        Variables,
        SmsTemplates,
        EmailTemplates,
        WebServices,
        Databases,
        CaseTypes,
        PaymentModules,
        Campaigns,
        CrmDirectories,
        Surveys,
        Files,
    ];
    let with = |resources: &[Resource], verbs: &[Verb]| -> Vec<Permission> {
        resources
            .iter()
            .flat_map(|&resource| {
                verbs
                    .iter()
                    .filter(move |v| verbs_of(resource).contains(v))
                    .map(move |&verb| Permission { resource, verb })
            })
            .collect()
    };
    let design = {
        let mut p = with(
            &[&routings[..], &objects[..]].concat(),
            &[Verb::Read, Verb::Create, Verb::Edit, Verb::Delete],
        );
        p.extend(with(&[EntryPoints, Groups, QueueGroups], &[Verb::Read]));
        p
    };
    let (name, permissions): (&str, Vec<Permission>) = match reference {
        "administrator" => ("Administrator", Permission::all().collect()),
        "designer" => ("Designer", design),
        "publisher" => {
            let mut p = design;
            p.extend(with(&routings, &[Verb::Publish]));
            ("Publisher", p)
        }
        "supervisor" => {
            let mut p = with(
                &[Groups, QueueGroups],
                &[Verb::Read, Verb::Create, Verb::Edit, Verb::Delete],
            );
            p.extend(with(
                &[Interactions],
                &[Verb::Read, Verb::Close, Verb::Retry],
            ));
            p.extend(with(&[Customers], &[Verb::Read, Verb::Edit]));
            p.extend(with(
                &[Cases, Invoices, Tasks, CampaignTargets, SurveyResponses],
                &[Verb::Read, Verb::Create, Verb::Edit, Verb::Delete],
            ));
            p.extend(with(&[CaseTypes], &[Verb::Read]));
            p.extend(with(&[Accounts, EntryPoints], &[Verb::Read]));
            ("Supervisor", p)
        }
        "agent" => ("Agent", with(&[Agent], &[Verb::Use])),
        "viewer" => (
            "Viewer",
            with(
                &[
                    &routings[..],
                    &objects[..],
                    &[EntryPoints, Groups, QueueGroups, Interactions, Accounts],
                ]
                .concat(),
                &[Verb::Read],
            ),
        ),
        _ => return None,
    };
    Some(Role {
        reference: reference.to_owned(),
        name: name.to_owned(),
        permissions: permissions.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_read_back_and_roles_differ_where_the_issue_says() {
        for p in Permission::all() {
            assert_eq!(Permission::parse(&p.to_string()), Some(p));
            assert_eq!(Need::parse(&p.to_string()), Some(Need::Permission(p)));
        }
        assert_eq!(Permission::parse("routings.messaging:close"), None);
        assert_eq!(Permission::parse("nothing:read"), None);
        assert_eq!(
            Need::parse("routings:publish"),
            Some(Need::Routings(Verb::Publish))
        );
        let role = |r| built_in(r).unwrap();
        let publish = Need::Routings(Verb::Publish);
        assert!(!role("designer").meets(publish));
        assert!(role("publisher").meets(publish));
        assert!(role("administrator").meets(publish));
        assert!(!role("agent").meets(Need::Routings(Verb::Read)));
        let writes = |r: &Role| r.permissions.iter().any(|p| p.verb != Verb::Read);
        assert!(!writes(&role("viewer")));
        assert!(!role("viewer").allows(Permission {
            resource: Resource::Customers,
            verb: Verb::Read
        }));
        for r in BUILT_IN {
            assert_eq!(role(r).reference, r);
        }
    }
}
