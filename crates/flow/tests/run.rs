//! Every runnable action and every branch it can take, against a fake context.

use std::collections::{HashMap, HashSet};

use flow::catalogue::{self, Selector};
use flow::exec::{Attachment, Cx, Found, Inbound, Outbound, Step, Wake, render, value_text};
use flow::tree::ActionId;
use jiff::Timestamp;
use serde_json::{Value, json};

struct Fake {
    now: Timestamp,
    tz: jiff::tz::TimeZone,
    draws: Vec<u64>,
    vars: serde_json::Map<String, Value>,
    sent: Vec<Outbound>,
    passages: HashMap<ActionId, u32>,
    linked: HashSet<&'static str>,
    checkpoints: Vec<String>,
    tables: HashMap<String, HashMap<String, Option<String>>>,
    calendars: HashMap<String, bool>,
    contacts: Vec<Timestamp>,
    error: Option<String>,
}

fn fake() -> Fake {
    Fake {
        now: "2026-06-03T08:30:00Z".parse().unwrap(), // a Wednesday, 10:30 in Paris, ISO week 23
        tz: jiff::tz::TimeZone::get("Europe/Paris").unwrap(),
        draws: vec![],
        vars: serde_json::Map::new(),
        sent: vec![],
        passages: HashMap::new(),
        linked: HashSet::new(),
        checkpoints: vec![],
        tables: HashMap::new(),
        calendars: HashMap::new(),
        contacts: vec![],
        error: None,
    }
}

fn get_path<'a>(vars: &'a serde_json::Map<String, Value>, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('.');
    let mut v = vars.get(parts.next()?)?;
    for p in parts {
        v = v.get(p)?;
    }
    Some(v)
}

impl Cx for Fake {
    fn now(&self) -> Timestamp {
        self.now
    }
    fn random(&mut self) -> u64 {
        self.draws.remove(0)
    }
    fn time_zone(&self) -> &jiff::tz::TimeZone {
        &self.tz
    }
    fn phone_region(&self) -> &str {
        "FR"
    }
    fn render(&self, template: &str) -> String {
        render(template, &|p| get_path(&self.vars, p).map(value_text))
    }
    fn get(&self, path: &str) -> Option<&Value> {
        get_path(&self.vars, path)
    }
    fn set(&mut self, path: &str, value: Value) -> Result<(), String> {
        if flow::exec::is_system_path(path) {
            return Err(format!("'{path}' is read-only"));
        }
        // `amount` stands for a variable declared as a number
        if path == "amount" && value.as_str().is_some_and(|s| s.parse::<f64>().is_err()) {
            return Err(format!("'amount': {value} is not a number"));
        }
        let (root, field) = path
            .split_once('.')
            .map_or((path, None), |(r, f)| (r, Some(f)));
        match field {
            None => {
                self.vars.insert(root.into(), value);
            }
            Some(f) => {
                let entry = self
                    .vars
                    .entry(root.to_owned())
                    .or_insert_with(|| json!({}));
                if !entry.is_object() {
                    *entry = json!({});
                }
                entry.as_object_mut().unwrap().insert(f.into(), value);
            }
        }
        Ok(())
    }
    fn set_error(&mut self, reason: &str) {
        self.error = Some(reason.into());
    }
    fn set_card(&mut self, card: Option<&flow::effect::CardView>) {
        match card {
            Some(c) => {
                self.vars
                    .insert("card".into(), serde_json::to_value(c).unwrap());
            }
            None => {
                self.vars.remove("card");
            }
        }
    }
    fn set_bill(&mut self, bill: Option<&flow::effect::InvoiceView>) {
        match bill {
            Some(b) => {
                self.vars
                    .insert("bill".into(), serde_json::to_value(b).unwrap());
            }
            None => {
                self.vars.remove("bill");
            }
        }
    }
    fn set_case(&mut self, case: Option<&flow::effect::CaseView>) {
        match case {
            Some(c) => {
                self.vars
                    .insert("case".into(), serde_json::to_value(c).unwrap());
            }
            None => {
                self.vars.remove("case");
            }
        }
    }
    fn is_linked(&self, branch: &str) -> bool {
        self.linked.contains(branch)
    }
    fn send(&mut self, message: Outbound) {
        self.sent.push(message);
    }
    fn count_passage(&mut self, action: ActionId) -> u32 {
        let n = self.passages.entry(action).or_default();
        *n += 1;
        *n
    }
    fn reset_passages(&mut self, action: ActionId) {
        self.passages.insert(action, 0);
    }
    fn action(&self) -> ActionId {
        ActionId::from_u128(7)
    }
    fn add_checkpoint(&mut self, checkpoint: &Selector) -> Found<()> {
        match self.reference(checkpoint) {
            Some(r) if r == "VIP" || r == "ENTRY" => {
                self.checkpoints.push(r);
                Found::Yes(())
            }
            _ => Found::NotFound,
        }
    }
    fn value_table(&self, table: &Selector, key: &str) -> Found<Option<String>> {
        match self.reference(table).and_then(|r| self.tables.get(&r)) {
            Some(t) => match t.get(key) {
                Some(v) => Found::Yes(v.clone()),
                None => Found::NotFound,
            },
            None => Found::NotFound,
        }
    }
    fn calendar_open(&self, calendar: &Selector) -> Found<bool> {
        match self
            .reference(calendar)
            .and_then(|r| self.calendars.get(&r))
        {
            Some(open) => Found::Yes(*open),
            None => Found::NotFound,
        }
    }
    fn contacts_since(&self, since: Timestamp) -> u32 {
        self.contacts.iter().filter(|t| **t >= since).count() as u32
    }
}

fn runner(ty: &str, params: Value) -> Box<dyn flow::exec::Run> {
    catalogue::get(ty)
        .unwrap()
        .instantiate(&params)
        .unwrap_or_else(|e| panic!("{ty}: {e:?}"))
        .expect("runnable")
}

fn run(ty: &str, params: Value, cx: &mut Fake) -> Step {
    runner(ty, params).run(cx)
}

fn text(t: &str) -> Inbound {
    Inbound {
        text: t.into(),
        ..Inbound::default()
    }
}

fn branch(step: Step) -> &'static str {
    match step {
        Step::Branch(b) => b,
        other => panic!("expected a branch, got {other:?}"),
    }
}

fn memo(step: &Step) -> Value {
    match step {
        Step::Wait { memo, .. } => memo.clone(),
        other => panic!("expected a wait, got {other:?}"),
    }
}

#[test]
fn the_runnable_set_is_what_the_engine_issue_lists() {
    let runnable: Vec<&str> = catalogue::all()
        .iter()
        .filter(|s| s.runnable())
        .map(|s| s.type_key())
        .collect();
    // every type of the catalogue runs: none ends an interaction with `action_unavailable`
    assert_eq!(runnable.len(), catalogue::all().len(), "{runnable:?}");
    assert_eq!(runnable.len(), 45);
    for ty in [
        "associate_case",
        "dissociate_case",
        "create_case",
        "modify_case",
        "web_service",
        "fill_variables_from_database",
        "save_to_database",
        "modify_database",
        "search_invoice",
        "pay_invoice",
        "insert_whatsapp_campaign_target",
        "insert_voice_campaign_target",
        "insert_sms_campaign_target",
        "associate_crm_card",
        "create_crm_card",
        "associate_crm_v2_card",
        "create_crm_v2_card",
        "email_to_salesforce_query",
        "create_task",
        "survey",
    ] {
        assert!(runnable.contains(&ty), "{ty}");
    }
    for email in ["test_email_priority", "detect_keywords", "detect_language"] {
        assert!(runnable.contains(&email), "{email}");
    }
    assert!(runnable.contains(&"distribute_to_queue") && runnable.contains(&"distribute_to_user"));
    assert!(runnable.contains(&"send_sms"));
    for s in catalogue::all() {
        let result = s.instantiate(&json!({}));
        if let Ok(r) = result {
            assert_eq!(r.is_some(), s.runnable(), "{}", s.type_key());
        }
    }
}

#[test]
fn start_node_and_distribution() {
    let mut cx = fake();
    assert_eq!(branch(run("start", json!({}), &mut cx)), "ok");
    assert_eq!(branch(run("node", json!({}), &mut cx)), "ok");
    let step = run(
        "distribute_to_routing",
        json!({"routing": {"by": "reference", "reference": "SALES"}}),
        &mut cx,
    );
    assert!(matches!(
        step,
        Step::HandOver {
            routing: Selector::Reference { .. }
        }
    ));
}

#[test]
fn load_sharing_draws_weighted_links_and_no_link() {
    let mut cx = fake();
    cx.linked = HashSet::from(["link_1", "link_2"]);
    cx.draws = vec![0, 29, 30, 99, 129];
    let params = json!({"loads": [30, 70]});
    let r = runner("load_sharing", params);
    let got: Vec<&str> = (0..5).map(|_| branch(r.run(&mut cx))).collect();
    assert_eq!(got, ["link_1", "link_1", "link_2", "link_2", "link_1"]);
    cx.linked.remove("link_2");
    cx.draws = vec![50];
    assert_eq!(
        branch(r.run(&mut cx)),
        "no_link",
        "the drawn link is not connected"
    );
}

