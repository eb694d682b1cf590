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

/// A database of orders: a unique, required number, an indexed customer, a status from a list.
async fn orders(base: &str) -> String {
    let columns = json!([
        {"name": "number", "type": "number", "required": true, "unique": true, "indexed": true},
        {"name": "customer", "type": "text", "indexed": true},
        {"name": "status", "type": "list", "proposals": ["Pending", "Shipped"]},
        {"name": "shipped_on", "type": "date"},
        {"name": "paid", "type": "boolean"}
    ]);
    let (s, db) = call(
        base,
        reqwest::Method::POST,
        "databases",
        Some(json!({"reference": "ORDERS", "name": "Orders", "data": {"columns": columns}})),
    )
    .await;
    assert_eq!(s, 201, "{db}");
    db["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn rows_crud_filters_pages_and_their_checks() {
    let server = support::start(runtime::ServiceSettings::default(), support::limits()).await;
    let base = format!("{}/api/v1", server.root);
    let db = orders(&base).await;
    let rows = format!("databases/{db}/rows");
    let post = |values: Value| {
        let (base, rows) = (base.clone(), rows.clone());
        async move {
            call(
                &base,
                reqwest::Method::POST,
                &rows,
                Some(json!({ "values": values })),
            )
            .await
        }
    };
    let (s, first) =
        post(json!({"number": 41, "customer": "Ann Été", "status": "pending", "shipped_on": "2026-05-30", "paid": true}))
            .await;
    assert_eq!(s, 201, "{first}");
    // a LIST value is stored as its proposal is written
    assert_eq!(first["values"]["status"], "Pending");
    assert_eq!(first["revision"], 1);
    for n in 42..=45 {
        let (s, r) = post(json!({"number": n, "customer": format!("c{n}"), "status": if n % 2 == 0 { "Shipped" } else { "Pending" }})).await;
        assert_eq!(s, 201, "{r}");
    }
    for (values, status, code, why) in [
        (json!({"number": 41}), 409, "unique_value_taken", "number"),
        (json!({"customer": "Bob"}), 422, "invalid_row", "number"),
        (json!({"number": "forty"}), 422, "invalid_row", "number"),
        (
            json!({"number": 50, "status": "Lost"}),
            422,
            "invalid_row",
            "Pending",
        ),
        (
            json!({"number": 50, "shipped_on": "30/05/2026"}),
            422,
            "invalid_row",
            "shipped_on",
        ),
        (
            json!({"number": 50, "colour": "red"}),
            422,
            "invalid_row",
            "colour",
        ),
    ] {
        let (s, p) = post(values.clone()).await;
        assert_eq!(
            (s, p["code"].as_str()),
            (status, Some(code)),
            "{values}: {p}"
        );
        assert!(p["detail"].to_string().contains(why), "{values}: {p}");
    }

    // filters compare as searches do: without case or accents; numbers as numbers
    let list = |query: &str| {
        let (base, path) = (base.clone(), format!("{rows}?{query}"));
        async move { call(&base, reqwest::Method::GET, &path, None).await }
    };
    let (s, p) = list("filter=customer:ann%20ete").await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["items"].as_array().unwrap().len(), 1, "{p}");
    assert_eq!(p["total"], 5);
    let (_, p) = list("filter=status:SHIPPED").await;
    let numbers: Vec<i64> = p["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["values"]["number"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [42, 44]);
    let (_, p) = list("filter=status:pending&filter=number:43.0").await;
    assert_eq!(p["items"].as_array().unwrap().len(), 1, "{p}");
    // pages, in the order rows were added
    let (_, page1) = list("limit=2").await;
    let after = page1["next_after"].as_str().unwrap();
    let (_, page2) = list(&format!("limit=2&after={after}")).await;
    assert_eq!(page2["items"][0]["values"]["number"], 43);
    for (query, status, code) in [
        ("filter=colour:red", 422, "unknown_column"),
        ("filter=nocolon", 400, "invalid_query"),
        ("limit=0", 400, "invalid_query"),
        ("sort=number", 400, "invalid_query"),
    ] {
        let (s, p) = list(query).await;
        assert_eq!(
            (s, p["code"].as_str()),
            (status, Some(code)),
            "{query}: {p}"
        );
    }

    // one row, changed with its revision, removed
    let id = first["id"].as_str().unwrap();
    let one = format!("{rows}/{id}");
    let r = admin_client()
        .get(format!("{base}/{one}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["etag"], "\"1\"");
    let patch = |body: Value, revision: &str| {
        admin_client()
            .patch(format!("{base}/{one}"))
            .header("if-match", revision)
            .json(&body)
            .send()
    };
    let r = patch(
        json!({"values": {"status": "Shipped", "paid": null}}),
        "\"1\"",
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let changed: Value = r.json().await.unwrap();
    assert_eq!(
        (
            changed["values"]["status"].as_str(),
            changed["revision"].as_u64()
        ),
        (Some("Shipped"), Some(2))
    );
    assert!(changed["values"].get("paid").is_none(), "{changed}");
    let r = patch(json!({"values": {"status": "Pending"}}), "\"1\"")
        .await
        .unwrap();
    assert_eq!(r.status(), 412);
    let r = patch(json!({"values": {"number": 42}}), "\"2\"")
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let r = patch(json!({"values": {"number": null}}), "\"2\"")
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let (s, _) = call(&base, reqwest::Method::DELETE, &one, None).await;
    assert_eq!(s, 204);
    let (s, p) = call(&base, reqwest::Method::GET, &one, None).await;
    assert_eq!((s, p["code"].as_str()), (404, Some("not_found")));
    let (s, _) = call(&base, reqwest::Method::DELETE, &one, None).await;
    assert_eq!(s, 404);
    // its number is free again
    let (s, _) = post(json!({"number": 41})).await;
    assert_eq!(s, 201);

    // a definition change the rows do not fit is refused with the rows that stop it
    let (_, object) = call(
        &base,
        reqwest::Method::GET,
        &format!("databases/{db}"),
        None,
    )
    .await;
    let mut data = object["data"].clone();
    data["columns"][1]["required"] = json!(true);
    let (s, p) = call(
        &base,
        reqwest::Method::PATCH,
        &format!("databases/{db}"),
        Some(json!({"data": data})),
    )
    .await;
    assert_eq!(
        (s, p["code"].as_str()),
        (409, Some("rows_incompatible")),
        "{p}"
    );
    // one the rows fit applies: a new column, a column removed
    let mut data = object["data"].clone();
    data["columns"].as_array_mut().unwrap().remove(4);
    data["columns"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "note", "type": "text"}));
    let (s, p) = call(
        &base,
        reqwest::Method::PATCH,
        &format!("databases/{db}"),
        Some(json!({"data": data})),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    let (_, p) = list("filter=number:45").await;
    assert!(p["items"][0]["values"].get("paid").is_none(), "{p}");
    let (s, _) = list("filter=paid:true").await;
    assert_eq!(s, 422);

    // the database's rows go with it
    let (s, _) = call(
        &base,
        reqwest::Method::DELETE,
        &format!("databases/{db}"),
        None,
    )
    .await;
    assert_eq!(s, 204);
    let (s, _) = list("").await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn csv_import_reports_each_refused_line_and_export_gives_the_rows_back() {
    let server = support::start(runtime::ServiceSettings::default(), support::limits()).await;
    let base = format!("{}/api/v1", server.root);
    let db = orders(&base).await;
    let import = |body: String| {
        admin_client()
            .post(format!("{base}/databases/{db}/rows/import"))
            .header("content-type", "text/csv")
            .body(body)
            .send()
    };
    let mut csv = String::from("customer,number,status\n");
    csv.push_str("\"Dupont, Ann\",1,Pending\n");
    csv.push_str("Bob,two,Pending\n"); // line 3: not a number
    csv.push_str("Carl,1,Shipped\n"); // line 4: number taken by line 2
    csv.push_str("Dan,4,Lost\n"); // line 5: not a proposal
    csv.push_str(",5,\n"); // a row with a number only
    csv.push_str("\"Multi\nline\",6,shipped\n");
    for n in 100..1_300 {
        csv.push_str(&format!("c{n},{n},Pending\n"));
    }
    let r = import(csv).await.unwrap();
    assert_eq!(r.status(), 200);
    let report: Value = r.json().await.unwrap();
    assert_eq!(
        (report["inserted"].as_u64(), report["refused"].as_u64()),
        (Some(1_203), Some(3)),
        "{report}"
    );
    let lines: Vec<u64> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [3, 4, 5], "{report}");
    assert!(
        report["errors"][1]["message"]
            .as_str()
            .unwrap()
            .contains("number"),
        "{report}"
    );
    let (_, p) = call(
        &base,
        reqwest::Method::GET,
        &format!("databases/{db}/rows?filter=number:6"),
        None,
    )
    .await;
    assert_eq!(p["items"][0]["values"]["customer"], "Multi\nline");
    assert_eq!(p["items"][0]["values"]["status"], "Shipped");

    // a header naming a column the database lacks refuses the file; so does an empty one
    for bad in [
        "number,colour\n1,red\n",
        "number,number\n1,2\n",
        // the header's names are read without case, so this too names a column twice
        "number,NUMBER\n1,2\n",
        "",
    ] {
        let r = import(bad.to_owned()).await.unwrap();
        assert_eq!(r.status(), 422, "{bad:?}");
        let p: Value = r.json().await.unwrap();
        assert_eq!(p["code"], "invalid_row", "{p}");
    }
    // a header in another case names the columns; a unique value a stored row holds refuses
    // its line, the others are written
    let r = import("NUMBER,Customer\n6,Again\n7,Eve\n".to_owned())
        .await
        .unwrap();
    let report: Value = r.json().await.unwrap();
    assert_eq!(
        (report["inserted"].as_u64(), report["refused"].as_u64()),
        (Some(1), Some(1)),
        "{report}"
    );
    assert_eq!(report["errors"][0]["line"], 2, "{report}");
    assert!(
        report["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("another row"),
        "{report}"
    );

    // the export streams every row back, the header first, quoted where needed
    let r = admin_client()
        .get(format!("{base}/databases/{db}/rows/export"))
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
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("ORDERS.csv")
    );
    let text = r.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        header,
        ["number", "customer", "status", "shipped_on", "paid"]
    );
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 1_204);
    assert_eq!(&records[0][1], "Dupont, Ann");
    assert_eq!(&records[2][1], "Multi\nline");
    // exported then imported into a copy, the rows are the same
    let (_, copy) = call(
        &base,
        reqwest::Method::POST,
        "databases",
        Some(
            json!({"reference": "COPY", "name": "Copy", "data": {"columns": [
        {"name": "number", "type": "number", "required": true, "unique": true},
        {"name": "customer", "type": "text"},
        {"name": "status", "type": "list", "proposals": ["Pending", "Shipped"]},
        {"name": "shipped_on", "type": "date"},
        {"name": "paid", "type": "boolean"}]}}),
        ),
    )
    .await;
    let r = admin_client()
        .post(format!(
            "{base}/databases/{}/rows/import",
            copy["id"].as_str().unwrap()
        ))
        .header("content-type", "text/csv")
        .body(text)
        .send()
        .await
        .unwrap();
    let report: Value = r.json().await.unwrap();
    assert_eq!(
        (report["inserted"].as_u64(), report["refused"].as_u64()),
        (Some(1_204), Some(0)),
        "{report}"
    );
}

