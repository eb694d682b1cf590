//! A property of custom databases: any sequence of row edits (the rows API) and database
//! actions run by routings — with commits that fail before writing, or after writing with the
//! acknowledgement lost, and messages sent again — keeps every row's values of their declared
//! types, unique columns unique, and applies each acknowledged message's writes exactly once.
//! Seeded like the simulation: `DB_SEED=<seed>` replays a failing run, `DB_SEEDS=n` runs n.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use flow::catalogue::ObjectKind;
use flow::database::DatabaseData;
use flow::exec::Inbound;
use runtime::entry_points::EntryPointFields;
use runtime::objects::ObjectFields;
use runtime::{Conversations, InboundMessage, Maker, ManualClock};
use serde_json::{Map, Value, json};
use store::*;
use uuid::Uuid;

/// splitmix64
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, of: &[&'a str]) -> &'a str {
        of[self.below(of.len() as u64) as usize]
    }
}

/// A routing running one database action, then logging the message into LOG (never unique:
/// a message applied twice would show as two log rows).
fn routing(reference: &str, ty: &str, params: Value, branches: &[&str]) -> Value {
    let id = |n: usize| Uuid::from_u128(n as u128 + 1).to_string();
    let log = json!({"database": {"by": "reference", "reference": "LOG"}, "fields": [{"field": "interaction", "value": "{{ interaction.id }}"}]});
    let mut actions = vec![
        json!({"id": id(0), "type": "start", "params": {}}),
        json!({"id": id(1), "type": ty, "params": params}),
        json!({"id": id(2), "type": "save_to_database", "params": log}),
    ];
    let mut links = vec![json!({"id": id(100), "from": id(0), "branch": "ok", "to": id(1)})];
    for (k, b) in branches.iter().enumerate() {
        links.push(json!({"id": id(101 + k), "from": id(1), "branch": b, "to": id(2)}));
    }
    actions.truncate(3);
    json!({
        "format": "switchyard.routing", "format_version": 1,
        "routing": {"reference": reference, "name": reference, "kind": "interaction_start", "channel_family": "messaging"},
        "versions": [{"number": 1, "name": "v1", "status": "production", "tree": {"actions": actions, "links": links}}]
    })
}

const MODIFY: &[&str] = &[
    "ok",
    "error",
    "columns_not_found",
    "no_value_found",
    "no_modification",
];

/// Values the edits and messages draw from: good ones, wrong types, empty.
const NUMBERS: &[&str] = &["1", "2", "3", "4", "5", "2.5", "x", ""];
const CODES: &[&str] = &["a", "b", "A", "é", "e", ""];
const STATUSES: &[&str] = &["Pending", "shipped", "Lost", ""];

fn random_values(rng: &mut Rng) -> Map<String, Value> {
    let mut m = Map::new();
    for (column, of) in [("number", NUMBERS), ("code", CODES), ("status", STATUSES)] {
        match rng.below(4) {
            0 => {}
            1 => {
                m.insert(column.into(), Value::Null);
            }
            _ => {
                let v = rng.pick(of);
                let v = match v.parse::<f64>() {
                    Ok(n) if rng.below(2) == 0 => json!(n),
                    _ => json!(v),
                };
                m.insert(column.into(), v);
            }
        }
    }
    m
}

async fn all_rows(conv: &Conversations, db: Uuid) -> Vec<runtime::databases::Row> {
    let mut rows = Vec::new();
    let mut after = None;
    loop {
        let page = conv.database_rows(db, &[], after, 200).await.unwrap();
        rows.extend(page.items);
        match page.next_after {
            Some(a) => after = Some(a),
            None => return rows,
        }
    }
}

/// Every row's values are what the columns allow, as stored (canonical), and no two rows share
/// a unique column's key.
async fn check(conv: &Conversations, db: Uuid, def: &DatabaseData, seed: u64) {
    let rows = all_rows(conv, db).await;
    let mut seen: HashSet<(String, String)> = HashSet::new();
    for r in &rows {
        let canonical = def.check_row(&r.values, true).unwrap_or_else(|e| {
            panic!(
                "seed {seed}: row {} breaks its columns: {}",
                r.id, e.message
            )
        });
        assert_eq!(
            canonical, r.values,
            "seed {seed}: row {} not canonical",
            r.id
        );
        for k in def.keys(&r.values).into_iter().filter(|k| k.unique) {
            assert!(
                seen.insert((k.column.clone(), k.key.clone())),
                "seed {seed}: {} = {} twice",
                k.column,
                k.key
            );
        }
    }
    assert_eq!(
        conv.database_size(db).await.unwrap(),
        rows.len() as u64,
        "seed {seed}"
    );
}