#[test]
fn checkpoint_found_and_not_found() {
    let mut cx = fake();
    assert_eq!(
        branch(run(
            "add_checkpoint",
            json!({"checkpoint": {"by": "reference", "reference": "VIP"}}),
            &mut cx
        )),
        "ok"
    );
    assert_eq!(cx.checkpoints, ["VIP"]);
    assert_eq!(
        branch(run(
            "add_checkpoint",
            json!({"checkpoint": {"by": "reference", "reference": "NOPE"}}),
            &mut cx
        )),
        "reference_not_found"
    );
    let from_var = json!({"checkpoint": {"by": "reference_from_variable", "variable": "flow.tag"}});
    assert_eq!(
        branch(run("add_checkpoint", from_var.clone(), &mut cx)),
        "reference_not_found",
        "an unset variable names nothing"
    );
    cx.set("flow.tag", json!("ENTRY")).unwrap();
    assert_eq!(branch(run("add_checkpoint", from_var, &mut cx)), "ok");
}

#[test]
fn pause_waits_then_continues() {
    let mut cx = fake();
    let r = runner("pause", json!({"seconds": 90}));
    let step = r.run(&mut cx);
    assert_eq!(
        step,
        Step::Wait {
            message: false,
            until: Some(cx.now + jiff::SignedDuration::from_secs(90)),
            memo: Value::Null
        }
    );
    assert_eq!(branch(r.resume(&mut cx, &Value::Null, Wake::Timeout)), "ok");
}

#[test]
fn simple_message_renders_once() {
    let mut cx = fake();
    cx.set("customer_input.name", json!("{{ secret.key }}"))
        .unwrap();
    cx.set("secret.key", json!("s3cr3t")).unwrap();
    assert_eq!(
        branch(run(
            "simple_message",
            json!({"message": "Hello {{ customer_input.name }}"}),
            &mut cx
        )),
        "ok"
    );
    assert_eq!(
        cx.sent,
        [Outbound::Text {
            text: "Hello {{ secret.key }}".into()
        }]
    );
}

fn questions() -> Value {
    json!({
        "message": "Welcome!", "wait_seconds": 60, "max_attempts": 2, "error_message": "Sorry, I did not get that.",
        "questions": [
            {"question": "Your age?", "answer_type": "number", "variable": "profile.age"},
            {"question": "Your email?", "answer_type": "email", "variable": "profile.email"}
        ]
    })
}

#[test]
fn message_awaiting_response_ok_retry_and_max_attempts() {
    let mut cx = fake();
    let r = runner("message_awaiting_response", questions());
    let step = r.run(&mut cx);
    assert_eq!(
        cx.sent,
        [
            Outbound::Text {
                text: "Welcome!".into()
            },
            Outbound::Text {
                text: "Your age?".into()
            }
        ]
    );
    let Step::Wait {
        message: true,
        until: Some(until),
        ..
    } = step
    else {
        panic!("{step:?}")
    };
    assert_eq!(until, cx.now + jiff::SignedDuration::from_secs(60));
    // invalid, then valid
    let step = r.resume(&mut cx, &memo(&step), Wake::Message(&text("forty")));
    assert_eq!(
        cx.sent[2..],
        [
            Outbound::Text {
                text: "Sorry, I did not get that.".into()
            },
            Outbound::Text {
                text: "Your age?".into()
            }
        ]
    );
    let step = r.resume(&mut cx, &memo(&step), Wake::Message(&text(" 42 ")));
    assert_eq!(cx.get("profile.age"), Some(&json!(42)));
    assert_eq!(
        cx.sent.last(),
        Some(&Outbound::Text {
            text: "Your email?".into()
        })
    );
    // the attempt count restarts for each question
    let step = r.resume(
        &mut cx,
        &memo(&step),
        Wake::Message(&text("ann@example.org")),
    );
    assert_eq!(branch(step), "ok");
    assert_eq!(cx.get("profile.email"), Some(&json!("ann@example.org")));

    // two invalid answers with max_attempts 2 → Maximum number of attempts reached
    let mut cx = fake();
    let step = r.run(&mut cx);
    let step = r.resume(&mut cx, &memo(&step), Wake::Message(&text("x")));
    let step = r.resume(&mut cx, &memo(&step), Wake::Message(&text("y")));
    assert_eq!(branch(step), "max_attempts");
    assert_eq!(cx.error.as_deref(), Some("not_a_number"));

    // no answer in time → Error, reason in system.error
    let mut cx = fake();
    let step = r.run(&mut cx);
    assert_eq!(
        branch(r.resume(&mut cx, &memo(&step), Wake::Timeout)),
        "error"
    );
    assert_eq!(cx.error.as_deref(), Some("response_timeout"));

    // an answer its variable refuses (declared as a number) takes Error
    let mut cx = fake();
    let bad = runner(
        "message_awaiting_response",
        json!({"wait_seconds": 60, "max_attempts": 1, "error_message": "?", "questions": [{"question": "Name?", "answer_type": "long_text", "variable": "amount"}]}),
    );
    let step = bad.run(&mut cx);
    assert_eq!(
        branch(bad.resume(&mut cx, &memo(&step), Wake::Message(&text("Ann")))),
        "error"
    );
}

#[test]
fn answer_validation_by_type() {
    use flow::catalogue::actions_api::{AnswerType, validate_answer};
    let ok = |kind, t: &str| validate_answer(kind, &text(t), "FR");
    assert_eq!(ok(AnswerType::Number, "1 234,5"), Ok(json!(1234.5)));
    assert_eq!(ok(AnswerType::Number, "-7"), Ok(json!(-7)));
    for bad in ["12abc", "", "1e400", "NaN", "inf", "1,2,3"] {
        assert!(ok(AnswerType::Number, bad).is_err(), "{bad}");
    }
    assert!(ok(AnswerType::Email, "a.b@example.co.uk").is_ok());
    for bad in [
        "ann",
        "ann@",
        "@example.org",
        "ann@localhost",
        "a b@example.org",
    ] {
        assert!(ok(AnswerType::Email, bad).is_err(), "{bad}");
    }
    assert_eq!(ok(AnswerType::Date, "29/02/2028"), Ok(json!("2028-02-29")));
    assert_eq!(ok(AnswerType::Date, "2026-06-01"), Ok(json!("2026-06-01")));
    for bad in ["29/02/2027", "31/04/2026", "yesterday", "2026-6"] {
        assert!(ok(AnswerType::Date, bad).is_err(), "{bad}");
    }
    assert!(ok(AnswerType::LongText, &"é".repeat(10_000)).is_ok());
    assert_eq!(
        ok(AnswerType::LongText, &"é".repeat(10_001)),
        Err("text_too_long")
    );
    assert_eq!(ok(AnswerType::LongText, "   "), Err("empty_answer"));
    assert_eq!(
        ok(AnswerType::Phone, "06 12 34 56 78"),
        Ok(json!("+33612345678"))
    );
    assert_eq!(
        ok(AnswerType::Phone, "+44 20 7946 0958"),
        Ok(json!("+442079460958"))
    );
    for bad in ["12", "not a phone", "+33 1"] {
        assert!(ok(AnswerType::Phone, bad).is_err(), "{bad}");
    }
    let with = |ct: &str| Inbound {
        text: String::new(),
        choice: None,
        attachments: vec![Attachment {
            content_type: ct.into(),
            url: "blob:1".into(),
            size: 10,
        }],
        email: None,
    };
    assert!(validate_answer(AnswerType::Image, &with("image/png"), "FR").is_ok());
    assert_eq!(
        validate_answer(AnswerType::Image, &with("application/pdf"), "FR"),
        Err("not_an_image")
    );
    assert_eq!(
        validate_answer(AnswerType::Image, &text("here it is"), "FR"),
        Err("not_an_image")
    );
}

#[test]
fn message_with_choice_button_label_number_error_timeout() {
    let mut cx = fake();
    let r = runner(
        "message_with_choice",
        json!({"message": "Which desk?", "wait_seconds": 30, "choices": [{"label": "Ventes"}, {"label": "Après-vente"}, {"label": "Autre"}]}),
    );
    let step = r.run(&mut cx);
    assert_eq!(
        cx.sent,
        [Outbound::Choice {
            text: "Which desk?".into(),
            choices: vec!["Ventes".into(), "Après-vente".into(), "Autre".into()]
        }]
    );
    let m = memo(&step);
    let pressed = Inbound {
        text: "Autre".into(),
        choice: Some(3),
        attachments: vec![],
        email: None,
    };
    assert_eq!(
        branch(r.resume(&mut cx, &m, Wake::Message(&pressed))),
        "link_3"
    );
    assert_eq!(
        branch(r.resume(&mut cx, &m, Wake::Message(&text("  APRES-VENTE ")))),
        "link_2"
    );
    assert_eq!(
        branch(r.resume(&mut cx, &m, Wake::Message(&text("1")))),
        "link_1"
    );
    assert_eq!(
        branch(r.resume(&mut cx, &m, Wake::Message(&text("4")))),
        "error"
    );
    assert_eq!(
        branch(r.resume(&mut cx, &m, Wake::Message(&text("sales please")))),
        "error"
    );
    assert_eq!(cx.error.as_deref(), Some("invalid_choice"));
    let out_of_range = Inbound {
        text: String::new(),
        choice: Some(9),
        attachments: vec![],
        email: None,
    };
    assert_eq!(
        branch(r.resume(&mut cx, &m, Wake::Message(&out_of_range))),
        "error"
    );
    assert_eq!(branch(r.resume(&mut cx, &m, Wake::Timeout)), "error");
    assert_eq!(cx.error.as_deref(), Some("response_timeout"));
}

