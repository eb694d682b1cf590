//! Compiling a version: every problem of a tree as a list of diagnostics. Compile never fails
//! and never panics, whatever the tree holds (it may come from an old document or database).

use std::collections::{HashMap, HashSet, VecDeque};

use serde::{Deserialize, Serialize};

use crate::catalogue::{self, ObjectKind, ObjectRef, Selector};
use crate::model::{ChannelFamily, RoutingKind};
use crate::objects::VariableData;
use crate::tree::{ActionId, LinkId, Tree, limits};

/// How bad a diagnostic is. Errors block production; warnings do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem of a tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable code: `invalid_parameters`, `unknown_branch`, `unreachable_action`…
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_id: Option<ActionId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_id: Option<LinkId>,
    /// Where in the action's parameters, when it is about them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// What a resolver knows of a business object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The object exists; for routings, with their kind and family.
    Found(Option<(RoutingKind, ChannelFamily)>),
    NotFound,
    /// This kind of object is not managed here, so it cannot be checked.
    Unchecked,
}

/// What a resolver knows of a variable name.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum VarLookup<'a> {
    Declared(&'a VariableData),
    NotDeclared,
    /// Declarations are not known here, so variables cannot be checked.
    Unchecked,
}

/// Answers whether the business objects a tree refers to exist.
pub trait Resolver {
    fn lookup(&self, kind: ObjectKind, selector: &Selector) -> Lookup;
    /// The data of the object a selector names, when known (for the checks of
    /// `ActionType::check_objects`).
    fn object_data(&self, _kind: ObjectKind, _selector: &Selector) -> Option<serde_json::Value> {
        None
    }
    /// The declared variable called `name`.
    fn variable(&self, _name: &str) -> VarLookup<'_> {
        VarLookup::Unchecked
    }
}

/// A resolver that checks nothing.
pub struct NoResolver;

impl Resolver for NoResolver {
    fn lookup(&self, _: ObjectKind, _: &Selector) -> Lookup {
        Lookup::Unchecked
    }
}

/// Every business object a tree's actions refer to (parameters that do not parse are skipped).
pub fn references(tree: &Tree) -> Vec<ObjectRef> {
    tree.actions
        .iter()
        .filter_map(|a| catalogue::get(&a.action_type).map(|s| s.analyse(&a.params).references))
        .flatten()
        .collect()
}

/// Warns about variables an action names that are not declared, or fields their declaration
/// does not have (system variables are the engine's own and always exist).
fn check_variables(
    out: &mut Out,
    resolver: &dyn Resolver,
    action: ActionId,
    uses: &[catalogue::params::uses::VarUse],
) {
    let mut seen = HashSet::new();
    for u in uses {
        if crate::exec::is_system_path(&u.path) || !seen.insert(u.path.as_str()) {
            continue;
        }
        let mut segments = u.path.split('.');
        let root = segments.next().unwrap_or_default();
        let field = segments.next();
        match resolver.variable(root) {
            VarLookup::Unchecked => return,
            VarLookup::NotDeclared => out.push(
                Severity::Warning,
                "undeclared_variable",
                format!("'{root}' (in '{}') is not a declared variable", u.path),
                Some(action),
                None,
                None,
            ),
            VarLookup::Declared(d) => {
                if let Some(f) = field
                    && d.type_of(Some(f)).is_none()
                {
                    out.push(
                        Severity::Warning,
                        "unknown_field",
                        format!("the variable '{root}' has no field '{f}'"),
                        Some(action),
                        None,
                        None,
                    );
                }
            }
        }
    }
}

/// Names of the non-system variables a tree's actions use (parameters that do not parse are
/// skipped).
pub fn variable_names(tree: &Tree) -> HashSet<String> {
    tree.actions
        .iter()
        .filter_map(|a| catalogue::get(&a.action_type).map(|s| s.analyse(&a.params).variables))
        .flatten()
        .filter(|u| !crate::exec::is_system_path(&u.path))
        .filter_map(|u| u.path.split('.').next().map(str::to_owned))
        .collect()
}

/// The result of compiling a version.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compiled {
    pub diagnostics: Vec<Diagnostic>,
}

impl Compiled {
    pub fn error_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }
    pub fn warning_count(&self) -> usize {
        self.diagnostics.len() - self.error_count()
    }
    pub fn has_errors(&self) -> bool {
        self.error_count() > 0
    }
}

struct Out(Vec<Diagnostic>);

