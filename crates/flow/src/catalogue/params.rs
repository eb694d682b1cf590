//! Typed parameter building blocks. Each bound is written once, as a const generic: the same
//! type checks it on deserialisation and states it in the JSON Schema the catalogue publishes.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{Error as _, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// An integer within `MIN..=MAX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Int<const MIN: i64, const MAX: i64>(pub i64);

impl<const MIN: i64, const MAX: i64> Default for Int<MIN, MAX> {
    /// The lower bound.
    fn default() -> Self {
        Int(MIN)
    }
}

impl<'de, const MIN: i64, const MAX: i64> Deserialize<'de> for Int<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(d)?;
        if v < MIN || v > MAX {
            return Err(D::Error::custom(format!(
                "{v} is out of range: expected {MIN} to {MAX}"
            )));
        }
        Ok(Int(v))
    }
}

impl<const MIN: i64, const MAX: i64> JsonSchema for Int<MIN, MAX> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        format!("Int_{MIN}_{MAX}").into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "integer", "minimum": MIN, "maximum": MAX })
    }
}

/// A decimal number within `MIN..=MAX` with at most `DECIMALS` decimals.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Decimal<const MIN: i64, const MAX: i64, const DECIMALS: u32>(pub f64);

impl<'de, const MIN: i64, const MAX: i64, const DECIMALS: u32> Deserialize<'de>
    for Decimal<MIN, MAX, DECIMALS>
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        if !v.is_finite() || v < MIN as f64 || v > MAX as f64 {
            return Err(D::Error::custom(format!(
                "{v} is out of range: expected {MIN} to {MAX}"
            )));
        }
        let scaled = v * 10f64.powi(DECIMALS as i32);
        if (scaled - scaled.round()).abs() > 1e-6 {
            return Err(D::Error::custom(format!(
                "{v} has more than {DECIMALS} decimals"
            )));
        }
        Ok(Decimal(v))
    }
}

impl<const MIN: i64, const MAX: i64, const DECIMALS: u32> JsonSchema
    for Decimal<MIN, MAX, DECIMALS>
{
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        format!("Decimal_{MIN}_{MAX}_{DECIMALS}").into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let step = 10f64.powi(-(DECIMALS as i32));
        json_schema!({ "type": "number", "minimum": MIN, "maximum": MAX, "multipleOf": step })
    }
}

fn char_count_check<E: serde::de::Error>(s: &str, min: usize, max: usize) -> Result<(), E> {
    let n = s.chars().count();
    if n < min {
        return Err(E::custom(if min == 1 {
            "must not be empty".to_owned()
        } else {
            format!("must be at least {min} characters")
        }));
    }
    if n > max {
        return Err(E::custom(format!(
            "must be at most {max} characters (got {n})"
        )));
    }
    Ok(())
}

/// Plain text of `MIN..=MAX` characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Default)]
#[serde(transparent)]
pub struct Text<const MIN: usize, const MAX: usize>(pub String);

impl<'de, const MIN: usize, const MAX: usize> Deserialize<'de> for Text<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        char_count_check::<D::Error>(&s, MIN, MAX)?;
        Ok(Text(s))
    }
}

impl<const MIN: usize, const MAX: usize> JsonSchema for Text<MIN, MAX> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        format!("Text_{MIN}_{MAX}").into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "minLength": MIN, "maxLength": MAX })
    }
}

/// A "magic" text of `MIN..=MAX` characters: it may hold `{{ variable.field }}` placeholders,
/// resolved at run time. Placeholders must be well formed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Default)]
#[serde(transparent)]
pub struct Template<const MIN: usize, const MAX: usize>(pub String);

/// Checks the `{{ path }}` placeholders of a template text.
pub fn check_placeholders(s: &str) -> Result<(), String> {
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err("a '{{' placeholder is not closed by '}}'".to_owned());
        };
        let inner = after[..end].trim();
        if let Err(e) = check_var_path(inner) {
            return Err(format!("placeholder '{{{{ {inner} }}}}': {e}"));
        }
        uses::record(inner, false);
        rest = &after[end + 2..];
    }
    Ok(())
}