#[test]
fn assign_variables_ok_and_error() {
    let mut cx = fake();
    cx.set("profile.first", json!("Ann")).unwrap();
    let ok = json!({"assignments": [{"variable": "profile.greeting", "value": "Hi {{ profile.first }}"}, {"variable": "flag", "value": "yes"}]});
    assert_eq!(branch(run("assign_variables", ok, &mut cx)), "ok");
    assert_eq!(
        (cx.get("profile.greeting"), cx.get("flag")),
        (Some(&json!("Hi Ann")), Some(&json!("yes")))
    );
    let bad = json!({"assignments": [{"variable": "a.b", "value": "1"}, {"variable": "amount", "value": "x"}, {"variable": "c", "value": "2"}]});
    assert_eq!(branch(run("assign_variables", bad, &mut cx)), "error");
    assert_eq!(cx.error.as_deref(), Some("'amount': \"x\" is not a number"));
    assert_eq!(
        (cx.get("a.b"), cx.get("c")),
        (Some(&json!("1")), None),
        "writes stop at the refused one"
    );
    // a system variable cannot even be named as a target
    let system = json!({"assignments": [{"variable": "system.error", "value": "x"}]});
    let issues = catalogue::get("assign_variables")
        .unwrap()
        .instantiate(&system)
        .expect_err("refused");
    assert!(issues[0].message.contains("system variable"), "{issues:?}");
}

fn test_values(cx: &mut Fake, operator: &str, value: &str, operand: Option<&str>) -> &'static str {
    let mut cond = json!({"value": value, "operator": operator});
    if let Some(o) = operand {
        cond["operand"] = json!(o);
    }
    branch(run("test_values", json!({"conditions": [cond]}), cx))
}

#[test]
fn test_values_every_operator() {
    let mut cx = fake();
    cx.set("c.segment", json!("vip")).unwrap();
    cx.set("c.score", json!(12)).unwrap();
    cx.set("c.flag", json!("true")).unwrap();
    cx.set("c.empty", json!("")).unwrap();
    cx.set("c.when", json!("2026-06-06T15:00:00+02:00"))
        .unwrap(); // a Saturday afternoon, week 23
    let cases: &[(&str, &str, Option<&str>, &str)] = &[
        ("equals", "{{ c.segment }}", Some("vip"), "yes"),
        ("equals", "{{ c.score }}", Some("12.0"), "yes"),
        ("equals", "{{ c.segment }}", Some("VIP"), "no"),
        ("not_equals", "{{ c.segment }}", Some("gold"), "yes"),
        ("not_equals", "{{ c.score }}", Some("12"), "no"),
        ("greater_or_equal", "{{ c.score }}", Some("12"), "yes"),
        ("greater_or_equal", "{{ c.score }}", Some("9"), "yes"),
        ("greater_or_equal", "{{ c.score }}", Some("13"), "no"),
        ("less_or_equal", "{{ c.score }}", Some("13"), "yes"),
        ("less_or_equal", "{{ c.score }}", Some("11"), "no"),
        (
            "greater_or_equal",
            "{{ c.when }}",
            Some("2026-06-01"),
            "yes",
        ),
        ("greater_or_equal", "{{ c.segment }}", Some("12"), "error"),
        ("contains", "{{ c.segment }}", Some("i"), "yes"),
        ("contains", "{{ c.segment }}", Some("x"), "no"),
        ("starts_with", "{{ c.segment }}", Some("vi"), "yes"),
        ("starts_with", "{{ c.segment }}", Some("ip"), "no"),
        ("ends_with", "{{ c.segment }}", Some("ip"), "yes"),
        ("ends_with", "{{ c.segment }}", Some("vi"), "no"),
        ("exists", "{{ c.segment }}", None, "yes"),
        ("exists", "{{ c.missing }}", None, "no"),
        ("not_exists", "{{ c.missing }}", None, "yes"),
        ("not_exists", "{{ c.segment }}", None, "no"),
        ("is_empty", "{{ c.empty }}", None, "yes"),
        ("is_empty", "{{ c.segment }}", None, "no"),
        ("is_true", "{{ c.flag }}", None, "yes"),
        ("is_true", "{{ c.segment }}", None, "no"),
        ("is_false", "no", None, "yes"),
        ("is_false", "{{ c.segment }}", None, "no"),
        ("is_date", "{{ c.when }}", None, "yes"),
        ("is_date", "{{ c.segment }}", None, "no"),
        ("is_morning", "{{ now }}", None, "yes"),
        ("is_morning", "{{ c.when }}", None, "no"),
        ("is_afternoon", "{{ c.when }}", None, "yes"),
        ("is_afternoon", "{{ now }}", None, "no"),
        ("is_weekend", "{{ c.when }}", None, "yes"),
        ("is_weekend", "{{ now }}", None, "no"),
        ("is_odd_week", "{{ c.when }}", None, "yes"),
        ("is_odd_week", "2026-06-08", None, "no"),
        ("is_even_week", "2026-06-08", None, "yes"),
        ("is_even_week", "{{ now }}", None, "no"),
        ("is_morning", "{{ c.segment }}", None, "error"),
        ("regex", "{{ c.segment }}", Some("^v[a-z]+$"), "yes"),
        ("regex", "{{ c.segment }}", Some("^[0-9]+$"), "no"),
    ];
    for (op, value, operand, want) in cases {
        assert_eq!(
            test_values(&mut cx, op, value, *operand),
            *want,
            "{op} {value} {operand:?}"
        );
    }
    let both = |m: &str| json!({"match": m, "conditions": [{"value": "{{ c.segment }}", "operator": "equals", "operand": "vip"}, {"value": "{{ c.score }}", "operator": "less_or_equal", "operand": "3"}]});
    assert_eq!(branch(run("test_values", both("all"), &mut cx)), "no");
    assert_eq!(branch(run("test_values", both("any"), &mut cx)), "yes");
}

#[test]
fn values_table_ok_no_value_not_found() {
    let mut cx = fake();
    cx.tables.insert(
        "LANG".into(),
        HashMap::from([
            ("fr".to_owned(), Some("Bonjour".to_owned())),
            ("xx".to_owned(), None),
        ]),
    );
    cx.set("c.lang", json!("fr")).unwrap();
    let p = |key: &str, table: &str| json!({"table": {"by": "reference", "reference": table}, "lookup": key, "store_in": "c.greeting"});
    assert_eq!(
        branch(run("values_table", p("{{ c.lang }}", "LANG"), &mut cx)),
        "ok"
    );
    assert_eq!(cx.get("c.greeting"), Some(&json!("Bonjour")));
    // a correspondence reference that is not in the table: Reference not found (seed 003 §6.3)
    assert_eq!(
        branch(run("values_table", p("de", "LANG"), &mut cx)),
        "reference_not_found"
    );
    assert_eq!(
        branch(run("values_table", p("xx", "LANG"), &mut cx)),
        "no_value"
    );
    assert_eq!(
        branch(run("values_table", p("fr", "NOPE"), &mut cx)),
        "reference_not_found"
    );
}

#[test]
fn date_time_operations() {
    let mut cx = fake();
    let dt = |cx: &mut Fake, source: Value, op: Value| {
        let b = branch(run(
            "date_time",
            json!({"source": source, "operation": op, "store_in": "c.out"}),
            cx,
        ));
        (b, cx.get("c.out").cloned())
    };
    assert_eq!(
        dt(&mut cx, json!({"from": "now"}), json!({"op": "none"})),
        ("ok", Some(json!("2026-06-03T10:30:00+02:00")))
    );
    assert_eq!(
        dt(
            &mut cx,
            json!({"from": "now"}),
            json!({"op": "add", "amount": {"days": 1, "hours": 2}})
        )
        .1,
        Some(json!("2026-06-04T12:30:00+02:00"))
    );
    assert_eq!(
        dt(
            &mut cx,
            json!({"from": "now"}),
            json!({"op": "subtract", "amount": {"minutes": 31}})
        )
        .1,
        Some(json!("2026-06-03T09:59:00+02:00"))
    );
    cx.set("c.in", json!("31/01/2026")).unwrap();
    // day 31 of February is clamped to the month's last day
    let feb = dt(
        &mut cx,
        json!({"from": "variable", "variable": "c.in"}),
        json!({"op": "add", "amount": {"days": 28}}),
    );
    assert_eq!(feb.1, Some(json!("2026-02-28T00:00:00+01:00")));
    cx.set("c.in", json!("2026-02-10")).unwrap();
    assert_eq!(
        dt(
            &mut cx,
            json!({"from": "variable", "variable": "c.in"}),
            json!({"op": "set_to", "day": {"by": "day_of_month", "day": 31}, "hours": 18})
        )
        .1,
        Some(json!("2026-02-28T18:00:00+01:00"))
    );
    // next Monday on or after Wednesday 3 June
    assert_eq!(dt(&mut cx, json!({"from": "now"}), json!({"op": "set_to", "day": {"by": "day_of_week", "weekday": "monday"}, "hours": 9, "minutes": 0})).1, Some(json!("2026-06-08T09:00:00+02:00")));
    assert_eq!(
        dt(
            &mut cx,
            json!({"from": "now"}),
            json!({"op": "set_to", "day": {"by": "day_of_week", "weekday": "wednesday"}})
        )
        .1,
        Some(json!("2026-06-03T10:30:00+02:00"))
    );
    // 02:30 on 29 March 2026 does not exist in Paris: it moves forward to 03:30
    cx.set("c.in", json!("2026-03-29")).unwrap();
    assert_eq!(
        dt(
            &mut cx,
            json!({"from": "variable", "variable": "c.in"}),
            json!({"op": "set_to", "hours": 2, "minutes": 30})
        )
        .1,
        Some(json!("2026-03-29T03:30:00+02:00"))
    );
    cx.set("c.in", json!("not a date")).unwrap();
    assert_eq!(
        dt(
            &mut cx,
            json!({"from": "variable", "variable": "c.in"}),
            json!({"op": "none"})
        )
        .0,
        "not_ok"
    );
    assert_eq!(
        dt(
            &mut cx,
            json!({"from": "variable", "variable": "c.unset"}),
            json!({"op": "none"})
        )
        .0,
        "not_ok"
    );
}

