//! Invoices through the API and *Search for invoice* in production: invoices checked and kept
//! in canonical form, changed, listed, deleted and imported from CSV (each refused line said);
//! a routing finds a customer's invoice by each identifier, the oldest or most recent, and
//! takes both branches.

use serde_json::{Value, json};

mod support;

use support::{admin_client, call, callbacks};

fn invoice(number: &str, extra: Value) -> Value {
    let mut v = json!({"number": number, "amount": "49.90", "currency": "eur"});
    v.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    v
}

#[tokio::test]
async fn invoices_are_kept_changed_and_imported() {
    let server = support::start(runtime::ServiceSettings::default(), support::limits()).await;
    let base = format!("{}/api/v1", server.root);
    let (s, i) = call(
        &base,
        reqwest::Method::POST,
        "invoices",
        Some(invoice(
            "F-2026-001",
            json!({"name": "November", "mobile_phone": "06 12 34 56 78", "email": "Ana@Example.com", "customer_number": "C42", "due_date": "2026-11-30"}),
        )),
    )
    .await;
    assert_eq!(s, 201, "{i}");
    assert_eq!(
        (
            &i["amount"],
            &i["currency"],
            &i["mobile_phone"],
            &i["email"],
            &i["status"]
        ),
        (
            &json!("49.90"),
            &json!("EUR"),
            &json!("+33612345678"),
            &json!("ana@example.com"),
            &json!("open")
        )
    );
    let id = i["id"].as_str().unwrap().to_owned();
    for (body, status, code) in [
        (invoice("F-2026-001", json!({})), 409, "number_taken"),
        (
            invoice("X", json!({"amount": "1.999"})),
            422,
            "invalid_invoice",
        ),
        (
            invoice("X", json!({"currency": "EURO"})),
            422,
            "invalid_invoice",
        ),
        (
            invoice("X", json!({"landline": "12"})),
            422,
            "invalid_invoice",
        ),
        (
            invoice("X", json!({"email": "nobody"})),
            422,
            "invalid_invoice",
        ),
        (
            invoice("X", json!({"due_date": "30/11/2026"})),
            422,
            "invalid_invoice",
        ),
        (
            json!({"number": "X", "currency": "EUR"}),
            422,
            "invalid_invoice",
        ),
        (
            invoice("X", json!({"amount": "1000000000.01"})),
            422,
            "invalid_invoice",
        ),
    ] {
        let (s, p) = call(&base, reqwest::Method::POST, "invoices", Some(body.clone())).await;
        assert_eq!((s, p["code"].as_str()), (status, Some(code)), "{body} {p}");
    }
    // a change, guarded by its revision
    let r = admin_client()
        .patch(format!("{base}/invoices/{id}"))
        .header("if-match", "\"1\"")
        .json(&json!({"status": "paid", "email": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let changed: Value = r.json().await.unwrap();
    assert_eq!(
        (
            &changed["status"],
            &changed["email"],
            changed["revision"].as_u64()
        ),
        (&json!("paid"), &Value::Null, Some(2))
    );
    let r = admin_client()
        .patch(format!("{base}/invoices/{id}"))
        .header("if-match", "\"1\"")
        .json(&json!({"status": "open"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 412);

    // an import: the header in any case and order, each refused line said, the others kept
    let csv = "NUMBER,Amount,currency,mobile_phone,due_date,customer_number\n\
               F-2026-002,10,EUR,06 12 34 56 78,2026-10-31,C42\n\
               F-2026-003,\"12,5\",usd,,2026-12-31,C42\n\
               F-2026-001,5,EUR,,,\n\
               F-2026-004,1.234,EUR,,,\n\
               F-2026-002,7,EUR,,,\n\
               F-2026-005,7,EUR\n\
               F-2026-006,8,EUR,+1 650 253 0000,,\n";
    let r = admin_client()
        .post(format!("{base}/invoices/import"))
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let report: Value = r.json().await.unwrap();
    assert_eq!(
        (report["inserted"].as_u64(), report["refused"].as_u64()),
        (Some(3), Some(4)),
        "{report}"
    );
    let lines: Vec<u64> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [4, 5, 6, 7], "{report}");
    let why = report["errors"].to_string();
    for part in [
        "another invoice's",
        "amount",
        "earlier line's",
        "fields where the header names",
    ] {
        assert!(why.contains(part), "{part}: {why}");
    }
    for (csv, part) in [
        ("number,amount\nF,1\n", "'currency' is needed"),
        ("number,amount,currency,colour\n", "not a column"),
        ("number,NUMBER,amount,currency\n", "named twice"),
        ("", "empty"),
    ] {
        let r = admin_client()
            .post(format!("{base}/invoices/import"))
            .body(csv)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let p: Value = r.json().await.unwrap();
        assert!(p["detail"].as_str().unwrap().contains(part), "{p}");
    }

    // the list, newest first, filtered
    let (_, open) = call(
        &base,
        reqwest::Method::GET,
        "invoices?status=open&customer_number=C42",
        None,
    )
    .await;
    let numbers: Vec<&str> = open["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["F-2026-003", "F-2026-002"]);
    let (_, page) = call(&base, reqwest::Method::GET, "invoices?limit=2", None).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let after = page["next_after"].as_str().unwrap();
    let (_, rest) = call(
        &base,
        reqwest::Method::GET,
        &format!("invoices?limit=2&after={after}"),
        None,
    )
    .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 2);
    assert!(rest["next_after"].is_null(), "{rest}");

    let (s, _) = call(
        &base,
        reqwest::Method::DELETE,
        &format!("invoices/{id}"),
        None,
    )
    .await;
    assert_eq!(s, 204);
    let (s, _) = call(&base, reqwest::Method::GET, &format!("invoices/{id}"), None).await;
    assert_eq!(s, 404);

    // invoices are personal data: a supervisor has them, a designer does not
    for (role, want) in [("designer", 403), ("supervisor", 200)] {
        let (s, t) = call(
            &base,
            reqwest::Method::POST,
            "api-tokens",
            Some(json!({"name": role, "role": role})),
        )
        .await;
        assert_eq!(s, 201, "{t}");
        let r = admin_client()
            .get(format!("{base}/invoices"))
            .header(
                "authorization",
                format!("Bearer {}", t["token"].as_str().unwrap()),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), want, "{role}");
    }
}

const SAID: &str =
    "{{ bill.number }} {{ bill.amount }} {{ bill.currency }} {{ bill.status }} {{ system.error }}";

#[tokio::test]
async fn search_for_invoice_finds_by_each_identifier_in_production() {
    let server = support::start(runtime::ServiceSettings::default(), support::limits()).await;
    let base = format!("{}/api/v1", server.root);
    let csv = "number,amount,currency,mobile_phone,landline,email,customer_number,due_date,status\n\
               A-1,10,EUR,06 12 34 56 78,01 42 68 53 00,ana@example.com,C1,2026-09-30,paid\n\
               A-2,20,EUR,06 12 34 56 78,,ana@example.com,C1,2026-10-31,open\n\
               A-3,30.5,EUR,06 12 34 56 78,,,C1,,open\n";
    let r = admin_client()
        .post(format!("{base}/invoices/import"))
        .body(csv)
        .send()
        .await
        .unwrap();
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["inserted"], 3, "{report}");
    let (_, a1) = call(&base, reqwest::Method::GET, "invoices?status=paid", None).await;
    let a1_id = a1["items"][0]["id"].as_str().unwrap().to_owned();
    let (callback_url, got) = callbacks().await;
    let text = "{{ last_message.text }}";
    let branches = ["ok", "not_found"];
    let routings = [
        ("number", "invoice_number", "oldest"),
        ("mobile_old", "mobile_phone", "oldest"),
        ("mobile_new", "mobile_phone", "most_recent"),
        ("landline", "landline", "most_recent"),
        ("email_new", "email", "most_recent"),
        ("customer", "customer_number", "oldest"),
        ("id", "invoice_id", "oldest"),
    ];
    for (reference, by, pick) in routings {
        let doc = support::chain(
            reference,
            &[(
                "search_invoice",
                json!({"lookup": {"identify_by": by, "value": text, "pick": pick}}),
                &branches,
                None,
            )],
            SAID,
        );
        support::http_entry_point(&base, reference, doc, &callback_url).await;
    }
    let mut talk = support::Talk::new(&base, &got);
    let cases = [
        ("number", "A-2", "search_invoice ok: A-2 20.00 EUR open"),
        ("number", "A-9", "search_invoice not_found:"),
        // the phone read in the deployment's region; oldest by due date, those without last
        (
            "mobile_old",
            "+33612345678",
            "search_invoice ok: A-1 10.00 EUR paid",
        ),
        (
            "mobile_new",
            "06 12 34 56 78",
            "search_invoice ok: A-3 30.50 EUR open",
        ),
        (
            "landline",
            "0142685300",
            "search_invoice ok: A-1 10.00 EUR paid",
        ),
        (
            "email_new",
            "ANA@example.com",
            "search_invoice ok: A-2 20.00 EUR open",
        ),
        ("customer", "C1", "search_invoice ok: A-1 10.00 EUR paid"),
        ("customer", "C2", "search_invoice not_found:"),
        ("id", &a1_id, "search_invoice ok: A-1 10.00 EUR paid"),
        (
            "id",
            "42",
            "search_invoice not_found: '42' is not an invoice id",
        ),
        (
            "mobile_new",
            "call me",
            "search_invoice not_found: 'call me' is not a phone number",
        ),
    ];
    for (n, (ep, said, want)) in cases.iter().enumerate() {
        let customer = format!("c{n}");
        let answer = talk.say(ep, &customer, said).await;
        let answer = answer.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(answer, *want, "{ep} {said}");
    }
}
