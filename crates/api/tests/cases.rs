//! Cases through the API and the four case actions in production: case types checked, cases
//! created, changed, listed and deleted; a routing creates a case for a customer, changes it,
//! finds it again by reference or as the customer's latest open one, and dissociates it — each
//! branch of each action taken, and the links kept.

use serde_json::{Value, json};

mod support;

use support::{admin_client, call, callbacks};

/// The case type CLAIM: an order number, a reason from a list; New, In progress, Resolved.
async fn claim(base: &str) -> String {
    let (s, t) = call(
        base,
        reqwest::Method::POST,
        "case-types",
        Some(json!({"reference": "CLAIM", "name": "Claim", "data": {
            "fields": [
                {"name": "order", "type": "number"},
                {"name": "reason", "type": "list", "proposals": ["Late", "Broken"]}
            ],
            "statuses": [{"name": "New"}, {"name": "In progress"}, {"name": "Resolved", "closed": true}]
        }})),
    )
    .await;
    assert_eq!(s, 201, "{t}");
    t["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn cases_are_kept_checked_against_their_type() {
    let server = support::start(runtime::ServiceSettings::default(), support::limits()).await;
    let base = format!("{}/api/v1", server.root);
    // a case type's statuses and fields are checked
    for (bad, why) in [
        (json!({"statuses": []}), "statuses"),
        (
            json!({"statuses": [{"name": "Done", "closed": true}]}),
            "not closed",
        ),
        (
            json!({"fields": [{"name": "status", "type": "text"}], "statuses": [{"name": "New"}]}),
            "own field",
        ),
        (
            json!({"fields": [{"name": "n", "type": "number", "unique": true}], "statuses": [{"name": "New"}]}),
            "unique",
        ),
    ] {
        let (s, p) = call(
            &base,
            reqwest::Method::POST,
            "case-types",
            Some(json!({"reference": "BAD", "name": "Bad", "data": bad})),
        )
        .await;
        assert_eq!(s, 422, "{p}");
        assert!(p["detail"].as_str().unwrap().contains(why), "{p}");
    }
    let ty = claim(&base).await;
    let (_, kinds) = call(&base, reqwest::Method::GET, "object-kinds", None).await;
    let kind = kinds
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "case_type")
        .cloned()
        .unwrap();
    assert_eq!(
        (kind["path"].as_str(), kind["resource"].as_str()),
        (Some("/case-types"), Some("case_types"))
    );
    assert!(kind["data_schema"]["properties"]["statuses"].is_object());

    // a routing creating cases of CLAIM and of a type that does not exist: only the missing
    // one is warned of
    let (_, r) = call(&base, reqwest::Method::POST, "routings", Some(json!({"name": "Claims", "reference": "CLAIMS", "kind": "interaction_start", "channel_family": "messaging"}))).await;
    let (_, v) = call(
        &base,
        reqwest::Method::POST,
        &format!("routings/{}/versions", r["id"].as_str().unwrap()),
        Some(json!({"name": "v1"})),
    )
    .await;
    let vid = v["id"].as_str().unwrap();
    let mut after = v["tree"]["actions"][0]["id"].as_str().unwrap().to_owned();
    for reference in ["CLAIM", "NOPE"] {
        let body = json!({"type": "create_case", "params": {"title": "x", "case_type": {"by": "reference", "reference": reference}}, "after": {"action_id": after, "branch": "ok"}});
        let (s, p) = call(
            &base,
            reqwest::Method::POST,
            &format!("versions/{vid}/actions"),
            Some(body),
        )
        .await;
        assert!(s == 201 || s == 200, "{p}");
        after = p["action"]["id"].as_str().unwrap().to_owned();
    }
    let (_, version) = call(
        &base,
        reqwest::Method::GET,
        &format!("versions/{vid}"),
        None,
    )
    .await;
    let missing: Vec<&Value> = version["diagnostics"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "reference_not_found")
        .collect();
    assert_eq!(missing.len(), 1, "{}", version["diagnostics"]);
    assert!(missing[0]["message"].as_str().unwrap().contains("NOPE"));
    assert!(
        !version["diagnostics"]
            .to_string()
            .contains("action_unavailable"),
        "the case actions run: {}",
        version["diagnostics"]
    );

    // a case takes the type's first open status and the next reference
    let (s, c) = call(
        &base,
        reqwest::Method::POST,
        "cases",
        Some(json!({"case_type_id": ty, "title": "  Parcel 42 is late ", "fields": {"order": "42", "reason": "late"}})),
    )
    .await;
    assert_eq!(s, 201, "{c}");
    assert_eq!(c["reference"], "CS-000001");
    assert_eq!(c["title"], "Parcel 42 is late");
    assert_eq!(c["status"], "New");
    assert_eq!(c["fields"], json!({"order": 42, "reason": "Late"}));
    let id = c["id"].as_str().unwrap().to_owned();
    // refusals: a field the type lacks, a value that does not fit, a status it lacks, no such
    // type, a reference taken
    for (body, status, code) in [
        (
            json!({"case_type_id": ty, "title": "x", "fields": {"colour": "red"}}),
            422,
            "invalid_case",
        ),
        (
            json!({"case_type_id": ty, "title": "x", "fields": {"reason": "Lost"}}),
            422,
            "invalid_case",
        ),
        (
            json!({"case_type_id": ty, "title": "x", "status": "Lost"}),
            422,
            "invalid_case",
        ),
        (
            json!({"case_type_id": ty, "title": " "}),
            422,
            "invalid_case",
        ),
        (
            json!({"case_type_id": uuid::Uuid::now_v7(), "title": "x"}),
            422,
            "invalid_case",
        ),
        (
            json!({"case_type_id": ty, "title": "x", "reference": "CS-000002"}),
            422,
            "invalid_case",
        ),
        (
            json!({"case_type_id": ty, "title": "x", "reference": "no spaces"}),
            422,
            "invalid_case",
        ),
    ] {
        let (s, p) = call(&base, reqwest::Method::POST, "cases", Some(body.clone())).await;
        assert_eq!((s, p["code"].as_str()), (status, Some(code)), "{body} {p}");
    }
    // a change: the status spelled as the type spells it, a field emptied, the revision guarded
    let r = admin_client()
        .patch(format!("{base}/cases/{id}"))
        .header("if-match", "\"1\"")
        .json(&json!({"status": "in progress", "fields": {"reason": null}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["etag"], "\"2\"");
    let c: Value = r.json().await.unwrap();
    assert_eq!(c["status"], "In progress");
    assert_eq!(c["fields"], json!({"order": 42}));
    let r = admin_client()
        .patch(format!("{base}/cases/{id}"))
        .header("if-match", "\"1\"")
        .json(&json!({"title": "Again"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 412);
    // listed newest first, filtered by status
    let (_, second) = call(
        &base,
        reqwest::Method::POST,
        "cases",
        Some(json!({"case_type_id": ty, "title": "Another", "reference": "OWN-1"})),
    )
    .await;
    let (_, page) = call(&base, reqwest::Method::GET, "cases", None).await;
    let refs: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["reference"].as_str().unwrap())
        .collect();
    assert_eq!(refs, ["OWN-1", "CS-000001"]);
    // a page ending the list has no cursor; one before the end has it
    let (_, whole) = call(&base, reqwest::Method::GET, "cases?limit=2", None).await;
    assert!(whole["next_after"].is_null(), "{whole}");
    let (_, first) = call(&base, reqwest::Method::GET, "cases?limit=1", None).await;
    assert_eq!(first["next_after"], first["items"][0]["id"], "{first}");
    let (s, p) = call(
        &base,
        reqwest::Method::POST,
        "cases",
        Some(json!({"case_type_id": ty, "title": "Again", "reference": "OWN-1"})),
    )
    .await;
    assert_eq!(
        (s, p["code"].as_str()),
        (409, Some("reference_taken")),
        "{p}"
    );
    let (_, page) = call(
        &base,
        reqwest::Method::GET,
        "cases?status=In%20progress",
        None,
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let (s, _) = call(
        &base,
        reqwest::Method::DELETE,
        &format!("cases/{}", second["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(s, 204);
    // a case type stays while cases are of it
    let (s, p) = call(
        &base,
        reqwest::Method::DELETE,
        &format!("case-types/{ty}"),
        None,
    )
    .await;
    assert_eq!((s, p["code"].as_str()), (409, Some("in_use")), "{p}");
    let (s, spare) = call(
        &base,
        reqwest::Method::POST,
        "case-types",
        Some(json!({"reference": "SPARE", "name": "Spare", "data": {"statuses": [{"name": "Open"}]}})),
    )
    .await;
    assert_eq!(s, 201, "{spare}");
    let (s, _) = call(
        &base,
        reqwest::Method::DELETE,
        &format!("case-types/{}", spare["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(s, 204);
    let (s, _) = call(
        &base,
        reqwest::Method::GET,
        &format!("cases/{}", second["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(s, 404);
    // cases are personal data: a designer edits case types and reads no case; a supervisor
    // reads and changes cases
    for (role, case_types, cases) in [("designer", 200, 403), ("supervisor", 200, 200)] {
        let (s, t) = call(
            &base,
            reqwest::Method::POST,
            "api-tokens",
            Some(json!({"name": role, "role": role})),
        )
        .await;
        assert_eq!(s, 201, "{t}");
        let bearer = format!("Bearer {}", t["token"].as_str().unwrap());
        for (path, want) in [("case-types", case_types), ("cases", cases)] {
            let r = admin_client()
                .get(format!("{base}/{path}"))
                .header("authorization", &bearer)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), want, "{role} {path}");
        }
    }
}

/// What each branch that does not go on says: the case and `system.error`.
const SAID: &str =
    "{{ case.reference }} {{ case.status }} {{ case.fields.order }} {{ system.error }}";

/// A routing of case actions in a chain (see [`support::chain`]).
fn chain(reference: &str, actions: &[support::Link<'_>]) -> Value {
    support::chain(reference, actions, SAID)
}

#[tokio::test]
async fn the_case_actions_take_every_branch_in_production() {
    let server = support::start(runtime::ServiceSettings::default(), support::limits()).await;
    let base = format!("{}/api/v1", server.root);
    claim(&base).await;
    let (callback_url, got) = callbacks().await;
    let text = "{{ last_message.text }}";
    let claim_type = json!({"by": "reference", "reference": "CLAIM"});
    let create = ["ok", "error", "not_found"];
    let modify = ["ok", "error", "not_found"];
    let associate = ["ok", "not_found"];
    let routings: Vec<(&str, Value)> = vec![
        // a new case for the order in the message, then its order and status set
        (
            "open",
            chain(
                "OPEN",
                &[
                    (
                        "create_case",
                        json!({"title": format!("Parcel {text} is late"), "case_type": claim_type}),
                        &create,
                        Some("ok"),
                    ),
                    (
                        "modify_case",
                        json!({"fields": [{"field": "order", "value": text}, {"field": "status", "value": "In progress"}]}),
                        &modify,
                        None,
                    ),
                ],
            ),
        ),
        (
            "nope",
            chain(
                "NOPE",
                &[(
                    "create_case",
                    json!({"title": "x", "case_type": {"by": "reference_from_variable", "variable": "last_message.text"}}),
                    &create,
                    None,
                )],
            ),
        ),
        // the case linked again by reference, then dissociated: a change then finds no case
        (
            "drop",
            chain(
                "DROP",
                &[
                    (
                        "associate_case",
                        json!({"case_reference": text}),
                        &associate,
                        Some("ok"),
                    ),
                    ("dissociate_case", json!({}), &["ok"], Some("ok")),
                    (
                        "modify_case",
                        json!({"fields": [{"field": "status", "value": "New"}]}),
                        &modify,
                        None,
                    ),
                ],
            ),
        ),
        // the customer's latest open case found without reference
        (
            "latest",
            chain("LATEST", &[("associate_case", json!({}), &associate, None)]),
        ),
        // a case changed by the reference in the message: its status, or a status it lacks
        (
            "resolve",
            chain(
                "RESOLVE",
                &[(
                    "modify_case",
                    json!({"case_reference": text, "fields": [{"field": "status", "value": "Resolved"}]}),
                    &modify,
                    None,
                )],
            ),
        ),
        (
            "lose",
            chain(
                "LOSE",
                &[(
                    "modify_case",
                    json!({"case_reference": text, "fields": [{"field": "status", "value": "Lost"}]}),
                    &modify,
                    None,
                )],
            ),
        ),
        (
            "nochange",
            chain(
                "NOCHANGE",
                &[(
                    "modify_case",
                    json!({"fields": [{"field": "order", "value": "1"}]}),
                    &modify,
                    None,
                )],
            ),
        ),
    ];
    for (reference, doc) in routings {
        support::http_entry_point(&base, reference, doc, &callback_url).await;
    }
    let mut talk = support::Talk::new(&base, &got);
    assert_eq!(
        talk.say("open", "ann", "42").await,
        "modify_case ok: CS-000001 In progress 42"
    );
    let nope = talk.say("nope", "ann", "NOPE").await;
    assert!(nope.starts_with("create_case not_found:"), "{nope}");
    // the customer's latest open case; another customer has none
    assert_eq!(
        talk.say("latest", "ann", "?").await,
        "associate_case ok: CS-000001 In progress 42"
    );
    let none = talk.say("latest", "bob", "?").await;
    assert!(
        none.starts_with("associate_case not_found:") && none.contains("no open case"),
        "{none}"
    );
    // linked again by reference, dissociated, so the change without reference finds none
    let dropped = talk.say("drop", "bob", "CS-000001").await;
    assert!(
        dropped.starts_with("modify_case not_found:") && dropped.contains("no case"),
        "{dropped}"
    );
    let unknown = talk.say("drop", "bob", "CS-999999").await;
    assert!(
        unknown.starts_with("associate_case not_found:"),
        "{unknown}"
    );
    // a status the type lacks is an error; a case of another interaction changed by reference
    // leaves this interaction's `case` empty
    let lost = talk.say("lose", "ann", "CS-000001").await;
    assert!(
        lost.starts_with("modify_case error:") && lost.contains("Lost"),
        "{lost}"
    );
    assert_eq!(
        talk.say("resolve", "ann", "CS-000001").await,
        "modify_case ok:"
    );
    let missing = talk.say("resolve", "ann", "CS-404").await;
    assert!(missing.starts_with("modify_case not_found:"), "{missing}");
    // resolved, it is no longer the customer's open case; a change of no case is not found
    let closed = talk.say("latest", "ann", "?").await;
    assert!(closed.starts_with("associate_case not_found:"), "{closed}");
    let no_case = talk.say("nochange", "ann", "?").await;
    assert!(no_case.starts_with("modify_case not_found:"), "{no_case}");

    // the case as the routings left it, with the interactions it was linked to
    let (_, page) = call(&base, reqwest::Method::GET, "cases", None).await;
    let cases = page["items"].as_array().unwrap();
    assert_eq!(cases.len(), 1, "{page}");
    let case = &cases[0];
    assert_eq!(case["status"], "Resolved");
    assert_eq!(case["fields"], json!({"order": 42}));
    assert_eq!(case["title"], "Parcel 42 is late");
    let (s, links) = call(
        &base,
        reqwest::Method::GET,
        &format!("cases/{}/interactions", case["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(s, 200, "{links}");
    let links = links.as_array().unwrap();
    // created by ann's first interaction, found by her second, linked and dissociated by bob's
    assert_eq!(links.len(), 3, "{links:?}");
    assert!(links[2]["unlinked_at"].is_string(), "{links:?}");
    assert!(links[0]["unlinked_at"].is_null(), "{links:?}");
    // the history says what each action did
    let (_, one) = call(
        &base,
        reqwest::Method::GET,
        &format!(
            "interactions/{}",
            links[0]["interaction_id"].as_str().unwrap()
        ),
        None,
    )
    .await;
    let notes: Vec<&Value> = one["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["event"]["detail"])
        .filter(|d| d["note"] == "case")
        .collect();
    assert_eq!(notes.len(), 2, "{one}");
    assert_eq!(notes[0]["op"], "create");
    assert_eq!(notes[0]["case"], "CS-000001");
    assert_eq!(notes[1]["op"], "modify");
}