#[test]
fn check_passages_threshold_and_reset() {
    let mut cx = fake();
    let r = runner(
        "check_passages",
        json!({"max_passages": 2, "reset_when_reached": true}),
    );
    let got: Vec<&str> = (0..5).map(|_| branch(r.run(&mut cx))).collect();
    assert_eq!(
        got,
        [
            "less_or_equal",
            "less_or_equal",
            "greater",
            "less_or_equal",
            "less_or_equal"
        ]
    );
    let mut cx = fake();
    let r = runner("check_passages", json!({"max_passages": 1}));
    let got: Vec<&str> = (0..3).map(|_| branch(r.run(&mut cx))).collect();
    assert_eq!(got, ["less_or_equal", "greater", "greater"]);
}

#[test]
fn check_nth_contact_thresholds() {
    let mut cx = fake();
    let r = runner(
        "check_nth_contact",
        json!({"period": {"unit": "days", "value": 30}, "thresholds": [0, 2, 5]}),
    );
    let day = jiff::SignedDuration::from_hours(24);
    let mut got = vec![];
    for n in 0..7 {
        cx.contacts = (0..n).map(|i| cx.now - day * (i + 1)).collect();
        got.push(branch(r.run(&mut cx)));
    }
    assert_eq!(
        got,
        [
            "link_1", "link_2", "link_2", "link_3", "link_3", "link_3", "no_link"
        ]
    );
    // contacts older than the period do not count
    cx.contacts = vec![cx.now - day * 40, cx.now - day * 31];
    assert_eq!(branch(r.run(&mut cx)), "link_1");
    // unordered thresholds: the smallest one at or above the count wins
    let r = runner(
        "check_nth_contact",
        json!({"period": {"unit": "weeks", "value": 1}, "thresholds": [10, 3]}),
    );
    cx.contacts = vec![cx.now - day];
    assert_eq!(branch(r.run(&mut cx)), "link_2");
}

#[test]
fn schedule_and_week_parity() {
    let mut cx = fake();
    cx.calendars.insert("OFFICE".into(), true);
    cx.calendars.insert("NIGHT".into(), false);
    let cal = |r: &str| json!({"calendar": {"by": "reference", "reference": r}});
    assert_eq!(branch(run("test_schedule", cal("OFFICE"), &mut cx)), "open");
    assert_eq!(
        branch(run("test_schedule", cal("NIGHT"), &mut cx)),
        "closed"
    );
    assert_eq!(
        branch(run("test_schedule", cal("NOPE"), &mut cx)),
        "not_found"
    );
    assert_eq!(
        branch(run("test_even_odd_week", json!({}), &mut cx)),
        "uneven",
        "week 23"
    );
    cx.now = "2026-06-08T08:00:00Z".parse().unwrap();
    assert_eq!(
        branch(run("test_even_odd_week", json!({}), &mut cx)),
        "even",
        "week 24"
    );
    // across the year boundary after a week 53: W53 and W01 are both odd
    cx.now = "2026-12-31T12:00:00Z".parse().unwrap();
    assert_eq!(
        branch(run("test_even_odd_week", json!({}), &mut cx)),
        "uneven"
    );
    cx.now = "2027-01-05T12:00:00Z".parse().unwrap();
    assert_eq!(
        branch(run("test_even_odd_week", json!({}), &mut cx)),
        "uneven"
    );
}

fn effect(step: &Step) -> Value {
    match step {
        Step::Effect { effect, .. } => serde_json::to_value(effect).unwrap(),
        other => panic!("expected an effect, got {other:?}"),
    }
}

/// A distribution outcome by its key (`error` with a reason).
fn outcome_of(key: &str) -> flow::effect::EffectResult {
    let mut v = json!({"effect": "distribute", "outcome": key});
    if key == "error" {
        v["reason"] = json!("declined");
    }
    serde_json::from_value(v).unwrap()
}

#[test]
fn distribution_to_queue_every_branch() {
    let mut cx = fake();
    let r = runner(
        "distribute_to_queue",
        json!({"target": {"to": "queue", "queue": {"by": "reference", "reference": "SALES"}}, "prioritize": true}),
    );
    let step = r.run(&mut cx);
    assert_eq!(
        effect(&step),
        json!({"effect": "distribute", "distribute": "queue", "target": {"by": "reference", "reference": "SALES"}, "priority": true})
    );
    for outcome in [
        "processed",
        "unprocessed",
        "reference_not_found",
        "overflow_no_user",
        "overflow_max_estimated_wait",
        "overflow_max_waiting",
        "dissuasion_max_wait",
        "dissuasion_by_user",
    ] {
        let result = outcome_of(outcome);
        assert_eq!(
            branch(r.resume(&mut cx, &Value::Null, Wake::Result(&result))),
            outcome
        );
    }
    // the generic Overflow / Dissuasion branches are the engine's fallbacks of the specific ones
    let spec = catalogue::get("distribute_to_queue").unwrap();
    let fallbacks: Vec<(&str, Option<&str>)> = spec
        .branches()
        .iter()
        .map(|b| (b.key, b.fallback))
        .collect();
    assert!(fallbacks.contains(&("overflow_no_user", Some("overflow"))));
    assert!(fallbacks.contains(&("dissuasion_by_user", Some("dissuasion"))));
    // a reason is kept for the routing; an outcome only a user gives is Unprocessed
    let result = outcome_of("overflow_no_user");
    r.resume(&mut cx, &Value::Null, Wake::Result(&result));
    assert_eq!(
        cx.error.as_deref(),
        Some("no member of the queue is online")
    );
    let odd = outcome_of("no_response");
    assert_eq!(
        branch(r.resume(&mut cx, &Value::Null, Wake::Result(&odd))),
        "unprocessed"
    );
    // queue group by a reference read from a variable; an empty variable: Reference not found
    let g = runner(
        "distribute_to_queue",
        json!({"target": {"to": "queue_group", "group": {"by": "reference_from_variable", "variable": "c.queue"}}}),
    );
    assert_eq!(branch(g.run(&mut cx)), "reference_not_found");
    cx.set("c.queue", json!("NIGHT")).unwrap();
    assert_eq!(
        effect(&g.run(&mut cx)),
        json!({"effect": "distribute", "distribute": "queue_group", "target": {"by": "reference", "reference": "NIGHT"}, "priority": false})
    );
}

#[test]
fn distribution_to_user_every_branch() {
    let mut cx = fake();
    let r = runner(
        "distribute_to_user",
        json!({"user": {"by": "entity", "id": "3f1b3c1e-0000-4000-8000-000000000001"}}),
    );
    assert_eq!(
        effect(&r.run(&mut cx)),
        json!({"effect": "distribute", "distribute": "user", "target": {"by": "entity", "id": "3f1b3c1e-0000-4000-8000-000000000001"}})
    );
    for outcome in ["ok", "error", "no_response", "reference_not_found"] {
        let result = outcome_of(outcome);
        assert_eq!(
            branch(r.resume(&mut cx, &Value::Null, Wake::Result(&result))),
            outcome
        );
    }
    let odd = outcome_of("dissuasion_by_user");
    assert_eq!(
        branch(r.resume(&mut cx, &Value::Null, Wake::Result(&odd))),
        "error"
    );
    let owner = runner(
        "distribute_to_user",
        json!({"user": {"by": "preferred_agent"}}),
    );
    assert_eq!(
        effect(&owner.run(&mut cx)),
        json!({"effect": "distribute", "distribute": "user", "target": {"by": "preferred_agent"}})
    );
    let by_var = runner(
        "distribute_to_user",
        json!({"user": {"by": "reference_from_variable", "variable": "c.agent"}}),
    );
    assert_eq!(branch(by_var.run(&mut cx)), "reference_not_found");
}

fn with_email(subject: &str, text: &str, priority: &str) -> Fake {
    let mut cx = fake();
    cx.vars.insert(
        "email".into(),
        json!({"from": "ana@example.com", "subject": subject, "text": text, "priority": priority}),
    );
    cx
}

#[test]
fn email_priority_every_branch() {
    for p in ["high", "normal", "low"] {
        let mut cx = with_email("s", "t", p);
        assert_eq!(branch(run("test_email_priority", json!({}), &mut cx)), p);
    }
    // no email (a preview): Normal
    assert_eq!(
        branch(run("test_email_priority", json!({}), &mut fake())),
        "normal"
    );
}

#[test]
fn detect_keywords_groups_in_order_whole_words_without_case_or_accents() {
    let params = |search_in: &str| {
        json!({"search_in": search_in, "groups": [
            {"keywords": ["réclamation", "complaint"]},
            {"keywords": ["invoice", "facture"]},
            {"keywords": ["order status"]},
        ]})
    };
    let cases = [
        ("subject", "RECLAMATION urgente", "", "link_1"),
        ("subject", "Ma Facture", "a complaint", "link_2"),
        ("body", "Ma Facture", "a  Complaint!", "link_1"),
        ("body", "", "what is my order\n  STATUS?", "link_3"),
        // whole words only: "invoices" and "complaints" are other words
        ("subject_and_body", "invoices", "complaints", "by_default"),
        // both groups present: the first group in the list wins
        ("subject_and_body", "facture", "réclamation", "link_1"),
        ("subject", "nothing here", "complaint", "by_default"),
    ];
    for (search_in, subject, text, expected) in cases {
        let mut cx = with_email(subject, text, "normal");
        assert_eq!(
            branch(run("detect_keywords", params(search_in), &mut cx)),
            expected,
            "{search_in} {subject:?} {text:?}"
        );
    }
    assert_eq!(
        branch(run("detect_keywords", params("body"), &mut fake())),
        "by_default"
    );
}

