//! Business objects the actions read: checkpoints, values tables and calendars. Each has a
//! name, a reference code unique within its kind, and kind-specific data checked here.

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::civil::{Date, Time, Weekday};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::catalogue::ObjectKind;
use crate::model::FieldError;

/// Limits of business objects.
pub mod limits {
    /// Most entries of one values table.
    pub const TABLE_ENTRIES: usize = 10_000;
    /// Longest key of a values table.
    pub const TABLE_KEY: usize = 200;
    /// Longest value of a values table.
    pub const TABLE_VALUE: usize = 2_000;
    /// Most opening ranges in one day.
    pub const RANGES_PER_DAY: usize = 10;
    /// Most dated exceptions of a calendar.
    pub const EXCEPTIONS: usize = 1_000;
    /// Most objects of one kind.
    pub const OBJECTS_PER_KIND: u64 = 10_000;
    /// Most fields of one declared variable.
    pub const VARIABLE_FIELDS: usize = 100;
    /// Most members of a group (queue).
    pub const QUEUE_MEMBERS: usize = 1_000;
    /// Most queues of a queue group.
    pub const QUEUES_IN_GROUP: usize = 20;
    /// Most "I give up" words of a queue, and their longest.
    pub const GIVE_UP_WORDS: usize = 50;
    pub const GIVE_UP_WORD: usize = 100;
    /// Longest time limit of a queue, in seconds (7 days).
    pub const QUEUE_SECONDS: u32 = 604_800;
    /// Longest SMS template content, in characters (ten concatenated SMS).
    pub const SMS_CONTENT: usize = 1_600;
    /// Most variables of an SMS template.
    pub const SMS_VARIABLES: usize = 50;
    /// Longest email template subject, text and HTML, in characters.
    pub const EMAIL_SUBJECT: usize = 998;
    pub const EMAIL_TEXT: usize = 100_000;
    pub const EMAIL_HTML: usize = 500_000;
    /// Most variables of an email template.
    pub const EMAIL_VARIABLES: usize = 50;
    /// Most attachments of an email template, and their largest sum in bytes.
    pub const EMAIL_ATTACHMENTS: usize = 10;
    pub const EMAIL_ATTACHMENT_BYTES: u64 = 20 * 1024 * 1024;
    /// Largest uploaded file, in bytes; most files; longest file name, in characters.
    pub const FILE_BYTES: usize = 10 * 1024 * 1024;
    pub const FILES: u64 = 1_000;
    pub const FILE_NAME: usize = 200;
}

/// The kinds this deployment stores.
pub const STORED: &[ObjectKind] = &[
    ObjectKind::Checkpoint,
    ObjectKind::ValueTable,
    ObjectKind::Calendar,
    ObjectKind::Variable,
    ObjectKind::Queue,
    ObjectKind::QueueGroup,
    ObjectKind::SmsTemplate,
    ObjectKind::EmailTemplate,
    ObjectKind::WebService,
    ObjectKind::Database,
    ObjectKind::CaseType,
    ObjectKind::PaymentModule,
    ObjectKind::WhatsappCampaign,
    ObjectKind::VoiceCampaign,
    ObjectKind::SmsCampaign,
    ObjectKind::CrmDirectory,
    ObjectKind::CrmScenario,
    ObjectKind::Survey,
];

/// The JSON Schema of a stored kind's data (a checkpoint has none: `null`), for forms; rules
/// a schema cannot state are [`check_data`]'s.
pub fn data_schema(kind: ObjectKind) -> Value {
    fn of<T: schemars::JsonSchema>() -> Value {
        serde_json::to_value(schemars::SchemaGenerator::default().into_root_schema_for::<T>())
            .unwrap_or(Value::Null)
    }
    match kind {
        ObjectKind::ValueTable => of::<ValueTableData>(),
        ObjectKind::Calendar => of::<CalendarData>(),
        ObjectKind::Variable => of::<VariableData>(),
        ObjectKind::Queue => of::<QueueData>(),
        ObjectKind::QueueGroup => of::<QueueGroupData>(),
        ObjectKind::SmsTemplate => of::<SmsTemplateData>(),
        ObjectKind::EmailTemplate => of::<EmailTemplateData>(),
        ObjectKind::WebService => of::<crate::web_service::WebServiceData>(),
        ObjectKind::Database => of::<crate::database::DatabaseData>(),
        ObjectKind::CaseType => of::<crate::cases::CaseTypeData>(),
        ObjectKind::PaymentModule => of::<crate::payments::PaymentModuleData>(),
        ObjectKind::WhatsappCampaign | ObjectKind::VoiceCampaign | ObjectKind::SmsCampaign => {
            of::<crate::campaigns::CampaignData>()
        }
        ObjectKind::CrmDirectory => of::<crate::crm::CrmDirectoryData>(),
        ObjectKind::CrmScenario => of::<crate::crm::CrmScenarioData>(),
        ObjectKind::Survey => of::<crate::surveys::SurveyData>(),
        _ => Value::Null,
    }
}

