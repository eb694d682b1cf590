//! Custom database definitions as business objects: typed columns (text, number, date,
//! boolean, LIST with its proposals), required, unique and indexed ones; bad definitions
//! refused with the reason; the database actions find the ones they name at compile.

use serde_json::{Value, json};

mod support;

use support::admin_client;

async fn call(
    base: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = admin_client().request(method, format!("{base}/{path}"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn database_definitions_are_checked_and_found_at_compile() {
    let server = support::start(runtime::ServiceSettings::default(), support::limits()).await;
    let base = format!("{}/api/v1", server.root);
    let columns = json!([
        {"name": "number", "type": "number", "required": true, "unique": true},
        {"name": "customer", "type": "text", "indexed": true},
        {"name": "shipped_on", "type": "date"},
        {"name": "paid", "type": "boolean"},
        {"name": "status", "type": "list", "proposals": ["Pending", "Shipped"]}
    ]);
    let (s, db) = call(
        &base,
        reqwest::Method::POST,
        "databases",
        Some(json!({"reference": "ORDERS", "name": "Orders", "data": {"columns": columns}})),
    )
    .await;
    assert_eq!(s, 201, "{db}");
    assert_eq!(db["data"]["columns"][0]["unique"], true);
    assert_eq!(
        db["data"]["columns"][4]["proposals"],
        json!(["Pending", "Shipped"])
    );
    // the kind is listed with its schema, for the Maker's generic page
    let (_, kinds) = call(&base, reqwest::Method::GET, "object-kinds", None).await;
    let kind = kinds
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "database")
        .cloned()
        .unwrap();
    assert_eq!(
        (kind["path"].as_str(), kind["resource"].as_str()),
        (Some("/databases"), Some("databases"))
    );
    assert!(kind["data_schema"]["properties"]["columns"].is_object());

    for (data, why) in [
        (json!({"columns": []}), "1 to 50 columns"),
        (
            json!({"columns": [{"name": "a", "type": "text"}, {"name": "A", "type": "number"}]}),
            "appears twice",
        ),
        (
            json!({"columns": [{"name": "status", "type": "list"}]}),
            "proposals",
        ),
        (
            json!({"columns": [{"name": "n", "type": "text", "proposals": ["x"]}]}),
            "only a LIST column",
        ),
        (
            json!({"columns": [{"name": "n", "type": "money"}]}),
            "unknown variant",
        ),
    ] {
        let (s, p) = call(
            &base,
            reqwest::Method::POST,
            "databases",
            Some(json!({"reference": "BAD", "name": "Bad", "data": data})),
        )
        .await;
        assert_eq!((s, p["code"].as_str()), (422, Some("invalid_field")), "{p}");
        assert!(p.to_string().contains(why), "{why}: {p}");
    }

    // a routing naming it and one that does not exist: only the missing one is warned of
    let (_, r) = call(&base, reqwest::Method::POST, "routings", Some(json!({"name": "Lookup", "reference": "LOOKUP", "kind": "interaction_start", "channel_family": "messaging"}))).await;
    let (_, v) = call(
        &base,
        reqwest::Method::POST,
        &format!("routings/{}/versions", r["id"].as_str().unwrap()),
        Some(json!({"name": "v1"})),
    )
    .await;
    let vid = v["id"].as_str().unwrap();
    let start = v["tree"]["actions"][0]["id"].as_str().unwrap();
    let mut after = start.to_owned();
    for reference in ["ORDERS", "NOPE"] {
        let body = json!({"type": "fill_variables_from_database", "params": {"database": {"by": "reference", "reference": reference}, "assertions": [{"field": "number", "value": "42"}], "outputs": [{"field": "status", "variable": "order.status"}]}, "after": {"action_id": after, "branch": "ok"}});
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
}
