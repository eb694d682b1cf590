//! Benchmarks of the pure core: `cargo bench -p flow`. Prints one line per case: iterations,
//! mean and best time per iteration. Figures go to BENCHMARKS.md.

use std::hint::black_box;
use std::time::{Duration, Instant};

use flow::ChannelFamily;
use flow::compile::{NoResolver, compile};
use flow::tree::{NewAction, Position, Tree};
use serde_json::json;
use uuid::Uuid;

fn bench(name: &str, mut f: impl FnMut()) {
    // warm up, then run batches for about a second
    for _ in 0..3 {
        f();
    }
    let mut best = Duration::MAX;
    let mut total = Duration::ZERO;
    let mut n = 0u32;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(1) {
        let t = Instant::now();
        f();
        let e = t.elapsed();
        best = best.min(e);
        total += e;
        n += 1;
    }
    println!(
        "{name:<48} {n:>8} iters   mean {:>10.1?}   best {:>10.1?}",
        total / n,
        best
    );
}

/// A tree of `n` actions: a chain of choices, messages and tests, every branch linked.
fn big_tree(n: usize) -> Tree {
    let mut tree = Tree::with_start(Uuid::from_u128(1));
    let mut next = 1u128;
    let mut fresh = || {
        next += 1;
        Uuid::from_u128(next)
    };
    let mut parent = (Uuid::from_u128(1), "ok".to_owned());
    for i in 0..n - 1 {
        let (ty, params, out) = match i % 3 {
            0 => (
                "message_with_choice",
                json!({"message": "Pick {{ customer.name }}", "wait_seconds": 60, "choices": [{"label": "A"}, {"label": "B"}]}),
                "link_1",
            ),
            1 => (
                "simple_message",
                json!({"message": "Hello {{ customer.first_name }}"}),
                "ok",
            ),
            _ => (
                "test_values",
                json!({"conditions": [{"value": "{{ a.b }}", "operator": "regex", "operand": "^[0-9]+$"}]}),
                "yes",
            ),
        };
        let id = fresh();
        let new = NewAction {
            id,
            action_type: ty.into(),
            name: None,
            params,
            record_passage: true,
            position: Position::default(),
        };
        tree.add_action(
            ChannelFamily::Messaging,
            new,
            Some((parent.0, parent.1.clone(), fresh())),
        )
        .unwrap();
        parent = (id, out.to_owned());
    }
    tree
}

fn main() {
    let tree = big_tree(500);
    bench("compile, 500-action tree (max size)", || {
        black_box(compile(
            black_box(&tree),
            ChannelFamily::Messaging,
            &NoResolver,
        ));
    });
    let small = big_tree(30);
    bench("compile, 30-action tree", || {
        black_box(compile(
            black_box(&small),
            ChannelFamily::Messaging,
            &NoResolver,
        ));
    });
    let spec = flow::catalogue::get("message_awaiting_response").unwrap();
    let params = json!({"message": "Welcome", "wait_seconds": 600, "max_attempts": 3, "error_message": "Sorry?",
        "questions": [{"question": "Your email?", "answer_type": "email", "variable": "contact.email"}, {"question": "Phone?", "answer_type": "phone", "variable": "contact.phone"}]});
    bench("analyse parameters (message awaiting response)", || {
        black_box(spec.analyse(black_box(&params)));
    });
    let almost_full = big_tree(499);
    bench("edit: add + delete an action on a 499-action tree", || {
        let mut t = almost_full.clone();
        let id = Uuid::from_u128(u128::MAX);
        let new = NewAction {
            id,
            action_type: "node".into(),
            name: None,
            params: json!({}),
            record_passage: false,
            position: Position::default(),
        };
        t.add_action(ChannelFamily::Messaging, new, None).unwrap();
        t.delete_action(id).unwrap();
        black_box(t);
    });
    bench("serialise + parse a 500-action tree (JSON)", || {
        let text = serde_json::to_string(&tree).unwrap();
        black_box(serde_json::from_str::<Tree>(&text).unwrap());
    });
}