impl<'de, const MIN: usize, const MAX: usize> Deserialize<'de> for Template<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        char_count_check::<D::Error>(&s, MIN, MAX)?;
        check_placeholders(&s).map_err(D::Error::custom)?;
        Ok(Template(s))
    }
}

impl<const MIN: usize, const MAX: usize> JsonSchema for Template<MIN, MAX> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        format!("Template_{MIN}_{MAX}").into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string", "minLength": MIN, "maxLength": MAX,
            "description": "Text that may hold {{ variable.field }} placeholders.",
            "x-switchyard-template": true
        })
    }
}

/// A list of `MIN..=MAX` items.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct List<T, const MIN: usize, const MAX: usize>(pub Vec<T>);

impl<T, const MIN: usize, const MAX: usize> Default for List<T, MIN, MAX> {
    fn default() -> Self {
        List(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>, const MIN: usize, const MAX: usize> Deserialize<'de>
    for List<T, MIN, MAX>
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T, const MIN: usize, const MAX: usize>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>, const MIN: usize, const MAX: usize> Visitor<'de> for V<T, MIN, MAX> {
            type Value = Vec<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a list of {MIN} to {MAX} items")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Vec<T>, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element()? {
                    if out.len() == MAX {
                        return Err(A::Error::custom(format!("too many items: at most {MAX}")));
                    }
                    out.push(item);
                }
                Ok(out)
            }
        }
        let items = d.deserialize_seq(V::<T, MIN, MAX>(std::marker::PhantomData))?;
        if items.len() < MIN {
            return Err(D::Error::custom(format!("too few items: at least {MIN}")));
        }
        Ok(List(items))
    }
}

impl<T: JsonSchema, const MIN: usize, const MAX: usize> JsonSchema for List<T, MIN, MAX> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        format!("List_{}_{MIN}_{MAX}", T::schema_name()).into()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let items = g.subschema_for::<T>();
        json_schema!({ "type": "array", "items": items, "minItems": MIN, "maxItems": MAX })
    }
}

impl<T, const MIN: usize, const MAX: usize> std::ops::Deref for List<T, MIN, MAX> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

/// Checks a variable path: `variable` or `variable.field` (up to three segments), each segment
/// a letter or `_` followed by letters, digits or `_`.
pub fn check_var_path(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 128 {
        return Err("a variable path must have 1 to 128 characters".to_owned());
    }
    let segments: Vec<&str> = s.split('.').collect();
    if segments.len() > 3 {
        return Err(format!("'{s}' has more than three segments"));
    }
    for seg in segments {
        let mut chars = seg.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "'{s}' is not a variable path like 'variable.field'"
            ));
        }
    }
    Ok(())
}

/// A variable path in an action's parameters: `variable` or `variable.field`. `WRITE` tells
/// whether the action stores into it (a [`VarTarget`], which may not name a system variable)
/// or reads it (a [`VarPath`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Default)]
#[serde(transparent)]
pub struct Var<const WRITE: bool>(pub String);

/// A variable an action reads.
pub type VarPath = Var<false>;
/// A variable an action stores into.
pub type VarTarget = Var<true>;

impl<'de, const WRITE: bool> Deserialize<'de> for Var<WRITE> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        check_var_path(&s).map_err(D::Error::custom)?;
        if WRITE && crate::variables::is_system_path(&s) {
            return Err(D::Error::custom(format!(
                "'{s}' is a system variable: routings read it but cannot store into it"
            )));
        }
        uses::record(&s, WRITE);
        Ok(Var(s))
    }
}

impl<const WRITE: bool> JsonSchema for Var<WRITE> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        if WRITE { "VarTarget" } else { "VarPath" }.into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let description = if WRITE {
            "The variable, optionally with a field, that the action stores into: `variable.field` (not a system variable)."
        } else {
            "A variable, optionally with a field: `variable.field`."
        };
        json_schema!({
            "type": "string", "maxLength": 128,
            "pattern": "^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*){0,2}$",
            "description": description,
            "x-switchyard-variable": if WRITE { "write" } else { "read" }
        })
    }
}

/// The variables parameters name, noted while they are parsed for analysis.
///
/// Parameters are plain serde types, so the variable paths they hold are found where they are
/// read: [`collect`] turns noting on for one parse on this thread; every other parse (running
/// an action) notes nothing.
pub mod uses {
    use std::cell::RefCell;

