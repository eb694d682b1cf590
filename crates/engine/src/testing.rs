//! Building programs from a compact description, for tests and benchmarks.

use flow::compile::NoResolver;
use flow::tree::{Action, Link, Position, Tree};
use flow::{ChannelFamily, RoutingKind, Version, VersionRecord, VersionStatus};
use serde_json::Value;
use uuid::Uuid;

use crate::program::{Owner, Program};

/// An id derived from a name and a number: the same inputs give the same id (no clock, no
/// randomness).
pub fn id_of(name: &str, n: u64) -> Uuid {
    // FNV-1a over the name, then the number in the low half
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    Uuid::from_u128((u128::from(h) << 64) | u128::from(n))
}

/// A program from actions `(type, params)` (the first must be Start) and links
/// `(from index, branch, to index)`, with the ids given to the actions, in order. Ids derive
/// from `reference` and a count of the programs built so far, so programs built in the same
/// order get the same ids in every run.
pub fn program(
    reference: &str,
    family: ChannelFamily,
    kind: RoutingKind,
    actions: &[(&str, Value)],
    links: &[(usize, &str, usize)],
) -> (Program, Vec<Uuid>) {
    static BUILT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let built = BUILT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) << 32;
    let reference_id = |n: u64| id_of(reference, built | n);
    let ids: Vec<Uuid> = (0..actions.len() as u64)
        .map(|i| reference_id(100 + i))
        .collect();
    let tree = Tree {
        actions: actions
            .iter()
            .zip(&ids)
            .map(|((t, p), id)| Action {
                id: *id,
                action_type: (*t).into(),
                name: None,
                params: p.clone(),
                record_passage: true,
                position: Position::default(),
            })
            .collect(),
        links: links
            .iter()
            .zip(10_000u64..)
            .map(|((f, b, t), n)| Link {
                id: reference_id(n),
                from: ids[*f],
                branch: (*b).into(),
                to: ids[*t],
            })
            .collect(),
    };
    let now = jiff::Timestamp::UNIX_EPOCH;
    let version = Version {
        record: VersionRecord {
            id: reference_id(2),
            routing_id: reference_id(1),
            number: 1,
            name: "v1".into(),
            description: String::new(),
            status: VersionStatus::Production,
            in_test: false,
            scheduled_at: None,
            revision: 1,
            created_at: now,
            updated_at: now,
        },
        tree,
    };
    let owner = Owner {
        routing_id: version.record.routing_id,
        routing_reference: reference.into(),
        family,
        kind,
    };
    let program = Program::build(&owner, &version, &NoResolver)
        .unwrap_or_else(|c| panic!("the test program does not compile: {:?}", c.diagnostics));
    (program, ids)
}
