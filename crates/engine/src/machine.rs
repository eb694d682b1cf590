//! [`handle`]: one input through one interaction.

use std::collections::BTreeMap;
use std::sync::Arc;

use flow::catalogue::Selector;
use flow::effect::{Effect, EffectResult};
use flow::exec::{
    Cx, Found, Inbound, Outbound, Step, Wake, format_when, is_system_path, render, value_text,
};
use flow::objects::{FieldType, VariableData};
use flow::tree::ActionId;
use flow::{RoutingId, RoutingKind, VersionId};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::program::Program;

/// Bounds of one interaction.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Most actions run in one turn; beyond, the interaction ends with an error event.
    pub steps_per_turn: u32,
    /// Most hand-overs to other routings in one interaction.
    pub max_hand_overs: u32,
    /// Most user variables (top-level names).
    pub max_variables: usize,
    /// Longest text stored in one variable or field, in characters.
    pub max_value_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            steps_per_turn: 1_000,
            max_hand_overs: 10,
            max_variables: 200,
            max_value_chars: 16_384,
        }
    }
}

/// Why an interaction closed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum CloseReason {
    /// A branch with no link was reached.
    EndOfRouting,
    /// Closed through the API or by an agent.
    Closed,
    /// No activity for the configured time.
    Inactivity,
    /// Something went wrong; `code` names it.
    Error { code: String, message: String },
}

/// Where an interaction stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    New,
    /// Suspended in an action: waiting for a message and/or a time.
    Waiting,
    Closed(CloseReason),
}

/// A suspended action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    pub action: ActionId,
    /// The action's own state.
    pub memo: Value,
    pub until: Option<Timestamp>,
    /// Whether a customer message resumes it.
    pub message: bool,
    /// The effect it waits for the result of (`Input::Result` resumes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<Effect>,
}

/// Everything an interaction carries between turns (persisted by the runtime).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// The routing and version it runs (pinned at start; a hand-over moves it to the target's
    /// production version).
    pub routing_id: RoutingId,
    pub version_id: VersionId,
    pub status: Status,
    pub cursor: Option<Cursor>,
    /// User variables.
    pub vars: Map<String, Value>,
    /// System variables: `interaction`, `customer`, `channel`, `entry_point`, `last_message`,
    /// `now`, `system` (read-only for routings).
    pub system: Map<String, Value>,
    pub passages: BTreeMap<ActionId, u32>,
    pub hand_overs: u32,
    /// State of the interaction's random generator (splitmix64), seeded by the runtime.
    pub rng: u64,
    pub checkpoints: Vec<String>,
}

impl State {
    /// The interaction's id (the system variable `interaction.id`; nil when absent).
    pub fn interaction_id(&self) -> uuid::Uuid {
        #[derive(Deserialize)]
        struct Id {
            id: uuid::Uuid,
        }
        self.system
            .get("interaction")
            .and_then(|v| serde_json::from_value::<Id>(v.clone()).ok())
            .map_or_else(uuid::Uuid::nil, |i| i.id)
    }

    /// The latest email of an email interaction (the system variable `email`).
    pub fn email(&self) -> Option<flow::email::Email> {
        self.system
            .get("email")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }

    /// A new interaction on `program`, with its system variables and random seed.
    pub fn new(program: &Program, seed: u64, system: Map<String, Value>) -> State {
        State::blank(program.routing_id, program.version_id, seed, system)
    }

    /// A new interaction on a routing and version that may not exist (nil ids: no routing runs
    /// it — the customer routing rules of an entry point distributed it).
    pub fn blank(
        routing_id: RoutingId,
        version_id: VersionId,
        seed: u64,
        system: Map<String, Value>,
    ) -> State {
        State {
            routing_id,
            version_id,
            status: Status::New,
            cursor: None,
            vars: Map::new(),
            system,
            passages: BTreeMap::new(),
            hand_overs: 0,
            rng: seed,
            checkpoints: Vec::new(),
        }
    }

    pub fn is_closed(&self) -> bool {
        matches!(self.status, Status::Closed(_))
    }