/// Stable key of a stored kind (table column, API path part).
pub fn kind_key(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Checkpoint => "checkpoint",
        ObjectKind::ValueTable => "value_table",
        ObjectKind::Calendar => "calendar",
        ObjectKind::Variable => "variable",
        ObjectKind::Queue => "queue",
        ObjectKind::QueueGroup => "queue_group",
        ObjectKind::SmsTemplate => "sms_template",
        ObjectKind::EmailTemplate => "email_template",
        ObjectKind::WebService => "web_service",
        ObjectKind::Database => "database",
        ObjectKind::CaseType => "case_type",
        ObjectKind::PaymentModule => "payment_module",
        ObjectKind::WhatsappCampaign => "whatsapp_campaign",
        ObjectKind::VoiceCampaign => "voice_campaign",
        ObjectKind::SmsCampaign => "sms_campaign",
        ObjectKind::CrmDirectory => "crm_directory",
        ObjectKind::CrmScenario => "crm_scenario",
        ObjectKind::Survey => "survey",
        _ => "unsupported",
    }
}

/// An SMS template: its content, where `{{ name }}` stands for each of its variables (filled
/// in by the action that sends it).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SmsTemplateData {
    pub content: String,
    #[serde(default)]
    pub variables: Vec<String>,
}

impl SmsTemplateData {
    /// The content (or `content`, the action's override) with each `{{ variable }}` of the
    /// template replaced by its value (empty without one; a placeholder that is none of its
    /// variables is left empty too). Values are data: never read again as template text.
    pub fn render(&self, content: Option<&str>, values: &[(String, String)]) -> String {
        fill(&self.variables, content.unwrap_or(&self.content), values)
    }
}

/// `text` with each `{{ variable }}` of a template's `variables` replaced by its value (empty
/// without one, and for a placeholder that is none of them); values are never read again.
fn fill(variables: &[String], text: &str, values: &[(String, String)]) -> String {
    crate::exec::render(text, &|name| {
        variables
            .iter()
            .any(|v| v == name)
            .then(|| {
                values
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
            })
            .flatten()
    })
}

/// An email template: subject, text and optional HTML bodies where `{{ name }}` stands for
/// each of its variables, and optionally the sender address of its *Outgoing interaction*
/// sends.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailTemplateData {
    pub subject: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    #[serde(default)]
    pub variables: Vec<String>,
    /// The sender of *Outgoing interaction* sends (else the interaction's mailbox).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Uploaded files (`/files`) every email sent from the template carries, by id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Uuid>,
}

impl EmailTemplateData {
    /// Subject (or `subject`, the action's override), text and HTML with each `{{ variable }}`
    /// of the template replaced by its value, as [`SmsTemplateData::render`] does.
    pub fn render(
        &self,
        subject: Option<&str>,
        values: &[(String, String)],
    ) -> (String, String, Option<String>) {
        (
            fill(&self.variables, subject.unwrap_or(&self.subject), values),
            fill(&self.variables, &self.text, values),
            self.html
                .as_deref()
                .map(|h| fill(&self.variables, h, values)),
        )
    }
}

/// A file name as attachments carry it: 1 to [`limits::FILE_NAME`] characters, no path, no
/// control character, no quote (it goes into a MIME header).
pub fn check_file_name(name: &str) -> Result<String, FieldError> {
    let n = name.trim();
    let count = n.chars().count();
    if count == 0
        || count > limits::FILE_NAME
        || n.chars()
            .any(|c| c.is_control() || matches!(c, '/' | '\\' | '"'))
        || n == "."
        || n == ".."
    {
        return Err(FieldError {
            field: "name",
            message: format!(
                "a file name has 1 to {} characters, with no '/', '\\', '\"' or control character",
                limits::FILE_NAME
            ),
        });
    }
    Ok(n.to_owned())
}

/// A stored business object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BusinessObject {
    pub id: Uuid,
    pub kind: ObjectKind,
    pub reference: String,
    pub name: String,
    pub description: String,
    /// Kind-specific data, checked by [`check_data`].
    pub data: Value,
    /// The object's credential, sealed (a web service's password, token or API key): written,
    /// never shown; only [`takes_secret`] kinds have one.
    pub secret: Option<String>,
    /// The secret a provider signs its webhooks with, sealed (a payment module's): written,
    /// never shown; only [`takes_webhook_secret`] kinds have one.
    #[serde(default)]
    pub webhook_secret: Option<String>,
    pub revision: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One entry of a values table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TableEntry {
    pub key: String,
    /// `null`: the key is known but has no value (the action takes *No value*).
    pub value: Option<String>,
}

