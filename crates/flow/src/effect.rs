//! Effects: the IO an action asks the runtime for, and the typed result the runtime feeds back.
//!
//! An action that needs IO returns [`Step::Effect`](crate::exec::Step::Effect) with one
//! [`Effect`]; the engine records it in the interaction's cursor and suspends; the runtime
//! performs it and answers with an [`EffectResult`], which the action maps to one of its
//! branches in its own file. Each coming integration (web services, databases, CRM, email,
//! SMS, campaigns, surveys, payments) adds one variant to each enum.
//!
//! The serialised forms are part of the persisted interaction state and of the event history:
//! change them only with an upgrade step in the engine's state format.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A business object as a request names it, any variable already read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum ObjectName {
    Entity { id: String },
    Reference { reference: String },
}

/// The user a distribution to a user names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum UserName {
    Entity {
        id: String,
    },
    Reference {
        reference: String,
    },
    /// The customer's owner.
    PreferredAgent,
}

/// How a customer routing rule's group picks the user (seed 004: "Algorithm: the way that all
/// messages will distribute inside the group").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleAlgorithm {
    Random,
    InOrder,
    MostWaiting,
    LeastChats,
}

impl RuleAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleAlgorithm::Random => "random",
            RuleAlgorithm::InOrder => "in_order",
            RuleAlgorithm::MostWaiting => "most_waiting",
            RuleAlgorithm::LeastChats => "least_chats",
        }
    }
}

/// Something the runtime does for an interaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum Effect {
    /// Hand the interaction to the ACD.
    Distribute(Distribute),
    /// Send an SMS (*Send a SMS*).
    SendSms(SmsRequest),
    /// Send an email from a template (*Send an email*).
    SendEmail(EmailRequest),
    /// Forward the interaction's email (*Transfer the email*).
    TransferEmail(TransferRequest),
    /// Call a web service definition (*Web service*).
    CallWebService(WebServiceCall),
    /// Search, add to or change the rows of a custom database.
    Database(DatabaseRequest),
    /// Link, unlink, create or change a case (the case actions).
    Case(CaseRequest),
    /// Look an invoice up (*Search for invoice*).
    FindInvoice(InvoiceQuery),
    /// Have an invoice or an amount paid through a payment module (*Pay an invoice*).
    Payment(PaymentRequest),
    /// Insert a target into an outbound campaign (the three campaign actions).
    CampaignTarget(TargetRequest),
    /// Read a CRM scenario, find or create a CRM card (the four CRM actions).
    Crm(CrmRequest),
    /// Create a Salesforce record from the interaction's email (*Email to a Salesforce
    /// Query*).
    Salesforce(SalesforceRequest),
    /// Create a task (*Create a task*).
    Task(TaskRequest),
    /// Attach a survey to the interaction, conducted when it closes (*Survey*).
    Survey(SurveyRequest),
}

/// The survey *Survey* attaches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurveyRequest {
    pub survey: ObjectName,
}

/// What attaching a survey came to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SurveyOutcome {
    Attached,
    ReferenceNotFound,
    Error { reason: String },
}

/// A task to make.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRequest {
    pub name: String,
    pub category: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_at: Option<jiff::Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<jiff::Timestamp>,
    /// Made in Salesforce (none: kept by Switchyard).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salesforce: Option<SalesforceTask>,
}

/// Where a Salesforce task goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesforceTask {
    /// The directory connected to Salesforce.
    pub directory: ObjectName,
    /// The record it is about (`WhatId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related_to: Option<String>,
}

/// What making a task came to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum TaskOutcome {
    /// Its id (Switchyard's, or Salesforce's).
    Created {
        id: String,
    },
    Error {
        reason: String,
    },
}

/// A Salesforce record to create, its field values rendered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesforceRequest {
    /// The directory connected to Salesforce.
    pub directory: ObjectName,
    /// The object's API name (`Case`, `Lead`).
    pub object: String,
    pub fields: Vec<(String, String)>,
    /// Attach the interaction's original email to the record.
    pub attach_email: bool,
}