    /// When the interaction next needs a timer, if it waits for one.
    pub fn wake_at(&self) -> Option<Timestamp> {
        self.cursor.as_ref().and_then(|c| c.until)
    }

    /// A variable, system or user.
    pub fn get(&self, path: &str) -> Option<&Value> {
        let mut parts = path.split('.');
        let root = parts.next()?;
        let mut v = if is_system_path(root) {
            self.system.get(root)?
        } else {
            self.vars.get(root)?
        };
        for p in parts {
            v = v.get(p)?;
        }
        Some(v)
    }
}

/// One input.
#[derive(Clone, Copy, Debug)]
pub enum Input<'a> {
    /// Begin at Start.
    Start,
    Message(&'a Inbound),
    /// The interaction's timer fired.
    Timer,
    Close(&'a CloseReason),
    /// The result of the effect the interaction waits for.
    Result(&'a EffectResult),
}

/// What the distribution did for an interaction, as its history records it: one of the
/// distribution's events (`{"offered": {...}}`), or an agent's message to the customer
/// (`{"agent_message": {"user": ...}}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DistributionNote {
    Acd(acd::Event),
    Agent(AgentNote),
}

/// What an agent did that the distribution does not track.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentNote {
    /// The agent holding the conversation wrote to the customer.
    AgentMessage { user: uuid::Uuid },
}

