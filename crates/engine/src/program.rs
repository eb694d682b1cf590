//! A version compiled for running: each action's parameters parsed once into its runner, and
//! each branch resolved to the next action (a specific branch that is not linked follows its
//! catch-all, e.g. *Overflow – No user* → *Overflow*).

use std::collections::HashMap;

use flow::compile::{Compiled, Resolver, compile};
use flow::exec::Run;
use flow::tree::ActionId;
use flow::{ChannelFamily, RoutingId, RoutingKind, Version, VersionId, catalogue};

/// One action, ready to run.
#[derive(Debug)]
pub struct Node {
    pub type_key: &'static str,
    pub label: &'static str,
    pub record_passage: bool,
    /// `None` when this build cannot run the type.
    pub runner: Option<Box<dyn Run>>,
    next: HashMap<&'static str, ActionId>,
}

impl Node {
    /// The action a branch leads to, if linked (directly or through its catch-all).
    pub fn next(&self, branch: &str) -> Option<ActionId> {
        self.next.get(branch).copied()
    }
}

/// A runnable version.
#[derive(Debug)]
pub struct Program {
    pub routing_id: RoutingId,
    pub routing_reference: String,
    pub version_id: VersionId,
    pub version_number: u32,
    pub family: ChannelFamily,
    pub kind: RoutingKind,
    pub start: ActionId,
    nodes: HashMap<ActionId, Node>,
}

/// Who a program belongs to.
#[derive(Clone, Debug)]
pub struct Owner {
    pub routing_id: RoutingId,
    pub routing_reference: String,
    pub family: ChannelFamily,
    pub kind: RoutingKind,
}

impl Program {
    /// Builds a program from a version whose tree compiles without errors.
    pub fn build(
        owner: &Owner,
        version: &Version,
        resolver: &dyn Resolver,
    ) -> Result<Program, Compiled> {
        let compiled = compile(&version.tree, owner.family, resolver);
        // an action this build cannot run keeps a version out of production, but a preview
        // (or a version stored by an older build) runs up to it and ends there, visibly
        let blocking = compiled
            .diagnostics
            .iter()
            .any(|d| d.severity == flow::Severity::Error && d.code != "action_unavailable");
        if blocking {
            return Err(compiled);
        }
        let refuse = |code: &str, message: String| Compiled {
            diagnostics: vec![flow::Diagnostic {
                severity: flow::Severity::Error,
                code: code.into(),
                message,
                action_id: None,
                link_id: None,
                path: None,
            }],
        };
        let start = version
            .tree
            .start()
            .ok_or_else(|| refuse("missing_start", "no Start action".into()))?
            .id;
        let mut nodes = HashMap::new();
        for a in &version.tree.actions {
            let spec = catalogue::get(&a.action_type)
                .ok_or_else(|| refuse("unknown_action_type", a.action_type.clone()))?;
            let runner = spec
                .instantiate(&a.params)
                .map_err(|_| refuse("invalid_parameters", format!("action {}", a.id)))?;
            let linked: HashMap<&str, ActionId> = version
                .tree
                .links
                .iter()
                .filter(|l| l.from == a.id)
                .map(|l| (l.branch.as_str(), l.to))
                .collect();
            let next = spec
                .branches()
                .iter()
                .filter_map(|b| {
                    linked
                        .get(b.key)
                        .or_else(|| b.fallback.and_then(|f| linked.get(f)))
                        .map(|to| (b.key, *to))
                })
                .collect();
            nodes.insert(
                a.id,
                Node {
                    type_key: spec.type_key(),
                    label: spec.label(),
                    record_passage: a.record_passage,
                    runner,
                    next,
                },
            );
        }
        Ok(Program {
            routing_id: owner.routing_id,
            routing_reference: owner.routing_reference.clone(),
            version_id: version.record.id,
            version_number: version.record.number,
            family: owner.family,
            kind: owner.kind,
            start,
            nodes,
        })
    }

    pub fn node(&self, id: ActionId) -> Option<&Node> {
        self.nodes.get(&id)
    }

    /// Whether the program holds an action of this type.
    pub fn has_type(&self, type_key: &str) -> bool {
        self.nodes.values().any(|n| n.type_key == type_key)
    }

    /// Identifiers of every action.
    pub fn action_ids(&self) -> Vec<ActionId> {
        self.nodes.keys().copied().collect()
    }

    /// Number of actions.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}
