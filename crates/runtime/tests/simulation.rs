//! Deterministic simulation of many conversations: a manual clock with jumps, duplicated and
//! reordered inbound messages, commits that fail (before writing, or after writing with the
//! acknowledgement lost) and service restarts, all on one thread and one seed. It checks that
//! every acknowledged message is handled exactly once, every pause ends exactly once, and no
//! interaction is lost. A failing run prints its seed: `SIM_SEED=<seed> cargo test -p runtime
//! --test simulation` replays it; `SIM_SEEDS=n` runs n seeds.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use flow::exec::Inbound;
use jiff::SignedDuration;
use runtime::conversations::Settings;
use runtime::entry_points::EntryPointFields;
use runtime::{Conversations, InboundMessage, Maker, ManualClock};
use serde_json::json;
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
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Start → choice (A / B, 60 s) → A: pause 30 s → "done A"; B: "done B"; no or bad answer: "timeout".
fn document() -> serde_json::Value {
    let id = |n: u128| Uuid::from_u128(n).to_string();
    json!({
        "format": "switchyard.routing", "format_version": 1,
        "routing": {"reference": "SIM", "name": "Simulation", "kind": "interaction_start", "channel_family": "messaging"},
        "versions": [{"number": 1, "name": "v1", "status": "production", "tree": {
            "actions": [
                {"id": id(1), "type": "start", "params": {}},
                {"id": id(2), "type": "message_with_choice", "params": {"message": "A or B?", "wait_seconds": 60, "choices": [{"label": "A"}, {"label": "B"}]}},
                {"id": id(3), "type": "pause", "params": {"seconds": 30}, "record_passage": true},
                {"id": id(4), "type": "simple_message", "params": {"message": "done A"}},
                {"id": id(5), "type": "simple_message", "params": {"message": "done B"}},
                {"id": id(6), "type": "simple_message", "params": {"message": "timeout"}}
            ],
            "links": [
                {"id": id(11), "from": id(1), "branch": "ok", "to": id(2)},
                {"id": id(12), "from": id(2), "branch": "link_1", "to": id(3)},
                {"id": id(13), "from": id(3), "branch": "ok", "to": id(4)},
                {"id": id(14), "from": id(2), "branch": "link_2", "to": id(5)},
                {"id": id(15), "from": id(2), "branch": "error", "to": id(6)}
            ]
        }}]
    })
}

struct World {
    store: Arc<Faulty<SqliteStore>>,
    maker: Arc<Maker>,
    clock: Arc<ManualClock>,
}

impl World {
    fn service(&self) -> Arc<Conversations> {
        // the callbacks go to loopback: allowed here
        let settings = Settings {
            outbound: runtime::outbound::OutboundPolicy::allowing_loopback(),
            ..Settings::default()
        };
        Conversations::start(self.store.clone(), self.maker.clone(), settings)
    }
}

