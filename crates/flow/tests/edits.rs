//! Property tests of tree editing: whatever sequence of operations is applied (many of them
//! invalid), the tree stays well formed, and a refused operation changes nothing.

use std::collections::HashSet;

use flow::ChannelFamily;
use flow::catalogue;
use flow::compile::{NoResolver, compile};
use flow::tree::{ActionPatch, Link, LinkPatch, NewAction, Position, Tree};
use proptest::prelude::*;
use serde_json::{Value, json};
use uuid::Uuid;

#[derive(Clone, Debug)]
enum Op {
    Add {
        kind: usize,
        parent: Option<(usize, usize)>,
    },
    Insert {
        kind: usize,
        link: usize,
        out: usize,
    },
    Update {
        action: usize,
        kind: usize,
    },
    Delete {
        action: usize,
    },
    AddLink {
        from: usize,
        branch: usize,
        to: usize,
    },
    Repoint {
        link: usize,
        to: usize,
        branch: Option<usize>,
    },
    DeleteLink {
        link: usize,
    },
}

/// Action types with valid and invalid parameters, for both families.
fn sample(kind: usize) -> (&'static str, Value) {
    match kind % 9 {
        0 => ("node", json!({})),
        1 => ("simple_message", json!({"message": "Hello"})),
        2 => ("load_sharing", json!({"loads": [30, 70]})),
        3 => (
            "message_with_choice",
            json!({"message": "Pick", "wait_seconds": 60, "choices": [{"label": "A"}, {"label": "B"}]}),
        ),
        4 => (
            "test_values",
            json!({"conditions": [{"value": "{{ a.b }}", "operator": "is_empty"}]}),
        ),
        5 => ("simple_message", json!({"message": ""})),
        6 => ("no_such_type", json!({})),
        7 => (
            "detect_keywords",
            json!({"search_in": "body", "groups": [{"keywords": ["refund"]}]}),
        ),
        _ => ("start", json!({})),
    }
}

const BRANCHES: [&str; 6] = ["ok", "link_1", "link_2", "error", "yes", "nope"];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..9usize, proptest::option::of((0..20usize, 0..6usize)))
            .prop_map(|(kind, parent)| Op::Add { kind, parent }),
        (0..9usize, 0..20usize, 0..6usize).prop_map(|(kind, link, out)| Op::Insert {
            kind,
            link,
            out
        }),
        (0..20usize, 0..9usize).prop_map(|(action, kind)| Op::Update { action, kind }),
        (0..20usize).prop_map(|action| Op::Delete { action }),
        (0..20usize, 0..6usize, 0..20usize).prop_map(|(from, branch, to)| Op::AddLink {
            from,
            branch,
            to
        }),
        (0..20usize, 0..20usize, proptest::option::of(0..6usize))
            .prop_map(|(link, to, branch)| Op::Repoint { link, to, branch }),
        (0..20usize).prop_map(|link| Op::DeleteLink { link }),
    ]
}

fn pick<T: Copy>(items: &[T], i: usize) -> T {
    items[i % items.len()]
}

fn apply(tree: &mut Tree, family: ChannelFamily, op: &Op, next: &mut u128) -> bool {
    let mut fresh = || {
        *next += 1;
        Uuid::from_u128(*next)
    };
    let actions: Vec<Uuid> = tree.actions.iter().map(|a| a.id).collect();
    // sometimes an identifier that is not in the tree (e.g. another version's action)
    let some_action = |i: usize| {
        if i == 19 {
            Uuid::from_u128(u128::MAX)
        } else {
            pick(&actions, i)
        }
    };
    let links: Vec<Uuid> = tree.links.iter().map(|l| l.id).collect();
    let new = |kind: usize, id: Uuid| {
        let (t, p) = sample(kind);
        NewAction {
            id,
            action_type: t.into(),
            name: None,
            params: p,
            record_passage: kind.is_multiple_of(2),
            position: Position {
                x: kind as f64,
                y: 0.0,
            },
        }
    };
    let result = match op {
        Op::Add { kind, parent } => {
            let id = fresh();
            let after = parent.map(|(p, b)| (some_action(p), BRANCHES[b].to_owned(), fresh()));
            tree.add_action(family, new(*kind, id), after)
        }
        Op::Insert { kind, link, out } => {
            if links.is_empty() {
                return false;
            }
            let id = fresh();
            tree.insert_between(
                family,
                new(*kind, id),
                pick(&links, *link),
                Some(BRANCHES[*out].to_owned()),
                fresh(),
            )
        }
        Op::Update { action, kind } => {
            let (_, params) = sample(*kind);
            tree.update_action(
                family,
                some_action(*action),
                ActionPatch {
                    params: Some(params),
                    ..ActionPatch::default()
                },
            )
        }
        Op::Delete { action } => tree.delete_action(some_action(*action)),
        Op::AddLink { from, branch, to } => {
            let link = Link {
                id: fresh(),
                from: some_action(*from),
                branch: BRANCHES[*branch].into(),
                to: some_action(*to),
            };
            tree.add_link(family, link)
        }
        Op::Repoint { link, to, branch } => {
            if links.is_empty() {
                return false;
            }
            let patch = LinkPatch {
                to: Some(some_action(*to)),
                branch: branch.map(|b| BRANCHES[b].to_owned()),
                from: None,
            };
            tree.update_link(family, pick(&links, *link), patch)
        }
        Op::DeleteLink { link } => {
            if links.is_empty() {
                return false;
            }
            tree.delete_link(pick(&links, *link))
        }
    };
    result.is_ok()
}

