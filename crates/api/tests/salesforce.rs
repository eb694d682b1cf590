//! *Email to a Salesforce Query* in production against a local stand-in of the Salesforce REST
//! API (the OAuth 2.0 client credentials token endpoint, sObject create, `ContentVersion`; the
//! answers' shapes are those of Salesforce's REST API documentation): an email becomes a Case
//! with its subject, sender and text, the original attached, its id stored; a refused
//! connection, a refused record, a directory that is not connected to Salesforce and one that
//! does not exist take their branches.

use serde_json::{Value, json};

mod support;

use support::call;
use support::salesforce::{CLIENT_ID, CLIENT_SECRET, salesforce};

fn routing(reference: &str, crm: &str, object: &str) -> Value {
    let id = |n: usize| uuid::Uuid::from_u128(n as u128 + 1).to_string();
    json!({
        "format": "switchyard.routing", "format_version": 1,
        "routing": {"reference": reference, "name": reference, "kind": "interaction_start", "channel_family": "email"},
        "versions": [{"number": 1, "name": "v1", "status": "production", "tree": {
            "actions": [
                {"id": id(0), "type": "start", "params": {}},
                {"id": id(1), "type": "email_to_salesforce_query", "params": {
                    "crm": {"by": "reference", "reference": crm}, "object": object,
                    "fields": [{"field": "Subject", "value": "{{ email.subject }}"}, {"field": "SuppliedEmail", "value": "{{ email.from }}"}, {"field": "Description", "value": "{{ email.text }}"}],
                    "attach_email": true, "store_id_in": "salesforce_id"
                }}
            ],
            "links": [{"id": id(100), "from": id(0), "branch": "ok", "to": id(1)}]
        }}]
    })
}

#[tokio::test]
async fn an_email_becomes_a_salesforce_case_and_each_failure_takes_its_branch() {
    let server = support::start(runtime::ServiceSettings::default(), support::limits()).await;
    let base = format!("{}/api/v1", server.root);
    let (root, records) = salesforce().await;
    for (reference, secret) in [("SF", CLIENT_SECRET), ("BADSECRET", "another-secret-0000")] {
        let (s, d) = call(&base, reqwest::Method::POST, "crm-directories", Some(json!({"reference": reference, "name": reference, "secret": secret, "data": {"salesforce": {"login_url": root, "client_id": CLIENT_ID}}}))).await;
        assert_eq!(s, 201, "{d}");
        assert_eq!(d["secret_set"], true);
        assert!(!d.to_string().contains(secret));
    }
    let (s, d) = call(&base, reqwest::Method::POST, "databases", Some(json!({"reference": "CONTACTS", "name": "Contacts", "data": {"columns": [{"name": "email", "type": "text"}]}}))).await;
    assert_eq!(s, 201, "{d}");
    let (s, d) = call(
        &base,
        reqwest::Method::POST,
        "crm-directories",
        Some(json!({"reference": "LOCAL", "name": "Local", "data": {"database": "CONTACTS"}})),
    )
    .await;
    assert_eq!(s, 201, "{d}");
    let mailboxes = [
        ("cases", "SF", "Case"),
        ("badsecret", "BADSECRET", "Case"),
        ("leads", "SF", "Lead"),
        ("local", "LOCAL", "Case"),
        ("nope", "NOPE", "Case"),
    ];
    for (mailbox, crm, object) in mailboxes {
        let (s, imported) = call(
            &base,
            reqwest::Method::POST,
            "routings/import",
            Some(routing(&mailbox.to_uppercase(), crm, object)),
        )
        .await;
        assert_eq!(s, 201, "{imported}");
        let (s, ep) = call(&base, reqwest::Method::POST, "entry-points", Some(json!({"reference": mailbox, "name": mailbox, "channel": "email", "address": format!("{mailbox}@shop.test"), "start_routing_id": imported["routing"]["id"]}))).await;
        assert_eq!(s, 201, "{ep}");
    }
    let mut outcomes = Vec::new();
    for (n, (mailbox, ..)) in mailboxes.iter().enumerate() {
        let ep = server
            .conversations
            .mailbox(&format!("{mailbox}@shop.test"))
            .await
            .unwrap()
            .unwrap();
        let raw = format!(
            "From: Ann <ann@example.com>\r\nTo: {mailbox}@shop.test\r\nSubject: My parcel is late\r\nMessage-ID: <m{n}@example.com>\r\nDate: Mon, 1 Jun 2026 10:00:00 +0200\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nIt should have come on Friday.\r\n"
        );
        let receipt = server
            .conversations
            .receive_email(
                &ep,
                raw.as_bytes(),
                channels::email::Envelope {
                    mail_from: Some("ann@example.com"),
                },
            )
            .await
            .unwrap();
        let (_, detail) = call(
            &base,
            reqwest::Method::GET,
            &format!("interactions/{}", receipt.interaction_id),
            None,
        )
        .await;
        let events = detail["events"].as_array().unwrap();
        let branch = events
            .iter()
            .filter(|e| e["event"]["type"] == "branch")
            .map(|e| e["event"]["branch"].as_str().unwrap().to_owned())
            .next_back()
            .unwrap_or_default();
        let note = events
            .iter()
            .map(|e| &e["event"]["detail"])
            .find(|d| d["note"] == "salesforce")
            .cloned()
            .unwrap_or(Value::Null);
        outcomes.push((mailbox.to_string(), branch, note, detail));
    }
    // the Case, with the email's data, the original attached, its id stored
    let (_, branch, note, detail) = &outcomes[0];
    assert_eq!(branch, "ok", "{detail}");
    let made = records.lock().unwrap().clone();
    assert_eq!(made[0].0, "Case");
    assert_eq!(made[0].1["Subject"], "My parcel is late");
    assert_eq!(made[0].1["SuppliedEmail"], "ann@example.com");
    assert!(
        made[0].1["Description"]
            .as_str()
            .unwrap()
            .contains("Friday")
    );
    let case_id = note["id"].as_str().unwrap();
    assert_eq!(made[1].0, "ContentVersion");
    assert_eq!(made[1].1["FirstPublishLocationId"], case_id);
    assert_eq!(made[1].1["PathOnClient"], "My parcel is late.eml");
    use base64::Engine;
    let file = base64::engine::general_purpose::STANDARD
        .decode(made[1].1["VersionData"].as_str().unwrap())
        .unwrap();
    assert!(
        String::from_utf8(file)
            .unwrap()
            .contains("Message-ID: <m0@example.com>")
    );
    assert_eq!(
        note["attachment"].as_str().map(|a| a.starts_with("068")),
        Some(true)
    );
    let stored: Vec<&Value> = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["event"])
        .filter(|e| e["type"] == "variable_set" && e["path"] == "salesforce_id")
        .collect();
    assert_eq!(stored.len(), 1, "{detail}");
    assert_eq!(stored[0]["value"], case_id);
    // each failure, and why
    for ((mailbox, branch, note, detail), (want_branch, why)) in outcomes[1..].iter().zip([
        ("error", Some("invalid_client")),
        ("error", Some("REQUIRED_FIELD_MISSING")),
        ("error", Some("not connected to Salesforce")),
        ("reference_not_found", None),
    ]) {
        assert_eq!(branch, want_branch, "{mailbox}: {detail}");
        if let Some(why) = why {
            assert!(
                note["error"].as_str().unwrap_or_default().contains(why),
                "{mailbox}: {note}"
            );
        }
    }
    assert_eq!(records.lock().unwrap().len(), 2, "nothing else was created");
    assert!(
        !outcomes
            .iter()
            .any(|o| o.3.to_string().contains(CLIENT_SECRET))
    );
}

