//! Cases are written with the turn: routings create and change cases while commits fail before
//! writing, or after writing with the acknowledgement lost, and messages are sent again; each
//! acknowledged message has created exactly one case, changed once and linked to its own
//! interaction only. Seeded: `CASE_SEED=<seed>` replays a failing run, `CASE_SEEDS=n` runs n.

use std::collections::BTreeMap;
use std::sync::Arc;

use flow::catalogue::ObjectKind;
use flow::exec::Inbound;
use runtime::entry_points::EntryPointFields;
use runtime::objects::ObjectFields;
use runtime::{Conversations, InboundMessage, Maker, ManualClock};
use serde_json::{Value, json};
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
}

/// Start → *Create a new case* → *Modify a case* (its status, and the order in the message).
fn opening() -> Value {
    let id = |n: usize| Uuid::from_u128(n as u128 + 1).to_string();
    json!({
        "format": "switchyard.routing", "format_version": 1,
        "routing": {"reference": "OPEN", "name": "Open", "kind": "interaction_start", "channel_family": "messaging"},
        "versions": [{"number": 1, "name": "v1", "status": "production", "tree": {
            "actions": [
                {"id": id(0), "type": "start", "params": {}},
                {"id": id(1), "type": "create_case", "params": {"title": "Order {{ last_message.text }}", "case_type": {"by": "reference", "reference": "CLAIM"}}},
                {"id": id(2), "type": "modify_case", "params": {"fields": [{"field": "status", "value": "In progress"}, {"field": "order", "value": "{{ last_message.text }}"}]}}
            ],
            "links": [
                {"id": id(10), "from": id(0), "branch": "ok", "to": id(1)},
                {"id": id(11), "from": id(1), "branch": "ok", "to": id(2)}
            ]
        }}]
    })
}

/// One run: how many messages were acknowledged and how many commits failed.
async fn run(seed: u64) -> (usize, usize) {
    let mut rng = Rng(seed);
    let sqlite = SqliteStore::in_memory().await.unwrap();
    let clock = Arc::new(ManualClock::new("2026-06-01T08:00:00Z".parse().unwrap()));
    let maker = Arc::new(Maker::new(
        Arc::new(sqlite.clone()),
        clock.clone(),
        jiff::tz::TimeZone::UTC,
    ));
    maker
        .create_object(
            ObjectKind::CaseType,
            ObjectFields {
                reference: Some("CLAIM".into()),
                name: Some("Claim".into()),
                data: Some(json!({
                    "fields": [{"name": "order", "type": "number"}],
                    "statuses": [{"name": "New"}, {"name": "In progress"}]
                })),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let store = Arc::new(Faulty::new(sqlite.clone()));
    let conv = Conversations::start(
        store.clone(),
        maker.clone(),
        runtime::conversations::Settings {
            outbound: runtime::outbound::OutboundPolicy::allowing_loopback(),
            ..Default::default()
        },
    );
    let routing = maker
        .import(flow::document::from_value(opening()).unwrap())
        .await
        .unwrap()
        .routing
        .id;
    conv.create_entry_point(EntryPointFields {
        reference: Some("open".into()),
        name: Some("open".into()),
        channel: Some(flow::entry_point::Channel::Http),
        start_routing_id: Some(Some(routing)),
        callback_url: Some(Some("http://127.0.0.1:9/".into())),
        secret: Some("case-property-secret-0123456789abcdef-012".into()),
        ..EntryPointFields::default()
    })
    .await
    .unwrap();
    let send = async |id: &str, text: &str| {
        conv.receive(
            "open",
            InboundMessage {
                profile_name: None,
                message_id: id.to_owned(),
                customer: format!("cust-{id}"),
                message: Inbound {
                    text: text.to_owned(),
                    ..Inbound::default()
                },
            },
        )
        .await
    };
    // acknowledged message → (its interaction, the order it names)
    let mut acked: BTreeMap<String, (Uuid, u64)> = BTreeMap::new();
    let mut unacked: Vec<(String, u64)> = Vec::new();
    let mut faults = 0;
    for step in 0..30u64 {
        let id = format!("m{step}");
        let order = 100 + step;
        let fault = match rng.below(4) {
            0 => Fault::Before,
            1 => Fault::After,
            _ => Fault::None,
        };
        if !matches!(fault, Fault::None) {
            faults += 1;
            store.fail_next(fault);
        }
        match send(&id, &order.to_string()).await {
            Ok(r) => {
                acked.insert(id, (r.interaction_id, order));
            }
            Err(_) => unacked.push((id, order)),
        }
        // now and then a failed message is sent again at once
        if rng.below(3) == 0
            && let Some((id, order)) = unacked.pop()
        {
            let r = send(&id, &order.to_string()).await.unwrap();
            acked.insert(id, (r.interaction_id, order));
        }
    }
    for (id, order) in unacked {
        let r = send(&id, &order.to_string()).await.unwrap();
        acked.insert(id, (r.interaction_id, order));
    }
    let cases = conv
        .cases(
            &CaseFilter::default(),
            &PageRequest {
                limit: 200,
                after: None,
            },
        )
        .await
        .unwrap()
        .items;
    assert_eq!(
        cases.len(),
        acked.len(),
        "seed {seed}: one case per acknowledged message"
    );
    let mut by_order: BTreeMap<u64, &runtime::cases::Case> = BTreeMap::new();
    for c in &cases {
        let order = c.fields["order"].as_u64().unwrap_or_else(|| {
            panic!(
                "seed {seed}: case {} was not changed: {:?}",
                c.reference, c.fields
            )
        });
        assert_eq!(c.status, "In progress", "seed {seed}");
        assert_eq!(c.title, format!("Order {order}"), "seed {seed}");
        assert!(
            by_order.insert(order, c).is_none(),
            "seed {seed}: two cases for order {order}"
        );
    }
    for (interaction, order) in acked.values() {
        let case = by_order
            .get(order)
            .unwrap_or_else(|| panic!("seed {seed}: no case for order {order}"));
        let links = conv.case_interactions(case.id, 0, 10).await.unwrap();
        assert_eq!(links.len(), 1, "seed {seed}: {links:?}");
        assert_eq!(links[0].interaction_id, *interaction, "seed {seed}");
    }
    (acked.len(), faults)
}

#[tokio::test]
async fn cases_written_by_routings_are_applied_once_whatever_the_commits_do() {
    let seeds: Vec<u64> = match std::env::var("CASE_SEED") {
        Ok(s) => vec![s.parse().unwrap()],
        Err(_) => {
            let n: u64 = std::env::var("CASE_SEEDS")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(6);
            (0..n).map(|k| 0xCA5E_0001 ^ (k * 7919)).collect()
        }
    };
    let (mut acked, mut faults) = (0, 0);
    for seed in seeds {
        let (a, f) = run(seed).await;
        (acked, faults) = (acked + a, faults + f);
    }
    eprintln!("{acked} messages acknowledged, {faults} commits failed");
    assert!(acked > 0 && faults > 0, "{acked} {faults}");
}