/// A receiver of the HTTP channel's deliveries: `(customer, text)` in the order they came.
async fn callbacks() -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
) {
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = got.clone();
    let app = axum::Router::new().route(
        "/cb",
        axum::routing::post(move |body: axum::Json<Value>| {
            let kept = kept.clone();
            async move {
                kept.lock().unwrap().push((
                    body["customer"].as_str().unwrap_or_default().to_owned(),
                    body["message"]["text"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                ));
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cb", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

/// A routing document with one production version: the Start, then `action`, then a message
/// per branch saying the branch and `system.error`.
fn one_action_routing(reference: &str, ty: &str, params: Value, branches: &[&str]) -> Value {
    let id = |n: usize| uuid::Uuid::from_u128(n as u128 + 1).to_string();
    let mut actions = vec![
        json!({"id": id(0), "type": "start", "params": {}}),
        json!({"id": id(1), "type": ty, "params": params}),
    ];
    let mut links = vec![json!({"id": id(1_000), "from": id(0), "branch": "ok", "to": id(1)})];
    for (k, branch) in branches.iter().enumerate() {
        actions.push(json!({"id": id(2 + k), "type": "simple_message", "params": {"message": format!("{branch}: {{{{ order.customer }}}} {{{{ order.status }}}} {{{{ system.error }}}}")}}));
        links.push(json!({"id": id(1_001 + k), "from": id(1), "branch": branch, "to": id(2 + k)}));
    }
    json!({
        "format": "switchyard.routing", "format_version": 1,
        "routing": {"reference": reference, "name": reference, "kind": "interaction_start", "channel_family": "messaging"},
        "versions": [{"number": 1, "name": "v1", "status": "production", "tree": {"actions": actions, "links": links}}]
    })
}

#[tokio::test]
async fn the_database_actions_take_every_branch_in_production() {
    let server = support::start(runtime::ServiceSettings::default(), support::limits()).await;
    let base = format!("{}/api/v1", server.root);
    let db = orders(&base).await;
    let (callback_url, got) = callbacks().await;
    let text = "{{ last_message.text }}";
    let number = |column: &str| json!({"field": column, "value": text});
    let by = json!({"by": "reference", "reference": "ORDERS"});
    let routings = [
        (
            "find",
            "fill_variables_from_database",
            json!({"database": by, "assertions": [number("number")], "outputs": [{"field": "customer", "variable": "order.customer"}, {"field": "status", "variable": "order.status"}]}),
            &["ok", "not_found"][..],
        ),
        (
            "save",
            "save_to_database",
            json!({"database": by, "fields": [number("number"), {"field": "status", "value": "Pending"}, {"field": "customer", "value": "web"}]}),
            &["ok", "not_ok"][..],
        ),
        (
            "ship",
            "modify_database",
            json!({"database": by, "scope": "all_found", "assertions": [{"field": "status", "value": text}], "fields": [{"field": "status", "value": "Shipped"}]}),
            &[
                "ok",
                "error",
                "columns_not_found",
                "no_value_found",
                "no_modification",
            ][..],
        ),
        (
            "renumber",
            "modify_database",
            json!({"database": by, "scope": "first_found", "assertions": [number("number")], "fields": [{"field": "number", "value": "1"}]}),
            &[
                "ok",
                "error",
                "columns_not_found",
                "no_value_found",
                "no_modification",
            ][..],
        ),
        (
            "colour",
            "modify_database",
            json!({"database": by, "scope": "first_found", "assertions": [number("colour")], "fields": [{"field": "status", "value": "Shipped"}]}),
            &[
                "ok",
                "error",
                "columns_not_found",
                "no_value_found",
                "no_modification",
            ][..],
        ),
    ];
    for (reference, ty, params, branches) in routings {
        let (s, imported) = call(
            &base,
            reqwest::Method::POST,
            "routings/import",
            Some(one_action_routing(
                &reference.to_uppercase(),
                ty,
                params,
                branches,
            )),
        )
        .await;
        assert_eq!(s, 201, "{imported}");
        let (s, ep) = call(&base, reqwest::Method::POST, "entry-points", Some(json!({"reference": reference, "name": reference, "channel": "http", "secret": support::CHANNEL_SECRET, "start_routing_id": imported["routing"]["id"], "callback_url": callback_url}))).await;
        assert_eq!(s, 201, "{ep}");
    }
    let mut n = 0;
    let mut say = async |ep: &str, text: &str| -> String {
        n += 1;
        let customer = format!("c{n}");
        let body = json!({"message_id": format!("m{n}"), "from": customer, "text": text});
        let r = support::signed(
            admin_client().post(format!("{base}/channels/http/{ep}/messages")),
            &body,
        )
        .send()
        .await
        .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        for _ in 0..500 {
            if let Some((_, t)) = got.lock().unwrap().iter().find(|(c, _)| *c == customer) {
                return t.trim().to_owned();
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("no answer to {text:?} on {ep}");
    };
    assert_eq!(say("find", "7").await, "not_found:");
    let saved = say("save", "7").await;
    assert_eq!(saved, "ok:");
    assert_eq!(say("find", "7").await, "ok: web Pending");
    // the number is taken now; a text is no number
    let taken = say("save", "7").await;
    assert!(
        taken.starts_with("not_ok:") && taken.contains("number"),
        "{taken}"
    );
    let nan = say("save", "seven").await;
    assert!(
        nan.starts_with("not_ok:") && nan.contains("number"),
        "{nan}"
    );
    assert_eq!(say("save", "8").await, "ok:");
    // every pending order is shipped, then none is left to change
    assert_eq!(say("ship", "pending").await, "ok:");
    assert_eq!(say("find", "8").await, "ok: web Shipped");
    assert_eq!(say("ship", "pending").await, "no_value_found:");
    assert_eq!(say("ship", "Shipped").await, "no_modification:");
    // order 7 takes number 1; order 8 cannot (unique)
    assert_eq!(say("renumber", "7").await, "ok:");
    let dup = say("renumber", "8").await;
    assert!(dup.starts_with("error:"), "{dup}");
    let missing = say("colour", "red").await;
    assert!(
        missing.starts_with("columns_not_found:") && missing.contains("colour"),
        "{missing}"
    );
    // what the actions wrote is in the rows, and nothing twice
    let (_, p) = call(
        &base,
        reqwest::Method::GET,
        &format!("databases/{db}/rows"),
        None,
    )
    .await;
    let rows: Vec<(i64, &str)> = p["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["values"]["number"].as_i64().unwrap(),
                r["values"]["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(rows, [(1, "Shipped"), (8, "Shipped")], "{p}");
    // the history says what each action did
    let (_, list) = call(&base, reqwest::Method::GET, "interactions?limit=200", None).await;
    let mut notes = Vec::new();
    for i in list["items"].as_array().unwrap() {
        let (_, one) = call(
            &base,
            reqwest::Method::GET,
            &format!("interactions/{}", i["id"].as_str().unwrap()),
            None,
        )
        .await;
        for e in one["events"].as_array().unwrap() {
            if e["event"]["detail"]["note"] == "database" {
                notes.push(e["event"]["detail"].clone());
            }
        }
    }
    assert_eq!(notes.len(), 13, "{notes:?}");
    let shipped = notes.iter().find(|n| n["op"] == "modify" && n["rows"] == 2);
    assert!(
        shipped.is_some_and(|n| n["database"] == "ORDERS" && n.get("written").is_none()),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n["op"] == "insert"
                && n["error"].as_str().is_some_and(|e| e.contains("unique"))),
        "{notes:?}"
    );
}

/// Sends `body` to `path` over a plain connection in three parts, `pause` apart (a slow
/// upload); the response's status and body.
async fn trickle(
    root: &str,
    path: &str,
    content_type: &str,
    body: &str,
    pause: std::time::Duration,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = root.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        support::ADMIN,
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let third = body.len() / 3;
    for part in [&body[..third], &body[third..2 * third], &body[2 * third..]] {
        s.write_all(part.as_bytes()).await.unwrap();
        s.flush().await.unwrap();
        tokio::time::sleep(pause).await;
    }
    let mut out = Vec::new();
    // the server may answer (and close) before the last part is read
    let _ = s.read_to_end(&mut out).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    (status, body)
}

#[tokio::test]
async fn an_import_may_take_longer_than_the_request_timeout_other_requests_may_not() {
    let limits = api::HttpLimits {
        request_timeout: std::time::Duration::from_secs(1),
        ..support::limits()
    };
    let server = support::start(runtime::ServiceSettings::default(), limits).await;
    let base = format!("{}/api/v1", server.root);
    let db = orders(&base).await;
    let pause = std::time::Duration::from_millis(700);
    // an import arriving over about 2 s is read to its end and reported
    let csv = "number,customer\n1,Ann\n2,Bob\n3,Carl\n4,Dan\n";
    let (status, body) = trickle(
        &server.root,
        &format!("/api/v1/databases/{db}/rows/import"),
        "text/csv",
        csv,
        pause,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"inserted\":4"), "{body}");
    // a row sent as slowly is cut at the server's request timeout
    let row = r#"{"values": {"number": 5, "customer": "Eve"}}"#;
    let (status, body) = trickle(
        &server.root,
        &format!("/api/v1/databases/{db}/rows"),
        "application/json",
        row,
        pause,
    )
    .await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("request_timeout"), "{body}");
}
