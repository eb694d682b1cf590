//! Two versions' trees compared: which actions were added, removed, changed (name, parameters,
//! passage recording) or moved, and which links were added or removed. Versions made by
//! duplication have fresh ids, so actions are matched by content and place, not by id: the two
//! Starts and the actions whose content (type, parameters, name) is unique in both trees; then,
//! from each matched pair, the targets of the same branch when they are of the same type; what
//! is left by type and equal parameters, then by type and name.
//! Pure: the same two trees always give the same answer.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::Serialize;
use serde_json::Value;

use crate::catalogue::START;
use crate::ids::ActionId;
use crate::tree::{Action, Tree};

/// What happened to one action, from the other version (`old`) to this one (`new`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Only in this version.
    Added,
    /// Only in the other version.
    Removed,
    /// In both, with different name, parameters or passage recording (maybe moved too).
    Changed,
    /// In both, the same but for its position.
    Moved,
    Unchanged,
}

/// One action of either version and what became of it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ActionDiff {
    pub change: Change,
    /// Its id in this version (none when removed).
    pub action_id: Option<ActionId>,
    /// Its id in the other version (none when added).
    pub other_action_id: Option<ActionId>,
    pub action_type: String,
    /// What differs: `name`, `record_passage`, `position`, `params.<top-level field>`.
    pub fields: Vec<String>,
}

/// A link only one of the two versions has, by the ids of the version that has it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LinkDiff {
    pub change: Change,
    pub from: ActionId,
    pub branch: String,
    pub to: ActionId,
}

/// The whole comparison.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TreeDiff {
    /// Every action of both versions: this version's in its order, then the removed ones.
    pub actions: Vec<ActionDiff>,
    pub links: Vec<LinkDiff>,
}

impl TreeDiff {
    pub fn count(&self, change: Change) -> usize {
        self.actions.iter().filter(|a| a.change == change).count()
    }
}

/// The top-level parameter fields whose values differ.
fn params_fields(old: &Value, new: &Value) -> Vec<String> {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let keys: BTreeSet<&String> = o.keys().chain(n.keys()).collect();
            keys.into_iter()
                .filter(|k| o.get(*k) != n.get(*k))
                .map(|k| format!("params.{k}"))
                .collect()
        }
        _ if old != new => vec!["params".to_owned()],
        _ => Vec::new(),
    }
}

fn differences(old: &Action, new: &Action) -> Vec<String> {
    let mut f = Vec::new();
    if old.name != new.name {
        f.push("name".to_owned());
    }
    f.extend(params_fields(&old.params, &new.params));
    if old.record_passage != new.record_passage {
        f.push("record_passage".to_owned());
    }
    if old.position != new.position {
        f.push("position".to_owned());
    }
    f
}

/// The pairs (old id → new id) of actions taken as the same.
fn matching(old: &Tree, new: &Tree) -> BTreeMap<ActionId, ActionId> {
    let mut pairs: BTreeMap<ActionId, ActionId> = BTreeMap::new();
    let mut taken: BTreeSet<ActionId> = BTreeSet::new();
    let type_of = |t: &Tree, id: ActionId| {
        t.actions
            .iter()
            .find(|a| a.id == id)
            .map(|a| a.action_type.clone())
    };
    let start = |t: &Tree| {
        t.actions
            .iter()
            .find(|a| a.action_type == START)
            .map(|a| a.id)
    };
    let mut queue = VecDeque::new();
    if let (Some(o), Some(n)) = (start(old), start(new)) {
        pairs.insert(o, n);
        taken.insert(n);
        queue.push_back((o, n));
    }
    // an action whose content (type, parameters, name) only one action of each tree has
    let same_content = |o: &Action, n: &Action| {
        o.action_type == n.action_type && o.params == n.params && o.name == n.name
    };
    for n in &new.actions {
        if taken.contains(&n.id) {
            continue;
        }
        let mut olds = old.actions.iter().filter(|o| same_content(o, n));
        if let (Some(o), None) = (olds.next(), olds.next())
            && !pairs.contains_key(&o.id)
            && new.actions.iter().filter(|m| same_content(o, m)).count() == 1
        {
            pairs.insert(o.id, n.id);
            taken.insert(n.id);
            queue.push_back((o.id, n.id));
        }
    }
    // along the branches, from the Starts
    while let Some((o, n)) = queue.pop_front() {
        for lo in old.links.iter().filter(|l| l.from == o) {
            let Some(ln) = new
                .links
                .iter()
                .find(|l| l.from == n && l.branch == lo.branch)
            else {
                continue;
            };
            if pairs.contains_key(&lo.to) || taken.contains(&ln.to) {
                continue;
            }
            if type_of(old, lo.to) == type_of(new, ln.to) {
                pairs.insert(lo.to, ln.to);
                taken.insert(ln.to);
                queue.push_back((lo.to, ln.to));
            }
        }
    }
    // what is left: same type and parameters, then same type and name
    let rules: [fn(&Action, &Action) -> bool; 2] = [
        |o, n| o.action_type == n.action_type && o.params == n.params,
        |o, n| o.action_type == n.action_type && o.name.is_some() && o.name == n.name,
    ];
    for same in rules {
        for n in &new.actions {
            if taken.contains(&n.id) {
                continue;
            }
            if let Some(o) = old
                .actions
                .iter()
                .find(|o| !pairs.contains_key(&o.id) && same(o, n))
            {
                pairs.insert(o.id, n.id);
                taken.insert(n.id);
            }
        }
    }
    pairs
}