/// A values table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValueTableData {
    /// Keys compared without regard to case and surrounding spaces.
    #[serde(default)]
    pub case_insensitive: bool,
    pub entries: Vec<TableEntry>,
}

impl ValueTableData {
    fn fold(&self, key: &str) -> String {
        if self.case_insensitive {
            key.trim().to_lowercase()
        } else {
            key.to_owned()
        }
    }
    /// An index for lookups.
    pub fn index(&self) -> HashMap<String, Option<String>> {
        self.entries
            .iter()
            .map(|e| (self.fold(&e.key), e.value.clone()))
            .collect()
    }
    /// The key as the index holds it.
    pub fn lookup_key(&self, key: &str) -> String {
        self.fold(key)
    }
}

/// Type of a declared variable's field. Values stored into a typed field are converted (a
/// number typed as text becomes a number) or refused, which takes the storing action's error
/// branch.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// Any value, stored as it comes.
    #[default]
    Any,
    /// Text; numbers and booleans are written out.
    Text,
    /// A number; text holding a number is converted.
    Number,
    /// `true` / `false` (also from the texts `true`, `false`, `yes`, `no`, `1`, `0`).
    Boolean,
    /// A date or date-time, stored as RFC 3339 text.
    Date,
}

/// One field of a declared variable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    /// `[A-Za-z_][A-Za-z0-9_]*`, unique within the variable.
    pub name: String,
    #[serde(rename = "type", default)]
    pub field_type: FieldType,
    #[serde(default)]
    pub description: String,
}

/// A declared variable: its reference code is the name routings use (`{{ order.number }}`
/// declares variable `order` with field `number`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VariableData {
    /// Type of the variable itself when it is used without a field (`{{ order }}`).
    #[serde(rename = "type", default)]
    pub value_type: FieldType,
    #[serde(default)]
    pub fields: Vec<FieldDef>,
}

impl VariableData {
    /// The type of `field` (`None`: the variable itself), or `None` when it is not declared.
    pub fn type_of(&self, field: Option<&str>) -> Option<FieldType> {
        match field {
            None => Some(self.value_type),
            Some(f) => self
                .fields
                .iter()
                .find(|d| d.name == f)
                .map(|d| d.field_type),
        }
    }
}

impl FieldType {
    /// Converts a value stored into a field of this type, or says why it does not fit.
    pub fn convert(self, value: Value, tz: &jiff::tz::TimeZone) -> Result<Value, String> {
        let text = |v: &Value| crate::exec::value_text(v);
        match self {
            FieldType::Any => Ok(value),
            FieldType::Text => Ok(match value {
                Value::String(_) => value,
                Value::Null => Value::String(String::new()),
                other => Value::String(text(&other)),
            }),
            FieldType::Number => match &value {
                Value::Number(_) => Ok(value),
                Value::String(s) => s
                    .trim()
                    .replace(',', ".")
                    .parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite())
                    .and_then(|n| {
                        if n.fract() == 0.0 && n.abs() < 9.0e15 {
                            Some(Value::from(n as i64))
                        } else {
                            serde_json::Number::from_f64(n).map(Value::Number)
                        }
                    })
                    .ok_or_else(|| format!("'{s}' is not a number")),
                other => Err(format!("{other} is not a number")),
            },
            FieldType::Boolean => match &value {
                Value::Bool(_) => Ok(value),
                other => match text(other).trim().to_lowercase().as_str() {
                    "true" | "yes" | "1" => Ok(Value::Bool(true)),
                    "false" | "no" | "0" => Ok(Value::Bool(false)),
                    t => Err(format!("'{t}' is not true or false")),
                },
            },
            FieldType::Date => {
                let t = text(&value);
                crate::exec::parse_when(&t, tz)
                    .map(|z| Value::String(crate::exec::format_when(&z)))
                    .ok_or_else(|| format!("'{t}' is not a date"))
            }
        }
    }
}

/// A group of users (a queue): its members in order, how it distributes, its limits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueData {
    /// User ids, in the order *in order* follows.
    pub members: Vec<Uuid>,
    /// `random`, `in_order`, `most_waiting` or `least_chats`.
    #[serde(default = "random")]
    pub algorithm: String,
    /// Most interactions waiting; beyond: *Overflow – Maximum number of waiting interactions*.
    #[serde(default)]
    pub max_waiting: Option<u32>,
    /// Longest estimated waiting time, in seconds; beyond: *Overflow – Maximum estimated
    /// waiting time*.
    #[serde(default)]
    pub max_estimated_wait_seconds: Option<u32>,
    /// Longest wait, in seconds; then *Dissuasion – Maximum wait time reached*.
    #[serde(default)]
    pub max_wait_seconds: Option<u32>,
    /// Customer words meaning "I give up waiting" (*Dissuasion – By the user*).
    #[serde(default)]
    pub give_up_words: Vec<String>,
}

