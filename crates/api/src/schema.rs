//! The field rules of request bodies in the OpenAPI document, written from the checks the server
//! runs (`flow::fields`, `flow::customer`, the channels' limits): what the schema allows, the
//! server accepts, unless a rule no schema can say refuses it (a reference already taken, a
//! routing document's tree, a business object's data, an address for its channel) — those
//! answer 404, 409 or 422 with their own codes. `scripts/conformance.sh` checks both directions.

use serde_json::{Map, Value, json};

/// A field rule, as a JSON Schema fragment.
#[derive(Clone, Copy)]
enum Rule {
    /// `flow::fields::check_name`: not blank, no control character, at most `NAME_MAX`.
    Name,
    /// The same with another length.
    NameOf { max: usize },
    /// `flow::fields::check_reference`.
    Reference,
    /// `flow::fields::check_description`.
    Description,
    /// A declared variable's reference: a variable name (`flow::objects::check_kind_reference`).
    VariableReference,
    /// `flow::customer::check_customer_name`: may be blank.
    CustomerName,
    /// An action's optional name: blank means none, else `check_name` (`flow::tree`).
    ActionName,
    /// 1 to `max` characters.
    Text { max: usize },
    /// Not blank, at most `max` characters.
    NotBlank { max: usize },
    /// A whole number from `min` to `max`.
    Range { min: u64, max: u64 },
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// `runtime::access::check_email`: one `@` between non-empty parts, no space.
    Email,
    /// A channel secret: `runtime::entry_points::SECRET_MIN` to `SECRET_MAX` characters, no
    /// control character.
    Secret,
    /// A new password's length (`runtime::access::check_password`; a common one is refused
    /// beyond what a schema says).
    Password,
    /// A list of permissions (`flow::access::Permission`), each at most once in effect.
    Permissions,
}

/// No control character (what `char::is_control` refuses).
const NO_CONTROL: &str = r"[^\u0000-\u001f\u007f-\u009f]";

impl Rule {
    fn schema(self) -> Value {
        use flow::fields::limits;
        let name = format!(r"^{NO_CONTROL}*[^\s\u0000-\u001f\u007f-\u009f]{NO_CONTROL}*$");
        match self {
            Rule::Name => Rule::NameOf {
                max: limits::NAME_MAX,
            }
            .schema(),
            Rule::NameOf { max } => {
                json!({"type": "string", "minLength": 1, "maxLength": max, "pattern": name})
            }
            Rule::ActionName => {
                json!({"type": "string", "maxLength": limits::NAME_MAX, "pattern": format!("^{NO_CONTROL}*$")})
            }
            Rule::Reference => {
                json!({"type": "string", "minLength": 1, "maxLength": limits::REFERENCE_MAX, "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]*$"})
            }
            Rule::VariableReference => {
                json!({"type": "string", "minLength": 1, "maxLength": limits::REFERENCE_MAX, "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"})
            }
            Rule::Description => json!({"type": "string", "maxLength": limits::DESCRIPTION_MAX}),
            Rule::CustomerName => {
                json!({"type": "string", "maxLength": flow::customer::limits::NAME, "pattern": format!("^{NO_CONTROL}*$")})
            }
            Rule::Text { max } => json!({"type": "string", "minLength": 1, "maxLength": max}),
            Rule::NotBlank { max } => {
                json!({"type": "string", "minLength": 1, "maxLength": max, "pattern": r"\S"})
            }
            Rule::Range { min, max } => json!({"type": "integer", "minimum": min, "maximum": max}),
            Rule::OneOf(words) => json!({"type": "string", "enum": words}),
            Rule::Secret => {
                json!({"type": "string", "minLength": runtime::entry_points::SECRET_MIN, "maxLength": runtime::entry_points::SECRET_MAX, "pattern": format!("^{NO_CONTROL}*$")})
            }
            Rule::Email => {
                json!({"type": "string", "maxLength": runtime::access::account_limits::EMAIL_MAX, "pattern": "^[^@\\s\\u0000-\\u001f\\u007f-\\u009f]+@[^@\\s\\u0000-\\u001f\\u007f-\\u009f]+$"})
            }
            Rule::Password => {
                json!({"type": "string", "minLength": runtime::access::account_limits::PASSWORD_MIN, "maxLength": runtime::access::account_limits::PASSWORD_MAX})
            }
            Rule::Permissions => {
                let all: Vec<String> = flow::access::Permission::all()
                    .map(|p| p.to_string())
                    .collect();
                json!({"type": "array", "maxItems": all.len(), "items": {"type": "string", "enum": all}})
            }
        }
    }
}