impl Out {
    fn push(
        &mut self,
        severity: Severity,
        code: &str,
        message: String,
        action_id: Option<ActionId>,
        link_id: Option<LinkId>,
        path: Option<String>,
    ) {
        self.0.push(Diagnostic {
            severity,
            code: code.to_owned(),
            message,
            action_id,
            link_id,
            path,
        });
    }
    fn error(
        &mut self,
        code: &str,
        message: String,
        action: Option<ActionId>,
        link: Option<LinkId>,
    ) {
        self.push(Severity::Error, code, message, action, link, None);
    }
    fn warning(
        &mut self,
        code: &str,
        message: String,
        action: Option<ActionId>,
        link: Option<LinkId>,
    ) {
        self.push(Severity::Warning, code, message, action, link, None);
    }
}

fn describe(selector: &Selector) -> String {
    match selector {
        Selector::Entity { id } => format!("id '{}'", id.0),
        Selector::Reference { reference } => format!("reference '{}'", reference.0),
        Selector::ReferenceFromVariable { variable } => {
            format!("the reference in '{}'", variable.0)
        }
    }
}

/// Compiles a tree of a routing of `family` (and `kind`) into its diagnostics.
pub fn compile(tree: &Tree, family: ChannelFamily, resolver: &dyn Resolver) -> Compiled {
    let mut out = Out(Vec::new());

    if tree.actions.len() > limits::ACTIONS {
        out.error(
            "too_many_actions",
            format!(
                "the tree holds {} actions; at most {} are allowed",
                tree.actions.len(),
                limits::ACTIONS
            ),
            None,
            None,
        );
    }
    if tree.links.len() > limits::LINKS {
        out.error(
            "too_many_links",
            format!(
                "the tree holds {} links; at most {} are allowed",
                tree.links.len(),
                limits::LINKS
            ),
            None,
            None,
        );
    }

    // Identifiers and Start.
    let mut seen = HashSet::new();
    for a in &tree.actions {
        if !seen.insert(a.id) {
            out.error(
                "duplicate_id",
                format!("identifier {} is used twice", a.id),
                Some(a.id),
                None,
            );
        }
    }
    for l in &tree.links {
        if !seen.insert(l.id) {
            out.error(
                "duplicate_id",
                format!("identifier {} is used twice", l.id),
                None,
                Some(l.id),
            );
        }
    }
    let starts: Vec<_> = tree
        .actions
        .iter()
        .filter(|a| a.action_type == catalogue::START)
        .collect();
    match starts.len() {
        0 => out.error(
            "missing_start",
            "the tree has no Start action".to_owned(),
            None,
            None,
        ),
        1 => {}
        n => out.error(
            "multiple_starts",
            format!("the tree has {n} Start actions; it must have exactly one"),
            Some(starts[1].id),
            None,
        ),
    }

    // Actions and their parameters.
    let mut unreachable_branches: HashMap<ActionId, Vec<&'static str>> = HashMap::new();
    let mut references: Vec<(ActionId, ObjectRef)> = Vec::new();
    for a in &tree.actions {
        let Some(spec) = catalogue::get(&a.action_type) else {
            out.error(
                "unknown_action_type",
                format!("unknown action type '{}'", a.action_type),
                Some(a.id),
                None,
            );
            continue;
        };
        if !spec.in_family(family) {
            out.error(
                "action_not_in_family",
                format!(
                    "'{}' does not exist in {} routings",
                    spec.label(),
                    family.as_str()
                ),
                Some(a.id),
                None,
            );
        }
        if !spec.runnable() {
            // it would stop a customer mid-conversation: never let it reach production
            out.error(
                "action_unavailable",
                format!(
                    "'{}' cannot run in this version of Switchyard yet",
                    spec.label()
                ),
                Some(a.id),
                None,
            );
        }
        let analysis = spec.analyse(&a.params);
        for issue in analysis.issues {
            let path = (!issue.path.is_empty()).then_some(issue.path);
            let at = path
                .as_deref()
                .map(|p| format!(" at {p}"))
                .unwrap_or_default();
            out.push(
                Severity::Error,
                "invalid_parameters",
                format!("{}{at}: {}", spec.label(), issue.message),
                Some(a.id),
                None,
                path,
            );
        }
        for issue in spec.object_issues(&a.params, &|r| resolver.object_data(r.kind, &r.selector)) {
            let path = (!issue.path.is_empty()).then_some(issue.path);
            out.push(
                Severity::Warning,
                "object_mismatch",
                format!("{}: {}", spec.label(), issue.message),
                Some(a.id),
                None,
                path,
            );
        }
        unreachable_branches.insert(a.id, analysis.unreachable_branches);
        references.extend(analysis.references.into_iter().map(|r| (a.id, r)));
        check_variables(&mut out, resolver, a.id, &analysis.variables);
    }

    // Links.
    let by_id: HashMap<ActionId, &crate::tree::Action> =
        tree.actions.iter().map(|a| (a.id, a)).collect();
    let mut taken: HashSet<(ActionId, &str)> = HashSet::new();
    let mut valid_links = Vec::new();
    for l in &tree.links {
        let (Some(from), Some(to)) = (by_id.get(&l.from), by_id.get(&l.to)) else {
            out.error(
                "dangling_link",
                format!("link {} joins an action that is not in this tree", l.id),
                None,
                Some(l.id),
            );
            continue;
        };
        if let Some(spec) = catalogue::get(&from.action_type) {
            if !spec.has_branch(&l.branch) {
                out.error(
                    "unknown_branch",
                    format!("'{}' has no branch '{}'", spec.label(), l.branch),
                    Some(l.from),
                    Some(l.id),
                );
                continue;
            }
            if unreachable_branches
                .get(&l.from)
                .is_some_and(|u| u.contains(&l.branch.as_str()))
            {
                out.warning(
                    "branch_never_taken",
                    format!(
                        "branch '{}' of this '{}' can never be taken with its parameters",
                        l.branch,
                        spec.label()
                    ),
                    Some(l.from),
                    Some(l.id),
                );
            }
        }
        if to.action_type == catalogue::START {
            out.error(
                "link_into_start",
                "nothing can link into the Start action".to_owned(),
                Some(l.to),
                Some(l.id),
            );
        }
        if !taken.insert((l.from, l.branch.as_str())) {
            out.error(
                "branch_taken",
                format!("branch '{}' has more than one link", l.branch),
                Some(l.from),
                Some(l.id),
            );
            continue;
        }
        valid_links.push(l);
    }

    // Reachability from Start.
    let mut reachable = HashSet::new();
    if let Some(start) = starts.first() {
        let mut queue = VecDeque::from([start.id]);
        reachable.insert(start.id);
        while let Some(id) = queue.pop_front() {
            for l in valid_links.iter().filter(|l| l.from == id) {
                if reachable.insert(l.to) {
                    queue.push_back(l.to);
                }
            }
        }
    }
    for a in &tree.actions {
        if !reachable.contains(&a.id) && a.action_type != catalogue::START {
            out.warning(
                "unreachable_action",
                format!(
                    "this action cannot be reached from Start{}",
                    a.name
                        .as_deref()
                        .map(|n| format!(" ('{n}')"))
                        .unwrap_or_default()
                ),
                Some(a.id),
                None,
            );
        }
    }

    // Branches left unlinked on reachable actions.
    for a in tree.actions.iter().filter(|a| reachable.contains(&a.id)) {
        let Some(spec) = catalogue::get(&a.action_type) else {
            continue;
        };
        let unreachable = unreachable_branches.get(&a.id).cloned().unwrap_or_default();
        let linked = |key: &str| taken.contains(&(a.id, key));
        for b in spec.branches() {
            if linked(b.key) || unreachable.contains(&b.key) || b.fallback.is_some_and(linked) {
                continue;
            }
            out.warning(
                "unlinked_branch",
                format!(
                    "branch '{}' of '{}' is not linked: the routing ends there",
                    b.label,
                    spec.label()
                ),
                Some(a.id),
                None,
            );
        }
    }

    // Business objects.
    for (action_id, r) in references {
        if matches!(r.selector, Selector::ReferenceFromVariable { .. }) {
            continue;
        }
        match resolver.lookup(r.kind, &r.selector) {
            Lookup::NotFound => out.push(
                Severity::Warning,
                "reference_not_found",
                format!("no {} with {}", r.kind.label(), describe(&r.selector)),
                Some(action_id),
                None,
                Some(r.path),
            ),
            Lookup::Found(Some((kind, target_family))) if r.kind == ObjectKind::Routing => {
                if kind != RoutingKind::InteractionStart {
                    out.push(Severity::Error, "invalid_target_routing", format!("the smart routing with {} is an interaction-end routing; only interaction-start routings can receive a distribution", describe(&r.selector)), Some(action_id), None, Some(r.path.clone()));
                }
                if target_family != family {
                    out.push(
                        Severity::Error,
                        "invalid_target_routing",
                        format!(
                            "the smart routing with {} is a {} routing; it must be {}",
                            describe(&r.selector),
                            target_family.as_str(),
                            family.as_str()
                        ),
                        Some(action_id),
                        None,
                        Some(r.path),
                    );
                }
            }
            Lookup::Found(_) | Lookup::Unchecked => {}
        }
    }

    if tree.is_blank() {
        out.warning(
            "blank_version",
            "the tree holds nothing but Start; it cannot go into production".to_owned(),
            None,
            None,
        );
    }

    // Errors first, then warnings, each in discovery order.
    out.0.sort_by_key(|d| d.severity != Severity::Error);
    Compiled { diagnostics: out.0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{Action, Link, Position};
    use serde_json::json;
    use uuid::Uuid;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn action(n: u128, ty: &str, params: serde_json::Value) -> Action {
        Action {
            id: id(n),
            action_type: ty.into(),
            name: None,
            params,
            record_passage: false,
            position: Position::default(),
        }
    }

    fn codes(c: &Compiled) -> Vec<(&str, Severity)> {
        c.diagnostics
            .iter()
            .map(|d| (d.code.as_str(), d.severity))
            .collect()
    }

    #[test]
    fn a_clean_tree_has_no_diagnostics() {
        let tree = Tree {
            actions: vec![
                action(1, "start", json!({})),
                action(2, "simple_message", json!({"message": "Hi"})),
            ],
            links: vec![Link {
                id: id(10),
                from: id(1),
                branch: "ok".into(),
                to: id(2),
            }],
        };
        let c = compile(&tree, ChannelFamily::Messaging, &NoResolver);
        assert_eq!(codes(&c), vec![("unlinked_branch", Severity::Warning)]);
    }

    #[test]
    fn every_kind_of_problem_is_reported() {
        let tree = Tree {
            actions: vec![
                action(1, "start", json!({})),
                action(2, "simple_message", json!({"message": ""})),
                action(3, "node", json!({})),
                action(4, "no_such_type", json!({})),
                action(
                    5,
                    "detect_keywords",
                    json!({"search_in": "body", "groups": [{"keywords": ["x"]}]}),
                ),
            ],
            links: vec![
                Link {
                    id: id(10),
                    from: id(1),
                    branch: "ok".into(),
                    to: id(2),
                },
                Link {
                    id: id(11),
                    from: id(2),
                    branch: "nope".into(),
                    to: id(3),
                },
                Link {
                    id: id(12),
                    from: id(2),
                    branch: "ok".into(),
                    to: id(99),
                },
                Link {
                    id: id(13),
                    from: id(3),
                    branch: "ok".into(),
                    to: id(1),
                },
            ],
        };
        let c = compile(&tree, ChannelFamily::Messaging, &NoResolver);
        let got = codes(&c);
        for expected in [
            ("invalid_parameters", Severity::Error),
            ("unknown_action_type", Severity::Error),
            ("action_not_in_family", Severity::Error),
            ("unknown_branch", Severity::Error),
            ("dangling_link", Severity::Error),
            ("link_into_start", Severity::Error),
            ("unreachable_action", Severity::Warning),
            ("unlinked_branch", Severity::Warning),
        ] {
            assert!(got.contains(&expected), "{expected:?} missing from {got:?}");
        }
        let invalid = c
            .diagnostics
            .iter()
            .find(|d| d.code == "invalid_parameters")
            .unwrap();
        assert_eq!(invalid.path.as_deref(), Some("message"));
        assert_eq!(c.diagnostics[0].severity, Severity::Error);
    }

    #[test]
    fn fallback_branches_cover_specific_ones() {
        let q =
            json!({"target": {"to": "queue", "queue": {"by": "reference", "reference": "SALES"}}});
        let mut tree = Tree {
            actions: vec![
                action(1, "start", json!({})),
                action(2, "distribute_to_queue", q),
                action(3, "node", json!({})),
            ],
            links: vec![],
        };
        tree.links.push(Link {
            id: id(10),
            from: id(1),
            branch: "ok".into(),
            to: id(2),
        });
        let unlinked = |t: &Tree| {
            compile(t, ChannelFamily::Email, &NoResolver)
                .diagnostics
                .iter()
                .filter(|d| d.code == "unlinked_branch" && d.action_id == Some(id(2)))
                .count()
        };
        assert_eq!(unlinked(&tree), 10);
        tree.links.push(Link {
            id: id(11),
            from: id(2),
            branch: "overflow".into(),
            to: id(3),
        });
        assert_eq!(unlinked(&tree), 6);
        tree.links.push(Link {
            id: id(12),
            from: id(2),
            branch: "dissuasion".into(),
            to: id(3),
        });
        assert_eq!(unlinked(&tree), 3);
    }

    #[test]
    fn links_on_branches_that_cannot_be_taken_warn() {
        let tree = Tree {
            actions: vec![
                action(1, "start", json!({})),
                action(2, "load_sharing", json!({"loads": [100, 0]})),
                action(3, "node", json!({})),
            ],
            links: vec![
                Link {
                    id: id(10),
                    from: id(1),
                    branch: "ok".into(),
                    to: id(2),
                },
                Link {
                    id: id(11),
                    from: id(2),
                    branch: "link_2".into(),
                    to: id(3),
                },
            ],
        };
        let c = compile(&tree, ChannelFamily::Messaging, &NoResolver);
        assert!(codes(&c).contains(&("branch_never_taken", Severity::Warning)));
    }

    struct Routings;
    impl Resolver for Routings {
        fn lookup(&self, kind: ObjectKind, selector: &Selector) -> Lookup {
            match (kind, selector) {
                (ObjectKind::Routing, Selector::Reference { reference })
                    if reference.0 == "END" =>
                {
                    Lookup::Found(Some((
                        RoutingKind::InteractionEnd,
                        ChannelFamily::Messaging,
                    )))
                }
                (ObjectKind::Routing, _) => Lookup::NotFound,
                _ => Lookup::Unchecked,
            }
        }
    }

    #[test]
    fn references_are_resolved() {
        let tree = |r: &str| Tree {
            actions: vec![
                action(1, "start", json!({})),
                action(
                    2,
                    "distribute_to_routing",
                    json!({"routing": {"by": "reference", "reference": r}}),
                ),
            ],
            links: vec![Link {
                id: id(10),
                from: id(1),
                branch: "ok".into(),
                to: id(2),
            }],
        };
        let c = compile(&tree("MISSING"), ChannelFamily::Messaging, &Routings);
        assert!(codes(&c).contains(&("reference_not_found", Severity::Warning)));
        let c = compile(&tree("END"), ChannelFamily::Messaging, &Routings);
        assert!(codes(&c).contains(&("invalid_target_routing", Severity::Error)));
    }

    #[test]
    fn variables_are_checked_against_their_declarations() {
        struct Declared(VariableData);
        impl Resolver for Declared {
            fn lookup(&self, _: ObjectKind, _: &Selector) -> Lookup {
                Lookup::Unchecked
            }
            fn variable(&self, name: &str) -> VarLookup<'_> {
                if name == "order" {
                    VarLookup::Declared(&self.0)
                } else {
                    VarLookup::NotDeclared
                }
            }
        }
        let declared = Declared(
            serde_json::from_value(json!({"fields": [{"name": "number", "type": "number"}]}))
                .unwrap(),
        );
        let tree = Tree {
            actions: vec![
                action(1, "start", json!({})),
                action(
                    2,
                    "assign_variables",
                    json!({"assignments": [
                        {"variable": "order.number", "value": "{{ customer.name }} {{ order.number }}"},
                        {"variable": "order.colour", "value": "{{ basket.total }}"}
                    ]}),
                ),
            ],
            links: vec![Link {
                id: id(10),
                from: id(1),
                branch: "ok".into(),
                to: id(2),
            }],
        };
        let c = compile(&tree, ChannelFamily::Messaging, &declared);
        let messages: Vec<(&str, &str)> = c
            .diagnostics
            .iter()
            .filter(|d| d.code == "undeclared_variable" || d.code == "unknown_field")
            .map(|d| (d.code.as_str(), d.message.as_str()))
            .collect();
        assert_eq!(
            messages,
            [
                (
                    "undeclared_variable",
                    "'basket' (in 'basket.total') is not a declared variable"
                ),
                (
                    "unknown_field",
                    "the variable 'order' has no field 'colour'"
                )
            ]
        );
        assert!(!c.has_errors());
        // without declarations at hand, nothing is said
        let c = compile(&tree, ChannelFamily::Messaging, &NoResolver);
        assert!(
            c.diagnostics
                .iter()
                .all(|d| d.code != "undeclared_variable")
        );
        assert_eq!(
            variable_names(&tree),
            HashSet::from(["order".to_owned(), "basket".to_owned()])
        );
    }

    #[test]
    fn blank_tree_warns() {
        let c = compile(&Tree::with_start(id(1)), ChannelFamily::Email, &NoResolver);
        assert!(codes(&c).contains(&("blank_version", Severity::Warning)));
    }
}