fn random() -> String {
    "random".into()
}

/// The algorithms a queue can use.
pub const ALGORITHMS: &[&str] = &["random", "in_order", "most_waiting", "least_chats"];

/// An ordered set of queues: an interaction goes to the first that would not overflow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueGroupData {
    pub queues: Vec<Uuid>,
}

/// Checks a reference code for its kind (beyond the common rules): a declared variable's
/// reference is the name routings use, so it must be a variable name and not a system one.
pub fn check_kind_reference(kind: ObjectKind, reference: &str) -> Result<(), FieldError> {
    if kind != ObjectKind::Variable {
        return Ok(());
    }
    let bad = |message: String| FieldError {
        field: "reference",
        message,
    };
    if reference.contains('.') || crate::catalogue::params::check_var_path(reference).is_err() {
        return Err(bad(format!(
            "'{reference}' is not a variable name (a letter or '_' then letters, digits or '_')"
        )));
    }
    if crate::exec::is_system_path(reference) {
        return Err(bad(format!(
            "'{reference}' is the name of a system variable"
        )));
    }
    Ok(())
}

/// An opening range within a day, `start` included, `end` excluded (`"09:00"`–`"12:30"`);
/// `end` `"24:00"` means midnight at the end of the day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Range {
    pub start: String,
    pub end: String,
}

/// Opening ranges of one weekday.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WeekDay {
    /// `monday` … `sunday`.
    pub day: String,
    pub ranges: Vec<Range>,
}

/// A dated exception: that day's ranges replace the weekly ones (none: closed, a holiday).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Exception {
    /// `YYYY-MM-DD`.
    pub date: String,
    #[serde(default)]
    pub ranges: Vec<Range>,
    #[serde(default)]
    pub label: String,
}

/// A calendar.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarData {
    /// IANA time zone the ranges are written in.
    pub time_zone: String,
    pub weekly: Vec<WeekDay>,
    #[serde(default)]
    pub exceptions: Vec<Exception>,
}

/// A calendar ready to answer "open at this instant?".
#[derive(Clone, Debug)]
pub struct Calendar {
    tz: jiff::tz::TimeZone,
    weekly: HashMap<Weekday, Vec<(Time, Option<Time>)>>,
    exceptions: HashMap<Date, Vec<(Time, Option<Time>)>>,
}

fn weekday(s: &str) -> Option<Weekday> {
    Some(match s {
        "monday" => Weekday::Monday,
        "tuesday" => Weekday::Tuesday,
        "wednesday" => Weekday::Wednesday,
        "thursday" => Weekday::Thursday,
        "friday" => Weekday::Friday,
        "saturday" => Weekday::Saturday,
        "sunday" => Weekday::Sunday,
        _ => return None,
    })
}

/// A range as times; an end of `None` means the end of the day.
fn range(r: &Range) -> Result<(Time, Option<Time>), String> {
    let t = |s: &str| {
        s.parse::<Time>()
            .map_err(|_| format!("'{s}' is not a time such as 09:30"))
    };
    let start = t(&r.start)?;
    let end = if r.end == "24:00" {
        None
    } else {
        Some(t(&r.end)?)
    };
    if end.is_some_and(|e| e <= start) {
        return Err(format!(
            "the range {}–{} ends before it starts",
            r.start, r.end
        ));
    }
    Ok((start, end))
}

fn ranges(list: &[Range], path: &str) -> Result<Vec<(Time, Option<Time>)>, FieldError> {
    if list.len() > limits::RANGES_PER_DAY {
        return Err(FieldError {
            field: "data",
            message: format!("{path}: at most {} ranges a day", limits::RANGES_PER_DAY),
        });
    }
    list.iter()
        .map(|r| {
            range(r).map_err(|m| FieldError {
                field: "data",
                message: format!("{path}: {m}"),
            })
        })
        .collect()
}

