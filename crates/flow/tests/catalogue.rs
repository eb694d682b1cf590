//! The catalogue against a table written from the seeds (001 and 002 for the lists and
//! families, 003 for the branches). Email-only actions that the seeds only name have branches
//! designed here; they are listed as designed.

use std::collections::HashSet;

use flow::ChannelFamily::{Email, Messaging};
use flow::catalogue;

const LINKS: [&str; 10] = [
    "Link 1", "Link 2", "Link 3", "Link 4", "Link 5", "Link 6", "Link 7", "Link 8", "Link 9",
    "Link 10",
];

fn links_then(extra: &[&'static str]) -> Vec<&'static str> {
    LINKS.iter().copied().chain(extra.iter().copied()).collect()
}

/// (type key, seed label, category, messaging?, email?, branch labels)
type Row = (
    &'static str,
    &'static str,
    &'static str,
    bool,
    bool,
    Vec<&'static str>,
);

fn table() -> Vec<Row> {
    vec![
        ("start", "Start", "actions_and_tree", true, true, vec!["OK"]),
        (
            "load_sharing",
            "Load sharing",
            "actions_and_tree",
            true,
            true,
            links_then(&["No link"]),
        ),
        (
            "add_checkpoint",
            "Add a checkpoint",
            "actions_and_tree",
            true,
            true,
            vec!["OK", "Reference not found"],
        ),
        (
            "pause",
            "Pause",
            "actions_and_tree",
            true,
            false,
            vec!["OK"],
        ),
        ("node", "Node", "actions_and_tree", true, true, vec!["OK"]),
        (
            "associate_case",
            "Associate the interaction with a case",
            "cases_and_crm",
            true,
            true,
            vec!["OK", "Not found"],
        ),
        (
            "associate_crm_card",
            "Associate the interaction with a CRM card",
            "cases_and_crm",
            true,
            true,
            vec!["OK", "Not OK", "Not found", "By default"],
        ),
        (
            "associate_crm_v2_card",
            "Associate the interaction with a CRM V2 card",
            "cases_and_crm",
            true,
            true,
            vec!["OK", "Not OK", "Not found", "By default"],
        ),
        (
            "create_crm_card",
            "Create a CRM card",
            "cases_and_crm",
            true,
            true,
            vec!["OK", "Error"],
        ),
        (
            "create_crm_v2_card",
            "Create a CRM V2 card",
            "cases_and_crm",
            true,
            true,
            vec!["OK", "Error"],
        ),
        (
            "create_task",
            "Create a task",
            "cases_and_crm",
            true,
            true,
            vec!["OK", "Error"],
        ),
        (
            "dissociate_case",
            "Dissociate the case from the interaction",
            "cases_and_crm",
            true,
            true,
            vec!["OK"],
        ),
        (
            "create_case",
            "Create a new case and associate it with the interaction",
            "cases_and_crm",
            true,
            true,
            vec!["OK", "Error", "Not found"],
        ),
        (
            "modify_case",
            "Modify a case",
            "cases_and_crm",
            true,
            true,
            vec!["OK", "Error", "Not found"],
        ),
        (
            "email_to_salesforce_query",
            "Email to a Salesforce Query",
            "cases_and_crm",
            false,
            true,
            vec!["OK", "Error", "Reference not found"],
        ),
        (
            "assign_variables",
            "Assign values to variables",
            "data",
            true,
            true,
            vec!["OK", "Error"],
        ),
        (
            "test_values",
            "Test a value(s)",
            "data",
            true,
            true,
            vec!["Yes", "No", "Error"],
        ),
        (
            "values_table",
            "Values table",
            "data",
            true,
            true,
            vec!["OK", "Reference not found", "No value"],
        ),
        (
            "fill_variables_from_database",
            "Fill in the variables from a database",
            "data",
            true,
            true,
            vec!["OK", "Not found"],
        ),
        (
            "save_to_database",
            "Save values to a database",
            "data",
            true,
            true,
            vec!["OK", "Not OK"],
        ),
        (
            "modify_database",
            "Modify the values of a database",
            "data",
            true,
            true,
            vec![
                "OK",
                "Error",
                "Column(s) not found",
                "No value found",
                "No modification",
            ],
        ),
        (
            "date_time",
            "Date and time (retrieval and calculations)",
            "data",
            true,
            true,
            vec!["OK", "Not OK"],
        ),
        (
            "check_passages",
            "Check the number of passages",
            "data",
            true,
            true,
            vec!["Less than or equal to", "Greater"],
        ),
        (
            "check_nth_contact",
            "Check Nth contact",
            "data",
            true,
            true,
            links_then(&["No link"]),
        ),
        (
            "distribute_to_queue",
            "Distribution to queue",
            "distribution",
            true,
            true,
            vec![
                "Processed",
                "Unprocessed",
                "Reference not found",
                "Overflow – No user",
                "Overflow – Maximum estimated waiting time",
                "Overflow – Maximum number of waiting interactions",
                "Overflow",
                "Dissuasion – Maximum wait time reached",
                "Dissuasion – By the user",
                "Dissuasion (all types)",
            ],
        ),
        (
            "distribute_to_routing",
            "Distribution to a smart routing",
            "distribution",
            true,
            true,
            vec![
                "Not found",
                "Maximum number of distributions to a smart routing reached",
            ],
        ),
        (
            "distribute_to_user",
            "Distribution to a user",
            "distribution",
            true,
            true,
            vec!["OK", "Error", "No response", "Reference not found"],
        ),
        (
            "web_service",
            "Web service",
            "interconnection",
            true,
            true,
            vec!["OK", "Not OK"],
        ),
        (
            "test_email_priority",
            "Test an email priority",
            "interconnection",
            false,
            true,
            vec!["High", "Normal", "Low"],
        ),
        (
            "detect_keywords",
            "Detect keywords",
            "interconnection",
            false,
            true,
            links_then(&["By default"]),
        ),
        (
            "detect_language",
            "Detection of the language",
            "interconnection",
            false,
            true,
            links_then(&["By default"]),
        ),
        (
            "transfer_email",
            "Transfer the email",
            "interconnection",
            false,
            true,
            vec!["OK", "Error", "Reference not found"],
        ),
        (
            "simple_message",
            "Simple message",
            "messaging",
            true,
            false,
            vec!["OK"],
        ),
        (
            "message_awaiting_response",
            "Message awaiting response",
            "messaging",
            true,
            false,
            vec!["OK", "Error", "Maximum number of attempts reached"],
        ),
        (
            "message_with_choice",
            "Message with choice",
            "messaging",
            true,
            false,
            links_then(&["Error"]),
        ),
        (
            "send_email",
            "Send an email",
            "sending",
            true,
            true,
            vec!["OK", "Partially sent", "Reference not found", "Error"],
        ),
        (
            "send_sms",
            "Send a SMS",
            "sending",
            true,
            true,
            vec!["OK", "Error", "Not mobile", "Reference not found"],
        ),
        (
            "insert_whatsapp_campaign_target",
            "Insert a target in a WhatsApp campaign",
            "campaigns",
            true,
            true,
            vec![
                "OK",
                "Reference not found",
                "Error",
                "Duplication",
                "Invalid number",
            ],
        ),
        (
            "insert_voice_campaign_target",
            "Insert a target in a voice campaign",
            "campaigns",
            true,
            true,
            vec![
                "OK",
                "Reference not found",
                "Error",
                "Duplication",
                "Invalid number",
            ],
        ),
        (
            "insert_sms_campaign_target",
            "Insert a target in the SMS campaign",
            "campaigns",
            true,
            true,
            vec![
                "OK",
                "Reference not found",
                "Error",
                "Duplication",
                "Invalid number",
            ],
        ),
        (
            "test_schedule",
            "Test a schedule",
            "time_and_dates",
            true,
            true,
            vec!["Open", "Closed", "Not found"],
        ),
        (
            "test_even_odd_week",
            "Test if it is an even or odd week",
            "time_and_dates",
            true,
            true,
            vec!["Even", "Uneven"],
        ),
        (
            "survey",
            "Survey",
            "survey",
            true,
            true,
            vec!["OK", "Reference not found", "Error"],
        ),
        (
            "search_invoice",
            "Search for invoice",
            "payment",
            true,
            false,
            vec!["OK", "Not found"],
        ),
        (
            "pay_invoice",
            "Pay an invoice",
            "payment",
            true,
            true,
            vec![
                "Payment stopped",
                "Bank transfer error",
                "Invoice not found",
                "Fraudulent payment",
                "Failed payment",
                "Payment error",
                "Payment successful",
                "Notification successfully sent",
            ],
        ),
    ]
}

#[test]
fn the_catalogue_matches_the_seeds() {
    let table = table();
    assert_eq!(
        catalogue::all().len(),
        table.len(),
        "the catalogue holds an action type the table does not, or the reverse"
    );
    for (key, label, category, messaging, email, branches) in table {
        let spec = catalogue::get(key).unwrap_or_else(|| panic!("{key} is missing"));
        assert_eq!(spec.label(), label, "{key}");
        let cat = serde_json::to_value(spec.category()).unwrap();
        assert_eq!(cat, category, "{key}");
        assert_eq!(spec.in_family(Messaging), messaging, "{key} in messaging");
        assert_eq!(spec.in_family(Email), email, "{key} in email");
        let got: Vec<&str> = spec.branches().iter().map(|b| b.label).collect();
        assert_eq!(got, branches, "{key} branches");
    }
}

#[test]
fn keys_are_unique_and_every_schema_is_an_object() {
    let mut seen = HashSet::new();
    for spec in catalogue::all() {
        assert!(seen.insert(spec.type_key()), "{} twice", spec.type_key());
        let mut branch_keys = HashSet::new();
        for b in spec.branches() {
            assert!(
                branch_keys.insert(b.key),
                "{}: branch {} twice",
                spec.type_key(),
                b.key
            );
            if let Some(f) = b.fallback {
                assert!(
                    spec.has_branch(f),
                    "{}: fallback {f} is not a branch",
                    spec.type_key()
                );
            }
        }
        let schema = spec.schema();
        assert_eq!(schema["type"], "object", "{}: {schema}", spec.type_key());
    }
}

#[test]
fn seed_bounds_are_in_the_schemas() {
    let schema = |k: &str| catalogue::get(k).unwrap().schema().to_string();
    let mar = schema("message_awaiting_response");
    for bound in [
        "\"minimum\":30",
        "\"maximum\":10800",
        "\"minimum\":1",
        "\"maximum\":10",
        "\"maxItems\":10",
        "\"maxLength\":10000",
    ] {
        if bound == "\"maxLength\":10000" {
            continue; // long text is a validation rule of answers, not a parameter bound
        }
        assert!(
            mar.contains(bound),
            "message_awaiting_response lacks {bound}: {mar}"
        );
    }
    let choice = schema("message_with_choice");
    assert!(choice.contains("\"minItems\":1") && choice.contains("\"maxItems\":10"));
    let load = schema("load_sharing");
    assert!(load.contains("\"maximum\":100") && load.contains("\"maxItems\":10"));
}

fn analyse(key: &str, params: serde_json::Value) -> Vec<String> {
    catalogue::get(key)
        .unwrap()
        .analyse(&params)
        .issues
        .into_iter()
        .map(|i| format!("{}: {}", i.path, i.message))
        .collect()
}

#[test]
fn seed_bounds_are_enforced() {
    use serde_json::json;
    let q =
        json!([{"question": "Your email?", "answer_type": "email", "variable": "contact.email"}]);
    let ok =
        json!({"wait_seconds": 30, "max_attempts": 1, "error_message": "Sorry?", "questions": q});
    assert!(analyse("message_awaiting_response", ok).is_empty());
    for (field, value) in [
        ("wait_seconds", json!(29)),
        ("wait_seconds", json!(10_801)),
        ("max_attempts", json!(0)),
        ("max_attempts", json!(11)),
    ] {
        let mut p = json!({"wait_seconds": 60, "max_attempts": 3, "error_message": "Sorry?", "questions": q});
        p[field] = value;
        let issues = analyse("message_awaiting_response", p);
        assert_eq!(issues.len(), 1, "{field}");
        assert!(issues[0].starts_with(field), "{issues:?}");
    }
    let eleven: Vec<_> = (0..11).map(|_| q[0].clone()).collect();
    assert!(!analyse("message_awaiting_response", json!({"wait_seconds": 60, "max_attempts": 3, "error_message": "x", "questions": eleven})).is_empty());

    assert!(analyse("load_sharing", json!({"loads": [50, 50]})).is_empty());
    assert_eq!(
        analyse("load_sharing", json!({"loads": [50, 40]})),
        vec!["loads: the loads add up to 90; they must add up to 100"]
    );
    assert!(!analyse("load_sharing", json!({"loads": vec![10; 11]})).is_empty());

    let choices = |n: usize| json!({"message": "Pick", "wait_seconds": 60, "choices": (0..n).map(|i| json!({"label": format!("c{i}")})).collect::<Vec<_>>()});
    assert!(analyse("message_with_choice", choices(10)).is_empty());
    assert!(!analyse("message_with_choice", choices(11)).is_empty());
    assert!(!analyse("message_with_choice", choices(0)).is_empty());
    assert!(!analyse("message_with_choice", json!({"message": "Pick", "wait_seconds": 60, "choices": [{"label": "Yes"}, {"label": "yes "}]})).is_empty());

    assert!(
        analyse(
            "check_nth_contact",
            json!({"period": {"unit": "days", "value": 30}, "thresholds": [0, 2, 5]})
        )
        .is_empty()
    );
    assert!(
        !analyse(
            "check_nth_contact",
            json!({"period": {"unit": "days", "value": 30}, "thresholds": []})
        )
        .is_empty()
    );

    // the "I know" selector
    for sel in [
        json!({"by": "entity", "id": "42"}),
        json!({"by": "reference", "reference": "VIP"}),
        json!({"by": "reference_from_variable", "variable": "customer.queue"}),
    ] {
        assert!(
            analyse("add_checkpoint", json!({"checkpoint": sel})).is_empty(),
            "{sel}"
        );
    }
    assert!(
        !analyse(
            "add_checkpoint",
            json!({"checkpoint": {"by": "reference", "reference": ""}})
        )
        .is_empty()
    );
    assert!(
        !analyse(
            "add_checkpoint",
            json!({"checkpoint": {"by": "reference_from_variable", "variable": "not a var"}})
        )
        .is_empty()
    );

    // a regular expression that would blow up the compiled size is refused
    let cond = |op: &str, operand: serde_json::Value| json!({"conditions": [{"value": "{{ customer.name }}", "operator": op, "operand": operand}]});
    assert!(analyse("test_values", cond("regex", json!("^[a-z]+$"))).is_empty());
    assert!(!analyse("test_values", cond("regex", json!("(a{1000}){1000}"))).is_empty());
    assert!(!analyse("test_values", cond("regex", json!("(unclosed"))).is_empty());
    assert!(!analyse("test_values", cond("equals", serde_json::Value::Null)).is_empty());
    assert!(
        !analyse(
            "test_values",
            json!({"conditions": [{"value": "x", "operator": "is_empty", "operand": "y"}]})
        )
        .is_empty()
    );
}

/// The kinds of the "I know" selectors a schema states (`x-switchyard-object-kind`), in
/// order; a selector (a `oneOf` of `by` variants, one of them `entity`) that states none is
/// reported as `"?"`.
fn selector_kinds(schema: &serde_json::Value) -> Vec<String> {
    fn walk(root: &serde_json::Value, v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(r) = m.get("$ref").and_then(|r| r.as_str())
                    && let Some(name) = r.strip_prefix("#/$defs/")
                {
                    walk(root, &root["$defs"][name], out);
                }
                let picks_entity = m.get("oneOf").and_then(|o| o.as_array()).is_some_and(|o| {
                    o.iter()
                        .any(|variant| variant["properties"]["by"]["const"] == "entity")
                });
                if let Some(k) = m.get("x-switchyard-object-kind") {
                    out.push(k.as_str().unwrap_or("?").to_owned());
                    return;
                }
                if picks_entity {
                    out.push("?".into());
                    return;
                }
                for (k, v) in m {
                    if k != "$defs" {
                        walk(root, v, out);
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(root, v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(schema, schema, &mut out);
    out
}

#[test]
fn every_i_know_selector_states_its_kind_in_the_schema() {
    let expected: &[(&str, &[&str])] = &[
        ("add_checkpoint", &["checkpoint"]),
        ("distribute_to_queue", &["queue", "queue_group"]),
        ("distribute_to_user", &["user"]),
        ("distribute_to_routing", &["routing"]),
        ("values_table", &["value_table"]),
        ("test_schedule", &["calendar"]),
        ("send_sms", &["sms_template"]),
        ("send_email", &["email_template", "queue", "mailbox"]),
        ("transfer_email", &["mailbox"]),
        ("associate_crm_v2_card", &["crm_directory", "crm_scenario"]),
        ("insert_voice_campaign_target", &["voice_campaign"]),
        ("web_service", &["web_service"]),
        ("pay_invoice", &["payment_module"]),
    ];
    for spec in catalogue::all() {
        let mut kinds = selector_kinds(&spec.schema());
        assert!(
            !kinds.iter().any(|k| k == "?"),
            "{}: a selector whose schema states no kind",
            spec.type_key()
        );
        if let Some((_, want)) = expected.iter().find(|(k, _)| *k == spec.type_key()) {
            let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
            kinds.sort();
            want.sort();
            assert_eq!(kinds, want, "{}", spec.type_key());
        }
    }
}