    /// A variable named by an action's parameters.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct VarUse {
        pub path: String,
        /// Whether the action stores into it (else reads it).
        pub write: bool,
    }

    thread_local! {
        static NOTED: RefCell<Option<Vec<VarUse>>> = const { RefCell::new(None) };
    }

    pub(crate) fn record(path: &str, write: bool) {
        NOTED.with(|n| {
            if let Some(list) = n.borrow_mut().as_mut() {
                list.push(VarUse {
                    path: path.to_owned(),
                    write,
                });
            }
        });
    }

    /// Runs `parse` and returns what it returned with the variables it met.
    pub fn collect<T>(parse: impl FnOnce() -> T) -> (T, Vec<VarUse>) {
        let previous = NOTED.with(|n| n.borrow_mut().replace(Vec::new()));
        let out = parse();
        let noted = NOTED.with(|n| std::mem::replace(&mut *n.borrow_mut(), previous));
        (out, noted.unwrap_or_default())
    }
}

/// Identifier of a business object (as given by its own API).
pub type EntityId = Text<1, 128>;
/// Reference code of a business object.
pub type RefCode = Text<1, 128>;

/// The "I know" selector: how an action names the business object it works on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "by", rename_all = "snake_case", deny_unknown_fields)]
pub enum Selector {
    /// The object itself, picked from a list (its id).
    Entity { id: EntityId },
    /// A static reference code.
    Reference { reference: RefCode },
    /// A reference code read from a variable at run time.
    ReferenceFromVariable { variable: VarPath },
}

/// Which kind of business object an "I know" selector names, as a type (see [`Of`]).
pub trait Kind {
    const KIND: super::ObjectKind;
}

/// The kinds of business object as types, for [`Of`].
pub mod kind {
    use crate::catalogue::ObjectKind;

    macro_rules! kinds {
        ($($k:ident),* $(,)?) => {$(
            #[doc = concat!("The kind [`ObjectKind::", stringify!($k), "`].")]
            #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
            pub struct $k;
            impl super::Kind for $k {
                const KIND: ObjectKind = ObjectKind::$k;
            }
        )*};
    }
    kinds!(
        Checkpoint,
        Queue,
        QueueGroup,
        Routing,
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
    );
}

/// An "I know" [`Selector`] of one kind of object. The kind is written once, in the type: the
/// [`ObjectRef`](super::ObjectRef) the action reports takes it from here ([`ObjectRef::of`](super::ObjectRef::of)),
/// and the schema states it (`x-switchyard-object-kind`, its label in
/// `x-switchyard-object-label`) so that forms offer the objects of that kind.
#[derive(Serialize, Deserialize)]
#[serde(transparent, bound = "")]
pub struct Of<K: Kind> {
    pub selector: Selector,
    #[serde(skip)]
    kind: std::marker::PhantomData<K>,
}

impl<K: Kind> Of<K> {
    pub fn new(selector: Selector) -> Self {
        Of {
            selector,
            kind: std::marker::PhantomData,
        }
    }
}

impl<K: Kind> From<Selector> for Of<K> {
    fn from(selector: Selector) -> Self {
        Of::new(selector)
    }
}

impl<K: Kind> std::ops::Deref for Of<K> {
    type Target = Selector;
    fn deref(&self) -> &Selector {
        &self.selector
    }
}

impl<K: Kind> Clone for Of<K> {
    fn clone(&self) -> Self {
        Of::new(self.selector.clone())
    }
}

impl<K: Kind> fmt::Debug for Of<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}({:?})", K::KIND, self.selector)
    }
}

impl<K: Kind> PartialEq for Of<K> {
    fn eq(&self, other: &Self) -> bool {
        self.selector == other.selector
    }
}

impl<K: Kind> Eq for Of<K> {}

impl<K: Kind> JsonSchema for Of<K> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        format!("Selector_{:?}", K::KIND).into()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let mut schema = Selector::json_schema(g);
        schema.insert(
            "x-switchyard-object-kind".into(),
            serde_json::to_value(K::KIND).unwrap_or_default(),
        );
        schema.insert("x-switchyard-object-label".into(), K::KIND.label().into());
        schema
    }
}