impl Calendar {
    /// Reads and checks calendar data.
    pub fn new(data: &CalendarData) -> Result<Calendar, FieldError> {
        let tz = jiff::tz::TimeZone::get(&data.time_zone).map_err(|_| FieldError {
            field: "data",
            message: format!("unknown time zone '{}'", data.time_zone),
        })?;
        let mut weekly = HashMap::new();
        for (i, d) in data.weekly.iter().enumerate() {
            let day = weekday(&d.day).ok_or_else(|| FieldError {
                field: "data",
                message: format!("weekly[{i}].day: '{}' is not a day such as 'monday'", d.day),
            })?;
            if weekly
                .insert(day, ranges(&d.ranges, &format!("weekly[{i}]"))?)
                .is_some()
            {
                return Err(FieldError {
                    field: "data",
                    message: format!("weekly[{i}]: '{}' appears twice", d.day),
                });
            }
        }
        if data.exceptions.len() > limits::EXCEPTIONS {
            return Err(FieldError {
                field: "data",
                message: format!("at most {} exceptions", limits::EXCEPTIONS),
            });
        }
        let mut exceptions = HashMap::new();
        for (i, e) in data.exceptions.iter().enumerate() {
            let date: Date = e.date.parse().map_err(|_| FieldError {
                field: "data",
                message: format!(
                    "exceptions[{i}].date: '{}' is not a date such as 2026-12-25",
                    e.date
                ),
            })?;
            if exceptions
                .insert(date, ranges(&e.ranges, &format!("exceptions[{i}]"))?)
                .is_some()
            {
                return Err(FieldError {
                    field: "data",
                    message: format!("exceptions[{i}]: {} appears twice", e.date),
                });
            }
        }
        Ok(Calendar {
            tz,
            weekly,
            exceptions,
        })
    }

    /// Whether the calendar is open at `at`: the local date's exception if there is one, else
    /// its weekday's ranges. Times are compared on the local wall clock, so a range keeps its
    /// hours across daylight-saving changes.
    pub fn is_open(&self, at: Timestamp) -> bool {
        let local = at.to_zoned(self.tz.clone());
        let (date, time) = (local.date(), local.time());
        let day = self
            .exceptions
            .get(&date)
            .or_else(|| self.weekly.get(&date.weekday()));
        day.is_some_and(|ranges| {
            ranges
                .iter()
                .any(|(s, e)| time >= *s && e.is_none_or(|e| time < e))
        })
    }
}

fn data_error(e: serde_json::Error) -> FieldError {
    FieldError {
        field: "data",
        message: e.to_string(),
    }
}

