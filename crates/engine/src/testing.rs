//! Building programs from a compact description, for tests and benchmarks.

use flow::compile::NoResolver;
use flow::tree::{Action, Link, Position, Tree};
use flow::{ChannelFamily, RoutingKind, Version, VersionRecord, VersionStatus};
use serde_json::Value;
use uuid::Uuid;

use crate::program::{Owner, Program};

/// A program from actions `(type, params)` (the first must be Start) and links
/// `(from index, branch, to index)`, with the ids given to the actions, in order.
pub fn program(
    reference: &str,
    family: ChannelFamily,
    kind: RoutingKind,
    actions: &[(&str, Value)],
    links: &[(usize, &str, usize)],
) -> (Program, Vec<Uuid>) {
    let ids: Vec<Uuid> = actions.iter().map(|_| Uuid::now_v7()).collect();
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
            .map(|(f, b, t)| Link {
                id: Uuid::now_v7(),
                from: ids[*f],
                branch: (*b).into(),
                to: ids[*t],
            })
            .collect(),
    };
    let now = jiff::Timestamp::UNIX_EPOCH;
    let version = Version {
        record: VersionRecord {
            id: Uuid::now_v7(),
            routing_id: Uuid::now_v7(),
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