/// What creating a Salesforce record came to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SalesforceOutcome {
    Created {
        id: String,
    },
    /// No such directory.
    ReferenceNotFound,
    /// Salesforce refused or could not be reached, or the directory is not connected to it.
    Error {
        reason: String,
    },
}

/// What a CRM action asks; values are rendered in the interaction's context, `(field, value)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum CrmRequest {
    /// A CRM V2 scenario's object and assertions (their templates, for the action to render);
    /// none named: the CRM's default scenario.
    Scenario {
        crm: ObjectName,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scenario: Option<ObjectName>,
    },
    /// The card meeting the assertions linked to the interaction (and its customer); with
    /// `create`, one made of the assertions when none does.
    Associate {
        directory: ObjectName,
        /// A CRM V2's object (none: a directory's own cards).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        object: Option<String>,
        any: bool,
        assertions: Vec<(String, String)>,
        create: bool,
    },
    /// A new card, linked to the interaction when `associate`.
    Create {
        directory: ObjectName,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        object: Option<String>,
        values: Vec<(String, String)>,
        associate: bool,
    },
}

/// A CRM card as a routing reads it (the system variable `card`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardView {
    pub id: String,
    /// The directory's (or CRM's) reference.
    pub directory: String,
    /// The CRM V2 object it is of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Its fields that have a value, by name.
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// What a CRM request came to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CrmOutcome {
    /// The scenario to search by.
    Scenario {
        object: String,
        any: bool,
        assertions: Vec<(String, String)>,
    },
    /// The card found, or made (`created`), and linked when asked.
    Card {
        card: CardView,
        created: bool,
    },
    /// Several cards meet the assertions: none was linked.
    Several,
    NotFound,
    /// The directory, scenario, object or its database is missing, or the assertions name a
    /// field it lacks: it could not be searched.
    Unavailable {
        reason: String,
    },
    /// A card refused: a required field without value, a value that does not fit, a unique
    /// value taken, the database full.
    Error {
        reason: String,
    },
}

/// The channel of an outbound campaign.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignChannel {
    #[serde(rename = "whatsapp")]
    WhatsApp,
    Voice,
    Sms,
}

/// What a campaign action asks: the target, its values rendered (the number in E.164, the
/// start as RFC 3339).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetRequest {
    pub channel: CampaignChannel,
    pub campaign: ObjectName,
    pub phone: String,
    pub start_at: jiff::Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<String>,
    /// `(field, value)` of the layout.
    #[serde(default)]
    pub fields: Vec<(String, String)>,
    pub insert_if_duplicate: bool,
}

/// What a campaign insertion came to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum TargetOutcome {
    Inserted {
        target: String,
    },
    /// No such campaign.
    ReferenceNotFound,
    /// The number is a target already, under the campaign's duplicate rule.
    Duplicate,
    /// A priority out of the campaign's range, a layout or field it lacks, a value that does
    /// not fit its field, the campaign full.
    Error {
        reason: String,
    },
}

/// What *Pay an invoice* asks: a payment link from the module, sent to the customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRequest {
    pub module: ObjectName,
    pub of: PaymentOf,
    pub mode: crate::catalogue::params::PayMode,
}

/// What is paid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PaymentOf {
    /// The open invoice the lookup finds.
    Invoice(InvoiceQuery),
    /// An amount, described by the routing.
    Amount(Box<AmountToCharge>),
}