/// Checks an object's data for its kind; returns it in canonical form.
pub fn check_data(kind: ObjectKind, data: &Value) -> Result<Value, FieldError> {
    match kind {
        ObjectKind::Checkpoint => match data {
            Value::Null => Ok(Value::Object(Default::default())),
            Value::Object(o) if o.is_empty() => Ok(data.clone()),
            _ => Err(FieldError {
                field: "data",
                message: "a checkpoint has no data".into(),
            }),
        },
        ObjectKind::ValueTable => {
            let t: ValueTableData = serde_json::from_value(data.clone()).map_err(data_error)?;
            if t.entries.len() > limits::TABLE_ENTRIES {
                return Err(FieldError {
                    field: "data",
                    message: format!(
                        "a values table holds at most {} entries",
                        limits::TABLE_ENTRIES
                    ),
                });
            }
            let mut seen = std::collections::HashSet::new();
            for (i, e) in t.entries.iter().enumerate() {
                if e.key.is_empty() || e.key.chars().count() > limits::TABLE_KEY {
                    return Err(FieldError {
                        field: "data",
                        message: format!(
                            "entries[{i}].key must have 1 to {} characters",
                            limits::TABLE_KEY
                        ),
                    });
                }
                if e.value
                    .as_ref()
                    .is_some_and(|v| v.chars().count() > limits::TABLE_VALUE)
                {
                    return Err(FieldError {
                        field: "data",
                        message: format!(
                            "entries[{i}].value must have at most {} characters",
                            limits::TABLE_VALUE
                        ),
                    });
                }
                if !seen.insert(t.lookup_key(&e.key)) {
                    return Err(FieldError {
                        field: "data",
                        message: format!("entries[{i}]: the key '{}' appears twice", e.key),
                    });
                }
            }
            serde_json::to_value(t).map_err(data_error)
        }
        ObjectKind::Calendar => {
            let c: CalendarData = serde_json::from_value(data.clone()).map_err(data_error)?;
            Calendar::new(&c)?;
            serde_json::to_value(c).map_err(data_error)
        }
        ObjectKind::Queue => {
            let q: QueueData = serde_json::from_value(data.clone()).map_err(data_error)?;
            let bad = |message: String| FieldError {
                field: "data",
                message,
            };
            if q.members.len() > limits::QUEUE_MEMBERS {
                return Err(bad(format!(
                    "a group has at most {} members",
                    limits::QUEUE_MEMBERS
                )));
            }
            let unique: std::collections::HashSet<&Uuid> = q.members.iter().collect();
            if unique.len() != q.members.len() {
                return Err(bad("a member appears twice".into()));
            }
            if !ALGORITHMS.contains(&q.algorithm.as_str()) {
                return Err(bad(format!(
                    "algorithm must be one of {}",
                    ALGORITHMS.join(", ")
                )));
            }
            for s in [q.max_estimated_wait_seconds, q.max_wait_seconds]
                .into_iter()
                .flatten()
            {
                if s == 0 || s > limits::QUEUE_SECONDS {
                    return Err(bad(format!(
                        "time limits are 1 to {} seconds",
                        limits::QUEUE_SECONDS
                    )));
                }
            }
            if q.max_waiting == Some(0) {
                return Err(bad("max_waiting must be at least 1".into()));
            }
            if q.give_up_words.len() > limits::GIVE_UP_WORDS
                || q.give_up_words
                    .iter()
                    .any(|w| w.trim().is_empty() || w.chars().count() > limits::GIVE_UP_WORD)
            {
                return Err(bad(format!(
                    "at most {} give-up words of 1 to {} characters",
                    limits::GIVE_UP_WORDS,
                    limits::GIVE_UP_WORD
                )));
            }
            serde_json::to_value(q).map_err(data_error)
        }
        ObjectKind::QueueGroup => {
            let g: QueueGroupData = serde_json::from_value(data.clone()).map_err(data_error)?;
            let unique: std::collections::HashSet<&Uuid> = g.queues.iter().collect();
            if g.queues.is_empty()
                || g.queues.len() > limits::QUEUES_IN_GROUP
                || unique.len() != g.queues.len()
            {
                return Err(FieldError {
                    field: "data",
                    message: format!(
                        "a queue group holds 1 to {} different queues",
                        limits::QUEUES_IN_GROUP
                    ),
                });
            }
            serde_json::to_value(g).map_err(data_error)
        }
        ObjectKind::Variable => {
            let v: VariableData = if data.is_null() {
                VariableData::default()
            } else {
                serde_json::from_value(data.clone()).map_err(data_error)?
            };
            if v.fields.len() > limits::VARIABLE_FIELDS {
                return Err(FieldError {
                    field: "data",
                    message: format!("a variable has at most {} fields", limits::VARIABLE_FIELDS),
                });
            }
            let mut seen = std::collections::HashSet::new();
            for (i, f) in v.fields.iter().enumerate() {
                if f.name.contains('.')
                    || crate::catalogue::params::check_var_path(&f.name).is_err()
                {
                    return Err(FieldError {
                        field: "data",
                        message: format!(
                            "fields[{i}].name '{}' is not a field name (a letter or '_' then letters, digits or '_')",
                            f.name
                        ),
                    });
                }
                if f.description.chars().count() > 1_000 {
                    return Err(FieldError {
                        field: "data",
                        message: format!("fields[{i}].description has more than 1000 characters"),
                    });
                }
                if !seen.insert(f.name.as_str()) {
                    return Err(FieldError {
                        field: "data",
                        message: format!("fields[{i}]: the field '{}' appears twice", f.name),
                    });
                }
            }
            serde_json::to_value(v).map_err(data_error)
        }
        ObjectKind::EmailTemplate => {
            let t: EmailTemplateData = serde_json::from_value(data.clone()).map_err(data_error)?;
            let bad = |message: String| FieldError {
                field: "data",
                message,
            };
            let n = t.subject.chars().count();
            if n == 0
                || n > limits::EMAIL_SUBJECT
                || t.subject.trim().is_empty()
                || t.subject.contains(['\r', '\n'])
            {
                return Err(bad(format!(
                    "subject must have 1 to {} characters on one line",
                    limits::EMAIL_SUBJECT
                )));
            }
            if t.text.trim().is_empty() || t.text.chars().count() > limits::EMAIL_TEXT {
                return Err(bad(format!(
                    "text must have 1 to {} characters",
                    limits::EMAIL_TEXT
                )));
            }
            if t.html
                .as_ref()
                .is_some_and(|h| h.chars().count() > limits::EMAIL_HTML)
            {
                return Err(bad(format!(
                    "html has at most {} characters",
                    limits::EMAIL_HTML
                )));
            }
            if t.variables.len() > limits::EMAIL_VARIABLES {
                return Err(bad(format!(
                    "an email template has at most {} variables",
                    limits::EMAIL_VARIABLES
                )));
            }
            if t.variables.iter().any(|v| {
                v.is_empty()
                    || v.len() > 64
                    || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            }) {
                return Err(bad(
                    "a variable's name has 1 to 64 letters, digits or _".into()
                ));
            }
            if let Some(from) = &t.from
                && crate::entry_point::check_mailbox_address(from).is_err()
            {
                return Err(bad(format!("from: '{from}' is not an email address")));
            }
            if t.attachments.len() > limits::EMAIL_ATTACHMENTS {
                return Err(bad(format!(
                    "an email template has at most {} attachments",
                    limits::EMAIL_ATTACHMENTS
                )));
            }
            let mut seen = std::collections::HashSet::new();
            if let Some(twice) = t.attachments.iter().find(|a| !seen.insert(**a)) {
                return Err(bad(format!("attachments: the file {twice} appears twice")));
            }
            serde_json::to_value(t).map_err(data_error)
        }
        ObjectKind::SmsTemplate => {
            let t: SmsTemplateData = serde_json::from_value(data.clone()).map_err(data_error)?;
            let n = t.content.chars().count();
            if n == 0 || n > limits::SMS_CONTENT || t.content.trim().is_empty() {
                return Err(FieldError {
                    field: "data",
                    message: format!("content must have 1 to {} characters", limits::SMS_CONTENT),
                });
            }
            if t.variables.len() > limits::SMS_VARIABLES {
                return Err(FieldError {
                    field: "data",
                    message: format!(
                        "an SMS template has at most {} variables",
                        limits::SMS_VARIABLES
                    ),
                });
            }
            let mut seen = std::collections::HashSet::new();
            for (i, v) in t.variables.iter().enumerate() {
                if v.contains('.') || crate::catalogue::params::check_var_path(v).is_err() {
                    return Err(FieldError {
                        field: "data",
                        message: format!("variables[{i}] '{v}' is not a variable name"),
                    });
                }
                if !seen.insert(v.as_str()) {
                    return Err(FieldError {
                        field: "data",
                        message: format!("variables[{i}]: '{v}' appears twice"),
                    });
                }
            }
            serde_json::to_value(t).map_err(data_error)
        }
        ObjectKind::WebService => {
            let d: crate::web_service::WebServiceData =
                serde_json::from_value(data.clone()).map_err(data_error)?;
            d.check()?;
            serde_json::to_value(d).map_err(data_error)
        }
        ObjectKind::Database => {
            let d: crate::database::DatabaseData =
                serde_json::from_value(data.clone()).map_err(data_error)?;
            d.check()?;
            serde_json::to_value(d).map_err(data_error)
        }
        ObjectKind::CaseType => {
            let d: crate::cases::CaseTypeData =
                serde_json::from_value(data.clone()).map_err(data_error)?;
            d.check()?;
            serde_json::to_value(d).map_err(data_error)
        }
        ObjectKind::CrmDirectory => {
            let d: crate::crm::CrmDirectoryData =
                serde_json::from_value(data.clone()).map_err(data_error)?;
            d.check()?;
            serde_json::to_value(d).map_err(data_error)
        }
        ObjectKind::CrmScenario => {
            let d: crate::crm::CrmScenarioData =
                serde_json::from_value(data.clone()).map_err(data_error)?;
            d.check()?;
            serde_json::to_value(d).map_err(data_error)
        }
        ObjectKind::WhatsappCampaign | ObjectKind::VoiceCampaign | ObjectKind::SmsCampaign => {
            let d: crate::campaigns::CampaignData =
                serde_json::from_value(data.clone()).map_err(data_error)?;
            d.check()?;
            serde_json::to_value(d).map_err(data_error)
        }
        ObjectKind::PaymentModule => {
            let d: crate::payments::PaymentModuleData =
                serde_json::from_value(data.clone()).map_err(data_error)?;
            d.check()?;
            serde_json::to_value(d).map_err(data_error)
        }
        ObjectKind::Survey => {
            let d: crate::surveys::SurveyData =
                serde_json::from_value(data.clone()).map_err(data_error)?;
            d.check()?;
            serde_json::to_value(d).map_err(data_error)
        }
        _ => Err(FieldError {
            field: "kind",
            message: "this kind of object is not stored here".into(),
        }),
    }
}

