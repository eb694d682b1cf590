//! Engine throughput: `cargo bench -p engine`. A ten-action reference routing run from Start to
//! its end, one interaction per iteration; prints actions per second on one core.

use std::hint::black_box;
use std::time::{Duration, Instant};

use engine::testing::program;
use engine::{Input, Limits, MemoryWorld, State, handle};
use flow::{ChannelFamily, RoutingKind};
use serde_json::json;

fn main() {
    let (p, _) = program(
        "REF",
        ChannelFamily::Messaging,
        RoutingKind::InteractionStart,
        &[
            ("start", json!({})),
            (
                "assign_variables",
                json!({"assignments": [{"variable": "c.segment", "value": "vip"}, {"variable": "c.score", "value": "12"}]}),
            ),
            (
                "test_values",
                json!({"conditions": [{"value": "{{ c.segment }}", "operator": "equals", "operand": "vip"}, {"value": "{{ c.score }}", "operator": "greater_or_equal", "operand": "10"}]}),
            ),
            ("check_passages", json!({"max_passages": 3})),
            ("load_sharing", json!({"loads": [50, 50]})),
            (
                "add_checkpoint",
                json!({"checkpoint": {"by": "reference", "reference": "VIP"}}),
            ),
            (
                "values_table",
                json!({"table": {"by": "reference", "reference": "LANG"}, "lookup": "fr", "store_in": "c.greeting"}),
            ),
            ("node", json!({})),
            (
                "date_time",
                json!({"source": {"from": "now"}, "operation": {"op": "add", "amount": {"days": 1}}, "store_in": "c.tomorrow"}),
            ),
            (
                "simple_message",
                json!({"message": "{{ c.greeting }}, see you {{ c.tomorrow }}"}),
            ),
        ],
        &[
            (0, "ok", 1),
            (1, "ok", 2),
            (2, "yes", 3),
            (3, "less_or_equal", 4),
            (4, "link_1", 5),
            (4, "link_2", 5),
            (5, "ok", 6),
            (6, "ok", 7),
            (7, "ok", 8),
            (8, "ok", 9),
        ],
    );
    let mut world = MemoryWorld::new(jiff::tz::TimeZone::get("Europe/Paris").unwrap());
    world.checkpoints.insert("VIP".into());
    world.value_tables.insert(
        "LANG".into(),
        [("fr".to_owned(), Some("Bonjour".to_owned()))].into(),
    );
    let p = world.add(p, true);
    let limits = Limits::default();
    let now: jiff::Timestamp = "2026-06-01T08:00:00Z".parse().unwrap();

    let mut actions = 0u64;
    let mut best = Duration::MAX;
    let started = Instant::now();
    let mut seed = 1;
    while started.elapsed() < Duration::from_secs(2) {
        let t = Instant::now();
        for _ in 0..1_000 {
            seed += 1;
            let mut state = State::new(&p, seed, serde_json::Map::new());
            let turn = handle(&mut state, Input::Start, now, &world, &limits);
            assert_eq!(turn.steps, 10);
            actions += u64::from(turn.steps);
            black_box(turn);
        }
        best = best.min(t.elapsed());
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "ten-action reference routing: {:.0} actions/s on one core ({:.0} interactions/s); best 1 000 interactions in {best:.1?}",
        actions as f64 / secs,
        actions as f64 / secs / 10.0
    );
}