/// What turns `old` (the other version's tree) into `new` (this version's).
pub fn diff(old: &Tree, new: &Tree) -> TreeDiff {
    let pairs = matching(old, new);
    let back: BTreeMap<ActionId, ActionId> = pairs.iter().map(|(o, n)| (*n, *o)).collect();
    let mut actions = Vec::with_capacity(new.actions.len());
    for n in &new.actions {
        match back
            .get(&n.id)
            .and_then(|o| old.actions.iter().find(|a| a.id == *o))
        {
            None => actions.push(ActionDiff {
                change: Change::Added,
                action_id: Some(n.id),
                other_action_id: None,
                action_type: n.action_type.clone(),
                fields: Vec::new(),
            }),
            Some(o) => {
                let fields = differences(o, n);
                let change = match fields.as_slice() {
                    [] => Change::Unchanged,
                    [only] if only == "position" => Change::Moved,
                    _ => Change::Changed,
                };
                actions.push(ActionDiff {
                    change,
                    action_id: Some(n.id),
                    other_action_id: Some(o.id),
                    action_type: n.action_type.clone(),
                    fields,
                });
            }
        }
    }
    for o in old.actions.iter().filter(|o| !pairs.contains_key(&o.id)) {
        actions.push(ActionDiff {
            change: Change::Removed,
            action_id: None,
            other_action_id: Some(o.id),
            action_type: o.action_type.clone(),
            fields: Vec::new(),
        });
    }
    // links, compared in this version's terms (an old link between matched actions)
    let old_links: BTreeSet<(ActionId, &str, ActionId)> = old
        .links
        .iter()
        .filter_map(|l| Some((*pairs.get(&l.from)?, l.branch.as_str(), *pairs.get(&l.to)?)))
        .collect();
    let new_links: BTreeSet<(ActionId, &str, ActionId)> = new
        .links
        .iter()
        .map(|l| (l.from, l.branch.as_str(), l.to))
        .collect();
    let mut links: Vec<LinkDiff> = new
        .links
        .iter()
        .filter(|l| !old_links.contains(&(l.from, l.branch.as_str(), l.to)))
        .map(|l| LinkDiff {
            change: Change::Added,
            from: l.from,
            branch: l.branch.clone(),
            to: l.to,
        })
        .collect();
    links.extend(
        old.links
            .iter()
            .filter(|l| match (pairs.get(&l.from), pairs.get(&l.to)) {
                (Some(f), Some(t)) => !new_links.contains(&(*f, l.branch.as_str(), *t)),
                _ => true,
            })
            .map(|l| LinkDiff {
                change: Change::Removed,
                from: l.from,
                branch: l.branch.clone(),
                to: l.to,
            }),
    );
    TreeDiff { actions, links }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{Link, Position};
    use serde_json::json;
    use uuid::Uuid;

    fn action(id: u128, ty: &str, params: Value, x: f64) -> Action {
        Action {
            id: Uuid::from_u128(id),
            action_type: ty.into(),
            name: None,
            params,
            record_passage: false,
            position: Position { x, y: 0.0 },
        }
    }
    fn link(id: u128, from: u128, branch: &str, to: u128) -> Link {
        Link {
            id: Uuid::from_u128(id),
            from: Uuid::from_u128(from),
            branch: branch.into(),
            to: Uuid::from_u128(to),
        }
    }

    #[test]
    fn a_duplicate_with_fresh_ids_matches_by_place_and_tells_each_change() {
        // old: Start → message "Hello" → (ok) message "Bye"; a values table off to the side
        let old = Tree {
            actions: vec![
                action(1, "start", json!({}), 0.0),
                action(2, "simple_message", json!({"message": "Hello"}), 0.0),
                action(3, "simple_message", json!({"message": "Bye"}), 0.0),
                action(4, "values_table", json!({"table": "T"}), 0.0),
            ],
            links: vec![link(11, 1, "ok", 2), link(12, 2, "ok", 3)],
        };
        // new (fresh ids): "Hello" reworded, "Bye" moved, the table gone, a pause added after Bye
        let new = Tree {
            actions: vec![
                action(101, "start", json!({}), 0.0),
                action(
                    102,
                    "simple_message",
                    json!({"message": "Hello there"}),
                    0.0,
                ),
                action(103, "simple_message", json!({"message": "Bye"}), 50.0),
                action(105, "pause", json!({"seconds": 5}), 0.0),
            ],
            links: vec![
                link(111, 101, "ok", 102),
                link(112, 102, "ok", 103),
                link(113, 103, "ok", 105),
            ],
        };
        let d = diff(&old, &new);
        let by = |id: u128| {
            d.actions
                .iter()
                .find(|a| a.action_id == Some(Uuid::from_u128(id)))
                .unwrap()
        };
        assert_eq!(by(101).change, Change::Unchanged);
        assert_eq!(
            (by(102).change, by(102).fields.clone()),
            (Change::Changed, vec!["params.message".to_owned()])
        );
        assert_eq!(by(102).other_action_id, Some(Uuid::from_u128(2)));
        assert_eq!(by(103).change, Change::Moved);
        assert_eq!(by(105).change, Change::Added);
        let removed: Vec<_> = d
            .actions
            .iter()
            .filter(|a| a.change == Change::Removed)
            .collect();
        assert_eq!(removed.len(), 1);
        assert_eq!(removed[0].other_action_id, Some(Uuid::from_u128(4)));
        // the one new link; none of the matched ones counts as changed
        assert_eq!(
            d.links,
            vec![LinkDiff {
                change: Change::Added,
                from: Uuid::from_u128(103),
                branch: "ok".into(),
                to: Uuid::from_u128(105)
            }]
        );
        // the other way round, what was added is removed
        let back = diff(&new, &old);
        assert_eq!(back.count(Change::Added), 1);
        assert_eq!(back.count(Change::Removed), 1);
        assert_eq!(back.links[0].change, Change::Removed);
        // a version against itself: nothing
        let same = diff(&new, &new);
        assert_eq!(same.count(Change::Unchanged), 4);
        assert!(same.links.is_empty());
    }

    #[test]
    fn a_re_pointed_link_is_one_removed_and_one_added() {
        let old = Tree {
            actions: vec![
                action(1, "start", json!({}), 0.0),
                action(2, "simple_message", json!({"message": "A"}), 0.0),
                action(3, "simple_message", json!({"message": "B"}), 0.0),
            ],
            links: vec![link(11, 1, "ok", 2)],
        };
        let mut new = old.clone();
        new.links = vec![link(11, 1, "ok", 3)];
        let d = diff(&old, &new);
        assert_eq!(d.links.len(), 2);
        assert!(
            d.links
                .iter()
                .any(|l| l.change == Change::Added && l.to == Uuid::from_u128(3))
        );
        assert!(
            d.links
                .iter()
                .any(|l| l.change == Change::Removed && l.to == Uuid::from_u128(2))
        );
        assert_eq!(d.count(Change::Unchanged), 3);
    }
}