#[test]
fn detect_language_links_default_threshold_and_variable() {
    let params = json!({"languages": ["fr", "en"], "min_confidence": 50, "store_in": "lang"});
    let french = "Bonjour, je vous écris parce que ma commande n'est toujours pas arrivée depuis trois semaines. Pouvez-vous me dire où elle se trouve ?";
    let english = "Hello, I am writing because my order still has not arrived after three weeks. Could you please tell me where it is?";
    let german = "Guten Tag, ich schreibe Ihnen, weil meine Bestellung nach drei Wochen immer noch nicht angekommen ist. Können Sie mir sagen, wo sie ist?";
    let mut cx = with_email("Commande", french, "normal");
    assert_eq!(
        branch(run("detect_language", params.clone(), &mut cx)),
        "link_1"
    );
    assert_eq!(cx.vars["lang"], json!("fr"));
    let mut cx = with_email("Order", english, "normal");
    assert_eq!(
        branch(run("detect_language", params.clone(), &mut cx)),
        "link_2"
    );
    assert_eq!(cx.vars["lang"], json!("en"));
    // detected but not listed: By default, the language still stored
    let mut cx = with_email("Bestellung", german, "normal");
    assert_eq!(
        branch(run("detect_language", params.clone(), &mut cx)),
        "by_default"
    );
    assert_eq!(cx.vars["lang"], json!("de"));
    // below the confidence asked: nothing detected
    let strict = json!({"languages": ["fr"], "min_confidence": 100, "store_in": "lang"});
    let mut cx = with_email("", "ok merci", "normal");
    assert_eq!(
        branch(run("detect_language", strict, &mut cx)),
        "by_default"
    );
    assert_eq!(cx.vars["lang"], json!(""));
    // an unknown code is refused with the parameters
    let unknown = catalogue::get("detect_language")
        .unwrap()
        .instantiate(&json!({"languages": ["xx"]}));
    assert!(unknown.is_err());
}

fn email_outcome(v: Value) -> flow::effect::EffectResult {
    serde_json::from_value(
        json!({"effect": "email"})
            .as_object()
            .unwrap()
            .clone()
            .into_iter()
            .chain(v.as_object().unwrap().clone())
            .collect::<serde_json::Map<_, _>>()
            .into(),
    )
    .unwrap()
}

#[test]
fn send_an_email_and_transfer_the_email_every_branch() {
    let mut cx = fake();
    cx.vars.insert(
        "email".into(),
        json!({"from": "ana@example.com", "subject": "s"}),
    );
    cx.vars
        .insert("boss".into(), json!("boss@example.com; chief@example.com"));
    let params = json!({"template": {"by": "reference", "reference": "ACK"}, "send": {"type": "basic", "mailbox": {"by": "reference", "reference": "support"}}, "to": ["{{ email.from }}"], "cc": ["{{ boss }}"], "subject": "Re: {{ email.subject }}"});
    let r = runner("send_email", params.clone());
    let step = r.run(&mut cx);
    let e = effect(&step);
    assert_eq!(e["to"], json!(["ana@example.com"]));
    assert_eq!(e["cc"], json!(["boss@example.com", "chief@example.com"]));
    assert_eq!(e["subject"], "Re: s");
    assert_eq!(e["sender"]["send"], "basic");
    let m = Value::Null;
    let cases = [
        (json!({"outcome": "sent"}), "ok"),
        (
            json!({"outcome": "partially_sent", "refused": ["chief@example.com"]}),
            "partially_sent",
        ),
        (
            json!({"outcome": "reference_not_found"}),
            "reference_not_found",
        ),
        (json!({"outcome": "error", "reason": "relay down"}), "error"),
    ];
    for (outcome, expected) in &cases {
        let result = email_outcome(outcome.clone());
        assert_eq!(
            branch(r.resume(&mut cx, &m, Wake::Result(&result))),
            *expected
        );
    }
    assert_eq!(cx.error.as_deref(), Some("relay down"));
    // a template reference read from an empty variable: Reference not found at once
    let mut p = params.clone();
    p["template"] = json!({"by": "reference_from_variable", "variable": "nothing"});
    assert_eq!(branch(run("send_email", p, &mut cx)), "reference_not_found");

    let transfer = json!({"mailbox": {"by": "reference", "reference": "support"}, "to": ["{{ boss }}"], "as_attachment": false});
    let r = runner("transfer_email", transfer);
    let step = r.run(&mut cx);
    let e = effect(&step);
    assert_eq!(
        (e["effect"].as_str(), &e["to"], &e["as_attachment"]),
        (
            Some("transfer_email"),
            &json!(["boss@example.com", "chief@example.com"]),
            &json!(false)
        )
    );
    let m = Value::Null;
    // closing the interaction (the default): OK ends the routing there
    assert!(matches!(
        r.resume(
            &mut cx,
            &m,
            Wake::Result(&email_outcome(json!({"outcome": "sent"})))
        ),
        Step::End("ok")
    ));
    // partially sent is OK for a transfer, the refused ones in system.error
    assert!(matches!(
        r.resume(
            &mut cx,
            &m,
            Wake::Result(&email_outcome(
                json!({"outcome": "partially_sent", "refused": ["x@y.z"]})
            ))
        ),
        Step::End("ok")
    ));
    assert_eq!(cx.error.as_deref(), Some("not sent to x@y.z"));
    assert_eq!(
        branch(r.resume(
            &mut cx,
            &m,
            Wake::Result(&email_outcome(json!({"outcome": "reference_not_found"})))
        )),
        "reference_not_found"
    );
    assert_eq!(
        branch(r.resume(
            &mut cx,
            &m,
            Wake::Result(&email_outcome(json!({"outcome": "error", "reason": "no"})))
        )),
        "error"
    );
    let keep_open = runner(
        "transfer_email",
        json!({"mailbox": {"by": "reference", "reference": "support"}, "to": ["a@b.c"], "close_interaction": false}),
    );
    assert_eq!(
        branch(keep_open.resume(
            &mut cx,
            &m,
            Wake::Result(&email_outcome(json!({"outcome": "sent"})))
        )),
        "ok"
    );
}

#[test]
fn web_service_asks_for_the_call_and_maps_its_answer() {
    use flow::effect::{Effect, EffectResult, ObjectName, WebServiceCall, WebServiceOutcome};
    let params = json!({
        "service": {"by": "reference", "reference": "ORDERS"},
        "inputs": [{"field": "order", "value": "{{ order.number }}"}],
        "outputs": [{"field": "status", "variable": "order.status"}, {"field": "absent", "variable": "order.absent"}]
    });
    let r = runner("web_service", params.clone());
    let mut cx = fake();
    cx.set("order.number", json!("42")).unwrap();
    let step = r.run(&mut cx);
    let Step::Effect { effect, .. } = step else {
        panic!("expected an effect, got {step:?}")
    };
    assert_eq!(
        effect,
        Effect::CallWebService(WebServiceCall {
            service: ObjectName::Reference {
                reference: "ORDERS".into()
            },
            inputs: vec![("order".into(), "42".into())],
            synchronous: true,
        })
    );
    // OK: each mapped field the answer held is stored; one it lacks leaves its variable alone
    let ok = EffectResult::WebService(WebServiceOutcome::Ok {
        status: Some(200),
        fields: vec![("status".into(), "shipped".into())],
    });
    assert_eq!(
        branch(r.resume(&mut cx, &Value::Null, Wake::Result(&ok))),
        "ok"
    );
    assert_eq!(cx.get("order.status"), Some(&json!("shipped")));
    assert_eq!(cx.get("order.absent"), None);
    // Not OK: the reason in system.error
    let failed = EffectResult::WebService(WebServiceOutcome::NotOk {
        reason: "the web service answered 500".into(),
        status: Some(500),
    });
    assert_eq!(
        branch(r.resume(&mut cx, &Value::Null, Wake::Result(&failed))),
        "not_ok"
    );
    assert_eq!(cx.error.as_deref(), Some("the web service answered 500"));
    // the reference read from an empty variable: Not OK at once
    let mut cx = fake();
    let r = runner(
        "web_service",
        json!({"service": {"by": "reference_from_variable", "variable": "which"}}),
    );
    assert_eq!(branch(r.run(&mut cx)), "not_ok");
    assert!(cx.error.unwrap().contains("empty"));
    // asynchronous: the same call, not waited for; it cannot store response fields
    let mut params = params;
    params["synchronous"] = json!(false);
    let refused = catalogue::get("web_service")
        .unwrap()
        .instantiate(&params)
        .err()
        .unwrap();
    assert_eq!(refused[0].path, "outputs");
    params["outputs"] = json!([]);
    let mut cx = fake();
    let Step::Effect {
        effect: Effect::CallWebService(call),
        ..
    } = runner("web_service", params).run(&mut cx)
    else {
        panic!("an asynchronous call is an effect too")
    };
    assert!(!call.synchronous);
}