fn check_well_formed(tree: &Tree, family: ChannelFamily) {
    let ids: HashSet<Uuid> = tree.actions.iter().map(|a| a.id).collect();
    assert_eq!(ids.len(), tree.actions.len(), "action ids are unique");
    assert_eq!(
        tree.actions
            .iter()
            .filter(|a| a.action_type == "start")
            .count(),
        1,
        "exactly one Start"
    );
    let mut taken = HashSet::new();
    for l in &tree.links {
        assert!(
            ids.contains(&l.from) && ids.contains(&l.to),
            "link {l:?} points at existing actions"
        );
        let from = tree.action(l.from).unwrap();
        let spec = catalogue::get(&from.action_type).expect("known type");
        assert!(
            spec.has_branch(&l.branch),
            "branch {} exists on {}",
            l.branch,
            from.action_type
        );
        assert!(
            taken.insert((l.from, l.branch.clone())),
            "one link per branch"
        );
        assert_ne!(
            tree.action(l.to).unwrap().action_type,
            "start",
            "nothing links into Start"
        );
    }
    for a in &tree.actions {
        let spec = catalogue::get(&a.action_type).expect("only known types are stored");
        assert!(spec.in_family(family));
        assert!(
            spec.analyse(&a.params).issues.is_empty(),
            "stored parameters are valid"
        );
    }
    // edits may add any type of the family; only those this build cannot run are errors
    let compiled = compile(tree, family, &NoResolver);
    let errors: Vec<_> = compiled
        .diagnostics
        .iter()
        .filter(|d| d.severity == flow::Severity::Error && d.code != "action_unavailable")
        .collect();
    assert!(
        errors.is_empty(),
        "a tree built by edits compiles without other errors: {errors:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn edits_keep_trees_well_formed(ops in proptest::collection::vec(op(), 1..60), email in any::<bool>()) {
        let family = if email { ChannelFamily::Email } else { ChannelFamily::Messaging };
        let mut tree = Tree::with_start(Uuid::from_u128(1));
        let mut next = 1u128;
        for op in &ops {
            let before = tree.clone();
            if !apply(&mut tree, family, op, &mut next) {
                prop_assert_eq!(&tree, &before, "a refused edit changes nothing: {:?}", op);
            }
            check_well_formed(&tree, family);
        }
    }

    #[test]
    fn compile_never_panics(types in proptest::collection::vec(0..catalogue::all().len(), 0..12), params in proptest::collection::vec(any::<u8>(), 12), links in proptest::collection::vec((0..14usize, 0..6usize, 0..14usize), 0..20)) {
        let junk = [json!(null), json!({}), json!([]), json!("x"), json!({"message": 5}), json!({"loads": [200]})];
        let mut tree = Tree::default();
        for (i, t) in types.iter().enumerate() {
            tree.actions.push(flow::tree::Action {
                id: Uuid::from_u128(i as u128),
                action_type: catalogue::all()[*t].type_key().into(),
                name: None,
                params: junk[params[i] as usize % junk.len()].clone(),
                record_passage: false,
                position: Position::default(),
            });
        }
        for (i, (f, b, t)) in links.iter().enumerate() {
            tree.links.push(Link { id: Uuid::from_u128(100 + i as u128), from: Uuid::from_u128(*f as u128), branch: BRANCHES[*b].into(), to: Uuid::from_u128(*t as u128) });
        }
        let _ = compile(&tree, ChannelFamily::Messaging, &NoResolver);
        let _ = compile(&tree, ChannelFamily::Email, &NoResolver);
    }

    #[test]
    fn a_tree_built_by_edits_replaces_another_exactly(a in proptest::collection::vec(op(), 1..40), b in proptest::collection::vec(op(), 1..40), email in any::<bool>()) {
        let family = if email { ChannelFamily::Email } else { ChannelFamily::Messaging };
        let build = |ops: &[Op], seed: u128| {
            let mut t = Tree::with_start(Uuid::from_u128(1));
            let mut next = seed;
            for op in ops {
                apply(&mut t, family, op, &mut next);
            }
            t
        };
        let (first, second) = (build(&a, 1), build(&b, 100_000));
        // undo: the tree as it was; redo: as it is
        let mut t = second.clone();
        prop_assert!(t.replace(family, first.clone()).is_ok());
        prop_assert_eq!(&t, &first);
        prop_assert!(t.replace(family, second.clone()).is_ok());
        prop_assert_eq!(&t, &second);
        // a tree without this Start first, or with a link into it, is refused and nothing changes
        let mut other_start = first.clone();
        other_start.actions[0].id = Uuid::from_u128(999_999);
        prop_assert!(t.replace(family, other_start).is_err());
        let mut into_start = first.clone();
        if let Some(last) = into_start.actions.last().map(|x| x.id) {
            into_start.links.push(Link { id: Uuid::from_u128(999_998), from: last, branch: "ok".into(), to: Uuid::from_u128(1) });
            prop_assert!(t.replace(family, into_start).is_err());
        }
        prop_assert_eq!(&t, &second);
    }

    #[test]
    fn documents_round_trip(ops in proptest::collection::vec(op(), 1..30)) {
        let mut tree = Tree::with_start(Uuid::from_u128(1));
        let mut next = 1u128;
        for op in &ops {
            apply(&mut tree, ChannelFamily::Messaging, op, &mut next);
        }
        let doc = json!({
            "format": flow::document::FORMAT, "format_version": 1,
            "routing": {"reference": "R", "name": "R", "kind": "interaction_start", "channel_family": "messaging"},
            "versions": [{"number": 1, "name": "v1", "status": "development", "tree": tree}]
        });
        let parsed = flow::document::from_value(doc).unwrap();
        let text = serde_json::to_string(&parsed).unwrap();
        prop_assert_eq!(flow::document::parse(&text).unwrap(), parsed);
    }
}
