//! CRM directories and their cards in production: a directory's cards are a custom database's
//! rows; *Associate the interaction with a CRM card* finds one (OK), several (Not OK), none
//! (Not found, or a card made of the assertions), or cannot search (By default); *Create a CRM
//! card* makes one or is refused; a CRM V2 finds cards through its default or a named scenario
//! and makes cards of its objects. The customer's cards are listed on the customer.

use serde_json::{Value, json};

mod support;

use support::{call, callbacks};

#[tokio::test]
async fn crm_actions_take_every_branch_and_the_customer_has_their_cards() {
    let server = support::start(runtime::ServiceSettings::default(), support::limits()).await;
    let base = format!("{}/api/v1", server.root);
    let post = |path: &'static str, body: Value| {
        let base = base.clone();
        async move {
            let (s, v) = call(&base, reqwest::Method::POST, path, Some(body)).await;
            assert_eq!(s, 201, "{path}: {v}");
            v
        }
    };
    let contacts = post(
        "databases",
        json!({"reference": "CONTACTS", "name": "Contacts", "data": {"columns": [
            {"name": "email", "type": "text", "unique": true},
            {"name": "phone", "type": "text", "indexed": true},
            {"name": "name", "type": "text", "required": true},
            {"name": "city", "type": "text"}
        ]}}),
    )
    .await;
    post("databases", json!({"reference": "COMPANIES", "name": "Companies", "data": {"columns": [{"name": "name", "type": "text", "unique": true}]}})).await;
    let contacts_id = contacts["id"].as_str().unwrap().to_owned();
    for row in [
        json!({"email": "ann@example.com", "phone": "+33612345678", "name": "Ann", "city": "Paris"}),
        json!({"email": "bob@example.com", "phone": "+33698765432", "name": "Bob", "city": "Paris"}),
    ] {
        let (s, r) = call(
            &base,
            reqwest::Method::POST,
            &format!("databases/{contacts_id}/rows"),
            Some(json!({"values": row})),
        )
        .await;
        assert_eq!(s, 201, "{r}");
    }
    post(
        "crm-directories",
        json!({"reference": "DIR", "name": "Directory", "data": {"database": "CONTACTS"}}),
    )
    .await;
    post("crm-directories", json!({"reference": "SALES", "name": "Sales CRM", "data": {"objects": [{"name": "Contact", "database": "CONTACTS"}, {"name": "Company", "database": "COMPANIES"}]}})).await;
    post("crm-scenarios", json!({"reference": "BYPHONE", "name": "By phone", "data": {"crm": "SALES", "object": "Contact", "assertions": [{"field": "phone", "value": "{{ last_message.text }}"}], "default": true}})).await;
    post("crm-scenarios", json!({"reference": "BYCITY", "name": "By city", "data": {"crm": "SALES", "object": "contact", "assertions": [{"field": "city", "value": "{{ last_message.text }}"}]}})).await;
    let (s, p) = call(&base, reqwest::Method::POST, "crm-directories", Some(json!({"reference": "BAD", "name": "Bad", "data": {"database": "A", "objects": [{"name": "X", "database": "B"}]}}))).await;
    assert_eq!((s, p["code"].as_str()), (422, Some("invalid_field")), "{p}");

    let (callback_url, got) = callbacks().await;
    let text = "{{ last_message.text }}";
    let dir = json!({"by": "reference", "reference": "DIR"});
    let sales = json!({"by": "reference", "reference": "SALES"});
    let assoc = ["ok", "not_ok", "not_found", "by_default"];
    let make = ["ok", "error"];
    let said = "{{ card.fields.name }} {{ card.object }} {{ system.error }}";
    let routings: Vec<(&str, &str, Value, &[&str])> = vec![
        (
            "find",
            "associate_crm_card",
            json!({"directory": dir, "assertions": [{"field": "email", "value": text}]}),
            &assoc,
        ),
        (
            "city",
            "associate_crm_card",
            json!({"directory": dir, "assertions": [{"field": "city", "value": text}]}),
            &assoc,
        ),
        (
            "either",
            "associate_crm_card",
            json!({"directory": dir, "match": "any", "assertions": [{"field": "email", "value": text}, {"field": "phone", "value": text}]}),
            &assoc,
        ),
        (
            "findmake",
            "associate_crm_card",
            json!({"directory": dir, "create_if_not_found": true, "assertions": [{"field": "email", "value": text}, {"field": "name", "value": "New customer"}]}),
            &assoc,
        ),
        (
            "nodir",
            "associate_crm_card",
            json!({"directory": {"by": "reference", "reference": "NOPE"}, "assertions": [{"field": "email", "value": text}]}),
            &assoc,
        ),
        (
            "badfield",
            "associate_crm_card",
            json!({"directory": dir, "assertions": [{"field": "colour", "value": text}]}),
            &assoc,
        ),
        (
            "make",
            "create_crm_card",
            json!({"directory": dir, "fields": [{"field": "email", "value": text}, {"field": "name", "value": "Made"}]}),
            &make,
        ),
        (
            "makebad",
            "create_crm_card",
            json!({"directory": dir, "fields": [{"field": "email", "value": text}]}),
            &make,
        ),
        ("v2", "associate_crm_v2_card", json!({"crm": sales}), &assoc),
        (
            "v2city",
            "associate_crm_v2_card",
            json!({"crm": sales, "scenario": {"by": "reference", "reference": "BYCITY"}}),
            &assoc,
        ),
        (
            "v2make",
            "create_crm_v2_card",
            json!({"crm": sales, "object": "Company", "fields": [{"field": "name", "value": text}]}),
            &make,
        ),
        (
            "v2noobj",
            "create_crm_v2_card",
            json!({"crm": sales, "object": "Deal", "fields": [{"field": "name", "value": text}]}),
            &make,
        ),
    ];
    for (reference, ty, params, branches) in routings {
        let doc = support::chain(reference, &[(ty, params, branches, None)], said);
        support::http_entry_point(&base, reference, doc, &callback_url).await;
    }
    let mut talk = support::Talk::new(&base, &got);
    let cases = [
        (
            "find",
            "ann",
            "ANN@example.com",
            "associate_crm_card ok: Ann",
        ),
        (
            "find",
            "cid",
            "nobody@example.com",
            "associate_crm_card not_found:",
        ),
        (
            "city",
            "cid",
            "Paris",
            "associate_crm_card not_ok: several cards match: none was linked",
        ),
        (
            "either",
            "cid",
            "+33698765432",
            "associate_crm_card ok: Bob",
        ),
        (
            "findmake",
            "dan",
            "dan@example.com",
            "associate_crm_card ok: New customer",
        ),
        (
            "findmake",
            "dan",
            "dan@example.com",
            "associate_crm_card ok: New customer",
        ),
        (
            "nodir",
            "cid",
            "x",
            "associate_crm_card by_default: no such CRM directory",
        ),
        (
            "badfield",
            "cid",
            "x",
            "associate_crm_card by_default: the directory's cards have no field 'colour'",
        ),
        ("make", "eve", "eve@example.com", "create_crm_card ok: Made"),
        ("make", "fay", "eve@example.com", "create_crm_card error:"),
        (
            "makebad",
            "fay",
            "fay@example.com",
            "create_crm_card error: name is required",
        ),
        (
            "v2",
            "gus",
            "+33612345678",
            "associate_crm_v2_card ok: Ann Contact",
        ),
        (
            "v2",
            "gus",
            "+33600000000",
            "associate_crm_v2_card not_found:",
        ),
        (
            "v2city",
            "gus",
            "Paris",
            "associate_crm_v2_card not_ok: several cards match: none was linked",
        ),
        (
            "v2make",
            "hal",
            "Acme",
            "create_crm_v2_card ok: Acme Company",
        ),
        (
            "v2noobj",
            "hal",
            "Acme",
            "create_crm_v2_card error: the CRM has no object 'Deal'",
        ),
    ];
    for (ep, customer, message, want) in cases {
        let answer = talk.say(ep, customer, message).await;
        let answer = answer.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(answer.starts_with(want), "{ep} {message}: {answer}");
    }
    // the cards made are the database's rows: Dan's once although asked twice, Eve's, Acme
    let (_, rows) = call(
        &base,
        reqwest::Method::GET,
        &format!("databases/{contacts_id}/rows?limit=50"),
        None,
    )
    .await;
    let names: Vec<&str> = rows["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["values"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Ann", "Bob", "New customer", "Made"], "{rows}");

    // the customer's cards: Ann's card for ann; Gus found Ann's card too
    for (address, want) in [
        ("ann", vec!["Ann"]),
        ("gus", vec!["Ann"]),
        ("hal", vec!["Acme"]),
        ("cid", vec!["Bob"]),
        ("fay", vec![]),
    ] {
        let (_, page) = call(
            &base,
            reqwest::Method::GET,
            &format!("customers?address={address}"),
            None,
        )
        .await;
        let id = page["items"][0]["id"].as_str().unwrap();
        let (s, cards) = call(
            &base,
            reqwest::Method::GET,
            &format!("customers/{id}/cards"),
            None,
        )
        .await;
        assert_eq!(s, 200, "{cards}");
        let names: Vec<&str> = cards
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["fields"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, want, "{address}: {cards}");
    }
    let (_, page) = call(&base, reqwest::Method::GET, "customers?address=gus", None).await;
    let (_, cards) = call(
        &base,
        reqwest::Method::GET,
        &format!(
            "customers/{}/cards",
            page["items"][0]["id"].as_str().unwrap()
        ),
        None,
    )
    .await;
    assert_eq!(
        (&cards[0]["directory"], &cards[0]["object"]),
        (&json!("SALES"), &json!("Contact")),
        "{cards}"
    );

    // the directory that does not exist is warned of at compile
    let diagnostics = support::diagnostics(&base, "nodir").await;
    assert!(
        diagnostics.contains("reference_not_found") && diagnostics.contains("NOPE"),
        "{diagnostics}"
    );
}