#[test]
fn database_actions_ask_for_their_request_and_map_each_outcome_to_its_branch() {
    use flow::effect::{DatabaseOutcome, DatabaseRequest, Effect, EffectResult, ObjectName};
    let orders = || ObjectName::Reference {
        reference: "ORDERS".into(),
    };
    let by = json!({"by": "reference", "reference": "ORDERS"});
    let resume = |r: &dyn flow::exec::Run, cx: &mut Fake, outcome: DatabaseOutcome| {
        branch(r.resume(
            cx,
            &Value::Null,
            Wake::Result(&EffectResult::Database(outcome)),
        ))
    };

    // Fill in the variables: the request names the columns mapped, the values rendered
    let find = runner(
        "fill_variables_from_database",
        json!({"database": by, "match": "any", "assertions": [{"field": "number", "value": "{{ order.number }}"}],
               "outputs": [{"field": "status", "variable": "order.status"}, {"field": "customer", "variable": "order.customer"}]}),
    );
    let mut cx = fake();
    cx.set("order.number", json!("42")).unwrap();
    let Step::Effect { effect, .. } = find.run(&mut cx) else {
        panic!("a search is an effect")
    };
    assert_eq!(
        effect,
        Effect::Database(DatabaseRequest::Find {
            database: orders(),
            any: true,
            assertions: vec![("number".into(), "42".into())],
            columns: vec!["status".into(), "customer".into()],
        })
    );
    let found = DatabaseOutcome::Found {
        values: vec![("status".into(), json!("Shipped"))],
    };
    assert_eq!(resume(&*find, &mut cx, found), "ok");
    assert_eq!(cx.get("order.status"), Some(&json!("Shipped")));
    assert_eq!(cx.get("order.customer"), None);
    assert_eq!(
        resume(&*find, &mut cx, DatabaseOutcome::NotFound),
        "not_found"
    );
    let columns = DatabaseOutcome::ColumnsNotFound {
        columns: vec!["colour".into()],
    };
    assert_eq!(resume(&*find, &mut cx, columns), "not_found");
    assert!(cx.error.take().unwrap().contains("colour"));

    // Save values: OK when written, Not OK with the reason otherwise
    let save = runner(
        "save_to_database",
        json!({"database": by, "fields": [{"field": "number", "value": "{{ order.number }}"}]}),
    );
    let Step::Effect { effect, .. } = save.run(&mut cx) else {
        panic!("an insert is an effect")
    };
    assert_eq!(
        effect,
        Effect::Database(DatabaseRequest::Insert {
            database: orders(),
            values: vec![("number".into(), "42".into())],
        })
    );
    assert_eq!(
        resume(&*save, &mut cx, DatabaseOutcome::Written { rows: 1 }),
        "ok"
    );
    let taken = DatabaseOutcome::Error {
        reason: "number: another row has the value 42, and the column is unique".into(),
    };
    assert_eq!(resume(&*save, &mut cx, taken), "not_ok");
    assert!(cx.error.take().unwrap().contains("unique"));
    let columns = DatabaseOutcome::ColumnsNotFound {
        columns: vec!["colour".into()],
    };
    assert_eq!(resume(&*save, &mut cx, columns), "not_ok");

    // Modify: every outcome has its branch
    let modify = runner(
        "modify_database",
        json!({"database": by, "scope": "all_found", "assertions": [{"field": "status", "value": "Pending"}],
               "fields": [{"field": "status", "value": "Shipped"}]}),
    );
    let Step::Effect { effect, .. } = modify.run(&mut cx) else {
        panic!("a change is an effect")
    };
    assert_eq!(
        effect,
        Effect::Database(DatabaseRequest::Modify {
            database: orders(),
            any: false,
            every: true,
            assertions: vec![("status".into(), "Pending".into())],
            values: vec![("status".into(), "Shipped".into())],
        })
    );
    for (outcome, expected) in [
        (DatabaseOutcome::Written { rows: 3 }, "ok"),
        (DatabaseOutcome::NotFound, "no_value_found"),
        (
            DatabaseOutcome::NoModification { rows: 2 },
            "no_modification",
        ),
        (
            DatabaseOutcome::ColumnsNotFound {
                columns: vec!["colour".into()],
            },
            "columns_not_found",
        ),
        (
            DatabaseOutcome::Error {
                reason: "status: 'Lost' is none of the proposals".into(),
            },
            "error",
        ),
    ] {
        assert_eq!(resume(&*modify, &mut cx, outcome), expected);
    }

    // the database's reference read from an empty variable: the failure branch at once
    let by_var = json!({"by": "reference_from_variable", "variable": "which"});
    let mut cx = fake();
    for (ty, params, expected) in [
        (
            "fill_variables_from_database",
            json!({"database": by_var, "assertions": [{"field": "n", "value": "1"}], "outputs": [{"field": "n", "variable": "x"}]}),
            "not_found",
        ),
        (
            "save_to_database",
            json!({"database": by_var, "fields": [{"field": "n", "value": "1"}]}),
            "not_ok",
        ),
        (
            "modify_database",
            json!({"database": by_var, "scope": "first_found", "assertions": [{"field": "n", "value": "1"}], "fields": [{"field": "n", "value": "2"}]}),
            "error",
        ),
    ] {
        assert_eq!(branch(runner(ty, params).run(&mut cx)), expected, "{ty}");
    }
}

#[test]
fn case_actions_ask_for_their_request_and_map_each_outcome_to_its_branch() {
    use flow::effect::CaseView;
    use flow::effect::{CaseOutcome, CaseRequest, Effect, EffectResult, ObjectName};
    let resume = |r: &dyn flow::exec::Run, cx: &mut Fake, outcome: CaseOutcome| {
        branch(r.resume(cx, &Value::Null, Wake::Result(&EffectResult::Case(outcome))))
    };
    let view = |status: &str| CaseView {
        id: "0190a000-0000-7000-8000-000000000001".into(),
        reference: "CS-000001".into(),
        title: "Parcel 42 is late".into(),
        status: status.into(),
        case_type: "CLAIM".into(),
        fields: serde_json::Map::new(),
    };
    let effect_of = |step: Step| match step {
        Step::Effect { effect, .. } => effect,
        other => panic!("a case action is an effect, got {other:?}"),
    };

    // Associate: a rendered reference, none when it renders empty; OK sets `case`
    let mut cx = fake();
    cx.set("claim.reference", json!(" CS-000001 ")).unwrap();
    let associate = runner(
        "associate_case",
        json!({"case_reference": "{{ claim.reference }}"}),
    );
    assert_eq!(
        effect_of(associate.run(&mut cx)),
        Effect::Case(CaseRequest::Associate {
            reference: Some("CS-000001".into())
        })
    );
    let latest = runner("associate_case", json!({}));
    assert_eq!(
        effect_of(latest.run(&mut cx)),
        Effect::Case(CaseRequest::Associate { reference: None })
    );
    let empty = runner("associate_case", json!({"case_reference": "{{ nothing }}"}));
    assert_eq!(
        effect_of(empty.run(&mut cx)),
        Effect::Case(CaseRequest::Associate { reference: None })
    );
    assert_eq!(
        resume(
            &*associate,
            &mut cx,
            CaseOutcome::Linked { case: view("New") }
        ),
        "ok"
    );
    assert_eq!(cx.get("case.reference"), Some(&json!("CS-000001")));
    for outcome in [
        CaseOutcome::NotFound {
            reason: "no case has the reference CS-9".into(),
        },
        CaseOutcome::Error {
            reason: "the case is linked to 10000 interactions already".into(),
        },
    ] {
        assert_eq!(resume(&*associate, &mut cx, outcome), "not_found");
        assert!(cx.error.take().is_some());
    }

    // Dissociate: OK, `case` emptied
    let dissociate = runner("dissociate_case", json!({}));
    assert_eq!(
        effect_of(dissociate.run(&mut cx)),
        Effect::Case(CaseRequest::Dissociate)
    );
    assert_eq!(
        resume(&*dissociate, &mut cx, CaseOutcome::Dissociated),
        "ok"
    );
    assert_eq!(cx.get("case"), None);

    // Create: the type and the rendered title; OK, Not found, Error
    cx.set("order.number", json!(42)).unwrap();
    let create = runner(
        "create_case",
        json!({"title": "Parcel {{ order.number }} is late", "case_type": {"by": "reference", "reference": "CLAIM"}}),
    );
    assert_eq!(
        effect_of(create.run(&mut cx)),
        Effect::Case(CaseRequest::Create {
            case_type: ObjectName::Reference {
                reference: "CLAIM".into()
            },
            title: "Parcel 42 is late".into(),
        })
    );
    assert_eq!(
        resume(&*create, &mut cx, CaseOutcome::Linked { case: view("New") }),
        "ok"
    );
    assert_eq!(cx.get("case.status"), Some(&json!("New")));
    let no_type = CaseOutcome::NotFound {
        reason: "no case type has the reference CLAIM".into(),
    };
    assert_eq!(resume(&*create, &mut cx, no_type), "not_found");
    let full = CaseOutcome::Error {
        reason: "the deployment's cases are all used".into(),
    };
    assert_eq!(resume(&*create, &mut cx, full), "error");
    // a title rendered empty, a type read from an empty variable: at once
    let untitled = runner(
        "create_case",
        json!({"title": "{{ nothing }}", "case_type": {"by": "reference", "reference": "CLAIM"}}),
    );
    assert_eq!(branch(untitled.run(&mut cx)), "error");
    let by_var = runner(
        "create_case",
        json!({"title": "x", "case_type": {"by": "reference_from_variable", "variable": "which"}}),
    );
    assert_eq!(branch(by_var.run(&mut cx)), "not_found");

    // Modify: the values rendered; `case` follows only the interaction's own case
    let modify = runner(
        "modify_case",
        json!({"fields": [{"field": "status", "value": "In progress"}, {"field": "order", "value": "{{ order.number }}"}]}),
    );
    assert_eq!(
        effect_of(modify.run(&mut cx)),
        Effect::Case(CaseRequest::Modify {
            reference: None,
            values: vec![
                ("status".into(), "In progress".into()),
                ("order".into(), "42".into())
            ],
        })
    );
    let other = CaseOutcome::Modified {
        case: view("Resolved"),
        linked: false,
    };
    assert_eq!(resume(&*modify, &mut cx, other), "ok");
    assert_eq!(cx.get("case.status"), Some(&json!("New")));
    let own = CaseOutcome::Modified {
        case: view("In progress"),
        linked: true,
    };
    assert_eq!(resume(&*modify, &mut cx, own), "ok");
    assert_eq!(cx.get("case.status"), Some(&json!("In progress")));
    for (outcome, expected) in [
        (
            CaseOutcome::NotFound {
                reason: "the interaction has no case".into(),
            },
            "not_found",
        ),
        (
            CaseOutcome::Error {
                reason: "the case type has no field 'colour'".into(),
            },
            "error",
        ),
    ] {
        assert_eq!(resume(&*modify, &mut cx, outcome), expected);
    }
}