/// An amount to pay, its values rendered (phones in E.164).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmountToCharge {
    /// In minor units.
    pub amount_minor: i64,
    /// ISO 4217, upper case.
    pub currency: String,
    pub name: String,
    pub reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landline: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// What a payment came to. *Pay an invoice* maps each to its branch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum PaymentOutcome {
    /// The link went to the customer by SMS or email; the payment goes on outside the routing.
    NotificationSent { payment: String },
    /// The customer paid (the invoice, if any, is paid).
    Succeeded { payment: String },
    /// The payment was refused (a card declined).
    Failed { reason: String },
    /// The payment was refused as fraud.
    Fraudulent { reason: String },
    /// The customer gave up, or the link expired unpaid.
    Stopped { reason: String },
    /// A bank transfer or debit failed after the customer completed the payment page.
    BankTransferError { reason: String },
    /// No payment could be started: no such or inactive module, the provider unreachable or
    /// refusing, no phone number or address to send the link to.
    Error { reason: String },
    /// No open invoice matches.
    InvoiceNotFound { reason: String },
}

/// Which invoice a lookup wants: the one whose identifier `by` is `value` (in the canonical
/// form of [`crate::invoices::lookup_value`]), the oldest or most recent by due date when
/// several are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceQuery {
    pub by: crate::catalogue::params::InvoiceKey,
    pub value: String,
    pub pick: crate::catalogue::params::InvoicePick,
}

/// An invoice as a routing reads it (the system variable `bill`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceView {
    pub id: String,
    pub number: String,
    pub name: String,
    /// With its two decimals (`49.90`).
    pub amount: String,
    pub currency: String,
    /// `YYYY-MM-DD`, if it has one.
    pub due_date: Option<String>,
    /// `open`, `paid` or `cancelled`.
    pub status: String,
    pub customer_number: Option<String>,
    pub mobile_phone: Option<String>,
    pub landline: Option<String>,
    pub email: Option<String>,
}

/// What an invoice lookup found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum InvoiceOutcome {
    Found { invoice: Box<InvoiceView> },
    NotFound,
}

/// What a case action asks; values are rendered in the interaction's context.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum CaseRequest {
    /// Link the case with this reference to the interaction (none: the customer's most recent
    /// case that is not closed, among their last three) (*Associate the interaction with a
    /// case*).
    Associate {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
    },
    /// Unlink the interaction's case, if it has one (*Dissociate the case from the
    /// interaction*).
    Dissociate,
    /// A new case of the type, linked to the interaction (*Create a new case and associate it
    /// with the interaction*).
    Create {
        case_type: ObjectName,
        title: String,
    },
    /// New values of the fields of the case with this reference (none: the interaction's case);
    /// `(field, value)`, a field being the type's or the case's `title` or `status` (*Modify a
    /// case*).
    Modify {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        values: Vec<(String, String)>,
    },
}

/// A case as a routing reads it (the system variable `case`) and a case action's outcome
/// carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseView {
    pub id: String,
    pub reference: String,
    pub title: String,
    pub status: String,
    /// The case type's reference.
    #[serde(rename = "type")]
    pub case_type: String,
    /// The type's fields that have a value, by name.
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// What a case request came to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CaseOutcome {
    /// The case is the interaction's now (associated or created).
    Linked { case: CaseView },
    /// The case was changed (`linked`: it is the interaction's case).
    Modified { case: CaseView, linked: bool },
    /// The interaction has no case now.
    Dissociated,
    /// No case with the reference (or none to take), or no such case type: `reason` says which.
    NotFound { reason: String },
    /// Refused or failed — a field the type lacks, a value that does not fit its field, a
    /// status the type lacks, a case linked to too many interactions, the deployment's cases
    /// all used — `reason` says which.
    Error { reason: String },
}

/// What a database action asks of a custom database; values are rendered in the
/// interaction's context, `(column, value)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum DatabaseRequest {
    /// The first row meeting the assertions (*Fill in the variables from a database*), with
    /// the values of `columns`.
    Find {
        database: ObjectName,
        any: bool,
        assertions: Vec<(String, String)>,
        columns: Vec<String>,
    },
    /// A new row (*Save values to a database*).
    Insert {
        database: ObjectName,
        values: Vec<(String, String)>,
    },
    /// The first or every row meeting the assertions changed (*Modify the values of a
    /// database*).
    Modify {
        database: ObjectName,
        any: bool,
        every: bool,
        assertions: Vec<(String, String)>,
        values: Vec<(String, String)>,
    },
}