#[tokio::test]
async fn the_cards_of_a_directory_connected_to_salesforce_are_found_by_soql_and_made_there() {
    let server = support::start(runtime::ServiceSettings::default(), support::limits()).await;
    let base = format!("{}/api/v1", server.root);
    let (root, records, queries) = support::salesforce::salesforce_with_queries().await;
    for (reference, secret) in [("SF", CLIENT_SECRET), ("BADSECRET", "another-secret-0000")] {
        let (s, d) = call(&base, reqwest::Method::POST, "crm-directories", Some(json!({"reference": reference, "name": reference, "secret": secret, "data": {"salesforce": {"login_url": root, "client_id": CLIENT_ID, "fields": ["LastName"]}}}))).await;
        assert_eq!(s, 201, "{d}");
        assert_eq!(d["data"]["salesforce"]["cards"], "Contact", "{d}");
    }
    let (s, p) = call(&base, reqwest::Method::POST, "crm-directories", Some(json!({"reference": "WRONG", "name": "Wrong", "secret": CLIENT_SECRET, "data": {"salesforce": {"login_url": root, "client_id": CLIENT_ID, "cards": "Contact; DELETE"}}}))).await;
    assert_eq!((s, p["code"].as_str()), (422, Some("invalid_field")), "{p}");
    let (callback_url, got) = support::callbacks().await;
    let sf = json!({"by": "reference", "reference": "SF"});
    let text = "{{ last_message.text }}";
    let assoc: &[&str] = &["ok", "not_ok", "not_found", "by_default"];
    let make: &[&str] = &["ok", "error"];
    let routings: Vec<(&str, &str, Value, &[&str])> = vec![
        (
            "sfmake",
            "create_crm_card",
            json!({"directory": sf, "fields": [{"field": "LastName", "value": text}, {"field": "Email", "value": "ann@example.com"}], "associate": true}),
            make,
        ),
        (
            "sfnolast",
            "create_crm_card",
            json!({"directory": sf, "fields": [{"field": "Email", "value": text}]}),
            make,
        ),
        (
            "sffind",
            "associate_crm_card",
            json!({"directory": sf, "assertions": [{"field": "Email", "value": text}]}),
            assoc,
        ),
        (
            "sfmaybe",
            "associate_crm_card",
            json!({"directory": sf, "create_if_not_found": true, "assertions": [{"field": "Email", "value": text}, {"field": "LastName", "value": "Newcomer"}]}),
            assoc,
        ),
        (
            "sfbadname",
            "associate_crm_card",
            json!({"directory": sf, "assertions": [{"field": "E-mail", "value": text}]}),
            assoc,
        ),
        (
            "sfsecret",
            "associate_crm_card",
            json!({"directory": {"by": "reference", "reference": "BADSECRET"}, "assertions": [{"field": "Email", "value": text}]}),
            assoc,
        ),
    ];
    for (reference, ty, params, branches) in routings {
        let doc = support::chain(
            reference,
            &[(ty, params, branches, None)],
            "{{ card.id }} {{ card.object }} {{ card.fields.LastName }} {{ system.error }}",
        );
        support::http_entry_point(&base, reference, doc, &callback_url).await;
    }
    let mut talk = support::Talk::new(&base, &got);
    // a card made in Salesforce, linked to the interaction
    assert_eq!(
        talk.say("sfmake", "ann", "Martin").await,
        "create_crm_card ok: 003xx0000000001 Contact Martin"
    );
    let said = talk.say("sfnolast", "bob", "bob@example.com").await;
    assert!(
        said.starts_with("create_crm_card error:") && said.contains("REQUIRED_FIELD_MISSING"),
        "{said}"
    );
    // found by a SOQL query of the assertions (without case), linked
    assert_eq!(
        talk.say("sffind", "cid", "ANN@example.com").await,
        "associate_crm_card ok: 003xx0000000001 Contact Martin"
    );
    assert_eq!(
        queries.lock().unwrap().last().unwrap(),
        "SELECT Id, LastName, Email FROM Contact WHERE Email = 'ANN@example.com' LIMIT 2"
    );
    // a value that tries to end its literal is only a value: nothing matches it
    assert_eq!(
        talk.say("sffind", "dan", "x' OR Email != '").await,
        "associate_crm_card not_found:"
    );
    assert_eq!(
        queries.lock().unwrap().last().unwrap(),
        "SELECT Id, LastName, Email FROM Contact WHERE Email = 'x\\' OR Email != \\'' LIMIT 2"
    );
    // none found: made of the assertions, then found; when two match none is linked
    assert_eq!(
        talk.say("sfmaybe", "eve", "fay@example.com").await,
        "associate_crm_card ok: 003xx0000000002 Contact Newcomer"
    );
    assert_eq!(
        talk.say("sfmaybe", "fay", "FAY@example.com").await,
        "associate_crm_card ok: 003xx0000000002 Contact Newcomer"
    );
    talk.say("sfmake", "gus", "Again").await;
    let said = talk.say("sffind", "hal", "ann@example.com").await;
    assert!(
        said.starts_with("associate_crm_card not_ok:")
            && said.ends_with("several cards match: none was linked"),
        "{said}"
    );
    // a name that is no API name, a refused connection: the directory could not be searched
    let said = talk.say("sfbadname", "ian", "x").await;
    assert!(
        said.starts_with("associate_crm_card by_default:")
            && said.contains("not a Salesforce field name"),
        "{said}"
    );
    let said = talk.say("sfsecret", "jo", "x").await;
    assert!(
        said.starts_with("associate_crm_card by_default:") && said.contains("invalid_client"),
        "{said}"
    );
    let made: Vec<String> = records
        .lock()
        .unwrap()
        .iter()
        .map(|(o, r)| format!("{o} {}", r["LastName"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(
        made,
        ["Contact Martin", "Contact Newcomer", "Contact Again"]
    );

    // the customer's cards show the Salesforce record linked, with its fields as read
    let (_, page) = call(&base, reqwest::Method::GET, "customers?address=cid", None).await;
    let id = page["items"][0]["id"].as_str().unwrap();
    let (s, cards) = call(
        &base,
        reqwest::Method::GET,
        &format!("customers/{id}/cards"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{cards}");
    assert_eq!(cards.as_array().unwrap().len(), 1, "{cards}");
    assert_eq!(cards[0]["id"], "003xx0000000001");
    assert_eq!(cards[0]["directory"], "SF");
    assert_eq!(cards[0]["object"], "Contact");
    assert_eq!(cards[0]["database_id"], Value::Null);
    assert_eq!(
        cards[0]["fields"],
        json!({"LastName": "Martin", "Email": "ann@example.com"})
    );
}