#[test]
fn search_for_invoice_asks_for_the_identifier_as_invoices_keep_it() {
    use flow::catalogue::params::{InvoiceKey, InvoicePick};
    use flow::effect::{Effect, EffectResult, InvoiceOutcome, InvoiceQuery, InvoiceView};
    let mut cx = fake();
    cx.set("said", json!("06 12 34 56 78")).unwrap();
    let search = runner(
        "search_invoice",
        json!({"lookup": {"identify_by": "mobile_phone", "value": "{{ said }}", "pick": "most_recent"}}),
    );
    match search.run(&mut cx) {
        Step::Effect { effect, .. } => assert_eq!(
            effect,
            Effect::FindInvoice(InvoiceQuery {
                by: InvoiceKey::MobilePhone,
                value: "+33612345678".into(),
                pick: InvoicePick::MostRecent,
            })
        ),
        other => panic!("a search is an effect, got {other:?}"),
    }
    let bill = InvoiceView {
        id: "0190a000-0000-7000-8000-000000000001".into(),
        number: "F-1".into(),
        name: "November".into(),
        amount: "49.90".into(),
        currency: "EUR".into(),
        due_date: Some("2026-11-30".into()),
        status: "open".into(),
        customer_number: None,
        mobile_phone: Some("+33612345678".into()),
        landline: None,
        email: None,
    };
    let found = EffectResult::Invoice(InvoiceOutcome::Found {
        invoice: Box::new(bill),
    });
    assert_eq!(
        branch(search.resume(&mut cx, &Value::Null, Wake::Result(&found))),
        "ok"
    );
    assert_eq!(cx.get("bill.amount"), Some(&json!("49.90")));
    let none = EffectResult::Invoice(InvoiceOutcome::NotFound);
    assert_eq!(
        branch(search.resume(&mut cx, &Value::Null, Wake::Result(&none))),
        "not_found"
    );
    assert_eq!(
        cx.get("bill"),
        None,
        "a search that finds nothing empties bill"
    );
    // a value that cannot be a phone number finds nothing without asking
    cx.set("said", json!("call me")).unwrap();
    assert_eq!(branch(search.run(&mut cx)), "not_found");
    assert!(cx.error.take().unwrap().contains("not a phone number"));
}

#[test]
fn pay_an_invoice_asks_for_the_payment_and_maps_each_outcome() {
    use flow::catalogue::params::{InvoiceKey, InvoicePick, PayMode};
    use flow::effect::{
        AmountToCharge, Effect, EffectResult, InvoiceQuery, ObjectName, PaymentOf, PaymentOutcome,
        PaymentRequest,
    };
    let mut cx = fake();
    cx.set("said", json!("F-1")).unwrap();
    let module = json!({"by": "reference", "reference": "PAY"});
    let by_invoice = runner(
        "pay_invoice",
        json!({"payment": {"type": "invoice", "lookup": {"identify_by": "invoice_number", "value": "{{ said }}", "pick": "oldest"}}, "module": module, "mode": "smart_routing"}),
    );
    match by_invoice.run(&mut cx) {
        Step::Effect { effect, .. } => assert_eq!(
            effect,
            Effect::Payment(PaymentRequest {
                module: ObjectName::Reference {
                    reference: "PAY".into()
                },
                of: PaymentOf::Invoice(InvoiceQuery {
                    by: InvoiceKey::InvoiceNumber,
                    value: "F-1".into(),
                    pick: InvoicePick::Oldest,
                }),
                mode: PayMode::SmartRouting,
            })
        ),
        other => panic!("a payment is an effect, got {other:?}"),
    }
    let by_amount = runner(
        "pay_invoice",
        json!({"payment": {"type": "amount", "amount": 12.5, "currency": "EUR", "invoice_name": "Deposit {{ said }}", "invoice_reference": "D-{{ said }}", "mobile_phone": "06 12 34 56 78"}, "module": module, "mode": "sms"}),
    );
    match by_amount.run(&mut cx) {
        Step::Effect {
            effect:
                Effect::Payment(PaymentRequest {
                    of: PaymentOf::Amount(a),
                    ..
                }),
            ..
        } => assert_eq!(
            *a,
            AmountToCharge {
                amount_minor: 1250,
                currency: "EUR".into(),
                name: "Deposit F-1".into(),
                reference: "D-F-1".into(),
                customer_reference: None,
                comment: None,
                custom_data: None,
                mobile_phone: Some("+33612345678".into()),
                landline: None,
                email: None,
            }
        ),
        other => panic!("a payment of an amount, got {other:?}"),
    }
    let reason = |r: &str| r.to_owned();
    for (outcome, want) in [
        (
            PaymentOutcome::NotificationSent {
                payment: "p".into(),
            },
            "notification_sent",
        ),
        (
            PaymentOutcome::Succeeded {
                payment: "p".into(),
            },
            "payment_successful",
        ),
        (
            PaymentOutcome::Failed {
                reason: reason("declined"),
            },
            "failed_payment",
        ),
        (
            PaymentOutcome::Fraudulent {
                reason: reason("stolen"),
            },
            "fraudulent_payment",
        ),
        (
            PaymentOutcome::Stopped {
                reason: reason("expired"),
            },
            "payment_stopped",
        ),
        (
            PaymentOutcome::BankTransferError {
                reason: reason("debit"),
            },
            "bank_transfer_error",
        ),
        (
            PaymentOutcome::Error {
                reason: reason("down"),
            },
            "payment_error",
        ),
        (
            PaymentOutcome::InvoiceNotFound {
                reason: reason("none"),
            },
            "invoice_not_found",
        ),
    ] {
        let failed = !matches!(
            outcome,
            PaymentOutcome::NotificationSent { .. } | PaymentOutcome::Succeeded { .. }
        );
        let result = EffectResult::Payment(outcome);
        assert_eq!(
            branch(by_invoice.resume(&mut cx, &Value::Null, Wake::Result(&result))),
            want
        );
        assert_eq!(cx.error.take().is_some(), failed, "{want}");
    }
    // a lookup value that identifies nothing, an amount whose reference renders empty
    let by_phone = runner(
        "pay_invoice",
        json!({"payment": {"type": "invoice", "lookup": {"identify_by": "mobile_phone", "value": "{{ said }}", "pick": "oldest"}}, "module": module, "mode": "smart_routing"}),
    );
    assert_eq!(branch(by_phone.run(&mut cx)), "invoice_not_found");
    assert!(cx.error.take().unwrap().contains("not a phone number"));
    let empty = runner(
        "pay_invoice",
        json!({"payment": {"type": "amount", "amount": 1, "currency": "EUR", "invoice_name": "x", "invoice_reference": "{{ nothing }}"}, "module": module, "mode": "smart_routing"}),
    );
    assert_eq!(branch(empty.run(&mut cx)), "payment_error");
    assert!(cx.error.take().is_some());
}

#[test]
fn a_campaign_action_reads_its_number_start_and_priority() {
    use flow::effect::{
        CampaignChannel, Effect, EffectResult, ObjectName, TargetOutcome, TargetRequest,
    };
    let mut cx = fake();
    cx.set("said", json!("06 12 34 56 78")).unwrap();
    cx.set("rank", json!("4")).unwrap();
    let sms = runner(
        "insert_sms_campaign_target",
        json!({"campaign": {"by": "reference", "reference": "SMS"}, "phone": "{{ said }}", "start_date": "2026-07-01 09:00", "priority": {"from": "variable", "variable": "rank"}, "layout": "Callback", "fields": [{"field": "reason", "value": " {{ rank }} "}]}),
    );
    match sms.run(&mut cx) {
        Step::Effect { effect, .. } => assert_eq!(
            effect,
            Effect::CampaignTarget(TargetRequest {
                channel: CampaignChannel::Sms,
                campaign: ObjectName::Reference {
                    reference: "SMS".into()
                },
                phone: "+33612345678".into(),
                start_at: "2026-07-01T07:00:00Z".parse().unwrap(),
                priority: Some(4),
                layout: Some("Callback".into()),
                fields: vec![("reason".into(), "4".into())],
                insert_if_duplicate: false,
            })
        ),
        other => panic!("an insertion is an effect, got {other:?}"),
    }
    for (outcome, want) in [
        (TargetOutcome::Inserted { target: "t".into() }, "ok"),
        (TargetOutcome::ReferenceNotFound, "reference_not_found"),
        (TargetOutcome::Duplicate, "duplication"),
        (
            TargetOutcome::Error {
                reason: "full".into(),
            },
            "error",
        ),
    ] {
        let result = EffectResult::Campaign(outcome);
        assert_eq!(
            branch(sms.resume(&mut cx, &Value::Null, Wake::Result(&result))),
            want
        );
    }
    // a landline takes a voice campaign, not an SMS one
    cx.set("said", json!("01 42 68 53 00")).unwrap();
    assert_eq!(branch(sms.run(&mut cx)), "invalid_number");
    let voice = runner(
        "insert_voice_campaign_target",
        json!({"campaign": {"by": "reference", "reference": "V"}, "phone": "{{ said }}"}),
    );
    match voice.run(&mut cx) {
        Step::Effect {
            effect: Effect::CampaignTarget(t),
            ..
        } => {
            assert_eq!((t.phone.as_str(), t.start_at), ("+33142685300", cx.now()));
        }
        other => panic!("a voice insertion, got {other:?}"),
    }
}