async fn simulate(seed: u64, customers: usize) {
    let mut rng = Rng(seed);
    let sqlite = SqliteStore::in_memory().await.unwrap();
    let clock = Arc::new(ManualClock::new("2026-06-01T08:00:00Z".parse().unwrap()));
    let maker = Arc::new(Maker::new(
        Arc::new(sqlite.clone()),
        clock.clone(),
        jiff::tz::TimeZone::UTC,
    ));
    maker
        .import(flow::document::from_value(document()).unwrap())
        .await
        .unwrap();
    let routing = maker.routing_by_reference("SIM").await.unwrap().routing.id;
    let world = World {
        store: Arc::new(Faulty::new(sqlite.clone())),
        maker,
        clock,
    };
    let mut conv = world.service();
    let fields = EntryPointFields {
        reference: Some("sim".into()),
        name: Some("Simulation".into()),
        channel: Some(flow::entry_point::Channel::Http),
        start_routing_id: Some(Some(routing)),
        callback_url: Some(Some("http://127.0.0.1:9/".into())),
        secret: Some("simulation-channel-secret-0123456789abcdef".into()),
        ..EntryPointFields::default()
    };
    conv.create_entry_point(fields).await.unwrap();

    // each customer's script: a first message, then maybe an answer
    let mut scripts: Vec<Vec<(String, String)>> = (0..customers)
        .map(|c| {
            let mut s = vec![(format!("c{c}-m1"), format!("hello from c{c}"))];
            match rng.below(4) {
                0 => s.push((format!("c{c}-m2"), "1".into())),
                1 => s.push((format!("c{c}-m2"), "B".into())),
                2 => s.push((format!("c{c}-m2"), format!("no idea c{c}"))),
                _ => {} // never answers: the choice times out
            }
            s
        })
        .collect();
    for s in &mut scripts {
        s.reverse(); // popped from the end
    }
    let mut acked: BTreeMap<String, (usize, String, Uuid)> = BTreeMap::new();
    let mut sent: Vec<(usize, String, String)> = Vec::new();
    let mut unacked: Vec<(usize, String, String)> = Vec::new();
    let (mut restarts, mut faults, mut jumps) = (0, 0, 0);

    let send = |conv: &Arc<Conversations>, c: usize, id: String, text: String| {
        let conv = conv.clone();
        async move {
            let m = InboundMessage {
                profile_name: None,
                message_id: id,
                customer: format!("cust-{c}"),
                message: Inbound {
                    text,
                    ..Inbound::default()
                },
            };
            conv.receive("sim", m).await
        }
    };

    let steps = customers * 6;
    for _ in 0..steps {
        match rng.below(100) {
            // a customer sends the next message of their script; sometimes a later customer's
            // message overtakes an earlier one's (reordering across customers)
            0..=44 => {
                let c = rng.below(customers as u64) as usize;
                let Some((id, text)) = scripts[c].pop() else {
                    continue;
                };
                if rng.chance(3) {
                    world.store.fail_next(if rng.chance(50) {
                        Fault::Before
                    } else {
                        Fault::After
                    });
                    faults += 1;
                }
                sent.push((c, id.clone(), text.clone()));
                match send(&conv, c, id.clone(), text.clone()).await {
                    Ok(r) => {
                        acked.entry(id).or_insert((c, text, r.interaction_id));
                    }
                    Err(_) => unacked.push((c, id, text)),
                }
            }
            // a duplicate of something already sent (the channel retries)
            45..=59 => {
                if sent.is_empty() {
                    continue;
                }
                let (c, id, text) = sent[rng.below(sent.len() as u64) as usize].clone();
                match send(&conv, c, id.clone(), text.clone()).await {
                    Ok(r) => {
                        let first = acked
                            .entry(id.clone())
                            .or_insert((c, text, r.interaction_id));
                        assert_eq!(
                            first.2, r.interaction_id,
                            "seed {seed}: {id} acknowledged for two interactions"
                        );
                    }
                    Err(_) => unacked.push((c, id, text)),
                }
            }
            // a message that failed is sent again
            60..=69 => {
                if let Some((c, id, text)) = unacked.pop()
                    && let Ok(r) = send(&conv, c, id.clone(), text.clone()).await
                {
                    acked.entry(id).or_insert((c, text, r.interaction_id));
                }
            }
            // time jumps, and due timers fire
            70..=94 => {
                world
                    .clock
                    .advance(SignedDuration::from_secs(rng.below(90) as i64));
                jumps += 1;
                conv.fire_due()
                    .await
                    .unwrap_or_else(|e| panic!("seed {seed}: timers: {e}"));
            }
            // the service restarts (its caches and locks are gone; the store remains)
            _ => {
                conv = world.service();
                restarts += 1;
            }
        }
    }

    // the end: no more faults; everything unsent or unacknowledged is sent; time runs out
    world.store.fail_next(Fault::None);
    for (c, s) in scripts.iter_mut().enumerate() {
        while let Some((id, text)) = s.pop() {
            unacked.push((c, id, text));
        }
    }
    for (c, id, text) in unacked.drain(..) {
        let r = send(&conv, c, id.clone(), text.clone())
            .await
            .unwrap_or_else(|e| panic!("seed {seed}: {id}: {e}"));
        acked.entry(id).or_insert((c, text, r.interaction_id));
    }
    for _ in 0..5 {
        world.clock.advance(SignedDuration::from_mins(10));
        while conv.fire_due().await.unwrap() > 0 {}
    }

    // every acknowledged message handled once, in the interaction it was acknowledged for
    let mut per_interaction: HashMap<Uuid, Vec<String>> = HashMap::new();
    for (id, (_, _, interaction)) in &acked {
        per_interaction
            .entry(*interaction)
            .or_default()
            .push(id.clone());
    }
    let mut closed = 0;
    for (interaction, ids) in &per_interaction {
        let row = sqlite
            .interaction(*interaction)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("seed {seed}: interaction {interaction} lost"));
        let events = sqlite.events(*interaction, 0, 10_000).await.unwrap();
        for id in ids {
            let text = &acked[id].1;
            let n = events
                .iter()
                .filter(|e| e.event["type"] == "message_in" && e.event["text"] == *text)
                .count();
            assert_eq!(n, 1, "seed {seed}: message {id} handled {n} times");
        }
        // every pause ended exactly once: one "done A" per passage through the pause
        let pauses = events
            .iter()
            .filter(|e| e.event["type"] == "passage" && e.event["action_type"] == "pause")
            .count();
        let done_a = events
            .iter()
            .filter(|e| e.event["type"] == "message_out" && e.event["message"]["text"] == "done A")
            .count();
        assert_eq!(
            pauses, done_a,
            "seed {seed}: interaction {interaction}: {pauses} pauses, {done_a} ends"
        );
        assert!(
            row.wake_at.is_none(),
            "seed {seed}: interaction {interaction} still waits after time ran out"
        );
        if row.status == flow::interaction::InteractionStatus::Closed {
            closed += 1;
        }
    }
    assert_eq!(
        closed,
        per_interaction.len(),
        "seed {seed}: every interaction ended"
    );
    let customers_with_acks: std::collections::HashSet<usize> =
        acked.values().map(|a| a.0).collect();
    assert_eq!(
        customers_with_acks.len(),
        customers,
        "seed {seed}: every customer was acknowledged"
    );
    eprintln!(
        "seed {seed}: {customers} customers, {} messages acknowledged, {} interactions, {faults} injected commit faults, {restarts} restarts, {jumps} clock jumps",
        acked.len(),
        per_interaction.len()
    );
}

#[tokio::test(flavor = "current_thread")]
async fn conversations_survive_faults_restarts_duplicates_and_time_jumps() {
    let seeds: Vec<u64> = match (std::env::var("SIM_SEED"), std::env::var("SIM_SEEDS")) {
        (Ok(s), _) => vec![s.parse().expect("SIM_SEED is a number")],
        (_, Ok(n)) => (1..=n.parse::<u64>().expect("SIM_SEEDS is a number")).collect(),
        _ => vec![20_261_121],
    };
    for seed in seeds {
        eprintln!("simulation seed {seed}");
        simulate(seed, 1_000).await;
    }
}
