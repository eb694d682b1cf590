//! The three campaign actions in production: a target inserted with its priority, layout and
//! fields; a number already a target under each duplicate rule (and "insert if duplicate"); a
//! number that is none or not a mobile one; a priority, layout field or value the campaign
//! refuses; a campaign that does not exist (a compile warning too). Targets are listed and
//! exported as CSV.

use serde_json::{Value, json};

mod support;

use support::{admin_client, call, callbacks};

#[tokio::test]
async fn campaign_actions_take_every_branch_and_targets_are_exported() {
    let server = support::start(runtime::ServiceSettings::default(), support::limits()).await;
    let base = format!("{}/api/v1", server.root);
    let layout = json!([{"name": "Callback", "fields": [
        {"name": "reason", "type": "list", "proposals": ["Invoice", "Delivery"], "required": true},
        {"name": "amount", "type": "number"}
    ]}]);
    let mut ids = std::collections::HashMap::new();
    for (path, reference, data) in [
        (
            "whatsapp-campaigns",
            "WA",
            json!({"layouts": layout, "priority_min": 1, "priority_max": 9}),
        ),
        (
            "voice-campaigns",
            "VOICE",
            json!({"duplicate_rule": "any_number"}),
        ),
        ("sms-campaigns", "SMS", json!({"duplicate_rule": "none"})),
    ] {
        let (s, c) = call(
            &base,
            reqwest::Method::POST,
            path,
            Some(json!({"reference": reference, "name": reference, "data": data})),
        )
        .await;
        assert_eq!(s, 201, "{c}");
        ids.insert(reference, c["id"].as_str().unwrap().to_owned());
    }
    let (s, p) = call(&base, reqwest::Method::POST, "sms-campaigns", Some(json!({"reference": "BAD", "name": "Bad", "data": {"priority_min": 7, "priority_max": 3}}))).await;
    assert_eq!((s, p["code"].as_str()), (422, Some("invalid_field")), "{p}");

    let (callback_url, got) = callbacks().await;
    let text = "{{ last_message.text }}";
    let branches = [
        "ok",
        "reference_not_found",
        "error",
        "duplication",
        "invalid_number",
    ];
    let wa = |extra: Value| {
        let mut p = json!({"campaign": {"by": "reference", "reference": "WA"}, "phone": text, "priority": {"from": "value", "value": 5}, "layout": "Callback", "fields": [{"field": "reason", "value": "invoice"}, {"field": "amount", "value": "12.5"}]});
        p.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        ("insert_whatsapp_campaign_target", p)
    };
    let routings = [
        ("wa", wa(json!({}))),
        ("wadup", wa(json!({"insert_if_duplicate": true}))),
        (
            "wabad",
            wa(json!({"priority": {"from": "value", "value": 10}})),
        ),
        (
            "wavar",
            wa(
                json!({"phone": "+33 6 11 11 11 11", "priority": {"from": "variable", "variable": "last_message.text"}}),
            ),
        ),
        (
            "wafield",
            wa(json!({"fields": [{"field": "reason", "value": "Other"}]})),
        ),
        ("walayout", wa(json!({"layout": "Survey"}))),
        (
            "voice",
            (
                "insert_voice_campaign_target",
                json!({"campaign": {"by": "reference", "reference": "VOICE"}, "phone": text, "start_date": "2026-07-01 09:00"}),
            ),
        ),
        (
            "voicedate",
            (
                "insert_voice_campaign_target",
                json!({"campaign": {"by": "reference", "reference": "VOICE"}, "phone": "+33142685300", "start_date": text}),
            ),
        ),
        (
            "sms",
            (
                "insert_sms_campaign_target",
                json!({"campaign": {"by": "reference", "reference": "SMS"}, "phone": text}),
            ),
        ),
        (
            "nope",
            (
                "insert_sms_campaign_target",
                json!({"campaign": {"by": "reference", "reference": "NOPE"}, "phone": text}),
            ),
        ),
    ];
    for (reference, (ty, params)) in routings {
        let doc = support::chain(
            reference,
            &[(ty, params, &branches, None)],
            "{{ system.error }}",
        );
        support::http_entry_point(&base, reference, doc, &callback_url).await;
    }
    let mut talk = support::Talk::new(&base, &got);
    let cases = [
        (
            "wa",
            "06 12 34 56 78",
            "insert_whatsapp_campaign_target ok:",
        ),
        (
            "wa",
            "+33 6 12 34 56 78",
            "insert_whatsapp_campaign_target duplication:",
        ),
        ("wadup", "0612345678", "insert_whatsapp_campaign_target ok:"),
        (
            "wa",
            "01 42 68 53 00",
            "insert_whatsapp_campaign_target invalid_number: +33142685300 is not a mobile phone number",
        ),
        (
            "wa",
            "call me",
            "insert_whatsapp_campaign_target invalid_number: 'call me' is not a phone number",
        ),
        (
            "wabad",
            "06 98 76 54 32",
            "insert_whatsapp_campaign_target error: the priority 10 is outside the campaign's 1 to 9",
        ),
        (
            "wavar",
            "soon",
            "insert_whatsapp_campaign_target error: the priority 'soon' is not a whole number",
        ),
        ("wavar", "7", "insert_whatsapp_campaign_target ok:"),
        (
            "wafield",
            "06 98 76 54 32",
            "insert_whatsapp_campaign_target error: reason: 'Other' is none of the proposals (Invoice, Delivery)",
        ),
        (
            "walayout",
            "06 98 76 54 32",
            "insert_whatsapp_campaign_target error: the campaign has no layout 'Survey'",
        ),
        (
            "voice",
            "01 42 68 53 00",
            "insert_voice_campaign_target ok:",
        ),
        (
            "voice",
            "01 42 68 53 00",
            "insert_voice_campaign_target duplication:",
        ),
        (
            "voicedate",
            "someday",
            "insert_voice_campaign_target error: the start date 'someday' is not a date",
        ),
        ("sms", "06 12 34 56 78", "insert_sms_campaign_target ok:"),
        ("sms", "06 12 34 56 78", "insert_sms_campaign_target ok:"),
        (
            "sms",
            "01 42 68 53 00",
            "insert_sms_campaign_target invalid_number: +33142685300 is not a mobile phone number",
        ),
        (
            "nope",
            "06 12 34 56 78",
            "insert_sms_campaign_target reference_not_found:",
        ),
    ];
    for (n, (ep, said, want)) in cases.iter().enumerate() {
        let answer = talk.say(ep, &format!("c{n}"), said).await;
        let answer = answer.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(answer, *want, "{ep} {said}");
    }

    // the targets as inserted: the number in E.164, the start now or as given, the fields
    let (_, page) = call(
        &base,
        reqwest::Method::GET,
        &format!("campaign-targets?campaign_id={}", ids["WA"]),
        None,
    )
    .await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{page}");
    assert_eq!(items[0]["phone"], "+33612345678");
    assert_eq!(items[0]["start_at"], "2026-06-01T08:00:00Z");
    assert_eq!(
        (&items[0]["priority"], &items[2]["priority"]),
        (&json!(5), &json!(7))
    );
    assert_eq!(
        items[0]["fields"],
        json!({"reason": "Invoice", "amount": 12.5})
    );
    assert_eq!(items[0]["status"], "pending");
    assert!(items[0]["customer_id"].is_string() && items[0]["interaction_id"].is_string());
    let (_, voice) = call(
        &base,
        reqwest::Method::GET,
        &format!("campaign-targets?campaign_id={}", ids["VOICE"]),
        None,
    )
    .await;
    assert_eq!(
        voice["items"][0]["start_at"], "2026-07-01T07:00:00Z",
        "{voice}"
    );
    let (_, sms) = call(
        &base,
        reqwest::Method::GET,
        &format!("campaign-targets?campaign_id={}&limit=1", ids["SMS"]),
        None,
    )
    .await;
    assert!(sms["next_after"].is_string(), "{sms}");
    let r = admin_client()
        .get(format!(
            "{base}/campaign-targets/export?campaign_id={}",
            ids["WA"]
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = r.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "id,phone,start_at,priority,layout,status,reason,amount"
    );
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(
        lines[1].ends_with(",+33612345678,2026-06-01T08:00:00Z,5,Callback,pending,Invoice,12.5"),
        "{csv}"
    );
    let (s, _) = call(
        &base,
        reqwest::Method::GET,
        &format!("campaign-targets?campaign_id={}", uuid::Uuid::now_v7()),
        None,
    )
    .await;
    assert_eq!(s, 404);

    // the campaign that does not exist is warned of at compile
    let diagnostics = support::diagnostics(&base, "nope").await;
    assert!(
        diagnostics.contains("reference_not_found") && diagnostics.contains("NOPE"),
        "{diagnostics}"
    );
    assert!(!diagnostics.contains("action_unavailable"), "{diagnostics}");

    // designers edit campaigns; targets are personal data: supervisors read them
    for (role, campaigns, targets) in [
        ("designer", 200, 403),
        ("supervisor", 403, 200),
        ("viewer", 200, 403),
    ] {
        let (s, t) = call(
            &base,
            reqwest::Method::POST,
            "api-tokens",
            Some(json!({"name": role, "role": role})),
        )
        .await;
        assert_eq!(s, 201, "{t}");
        let bearer = format!("Bearer {}", t["token"].as_str().unwrap());
        for (path, want) in [
            ("sms-campaigns".to_owned(), campaigns),
            (
                format!("campaign-targets?campaign_id={}", ids["SMS"]),
                targets,
            ),
        ] {
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