#[test]
fn a_crm_v2_association_reads_its_scenario_then_searches_by_it() {
    use flow::effect::{CardView, CrmOutcome, CrmRequest, Effect, EffectResult, ObjectName};
    let mut cx = fake();
    cx.set("said", json!(" +33612345678 ")).unwrap();
    let v2 = runner(
        "associate_crm_v2_card",
        json!({"crm": {"by": "reference", "reference": "SALES"}}),
    );
    let sales = ObjectName::Reference {
        reference: "SALES".into(),
    };
    let effect = |s: Step| match s {
        Step::Effect { effect, .. } => effect,
        other => panic!("an effect, got {other:?}"),
    };
    assert_eq!(
        effect(v2.run(&mut cx)),
        Effect::Crm(CrmRequest::Scenario {
            crm: sales.clone(),
            scenario: None
        })
    );
    let scenario = EffectResult::Crm(CrmOutcome::Scenario {
        object: "Contact".into(),
        any: false,
        assertions: vec![("phone".into(), "{{ said }}".into())],
    });
    assert_eq!(
        effect(v2.resume(&mut cx, &json!("scenario"), Wake::Result(&scenario))),
        Effect::Crm(CrmRequest::Associate {
            directory: sales,
            object: Some("Contact".into()),
            any: false,
            assertions: vec![("phone".into(), "+33612345678".into())],
            create: false,
        })
    );
    let card = CardView {
        id: "c1".into(),
        directory: "SALES".into(),
        object: Some("Contact".into()),
        fields: json!({"name": "Ann"}).as_object().unwrap().clone(),
    };
    for (outcome, want) in [
        (
            CrmOutcome::Card {
                card: card.clone(),
                created: false,
            },
            "ok",
        ),
        (CrmOutcome::Several, "not_ok"),
        (CrmOutcome::NotFound, "not_found"),
        (
            CrmOutcome::Unavailable {
                reason: "no default scenario".into(),
            },
            "by_default",
        ),
    ] {
        let result = EffectResult::Crm(outcome);
        assert_eq!(
            branch(v2.resume(&mut cx, &json!("search"), Wake::Result(&result))),
            want
        );
    }
    assert_eq!(cx.get("card.fields.name"), Some(&json!("Ann")));
    // a creation without association leaves `card` as it was
    let make = runner(
        "create_crm_card",
        json!({"directory": {"by": "reference", "reference": "DIR"}, "fields": [{"field": "name", "value": "Bob"}], "associate": false}),
    );
    let made = EffectResult::Crm(CrmOutcome::Card {
        card: CardView {
            id: "c2".into(),
            directory: "DIR".into(),
            object: None,
            fields: json!({"name": "Bob"}).as_object().unwrap().clone(),
        },
        created: true,
    });
    assert_eq!(
        branch(make.resume(&mut cx, &Value::Null, Wake::Result(&made))),
        "ok"
    );
    assert_eq!(cx.get("card.fields.name"), Some(&json!("Ann")));
}

#[test]
fn email_to_a_salesforce_query_checks_its_api_names_and_stores_the_id() {
    use flow::effect::{EffectResult, SalesforceOutcome};
    let spec = catalogue::all()
        .iter()
        .find(|s| s.type_key() == "email_to_salesforce_query")
        .unwrap();
    let params = |object: &str, field: &str| json!({"crm": {"by": "reference", "reference": "SF"}, "object": object, "fields": [{"field": field, "value": "{{ email.subject }}"}], "store_id_in": "sf_id"});
    let issues = spec
        .instantiate(&params("Case/../x", "Sub ject"))
        .err()
        .unwrap();
    let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(paths, ["object", "fields[0].field"], "{issues:?}");
    let run = spec
        .instantiate(&params("Order__c", "Subject"))
        .unwrap()
        .unwrap();
    let mut cx = fake();
    let created = EffectResult::Salesforce(SalesforceOutcome::Created {
        id: "500xx0001".into(),
    });
    assert_eq!(
        branch(run.resume(&mut cx, &Value::Null, Wake::Result(&created))),
        "ok"
    );
    assert_eq!(cx.get("sf_id"), Some(&json!("500xx0001")));
    let refused = EffectResult::Salesforce(SalesforceOutcome::Error {
        reason: "REQUIRED_FIELD_MISSING".into(),
    });
    assert_eq!(
        branch(run.resume(&mut cx, &Value::Null, Wake::Result(&refused))),
        "error"
    );
    assert_eq!(cx.error.take().as_deref(), Some("REQUIRED_FIELD_MISSING"));
    let none = EffectResult::Salesforce(SalesforceOutcome::ReferenceNotFound);
    assert_eq!(
        branch(run.resume(&mut cx, &Value::Null, Wake::Result(&none))),
        "reference_not_found"
    );
}

#[test]
fn create_a_task_computes_its_start_and_end_in_the_time_zone() {
    use flow::effect::{Effect, EffectResult, TaskOutcome};
    let mut cx = fake();
    let task = runner(
        "create_task",
        json!({"name": "Call back", "category": "Callback", "kind": {"kind": "standard"}, "start": {"at": "later", "interval": 1, "unit": "months"}, "end": {"at": "postponed", "interval": 2, "unit": "weeks"}}),
    );
    let now = cx.now();
    match task.run(&mut cx) {
        Step::Effect {
            effect: Effect::Task(t),
            ..
        } => {
            let start = t.start_at.unwrap();
            let due = t.due_at.unwrap();
            let tz = cx.time_zone().clone();
            assert_eq!(
                start.to_zoned(tz.clone()).date(),
                now.to_zoned(tz.clone())
                    .checked_add(jiff::Span::new().months(1))
                    .unwrap()
                    .date()
            );
            assert_eq!(due.as_second() - start.as_second(), 14 * 86_400);
            assert!(t.salesforce.is_none());
        }
        other => panic!("a task is an effect, got {other:?}"),
    }
    let none = runner(
        "create_task",
        json!({"name": "{{ nothing }}", "category": "x", "kind": {"kind": "standard"}, "start": {"at": "now"}, "end": {"at": "no_end_date"}}),
    );
    assert_eq!(branch(none.run(&mut cx)), "error");
    let sf = runner(
        "create_task",
        json!({"name": "Call", "category": "x", "kind": {"kind": "salesforce", "crm": {"by": "reference", "reference": "SF"}, "salesforce_id_variable": "sf"}, "start": {"at": "no_start_date"}, "end": {"at": "no_end_date"}}),
    );
    let made = EffectResult::Task(TaskOutcome::Created { id: "00T1".into() });
    assert_eq!(
        branch(sf.resume(&mut cx, &Value::Null, Wake::Result(&made))),
        "ok"
    );
    assert_eq!(cx.get("sf"), Some(&json!("00T1")));
    let refused = EffectResult::Task(TaskOutcome::Error {
        reason: "down".into(),
    });
    assert_eq!(
        branch(sf.resume(&mut cx, &Value::Null, Wake::Result(&refused))),
        "error"
    );
}

#[test]
fn survey_asks_for_its_attachment_and_maps_each_outcome() {
    use flow::effect::{EffectResult, SurveyOutcome};
    let mut cx = fake();
    let survey = runner(
        "survey",
        json!({"survey": {"by": "reference", "reference": "CSAT"}}),
    );
    let step = survey.run(&mut cx);
    assert_eq!(
        effect(&step),
        json!({"effect": "survey", "survey": {"by": "reference", "reference": "CSAT"}})
    );
    let wake = |outcome: SurveyOutcome| EffectResult::Survey(outcome);
    for (outcome, want) in [
        (SurveyOutcome::Attached, "ok"),
        (SurveyOutcome::ReferenceNotFound, "reference_not_found"),
        (
            SurveyOutcome::Error {
                reason: "no public_url".into(),
            },
            "error",
        ),
    ] {
        let result = wake(outcome);
        assert_eq!(
            branch(survey.resume(&mut cx, &Value::Null, Wake::Result(&result))),
            want
        );
    }
    assert_eq!(cx.error.as_deref(), Some("no public_url"));
    // a reference read from an empty variable names no survey
    let by_variable = runner(
        "survey",
        json!({"survey": {"by": "reference_from_variable", "variable": "which"}}),
    );
    assert_eq!(branch(by_variable.run(&mut cx)), "reference_not_found");
}