/// Request schemas and the rules of their fields.
fn schema_rules() -> Vec<(&'static str, &'static [(&'static str, Rule)])> {
    use Rule::*;
    const NAMED: &[(&str, Rule)] = &[
        ("reference", Reference),
        ("name", Name),
        ("description", Description),
    ];
    const HTTP: &[(&str, Rule)] = &[
        (
            "message_id",
            Text {
                max: channels::http::LIMITS.message_id,
            },
        ),
        (
            "from",
            NotBlank {
                max: channels::http::LIMITS.address,
            },
        ),
    ];
    vec![
        ("CreateRouting", NAMED),
        ("UpdateRouting", NAMED),
        ("CopyRouting", NAMED),
        ("CreateVersion", NAMED),
        ("UpdateVersion", NAMED),
        ("DuplicateVersion", NAMED),
        ("ObjectBody", NAMED),
        (
            "UserBody",
            &[
                ("reference", Reference),
                ("name", Name),
                (
                    "capacity",
                    Range {
                        min: 1,
                        max: acd::limits::CAPACITY as u64,
                    },
                ),
                ("email", Email),
                ("password", Password),
            ],
        ),
        (
            "EntryPointBody",
            &[
                ("reference", Reference),
                ("name", Name),
                ("description", Description),
                ("secret", Secret),
            ],
        ),
        (
            "CustomerBody",
            &[("reference", Reference), ("name", CustomerName)],
        ),
        ("CreateAction", &[("name", ActionName)]),
        ("UpdateAction", &[("name", ActionName)]),
        ("HttpMessage", HTTP),
        (
            "AccountBody",
            &[
                ("email", Email),
                ("name", Name),
                ("password", Password),
                ("role", Reference),
                ("status", OneOf(&["active", "disabled"])),
            ],
        ),
        (
            "TokenBody",
            &[
                (
                    "name",
                    NameOf {
                        max: runtime::access::limits::TOKEN_NAME,
                    },
                ),
                ("role", Reference),
            ],
        ),
        (
            "RoleBody",
            &[
                ("reference", Reference),
                ("name", Name),
                ("permissions", Permissions),
            ],
        ),
    ]
}

/// Operations whose body shares its schema with the update (every field optional) but needs
/// some fields on creation; `variables` also names variables.
const CREATE_REQUIRED: &[(&str, &[&str])] = &[
    ("/calendars", &["reference", "name"]),
    ("/checkpoints", &["reference", "name"]),
    ("/groups", &["reference", "name"]),
    ("/queue-groups", &["reference", "name"]),
    ("/value-tables", &["reference", "name"]),
    ("/variables", &["reference", "name"]),
    ("/sms-templates", &["reference", "name", "data"]),
    ("/web-services", &["reference", "name", "data"]),
    ("/databases", &["reference", "name", "data"]),
    ("/users", &["reference", "name"]),
    ("/entry-points", &["reference", "name", "channel"]),
    ("/customers", &["channel", "address"]),
    ("/accounts", &["email", "name", "password", "role"]),
    ("/roles", &["reference", "name", "permissions"]),
];

/// Applies the field rules to `doc` (an OpenAPI document as JSON).
pub(crate) fn apply(doc: &mut Value) {
    if let Some(Value::Object(schemas)) = doc.pointer_mut("/components/schemas") {
        for (name, rules) in schema_rules() {
            if let Some(Value::Object(props)) =
                schemas.get_mut(name).and_then(|s| s.get_mut("properties"))
            {
                for (field, rule) in rules {
                    if let Some(p) = props.get_mut(*field) {
                        constrain(p, rule.schema());
                    }
                }
            }
        }
        // an action is a type (with parameters) or a copy of another action, never both
        if let Some(Value::Object(s)) = schemas.get_mut("CreateAction") {
            s.insert(
                "oneOf".into(),
                json!([
                    {"allOf": [given("type"), {"not": given("copy_from")}]},
                    {"allOf": [given("copy_from"), {"not": given("type")}, {"not": given("params")}]}
                ]),
            );
        }
    }
    let Some(Value::Object(paths)) = doc.get_mut("paths") else {
        return;
    };
    // an optional body is left out, never `null` (every body is an object)
    for item in paths.values_mut() {
        let Value::Object(ops) = item else { continue };
        for op in ops.values_mut() {
            if let Some(schema) = op.pointer_mut("/requestBody/content/application~1json/schema")
                && let Some(Value::Array(alts)) = schema.get("oneOf")
                && alts.len() == 2
                && alts.iter().any(|a| a == &json!({"type": "null"}))
                && let Some(inner) = alts.iter().find(|a| a.get("$ref").is_some()).cloned()
            {
                *schema = inner;
            }
        }
    }
    for (path, required) in CREATE_REQUIRED {
        let Some(schema) = paths.get_mut(*path).and_then(|item| {
            item.pointer_mut("/post/requestBody/content/application~1json/schema")
        }) else {
            continue;
        };
        let mut all = vec![schema.take()];
        all.extend(required.iter().map(|f| given(f)));
        if *path == "/variables" {
            all.push(json!({"properties": {"reference": Rule::VariableReference.schema()}}));
        }
        *schema = json!({ "allOf": all });
    }
    // per operation: a variable's reference is a variable name, a checkpoint has no data, an
    // HTTP entry point needs its callback URL
    let extra = [
        (
            "/variables/{id}",
            "patch",
            json!({"properties": {"reference": Rule::VariableReference.schema()}}),
        ),
        (
            "/checkpoints",
            "post",
            json!({"properties": {"data": {"type": ["object", "null"], "maxProperties": 0}}}),
        ),
        (
            "/checkpoints/{id}",
            "patch",
            json!({"properties": {"data": {"type": ["object", "null"], "maxProperties": 0}}}),
        ),
        (
            "/entry-points",
            "post",
            json!({
                "if": {"required": ["channel"], "properties": {"channel": {"const": "http"}}},
                "then": given("callback_url")
            }),
        ),
    ];
    for (path, method, rule) in extra {
        let pointer = format!("/{method}/requestBody/content/application~1json/schema");
        if let Some(schema) = paths
            .get_mut(path)
            .and_then(|item| item.pointer_mut(&pointer))
        {
            *schema = json!({"allOf": [schema.take(), rule]});
        }
    }
}

/// The field is there and not `null` (the server reads a `null` as absent).
fn given(field: &str) -> Value {
    let mut properties = Map::new();
    properties.insert(field.into(), json!({"not": {"type": "null"}}));
    json!({"required": [field], "properties": properties})
}

/// Puts a rule on a property schema, keeping its description and whether it may be `null`.
fn constrain(property: &mut Value, rule: Value) {
    let Value::Object(p) = property else { return };
    let nullable = match p.get("type") {
        Some(Value::Array(types)) => types.iter().any(|t| t == "null"),
        _ => p
            .get("oneOf")
            .and_then(Value::as_array)
            .is_some_and(|alts| alts.iter().any(|a| a.get("type") == Some(&json!("null")))),
    };
    p.remove("oneOf");
    p.remove("format");
    if let Value::Object(rule) = rule {
        for (k, v) in rule {
            p.insert(k, v);
        }
    }
    if nullable && let Some(Value::String(t)) = p.get("type").cloned() {
        p.insert("type".into(), json!([t, "null"]));
    }
}