/// Longest secret of an object, in characters.
pub const SECRET_MAX: usize = 4_096;

/// Checks a secret before it is sealed: 1 to [`SECRET_MAX`] characters, no control character
/// (it goes into a header).
pub fn check_secret(plain: &str) -> Result<(), FieldError> {
    let n = plain.chars().count();
    if n == 0 || n > SECRET_MAX || plain.chars().any(char::is_control) {
        return Err(FieldError {
            field: "secret",
            message: format!("a secret has 1 to {SECRET_MAX} characters and no control character"),
        });
    }
    Ok(())
}

/// Whether objects of a kind have a write-only secret (web services: their credential;
/// payment modules: their API key; CRM directories connected to Salesforce: the connected
/// app's client secret).
pub fn takes_secret(kind: ObjectKind) -> bool {
    matches!(
        kind,
        ObjectKind::WebService | ObjectKind::PaymentModule | ObjectKind::CrmDirectory
    )
}

/// Whether objects of a kind have a write-only webhook secret (payment modules: the secret
/// their provider signs its webhooks with).
pub fn takes_webhook_secret(kind: ObjectKind) -> bool {
    kind == ObjectKind::PaymentModule
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn office() -> Calendar {
        let data: CalendarData = serde_json::from_value(json!({
            "time_zone": "Europe/Paris",
            "weekly": [
                {"day": "monday", "ranges": [{"start": "09:00", "end": "12:30"}, {"start": "14:00", "end": "18:00"}]},
                {"day": "saturday", "ranges": [{"start": "22:00", "end": "24:00"}]}
            ],
            "exceptions": [{"date": "2026-06-08", "ranges": [], "label": "Whit Monday"}, {"date": "2026-06-09", "ranges": [{"start": "10:00", "end": "11:00"}]}]
        }))
        .unwrap();
        Calendar::new(&data).unwrap()
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn weekly_ranges_exceptions_and_holidays() {
        let c = office();
        // Monday 1 June 2026 (Paris is UTC+2)
        assert!(!c.is_open(at("2026-06-01T06:59:59Z")));
        assert!(c.is_open(at("2026-06-01T07:00:00Z")));
        assert!(!c.is_open(at("2026-06-01T10:30:00Z")), "12:30 is excluded");
        assert!(c.is_open(at("2026-06-01T15:59:00Z")));
        assert!(
            !c.is_open(at("2026-06-02T08:00:00Z")),
            "Tuesday has no ranges"
        );
        assert!(
            c.is_open(at("2026-06-06T21:59:00Z")),
            "until midnight on Saturday"
        );
        assert!(!c.is_open(at("2026-06-06T22:00:00Z")), "Sunday 00:00");
        assert!(!c.is_open(at("2026-06-08T08:00:00Z")), "a holiday");
        assert!(
            c.is_open(at("2026-06-09T08:30:00Z")),
            "an exception opens a Tuesday"
        );
    }

    #[test]
    fn ranges_keep_their_wall_clock_hours_across_dst() {
        let c = office();
        // Monday 23 March 2026 is in winter time (UTC+1), Monday 30 March in summer time (UTC+2)
        assert!(c.is_open(at("2026-03-23T08:00:00Z")));
        assert!(!c.is_open(at("2026-03-30T06:30:00Z")), "08:30 in Paris");
        assert!(c.is_open(at("2026-03-30T07:00:00Z")));
    }

    #[test]
    fn bad_data_is_refused() {
        for bad in [
            json!({"time_zone": "Mars/Base", "weekly": []}),
            json!({"time_zone": "UTC", "weekly": [{"day": "funday", "ranges": []}]}),
            json!({"time_zone": "UTC", "weekly": [{"day": "monday", "ranges": [{"start": "18:00", "end": "09:00"}]}]}),
            json!({"time_zone": "UTC", "weekly": [{"day": "monday", "ranges": []}, {"day": "monday", "ranges": []}]}),
            json!({"time_zone": "UTC", "weekly": [], "exceptions": [{"date": "2026-02-30"}]}),
            json!({"time_zone": "UTC", "weekly": [], "colour": "red"}),
        ] {
            assert!(check_data(ObjectKind::Calendar, &bad).is_err(), "{bad}");
        }
        assert!(
            check_data(
                ObjectKind::ValueTable,
                &json!({"entries": [{"key": "a", "value": "1"}, {"key": "a", "value": "2"}]})
            )
            .is_err()
        );
        assert!(check_data(ObjectKind::ValueTable, &json!({"case_insensitive": true, "entries": [{"key": "A", "value": "1"}, {"key": " a ", "value": "2"}]})).is_err());
        assert!(
            check_data(
                ObjectKind::ValueTable,
                &json!({"entries": [{"key": "", "value": "1"}]})
            )
            .is_err()
        );
        assert!(check_data(ObjectKind::Checkpoint, &json!({"x": 1})).is_err());
        assert!(check_data(ObjectKind::Checkpoint, &Value::Null).is_ok());
        assert!(check_data(ObjectKind::Queue, &Value::Null).is_err());
    }
}

#[cfg(test)]
mod schema_tests {
    use super::*;

    #[test]
    fn every_kind_with_data_has_a_schema_its_example_data_fits() {
        for kind in STORED {
            let schema = data_schema(*kind);
            if *kind == ObjectKind::Checkpoint {
                assert!(schema.is_null());
                continue;
            }
            assert!(schema["properties"].is_object(), "{kind:?}: {schema}");
        }
        // the queue's members are uuids, the template's attachments too
        let q = data_schema(ObjectKind::Queue);
        assert_eq!(q["properties"]["members"]["items"]["format"], "uuid");
        let t = data_schema(ObjectKind::EmailTemplate);
        assert_eq!(t["properties"]["attachments"]["items"]["format"], "uuid");
        assert!(
            t["required"]
                .as_array()
                .unwrap()
                .contains(&"subject".into())
        );
    }
}