/// What a provider channel said of a conversation, as its history records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "note", rename_all = "snake_case")]
pub enum ChannelNote {
    /// What became of a reply at the provider (`sent`, `delivered`, `read`, `failed`): the
    /// reply is the `message_out` event numbered `seq`.
    Delivery {
        seq: u64,
        status: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// Something the customer did that is no answer (a reaction, an edit).
    Customer { what: String },
    /// A reply went out otherwise than asked (choices as numbered text, text split).
    Rendered { what: String },
    /// An SMS the routing sent (*Send a SMS*): to whom, what, how (`outgoing_interaction` or
    /// `basic`), and the provider's id of it (none in a preview, which sends nothing).
    Sms {
        to: String,
        text: String,
        send_type: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        provider_id: Option<String>,
    },
    /// An email the routing sent (*Send an email*: `outgoing_interaction` or `basic`; *Transfer
    /// the email*: `transfer`): the recipients the relay took, those it refused (or that were
    /// no addresses), those left out because the email answered is automatic (RFC 3834), its
    /// `Message-ID` (none in a preview or when nobody took it) and its queue (outgoing).
    Email {
        to: Vec<String>,
        subject: String,
        text: String,
        send_type: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        refused: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        suppressed: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        queue: Option<String>,
    },
    /// An asynchronous call queued (*Web service*, not synchronous): made by the delivery
    /// loop, at least once, with `call_id` as its `Idempotency-Key`.
    WebServiceQueued {
        service: String,
        method: String,
        url: String,
        call_id: String,
    },
    /// A database action's request (*Fill in the variables from a database*: `find`; *Save
    /// values to a database*: `insert`; *Modify the values of a database*: `modify`): the
    /// database's reference, the rows found or written, whether the write was kept (a preview
    /// keeps none) and, when it failed, why.
    Database {
        database: String,
        op: String,
        rows: u64,
        #[serde(default = "yes", skip_serializing_if = "is_yes")]
        written: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A case action's request (`associate`, `dissociate`, `create`, `modify`): the case's
    /// reference when one was linked, created or changed, whether the write was kept (a preview
    /// keeps none) and, when it failed, why.
    Case {
        op: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        case: Option<String>,
        #[serde(default = "yes", skip_serializing_if = "is_yes")]
        written: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A Salesforce record *Email to a Salesforce Query* created (the directory's reference, the
    /// object, the record's id and the email's file's when attached) or why not.
    Salesforce {
        directory: String,
        object: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attachment: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A payment *Pay an invoice* started (its id, the module's reference, the amount in minor
    /// units and its currency, the mode) or what it came to (`status`, and why when it failed).
    Payment {
        payment: String,
        module: String,
        amount_minor: i64,
        currency: String,
        mode: String,
        status: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A web service the routing called (*Web service*): the definition's reference, the
    /// method, the URL without its query (which may carry a key), the status if one came, the
    /// time taken and, when it was *Not OK*, why.
    WebService {
        service: String,
        method: String,
        url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        millis: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
}

/// What became of the survey attached to an interaction (*Survey*), recorded by the runtime
/// after the interaction closed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "note", rename_all = "snake_case")]
pub enum SurveyNote {
    /// Its first question went out in the conversation, or its link by email (`by`:
    /// `channel` or `email`).
    Started { survey: uuid::Uuid, by: String },
    /// The customer's message answered the question `question` (its key).
    Answered { question: String },
    /// The customer's message was no answer to `question`: it was asked again.
    NotAnAnswer { question: String },
    /// Every question answered.
    Completed,
    /// It could not start (`reason`: the survey was deleted, say).
    NotStarted { reason: String },
}

/// What happened, for the interaction's history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    MessageIn {
        text: String,
        choice: Option<u32>,
        /// How many files came with it.
        attachments: usize,
        /// The files themselves (their kept copies), for the desk to show; events recorded
        /// before they were listed have none.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        media: Vec<flow::exec::Attachment>,
    },
    MessageOut {
        message: Outbound,
    },
    Passage {
        action: ActionId,
        action_type: String,
        label: String,
    },
    Branch {
        action: ActionId,
        branch: String,
    },
    VariableSet {
        path: String,
        value: Value,
    },
    Checkpoint {
        reference: String,
    },
    HandOver {
        routing_id: RoutingId,
        version_id: VersionId,
        routing_reference: String,
    },
    /// What the distribution did (offers, acceptance, transfers, agent messages), recorded by
    /// the runtime.
    Distribution {
        detail: DistributionNote,
    },
    /// What the channel said of the conversation, recorded by the runtime.
    Channel {
        detail: ChannelNote,
    },
    /// What became of the interaction's survey, recorded by the runtime.
    Survey {
        detail: SurveyNote,
    },
    /// The routing reached its end while an agent holds the conversation: it stays open until
    /// the agent closes it.
    RoutingEnded,
    /// Taken out of quarantine: it resumes from its saved state.
    Retried,
    /// The action asked the runtime for something (a distribution).
    EffectRequested {
        action: ActionId,
        request: Effect,
    },
    /// What the runtime answered.
    EffectResult {
        action: ActionId,
        result: EffectResult,
    },
    Ignored {
        reason: String,
    },
    Error {
        action: Option<ActionId>,
        code: String,
        message: String,
    },
    Closed {
        reason: CloseReason,
    },
}

/// The result of one input.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Turn {
    pub events: Vec<Event>,
    /// Messages to deliver to the customer, in order.
    pub outbound: Vec<Outbound>,
    /// When to fire the interaction's timer next (none: no timer).
    pub wake_at: Option<Timestamp>,
    /// Set when the interaction closed in this turn.
    pub closed: Option<CloseReason>,
    /// Effects the runtime must perform (the interaction waits for their result).
    pub effects: Vec<Effect>,
    /// Actions run.
    pub steps: u32,
}

/// How a business object is named once its selector is resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key<'a> {
    Id(&'a str),
    Reference(&'a str),
}

/// What the engine may read: programs and business objects, as a snapshot.
pub trait World {
    /// The program of a version (the one an interaction is pinned to).
    fn program(&self, version: VersionId) -> Option<Arc<Program>>;
    /// The production program of a routing (for hand-overs).
    fn production(&self, routing: Key<'_>) -> Option<Arc<Program>>;
    fn checkpoint_exists(&self, checkpoint: Key<'_>) -> bool;
    fn value_table(&self, table: Key<'_>, key: &str) -> Found<Option<String>>;
    fn calendar_open(&self, calendar: Key<'_>, at: Timestamp) -> Found<bool>;
    /// The declared variable called `name`: values stored into it are checked against the
    /// types of its fields. Variables that are not declared take any value.
    fn variable(&self, _name: &str) -> Option<&VariableData> {
        None
    }
    /// Whether an agent holds the interaction: then the end of the routing does not end the
    /// conversation (the agent closes it).
    fn with_agent(&self) -> bool {
        false
    }
    /// The customer's contacts since `since`, the current one excluded.
    fn contacts_since(&self, since: Timestamp) -> u32;
    fn time_zone(&self) -> &jiff::tz::TimeZone;
    fn phone_region(&self) -> &str;
}

struct TurnCx<'a> {
    state: &'a mut State,
    world: &'a dyn World,
    limits: &'a Limits,
    now: Timestamp,
    action: ActionId,
    program: &'a Program,
    turn: &'a mut Turn,
}

fn key_of<'s>(selector: &'s Selector, resolved: &'s Option<String>) -> Option<Key<'s>> {
    match selector {
        Selector::Entity { id } => Some(Key::Id(&id.0)),
        Selector::Reference { reference } => Some(Key::Reference(&reference.0)),
        Selector::ReferenceFromVariable { .. } => resolved.as_deref().map(Key::Reference),
    }
}

/// Converts a value stored into a declared variable to the type of its field, or says why it
/// does not fit (the storing action then takes its error branch).
fn typed(
    declared: &VariableData,
    root: &str,
    fields: &[&str],
    value: Value,
    tz: &jiff::tz::TimeZone,
) -> Result<Value, String> {
    let field = fields.first().copied();
    let Some(kind) = declared.type_of(field) else {
        return Err(format!(
            "the variable '{root}' has no field '{}'",
            field.unwrap_or_default()
        ));
    };
    if fields.len() > 1 {
        return if kind == FieldType::Any {
            Ok(value)
        } else {
            Err(format!(
                "'{root}.{}' holds a single value, not fields",
                fields[0]
            ))
        };
    }
    kind.convert(value, tz).map_err(|e| {
        format!(
            "'{root}{}{}': {e}",
            if field.is_some() { "." } else { "" },
            field.unwrap_or_default()
        )
    })
}

fn value_chars(v: &Value) -> usize {
    match v {
        Value::String(s) => s.chars().count(),
        Value::Array(a) => a.iter().map(value_chars).sum(),
        Value::Object(o) => o.iter().map(|(k, v)| k.len() + value_chars(v)).sum(),
        _ => 8,
    }
}

impl Cx for TurnCx<'_> {
    fn now(&self) -> Timestamp {
        self.now
    }
    fn random(&mut self) -> u64 {
        // splitmix64
        self.state.rng = self.state.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn time_zone(&self) -> &jiff::tz::TimeZone {
        self.world.time_zone()
    }
    fn phone_region(&self) -> &str {
        self.world.phone_region()
    }
    fn render(&self, template: &str) -> String {
        render(template, &|p| self.state.get(p).map(value_text))
    }
    fn get(&self, path: &str) -> Option<&Value> {
        self.state.get(path)
    }
    fn set(&mut self, path: &str, value: Value) -> Result<(), String> {
        if is_system_path(path) {
            return Err(format!(
                "'{path}' is a system variable and cannot be changed"
            ));
        }
        if value_chars(&value) > self.limits.max_value_chars {
            return Err(format!(
                "the value for '{path}' is longer than {} characters",
                self.limits.max_value_chars
            ));
        }
        let mut parts = path.split('.');
        let root = parts.next().unwrap_or_default();
        let fields: Vec<&str> = parts.collect();
        let value = match self.world.variable(root) {
            Some(declared) => typed(declared, root, &fields, value, self.world.time_zone())?,
            None => value,
        };
        if !self.state.vars.contains_key(root) && self.state.vars.len() >= self.limits.max_variables
        {
            return Err(format!(
                "an interaction holds at most {} variables",
                self.limits.max_variables
            ));
        }
        set_nested(
            self.state
                .vars
                .entry(root.to_owned())
                .or_insert(Value::Null),
            &fields,
            value.clone(),
        );
        self.turn.events.push(Event::VariableSet {
            path: path.to_owned(),
            value,
        });
        Ok(())
    }
    fn set_error(&mut self, reason: &str) {
        let system = self
            .state
            .system
            .entry("system".to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(map) = system {
            map.insert("error".into(), Value::String(reason.to_owned()));
        }
    }
    fn set_case(&mut self, case: Option<&flow::effect::CaseView>) {
        match case.and_then(|c| serde_json::to_value(c).ok()) {
            Some(v) => {
                self.state.system.insert("case".to_owned(), v);
            }
            None => {
                self.state.system.remove("case");
            }
        }
    }
    fn set_card(&mut self, card: Option<&flow::effect::CardView>) {
        match card.and_then(|c| serde_json::to_value(c).ok()) {
            Some(v) => {
                self.state.system.insert("card".to_owned(), v);
            }
            None => {
                self.state.system.remove("card");
            }
        }
    }
    fn set_bill(&mut self, bill: Option<&flow::effect::InvoiceView>) {
        match bill.and_then(|b| serde_json::to_value(b).ok()) {
            Some(v) => {
                self.state.system.insert("bill".to_owned(), v);
            }
            None => {
                self.state.system.remove("bill");
            }
        }
    }
    fn is_linked(&self, branch: &str) -> bool {
        self.program
            .node(self.action)
            .is_some_and(|n| n.next(branch).is_some())
    }
    fn send(&mut self, message: Outbound) {
        self.turn.events.push(Event::MessageOut {
            message: message.clone(),
        });
        self.turn.outbound.push(message);
    }
    fn count_passage(&mut self, action: ActionId) -> u32 {
        let n = self.state.passages.entry(action).or_default();
        *n = n.saturating_add(1);
        *n
    }
    fn reset_passages(&mut self, action: ActionId) {
        self.state.passages.insert(action, 0);
    }
    fn action(&self) -> ActionId {
        self.action
    }
    fn add_checkpoint(&mut self, checkpoint: &Selector) -> Found<()> {
        let resolved = self.reference(checkpoint);
        match key_of(checkpoint, &resolved) {
            Some(key) if self.world.checkpoint_exists(key) => {
                let name = resolved.unwrap_or_default();
                self.turn.events.push(Event::Checkpoint {
                    reference: name.clone(),
                });
                if !self.state.checkpoints.contains(&name) {
                    self.state.checkpoints.push(name);
                }
                Found::Yes(())
            }
            _ => Found::NotFound,
        }
    }
    fn value_table(&self, table: &Selector, key: &str) -> Found<Option<String>> {
        let resolved = self.reference(table);
        match key_of(table, &resolved) {
            Some(k) => self.world.value_table(k, key),
            None => Found::NotFound,
        }
    }
    fn calendar_open(&self, calendar: &Selector) -> Found<bool> {
        let resolved = self.reference(calendar);
        match key_of(calendar, &resolved) {
            Some(k) => self.world.calendar_open(k, self.now),
            None => Found::NotFound,
        }
    }
    fn contacts_since(&self, since: Timestamp) -> u32 {
        self.world.contacts_since(since)
    }
}

/// Writes `value` at `fields` below `slot`, turning non-objects on the way into objects.
fn set_nested(slot: &mut Value, fields: &[&str], value: Value) {
    match fields.split_first() {
        None => *slot = value,
        Some((first, rest)) => {
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            if let Value::Object(map) = slot {
                set_nested(
                    map.entry((*first).to_owned()).or_insert(Value::Null),
                    rest,
                    value,
                );
            }
        }
    }
}

fn close(state: &mut State, turn: &mut Turn, reason: CloseReason) {
    state.status = Status::Closed(reason.clone());
    state.cursor = None;
    turn.events.push(Event::Closed {
        reason: reason.clone(),
    });
    turn.closed = Some(reason);
    turn.wake_at = None;
}

fn fail(state: &mut State, turn: &mut Turn, action: Option<ActionId>, code: &str, message: String) {
    turn.events.push(Event::Error {
        action,
        code: code.to_owned(),
        message: message.clone(),
    });
    close(
        state,
        turn,
        CloseReason::Error {
            code: code.to_owned(),
            message,
        },
    );
}

/// Ends an interaction with a visible error outside any action (the runtime's refusals: no
/// version to run, an engine failure, the customer routing rules failing): an error event,
/// then closed with that code.
pub fn end_with_error(state: &mut State, turn: &mut Turn, code: &str, message: String) {
    fail(state, turn, None, code, message);
}

static INACTIVITY: CloseReason = CloseReason::Inactivity;

/// What a fired timer means for an interaction whose last turn was at `last_turn`: its own
/// deadline when one is due, else — once `inactivity` has passed since the last turn — the
/// inactivity close; otherwise a timer with nothing due (ignored).
pub fn on_timer(
    state: &State,
    last_turn: Timestamp,
    now: Timestamp,
    inactivity: jiff::SignedDuration,
) -> Input<'static> {
    let own_due = state.wake_at().is_some_and(|w| w <= now);
    let idle = last_turn.saturating_add(inactivity).is_ok_and(|d| d <= now);
    if !own_due && idle {
        Input::Close(&INACTIVITY)
    } else {
        Input::Timer
    }
}

/// When an interaction's timer must fire next: its own deadline, or the inactivity deadline
/// (`inactivity` after `now`, the time of this turn) if that comes first; none once closed.
pub fn next_wake(
    state: &State,
    now: Timestamp,
    inactivity: jiff::SignedDuration,
) -> Option<Timestamp> {
    if state.is_closed() {
        return None;
    }
    let idle = now.saturating_add(inactivity).ok();
    match (state.wake_at(), idle) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// What stays the same through one turn.
#[derive(Clone, Copy)]
struct Env<'a> {
    world: &'a dyn World,
    limits: &'a Limits,
    now: Timestamp,
}

/// Runs (or resumes) one action; `None` when the turn has to stop (budget spent, action missing).
fn step(
    state: &mut State,
    turn: &mut Turn,
    program: &Program,
    env: &Env<'_>,
    action: ActionId,
    wake: Option<(Value, Wake<'_>)>,
) -> Option<Step> {
    let Env { world, limits, now } = *env;
    let Some(node) = program.node(action) else {
        fail(
            state,
            turn,
            Some(action),
            "action_missing",
            format!("action {action} is not in version {}", program.version_id),
        );
        return None;
    };
    if wake.is_none() {
        if turn.steps >= limits.steps_per_turn {
            fail(
                state,
                turn,
                Some(action),
                "step_budget_exceeded",
                format!(
                    "more than {} actions ran in one turn; the routing probably loops",
                    limits.steps_per_turn
                ),
            );
            return None;
        }
        turn.steps += 1;
        if node.record_passage {
            turn.events.push(Event::Passage {
                action,
                action_type: node.type_key.to_owned(),
                label: node.label.to_owned(),
            });
        }
    }
    let Some(runner) = &node.runner else {
        return Some(Step::Unavailable(
            "this action type cannot run in this version of Switchyard yet",
        ));
    };
    let mut cx = TurnCx {
        state,
        world,
        limits,
        now,
        action,
        program,
        turn,
    };
    Some(match wake {
        None => runner.run(&mut cx),
        Some((memo, w)) => runner.resume(&mut cx, &memo, w),
    })
}

/// Records a customer message: its event and the `last_message` system variable.
fn record_message(
    state: &mut State,
    turn: &mut Turn,
    m: &Inbound,
    now: Timestamp,
    world: &dyn World,
) {
    turn.events.push(Event::MessageIn {
        text: m.text.clone(),
        choice: m.choice,
        attachments: m.attachments.len(),
        media: m.attachments.clone(),
    });
    let at = format_when(&now.to_zoned(world.time_zone().clone()));
    state.system.insert(
        "last_message".into(),
        serde_json::json!({"text": m.text, "choice": m.choice, "at": at}),
    );
    note_email(&mut state.system, m);
}

/// The system variable `email` of an email (the latest one of the interaction).
pub fn note_email(system: &mut Map<String, Value>, m: &Inbound) {
    if let Some(email) = &m.email
        && let Ok(v) = serde_json::to_value(email)
    {
        system.insert("email".into(), v);
    }
}

/// Resumes the suspended action of `cursor` with what woke it.
fn resume(
    state: &mut State,
    turn: &mut Turn,
    program: &Program,
    env: &Env<'_>,
    cursor: Cursor,
    wake: Wake<'_>,
) -> (ActionId, Option<Step>) {
    state.cursor = None;
    let action = cursor.action;
    (
        action,
        step(state, turn, program, env, action, Some((cursor.memo, wake))),
    )
}

/// An interaction no routing runs (an entry point's customer routing rules distributed it): it
/// waits for its distribution; customer messages are for the agent; the distribution's outcome
/// ends it, unless an agent holds it (then the agent closes it).
fn unrouted(
    state: &mut State,
    turn: &mut Turn,
    input: Input<'_>,
    now: Timestamp,
    world: &dyn World,
) {
    match input {
        Input::Message(m) => record_message(state, turn, m, now, world),
        Input::Result(result) => {
            let action = state.cursor.take().map(|c| c.action).unwrap_or_default();
            turn.events.push(Event::EffectResult {
                action,
                result: result.clone(),
            });
            if world.with_agent() {
                state.status = Status::Waiting;
                turn.events.push(Event::RoutingEnded);
            } else {
                close(state, turn, CloseReason::EndOfRouting);
            }
        }
        Input::Close(reason) => close(state, turn, reason.clone()),
        Input::Start | Input::Timer => turn.events.push(Event::Ignored {
            reason: "no routing runs this interaction".into(),
        }),
    }
}

/// Handles one input. A closed interaction ignores everything.
pub fn handle(
    state: &mut State,
    input: Input<'_>,
    now: Timestamp,
    world: &dyn World,
    limits: &Limits,
) -> Turn {
    let mut turn = Turn::default();
    if state.is_closed() {
        turn.events.push(Event::Ignored {
            reason: "the interaction is closed".into(),
        });
        return turn;
    }
    state.system.insert(
        "now".into(),
        Value::String(format_when(&now.to_zoned(world.time_zone().clone()))),
    );
    let env = Env { world, limits, now };
    if state.version_id.is_nil() {
        unrouted(state, &mut turn, input, now, world);
        return turn;
    }
    let Some(mut program) = world.program(state.version_id) else {
        let version = state.version_id;
        fail(
            state,
            &mut turn,
            None,
            "version_unavailable",
            format!("version {version} cannot be run"),
        );
        return turn;
    };

    let first: Option<(ActionId, Option<Step>)> = match input {
        Input::Close(reason) => {
            close(state, &mut turn, reason.clone());
            None
        }
        Input::Start if state.status == Status::New => {
            let start = program.start;
            Some((start, step(state, &mut turn, &program, &env, start, None)))
        }
        Input::Start => {
            turn.events.push(Event::Ignored {
                reason: "the interaction has already started".into(),
            });
            None
        }
        Input::Message(m) => {
            record_message(state, &mut turn, m, now, world);
            match state.cursor.clone() {
                // waiting for an effect (an agent, a queue): the message is for them
                Some(c) if c.effect.is_some() => {
                    turn.wake_at = state.wake_at();
                    None
                }
                Some(c) if c.message => Some(resume(
                    state,
                    &mut turn,
                    &program,
                    &env,
                    c,
                    Wake::Message(m),
                )),
                // the routing is over and an agent holds the conversation: for the agent
                None if world.with_agent() => None,
                _ => {
                    turn.events.push(Event::Ignored {
                        reason: "the routing is not waiting for a message".into(),
                    });
                    turn.wake_at = state.wake_at();
                    None
                }
            }
        }
        Input::Result(result) => match state.cursor.clone() {
            Some(c) if c.effect.is_some() => {
                turn.events.push(Event::EffectResult {
                    action: c.action,
                    result: result.clone(),
                });
                Some(resume(
                    state,
                    &mut turn,
                    &program,
                    &env,
                    c,
                    Wake::Result(result),
                ))
            }
            _ => {
                turn.events.push(Event::Ignored {
                    reason: "the routing is not waiting for a result".into(),
                });
                turn.wake_at = state.wake_at();
                None
            }
        },
        Input::Timer => match state.cursor.clone() {
            Some(c) if c.until.is_some_and(|u| u <= now) => {
                Some(resume(state, &mut turn, &program, &env, c, Wake::Timeout))
            }
            _ => {
                turn.events.push(Event::Ignored {
                    reason: "no timer is due".into(),
                });
                turn.wake_at = state.wake_at();
                None
            }
        },
    };

    let mut current = first;
    while let Some((action, Some(s))) = current {
        current = match s {
            Step::Branch(branch) => {
                turn.events.push(Event::Branch {
                    action,
                    branch: branch.to_owned(),
                });
                match program.node(action).and_then(|n| n.next(branch)) {
                    Some(next) => Some((next, step(state, &mut turn, &program, &env, next, None))),
                    None if world.with_agent() => {
                        state.status = Status::Waiting;
                        state.cursor = None;
                        turn.events.push(Event::RoutingEnded);
                        None
                    }
                    None => {
                        close(state, &mut turn, CloseReason::EndOfRouting);
                        None
                    }
                }
            }
            Step::Wait {
                message,
                until,
                memo,
            } => {
                state.cursor = Some(Cursor {
                    action,
                    memo,
                    until,
                    message,
                    effect: None,
                });
                state.status = Status::Waiting;
                turn.wake_at = until;
                None
            }
            Step::Effect { effect, memo } => {
                turn.events.push(Event::EffectRequested {
                    action,
                    request: effect.clone(),
                });
                turn.effects.push(effect.clone());
                state.cursor = Some(Cursor {
                    action,
                    memo,
                    until: None,
                    message: false,
                    effect: Some(effect),
                });
                state.status = Status::Waiting;
                None
            }
            Step::HandOver { routing } => {
                if state.hand_overs >= limits.max_hand_overs {
                    Some((action, Some(Step::Branch("max_distributions"))))
                } else {
                    let resolved = match &routing {
                        Selector::ReferenceFromVariable { variable } => state
                            .get(&variable.0)
                            .map(value_text)
                            .filter(|s| !s.is_empty()),
                        _ => None,
                    };
                    let target = key_of(&routing, &resolved)
                        .and_then(|k| world.production(k))
                        .filter(|p| {
                            p.family == program.family && p.kind == RoutingKind::InteractionStart
                        });
                    match target {
                        None => Some((action, Some(Step::Branch("not_found")))),
                        Some(p) => {
                            state.hand_overs += 1;
                            state.routing_id = p.routing_id;
                            state.version_id = p.version_id;
                            turn.events.push(Event::HandOver {
                                routing_id: p.routing_id,
                                version_id: p.version_id,
                                routing_reference: p.routing_reference.clone(),
                            });
                            program = p;
                            let start = program.start;
                            Some((start, step(state, &mut turn, &program, &env, start, None)))
                        }
                    }
                }
            }
            Step::End(branch) => {
                turn.events.push(Event::Branch {
                    action,
                    branch: branch.to_owned(),
                });
                if world.with_agent() {
                    state.status = Status::Waiting;
                    state.cursor = None;
                    turn.events.push(Event::RoutingEnded);
                } else {
                    close(state, &mut turn, CloseReason::EndOfRouting);
                }
                None
            }
            Step::Unavailable(why) => {
                let label = program.node(action).map(|n| n.label).unwrap_or("action");
                fail(
                    state,
                    &mut turn,
                    Some(action),
                    "action_unavailable",
                    format!("'{label}': {why}"),
                );
                None
            }
        };
    }
    if !state.is_closed() && state.cursor.is_some() {
        state.status = Status::Waiting;
        turn.wake_at = state.wake_at();
    }
    turn
}

fn yes() -> bool {
    true
}

fn is_yes(b: &bool) -> bool {
    *b
}