/// One run: how many messages were acknowledged, how many commits failed, how many rows the
/// routings' actions wrote at some point.
async fn run(seed: u64) -> (usize, usize, usize) {
    let mut rng = Rng(seed);
    let sqlite = SqliteStore::in_memory().await.unwrap();
    let clock = Arc::new(ManualClock::new("2026-06-01T08:00:00Z".parse().unwrap()));
    let maker = Arc::new(Maker::new(
        Arc::new(sqlite.clone()),
        clock.clone(),
        jiff::tz::TimeZone::UTC,
    ));
    let columns = json!({"columns": [
        {"name": "number", "type": "number", "required": true, "unique": true},
        {"name": "code", "type": "text", "unique": true},
        {"name": "status", "type": "list", "proposals": ["Pending", "Shipped"], "indexed": true}
    ]});
    let object = |reference: &str, data: Value| ObjectFields {
        reference: Some(reference.into()),
        name: Some(reference.into()),
        data: Some(data),
        ..Default::default()
    };
    let db = maker
        .create_object(ObjectKind::Database, object("ORDERS", columns.clone()))
        .await
        .unwrap()
        .id;
    let log = maker
        .create_object(
            ObjectKind::Database,
            object(
                "LOG",
                json!({"columns": [{"name": "interaction", "type": "text", "required": true}]}),
            ),
        )
        .await
        .unwrap()
        .id;
    let def: DatabaseData = serde_json::from_value(columns).unwrap();
    let text = "{{ last_message.text }}";
    let by = json!({"by": "reference", "reference": "ORDERS"});
    let routings = [
        (
            "save",
            routing(
                "SAVE",
                "save_to_database",
                json!({"database": by, "fields": [{"field": "number", "value": text}, {"field": "status", "value": "Pending"}]}),
                &["ok", "not_ok"],
            ),
        ),
        (
            "code",
            routing(
                "CODE",
                "modify_database",
                json!({"database": by, "scope": "all_found", "assertions": [{"field": "status", "value": "Pending"}], "fields": [{"field": "code", "value": text}]}),
                MODIFY,
            ),
        ),
        (
            "ship",
            routing(
                "SHIP",
                "modify_database",
                json!({"database": by, "scope": "first_found", "assertions": [{"field": "number", "value": text}], "fields": [{"field": "status", "value": "Shipped"}, {"field": "number", "value": "{{ last_message.text }}"}]}),
                MODIFY,
            ),
        ),
        (
            "renumber",
            routing(
                "RENUMBER",
                "modify_database",
                json!({"database": by, "scope": "all_found", "match": "any", "assertions": [{"field": "status", "value": "Shipped"}, {"field": "code", "value": text}], "fields": [{"field": "number", "value": text}]}),
                MODIFY,
            ),
        ),
    ];
    let store = Arc::new(Faulty::new(sqlite.clone()));
    let settings = runtime::conversations::Settings {
        outbound: runtime::outbound::OutboundPolicy::allowing_loopback(),
        ..Default::default()
    };
    let conv = Conversations::start(store.clone(), maker.clone(), settings);
    for (reference, doc) in &routings {
        let routing = maker
            .import(flow::document::from_value(doc.clone()).unwrap())
            .await
            .unwrap()
            .routing
            .id;
        conv.create_entry_point(EntryPointFields {
            reference: Some((*reference).into()),
            name: Some((*reference).into()),
            channel: Some(flow::entry_point::Channel::Http),
            start_routing_id: Some(Some(routing)),
            callback_url: Some(Some("http://127.0.0.1:9/".into())),
            secret: Some("database-property-secret-0123456789abcdef".into()),
            ..EntryPointFields::default()
        })
        .await
        .unwrap();
    }
    let entry_points: Vec<&str> = routings.iter().map(|(r, _)| *r).collect();

    // acknowledged messages → their interaction; those that failed, to send again
    let mut acked: BTreeMap<String, Uuid> = BTreeMap::new();
    let mut unacked: Vec<(String, String, String)> = Vec::new();
    let mut faults = 0;
    // rows seen that no rows API call added: written by the routings
    let mut by_api: HashSet<Uuid> = HashSet::new();
    let mut written: HashSet<Uuid> = HashSet::new();
    let send = async |ep: &str, id: &str, text: &str| {
        let m = InboundMessage {
            profile_name: None,
            message_id: id.to_owned(),
            customer: format!("cust-{id}"),
            message: Inbound {
                text: text.to_owned(),
                ..Inbound::default()
            },
        };
        conv.receive(ep, m).await
    };
    for step in 0..60 {
        match rng.below(10) {
            0..=4 => {
                let ep = rng.pick(&entry_points);
                let of = if ep == "code" { CODES } else { NUMBERS };
                let text = rng.pick(of).to_owned();
                let id = format!("m{step}");
                let fault = match rng.below(10) {
                    0 => Fault::Before,
                    1 => Fault::After,
                    _ => Fault::None,
                };
                if !matches!(fault, Fault::None) {
                    faults += 1;
                    store.fail_next(fault);
                }
                match send(ep, &id, &text).await {
                    Ok(r) => {
                        acked.insert(id, r.interaction_id);
                    }
                    Err(_) => unacked.push((ep.to_owned(), id, text)),
                }
            }
            5 => {
                if let Some((ep, id, text)) = unacked.pop() {
                    let r = send(&ep, &id, &text).await.unwrap();
                    acked.insert(id, r.interaction_id);
                }
            }
            6 | 7 => {
                if let Ok(r) = conv.insert_database_row(db, &random_values(&mut rng)).await {
                    by_api.insert(r.id);
                }
            }
            8 => {
                let rows = all_rows(&conv, db).await;
                if !rows.is_empty() {
                    let r = &rows[rng.below(rows.len() as u64) as usize];
                    let _ = conv
                        .update_database_row(db, r.id, &random_values(&mut rng), None)
                        .await;
                }
            }
            _ => {
                let rows = all_rows(&conv, db).await;
                if !rows.is_empty() {
                    let r = &rows[rng.below(rows.len() as u64) as usize];
                    conv.delete_database_row(db, r.id).await.unwrap();
                }
            }
        }
        check(&conv, db, &def, seed).await;
        for r in all_rows(&conv, db).await {
            if !by_api.contains(&r.id) {
                written.insert(r.id);
            }
        }
    }
    for (ep, id, text) in unacked {
        let r = send(&ep, &id, &text).await.unwrap();
        acked.insert(id, r.interaction_id);
    }
    check(&conv, db, &def, seed).await;
    // each acknowledged message ran its routing once: one log row per interaction
    let logged: Vec<String> = all_rows(&conv, log)
        .await
        .iter()
        .map(|r| r.values["interaction"].as_str().unwrap().to_owned())
        .collect();
    let mut expected: Vec<String> = acked.values().map(Uuid::to_string).collect();
    expected.sort();
    let mut got = logged.clone();
    got.sort();
    assert_eq!(
        got, expected,
        "seed {seed}: a message's writes applied other than once"
    );
    (acked.len(), faults, written.len())
}

#[tokio::test]
async fn any_edits_and_actions_keep_types_unique_keys_and_apply_once() {
    let seeds: Vec<u64> = match std::env::var("DB_SEED") {
        Ok(s) => vec![s.parse().unwrap()],
        Err(_) => {
            let n: u64 = std::env::var("DB_SEEDS")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(12);
            (0..n).map(|k| 0xD474_BA5E ^ (k * 7919)).collect()
        }
    };
    let (mut acked, mut faults, mut written) = (0, 0, 0);
    for seed in seeds {
        let (a, f, w) = run(seed).await;
        (acked, faults, written) = (acked + a, faults + f, written + w);
    }
    eprintln!(
        "{acked} messages acknowledged, {faults} commits failed, {written} rows written by actions"
    );
    // the runs did what they are for
    assert!(
        acked > 0 && faults > 0 && written > 0,
        "{acked} {faults} {written}"
    );
}