/// One "field = value" pair (CRM card fields, case fields, database columns…).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldValue {
    pub field: Text<1, 128>,
    pub value: Template<0, 2_000>,
}

/// A value copied into a variable: "column / response field → variable".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldToVariable {
    pub field: Text<1, 128>,
    pub variable: VarTarget,
}

/// A column of the database a database action names (1 to 128 characters; compile checks
/// the database has it). Its schema says so (`x-switchyard-column`), so that the editor offers
/// the database's columns, and for a LIST column its proposals.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Default)]
#[serde(transparent)]
pub struct Column(pub String);

impl<'de> Deserialize<'de> for Column {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Text::<1, 128>::deserialize(d).map(|t| Column(t.0))
    }
}

impl JsonSchema for Column {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "Column".into()
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        let mut schema = Text::<1, 128>::json_schema(g);
        schema.insert("description".into(), "A column of the database.".into());
        schema.insert("x-switchyard-column".into(), true.into());
        schema
    }
}

/// One "column = value" pair of a database action (a search assertion, a value written).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnValue {
    pub field: Column,
    pub value: Template<0, 2_000>,
}

/// A database column's value copied into a variable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnToVariable {
    pub field: Column,
    pub variable: VarTarget,
}

/// AND / OR combination of conditions or assertions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Match {
    /// All conditions must hold.
    #[default]
    All,
    /// At least one condition must hold.
    Any,
}

/// A message text sent to a customer.
pub type MessageText = Template<1, 4_096>;

/// Time unit used by task dates and intervals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IntervalUnit {
    Hours,
    Days,
    Weeks,
    Months,
}

/// A number that is either typed in or read from a variable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "from", rename_all = "snake_case", deny_unknown_fields)]
pub enum NumberOrVariable<const MIN: i64, const MAX: i64> {
    Value { value: Int<MIN, MAX> },
    Variable { variable: VarPath },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_checked_on_deserialisation() {
        assert!(serde_json::from_str::<Int<30, 10_800>>("30").is_ok());
        assert!(serde_json::from_str::<Int<30, 10_800>>("29").is_err());
        assert!(serde_json::from_str::<Int<30, 10_800>>("10801").is_err());
        assert!(serde_json::from_str::<Text<1, 3>>("\"\"").is_err());
        assert!(serde_json::from_str::<Text<1, 3>>("\"éèà\"").is_ok());
        assert!(serde_json::from_str::<List<u8, 1, 2>>("[1,2,3]").is_err());
        assert!(serde_json::from_str::<List<u8, 1, 2>>("[]").is_err());
        assert!(serde_json::from_str::<Decimal<0, 100, 2>>("1.25").is_ok());
        assert!(serde_json::from_str::<Decimal<0, 100, 2>>("1.255").is_err());
    }

    #[test]
    fn placeholders() {
        assert!(check_placeholders("Hello {{ customer.first_name }}!").is_ok());
        assert!(check_placeholders("no placeholder").is_ok());
        assert!(check_placeholders("broken {{ customer").is_err());
        assert!(check_placeholders("{{ not a path }}").is_err());
        assert!(check_placeholders("{{ a.b.c.d }}").is_err());
    }

    #[test]
    fn schema_carries_bounds() {
        let s = schemars::schema_for!(Int<1, 10>);
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["minimum"], 1);
        assert_eq!(v["maximum"], 10);
    }
}

/// How an invoice is identified (Search for invoice, Pay an invoice).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceKey {
    InvoiceNumber,
    MobilePhone,
    Landline,
    CustomerNumber,
    InvoiceId,
    Email,
}

/// Which invoice to keep when several match.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoicePick {
    Oldest,
    MostRecent,
}

/// Looking up an invoice.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceLookup {
    pub identify_by: InvoiceKey,
    pub value: Template<1, 256>,
    pub pick: InvoicePick,
}

/// How the customer is invited to pay (*Pay an invoice*).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PayMode {
    /// The link by SMS to the mobile phone: the routing goes on at once.
    Sms,
    /// The link by email: the routing goes on at once.
    Email,
    /// The link in the conversation: the routing waits for the payment's outcome.
    SmartRouting,
}