/// What a database request came to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum DatabaseOutcome {
    /// The row found: the values of the columns asked (a column without value is absent).
    Found {
        values: Vec<(String, serde_json::Value)>,
    },
    /// No row meets the assertions.
    NotFound,
    /// The row was added (`rows`: 1), or rows changed (`rows`: how many).
    Written { rows: u64 },
    /// The assertions or the values name columns the database does not have.
    ColumnsNotFound { columns: Vec<String> },
    /// Rows met the assertions but the values were theirs already.
    NoModification { rows: u64 },
    /// Refused or failed — no such database, a value that does not fit its column, a required
    /// column without value, a unique value taken, the database full — `reason` says which.
    Error { reason: String },
}

/// A call of a web service definition with the values of its declared inputs, rendered in the
/// interaction's context.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebServiceCall {
    pub service: ObjectName,
    #[serde(default)]
    pub inputs: Vec<(String, String)>,
    /// Wait for the answer (its fields mapped); else queued and answered OK at once.
    #[serde(default = "yes")]
    pub synchronous: bool,
}

fn yes() -> bool {
    true
}

/// What a web service call came to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum WebServiceOutcome {
    /// A 2xx answer, with the definition's response fields it held (name, text); or, for an
    /// asynchronous call, queued.
    Ok {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        #[serde(default)]
        fields: Vec<(String, String)>,
    },
    /// Anything else: another status, a timeout, a refused address, an oversize or unreadable
    /// body, no such definition — `reason` says which.
    NotOk {
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
    },
}

/// Who sends an email: an *Outgoing interaction* of a queue, or a *Basic send* from a mailbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "send", rename_all = "snake_case")]
pub enum EmailSender {
    OutgoingInteraction { queue: ObjectName },
    Basic { mailbox: ObjectName },
}

/// An email to send, its texts rendered in the interaction's context.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailRequest {
    pub template: ObjectName,
    #[serde(default)]
    pub variables: Vec<(String, String)>,
    pub sender: EmailSender,
    pub to: Vec<String>,
    #[serde(default)]
    pub cc: Vec<String>,
    #[serde(default)]
    pub bcc: Vec<String>,
    /// Replaces the template's subject.
    #[serde(default)]
    pub subject: Option<String>,
}

/// How the interaction's email is forwarded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferRequest {
    /// The mailbox it is sent from.
    pub mailbox: ObjectName,
    pub to: Vec<String>,
    #[serde(default)]
    pub cc: Vec<String>,
    #[serde(default)]
    pub comment: Option<String>,
    /// The original attached as a message (`message/rfc822`); else forwarded inline.
    pub as_attachment: bool,
    /// The email's attachments go along (inline forwards).
    pub include_attachments: bool,
}

/// What became of an email (*Send an email*, *Transfer the email*).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum EmailOutcome {
    /// The relay took it for every recipient.
    Sent,
    /// The relay took it for some recipients and refused the others (or they were left out).
    PartiallySent {
        refused: Vec<String>,
    },
    /// No such template or mailbox.
    ReferenceNotFound,
    Error {
        reason: String,
    },
}

/// An SMS to send, its texts rendered in the interaction's context.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsRequest {
    pub template: ObjectName,
    /// The template's variables and their values.
    #[serde(default)]
    pub variables: Vec<(String, String)>,
    /// Replaces the template's content.
    #[serde(default)]
    pub content: Option<String>,
    /// Recorded as an outgoing interaction (else a basic send).
    pub outgoing: bool,
    pub sender: String,
    pub recipient: String,
}

/// What became of an SMS. *Send a SMS* maps it to its branches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SmsOutcome {
    /// The SMS provider took it.
    Sent,
    /// The recipient is a valid number, but not a mobile one.
    NotMobile,
    /// No such SMS template.
    ReferenceNotFound,
    Error {
        reason: String,
    },
}

/// Where a distribution sends the interaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "distribute", rename_all = "snake_case")]
pub enum Distribute {
    /// An ACD queue (*Distribution to queue*).
    Queue {
        target: ObjectName,
        #[serde(default)]
        priority: bool,
    },
    /// The first queue of a queue group that would not overflow.
    QueueGroup {
        target: ObjectName,
        #[serde(default)]
        priority: bool,
    },
    /// One user (*Distribution to a user*).
    User { target: UserName },
    /// An entry point's customer routing rules (seed 004) chose the owner or a group; no
    /// action asked for it. `welcome` goes to the customer once an agent accepts.
    Rules {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owner: Option<Uuid>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<Uuid>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        welcome: Option<String>,
        /// The rule's algorithm for the group (none: the group's own).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        algorithm: Option<RuleAlgorithm>,
    },
}

impl Effect {
    /// Whether the interaction is still waiting for an agent-side outcome of this effect while
    /// the customer writes (the messages are then for the agent).
    pub fn is_distribution(&self) -> bool {
        matches!(self, Effect::Distribute(_))
    }
}

/// What the runtime answers to an [`Effect`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum EffectResult {
    Distribute(DistributionOutcome),
    Sms(SmsOutcome),
    Email(EmailOutcome),
    WebService(WebServiceOutcome),
    Database(DatabaseOutcome),
    Case(CaseOutcome),
    Invoice(InvoiceOutcome),
    Payment(PaymentOutcome),
    Campaign(TargetOutcome),
    Crm(CrmOutcome),
    Salesforce(SalesforceOutcome),
    Task(TaskOutcome),
    Survey(SurveyOutcome),
}

/// The outcome of a distribution. Each distribution action maps these to its own branches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum DistributionOutcome {
    /// An agent handled the interaction (closed it).
    Processed,
    /// It left the distribution before being handled (customer, routing or API close, group
    /// deleted, released by the agent).
    Unprocessed,
    /// The user accepted it (distribution to a user).
    Ok,
    /// The offer to the user expired.
    NoResponse,
    /// Declined, user not online, removed, or the distribution cannot do it.
    Error {
        reason: String,
    },
    ReferenceNotFound,
    OverflowNoUser,
    OverflowMaxEstimatedWait,
    OverflowMaxWaiting,
    DissuasionMaxWait,
    DissuasionByUser,
}

impl DistributionOutcome {
    /// The reason given to the routing in `system.error`, if any.
    pub fn reason(&self) -> Option<&str> {
        Some(match self {
            DistributionOutcome::Error { reason } => reason,
            DistributionOutcome::ReferenceNotFound => "no such queue, queue group or user",
            DistributionOutcome::OverflowNoUser => "no member of the queue is online",
            DistributionOutcome::OverflowMaxEstimatedWait => {
                "the estimated waiting time is above the queue's limit"
            }
            DistributionOutcome::OverflowMaxWaiting => {
                "the queue holds its maximum of waiting interactions"
            }
            _ => return None,
        })
    }

    /// An error outcome.
    pub fn error(reason: impl Into<String>) -> Self {
        DistributionOutcome::Error {
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn effects_keep_their_stored_shape() {
        let e = Effect::Distribute(Distribute::Queue {
            target: ObjectName::Reference {
                reference: "SALES".into(),
            },
            priority: true,
        });
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(
            v,
            json!({"effect": "distribute", "distribute": "queue", "target": {"by": "reference", "reference": "SALES"}, "priority": true})
        );
        assert_eq!(serde_json::from_value::<Effect>(v).unwrap(), e);
        let r = EffectResult::Distribute(DistributionOutcome::error("declined"));
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v,
            json!({"effect": "distribute", "outcome": "error", "reason": "declined"})
        );
        assert_eq!(serde_json::from_value::<EffectResult>(v).unwrap(), r);
    }
}
