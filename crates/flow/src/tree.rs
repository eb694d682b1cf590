//! Action trees and their editing operations. Every operation checks its input fully before
//! changing anything, so a refused edit leaves the tree as it was.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::catalogue::{self, ParamIssue, Spec};
use crate::fields::ChannelFamily;

pub use crate::ids::{ActionId, LinkId};

/// Limits of one tree.
pub mod limits {
    /// Most actions in one tree.
    pub const ACTIONS: usize = 500;
    /// Most links in one tree.
    pub const LINKS: usize = 2_000;
    /// Largest absolute editor coordinate.
    pub const COORDINATE: f64 = 1_000_000.0;
}

/// Where an action sits on the editor canvas.
#[derive(Clone, Copy, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Position {
    pub x: f64,
    pub y: f64,
}

/// One action of a tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    pub id: ActionId,
    /// Key of the action type in the catalogue.
    #[serde(rename = "type")]
    pub action_type: String,
    /// Optional label shown in the editor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub params: Value,
    /// Record the passage in this action in the interaction's events.
    #[serde(default)]
    pub record_passage: bool,
    #[serde(default)]
    pub position: Position,
}

/// A link from one action's branch to another action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    pub id: LinkId,
    pub from: ActionId,
    pub branch: String,
    pub to: ActionId,
}

/// An action tree: actions and the links between their branches.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tree {
    pub actions: Vec<Action>,
    pub links: Vec<Link>,
}

/// A refused edit.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum TreeError {
    #[error("action {0} is not in this version")]
    ActionNotFound(ActionId),
    #[error("link {0} is not in this version")]
    LinkNotFound(LinkId),
    #[error("the Start action cannot be {0}")]
    StartImmutable(&'static str),
    #[error("unknown action type '{0}'")]
    UnknownActionType(String),
    #[error("action type '{action_type}' does not exist in {family} routings")]
    NotInFamily {
        action_type: String,
        family: &'static str,
    },
    #[error("invalid parameters for '{action_type}'")]
    InvalidParams {
        action_type: String,
        issues: Vec<ParamIssue>,
    },
    #[error("action type '{action_type}' has no branch '{branch}'")]
    UnknownBranch { action_type: String, branch: String },
    #[error("branch '{branch}' of action {from} is already linked")]
    BranchTaken { from: ActionId, branch: String },
    #[error("nothing can link into the Start action")]
    LinkIntoStart,
    #[error("a tree holds at most {0} actions")]
    TooManyActions(usize),
    #[error("a tree holds at most {0} links")]
    TooManyLinks(usize),
    #[error("identifier {0} is already used in this tree")]
    DuplicateId(Uuid),
    #[error("invalid {field}: {message}")]
    InvalidField {
        field: &'static str,
        message: String,
    },
}

impl TreeError {
    /// Stable code for API errors.
    pub fn code(&self) -> &'static str {
        match self {
            TreeError::ActionNotFound(_) => "action_not_found",
            TreeError::LinkNotFound(_) => "link_not_found",
            TreeError::StartImmutable(_) => "start_immutable",
            TreeError::UnknownActionType(_) => "unknown_action_type",
            TreeError::NotInFamily { .. } => "action_not_in_family",
            TreeError::InvalidParams { .. } => "invalid_parameters",
            TreeError::UnknownBranch { .. } => "unknown_branch",
            TreeError::BranchTaken { .. } => "branch_taken",
            TreeError::LinkIntoStart => "link_into_start",
            TreeError::TooManyActions(_) => "too_many_actions",
            TreeError::TooManyLinks(_) => "too_many_links",
            TreeError::DuplicateId(_) => "duplicate_id",
            TreeError::InvalidField { .. } => "invalid_field",
        }
    }
}

/// The content of a new action.
#[derive(Clone, Debug, PartialEq)]
pub struct NewAction {
    pub id: ActionId,
    pub action_type: String,
    pub name: Option<String>,
    pub params: Value,
    pub record_passage: bool,
    pub position: Position,
}

/// Changes to an action; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ActionPatch {
    pub name: Option<Option<String>>,
    pub params: Option<Value>,
    pub record_passage: Option<bool>,
    pub position: Option<Position>,
}

/// Changes to a link; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkPatch {
    pub from: Option<ActionId>,
    pub branch: Option<String>,
    pub to: Option<ActionId>,
}

fn check_name(name: &Option<String>) -> Result<Option<String>, TreeError> {
    match name {
        None => Ok(None),
        Some(n) if n.trim().is_empty() => Ok(None),
        Some(n) => {
            crate::fields::check_name("name", n)
                .map(Some)
                .map_err(|e| TreeError::InvalidField {
                    field: "name",
                    message: e.message,
                })
        }
    }
}

fn check_position(p: Position) -> Result<Position, TreeError> {
    let ok = |v: f64| v.is_finite() && v.abs() <= limits::COORDINATE;
    if ok(p.x) && ok(p.y) {
        Ok(p)
    } else {
        Err(TreeError::InvalidField {
            field: "position",
            message: format!("x and y must be finite and within ±{}", limits::COORDINATE),
        })
    }
}

/// Checks an action type for a family and its parameters; returns the canonical parameters.
pub fn check_params(
    family: ChannelFamily,
    action_type: &str,
    params: &Value,
) -> Result<Value, TreeError> {
    let spec = spec_for(family, action_type)?;
    let analysis = spec.analyse(params);
    match analysis.normalized {
        Some(v) if analysis.issues.is_empty() => Ok(v),
        _ => Err(TreeError::InvalidParams {
            action_type: action_type.to_owned(),
            issues: analysis.issues,
        }),
    }
}

fn spec_for(family: ChannelFamily, action_type: &str) -> Result<&'static dyn Spec, TreeError> {
    let spec = catalogue::get(action_type)
        .ok_or_else(|| TreeError::UnknownActionType(action_type.to_owned()))?;
    if !spec.in_family(family) {
        return Err(TreeError::NotInFamily {
            action_type: action_type.to_owned(),
            family: family.as_str(),
        });
    }
    Ok(spec)
}

impl Tree {
    /// A tree holding only Start.
    pub fn with_start(start_id: ActionId) -> Tree {
        Tree {
            actions: vec![Action {
                id: start_id,
                action_type: catalogue::START.to_owned(),
                name: None,
                params: Value::Object(Default::default()),
                record_passage: false,
                position: Position::default(),
            }],
            links: Vec::new(),
        }
    }

    pub fn action(&self, id: ActionId) -> Option<&Action> {
        self.actions.iter().find(|a| a.id == id)
    }

    pub fn link(&self, id: LinkId) -> Option<&Link> {
        self.links.iter().find(|l| l.id == id)
    }

    /// The first Start action.
    pub fn start(&self) -> Option<&Action> {
        self.actions
            .iter()
            .find(|a| a.action_type == catalogue::START)
    }

    /// True when the tree holds nothing but Start.
    pub fn is_blank(&self) -> bool {
        self.actions
            .iter()
            .all(|a| a.action_type == catalogue::START)
    }

    fn id_used(&self, id: Uuid) -> bool {
        self.actions.iter().any(|a| a.id == id) || self.links.iter().any(|l| l.id == id)
    }

    fn existing(&self, id: ActionId) -> Result<&Action, TreeError> {
        self.action(id).ok_or(TreeError::ActionNotFound(id))
    }

    /// Checks that `from.branch → to` may be added, ignoring the link `ignore` (when re-pointing).
    fn check_link(
        &self,
        family: ChannelFamily,
        from: ActionId,
        branch: &str,
        to: ActionId,
        ignore: Option<LinkId>,
    ) -> Result<(), TreeError> {
        let source = self.existing(from)?;
        let target = self.existing(to)?;
        let spec = spec_for(family, &source.action_type)?;
        if !spec.has_branch(branch) {
            return Err(TreeError::UnknownBranch {
                action_type: source.action_type.clone(),
                branch: branch.to_owned(),
            });
        }
        if target.action_type == catalogue::START {
            return Err(TreeError::LinkIntoStart);
        }
        if self
            .links
            .iter()
            .any(|l| Some(l.id) != ignore && l.from == from && l.branch == branch)
        {
            return Err(TreeError::BranchTaken {
                from,
                branch: branch.to_owned(),
            });
        }
        Ok(())
    }

    fn build_action(&self, family: ChannelFamily, new: NewAction) -> Result<Action, TreeError> {
        if new.action_type == catalogue::START {
            return Err(TreeError::StartImmutable(
                "added: every tree has exactly one",
            ));
        }
        if self.actions.len() >= limits::ACTIONS {
            return Err(TreeError::TooManyActions(limits::ACTIONS));
        }
        if self.id_used(new.id) {
            return Err(TreeError::DuplicateId(new.id));
        }
        let params = check_params(family, &new.action_type, &new.params)?;
        Ok(Action {
            id: new.id,
            action_type: new.action_type,
            name: check_name(&new.name)?,
            params,
            record_passage: new.record_passage,
            position: check_position(new.position)?,
        })
    }

    fn room_for_links(&self, n: usize) -> Result<(), TreeError> {
        if self.links.len() + n > limits::LINKS {
            return Err(TreeError::TooManyLinks(limits::LINKS));
        }
        Ok(())
    }

    /// Adds an action, optionally after `parent` in `branch` (linked by `link_id`).
    pub fn add_action(
        &mut self,
        family: ChannelFamily,
        new: NewAction,
        after: Option<(ActionId, String, LinkId)>,
    ) -> Result<(), TreeError> {
        let action = self.build_action(family, new)?;
        let link = match after {
            None => None,
            Some((parent, branch, link_id)) => {
                if self.id_used(link_id) || link_id == action.id {
                    return Err(TreeError::DuplicateId(link_id));
                }
                self.room_for_links(1)?;
                let source = self.existing(parent)?;
                let spec = spec_for(family, &source.action_type)?;
                if !spec.has_branch(&branch) {
                    return Err(TreeError::UnknownBranch {
                        action_type: source.action_type.clone(),
                        branch,
                    });
                }
                if self
                    .links
                    .iter()
                    .any(|l| l.from == parent && l.branch == branch)
                {
                    return Err(TreeError::BranchTaken {
                        from: parent,
                        branch,
                    });
                }
                Some(Link {
                    id: link_id,
                    from: parent,
                    branch,
                    to: action.id,
                })
            }
        };
        self.actions.push(action);
        self.links.extend(link);
        Ok(())
    }

    /// Inserts an action on an existing link: `from → new → to`. The existing link now ends at the
    /// new action; a new link `new_link_id` goes from the new action's `out_branch` (its first
    /// branch when `None`) to the old target.
    pub fn insert_between(
        &mut self,
        family: ChannelFamily,
        new: NewAction,
        link: LinkId,
        out_branch: Option<String>,
        new_link_id: LinkId,
    ) -> Result<(), TreeError> {
        let existing = self
            .link(link)
            .ok_or(TreeError::LinkNotFound(link))?
            .clone();
        let action = self.build_action(family, new)?;
        if self.id_used(new_link_id) || new_link_id == action.id {
            return Err(TreeError::DuplicateId(new_link_id));
        }
        self.room_for_links(1)?;
        let spec = spec_for(family, &action.action_type)?;
        let out_branch = match out_branch {
            Some(b) if spec.has_branch(&b) => b,
            Some(b) => {
                return Err(TreeError::UnknownBranch {
                    action_type: action.action_type.clone(),
                    branch: b,
                });
            }
            None => spec
                .branches()
                .first()
                .map(|b| b.key.to_owned())
                .unwrap_or_default(),
        };
        let new_id = action.id;
        self.actions.push(action);
        if let Some(l) = self.links.iter_mut().find(|l| l.id == link) {
            l.to = new_id;
        }
        self.links.push(Link {
            id: new_link_id,
            from: new_id,
            branch: out_branch,
            to: existing.to,
        });
        Ok(())
    }

    /// Changes an action's name, parameters, passage recording or position. Its type never changes.
    pub fn update_action(
        &mut self,
        family: ChannelFamily,
        id: ActionId,
        patch: ActionPatch,
    ) -> Result<(), TreeError> {
        let current = self.existing(id)?;
        let params = match &patch.params {
            Some(p) => Some(check_params(family, &current.action_type, p)?),
            None => None,
        };
        let name = match &patch.name {
            Some(n) => Some(check_name(n)?),
            None => None,
        };
        let position = patch.position.map(check_position).transpose()?;
        let action = self
            .actions
            .iter_mut()
            .find(|a| a.id == id)
            .ok_or(TreeError::ActionNotFound(id))?;
        if let Some(p) = params {
            action.params = p;
        }
        if let Some(n) = name {
            action.name = n;
        }
        if let Some(r) = patch.record_passage {
            action.record_passage = r;
        }
        if let Some(p) = position {
            action.position = p;
        }
        Ok(())
    }

    /// Deletes an action and every link from or to it.
    pub fn delete_action(&mut self, id: ActionId) -> Result<(), TreeError> {
        let action = self.existing(id)?;
        if action.action_type == catalogue::START {
            return Err(TreeError::StartImmutable("deleted"));
        }
        self.actions.retain(|a| a.id != id);
        self.links.retain(|l| l.from != id && l.to != id);
        Ok(())
    }

    /// Adds a link.
    pub fn add_link(&mut self, family: ChannelFamily, link: Link) -> Result<(), TreeError> {
        if self.id_used(link.id) {
            return Err(TreeError::DuplicateId(link.id));
        }
        self.room_for_links(1)?;
        self.check_link(family, link.from, &link.branch, link.to, None)?;
        self.links.push(link);
        Ok(())
    }

    /// Re-points a link: a new source, branch or target.
    pub fn update_link(
        &mut self,
        family: ChannelFamily,
        id: LinkId,
        patch: LinkPatch,
    ) -> Result<(), TreeError> {
        let current = self.link(id).ok_or(TreeError::LinkNotFound(id))?.clone();
        let from = patch.from.unwrap_or(current.from);
        let branch = patch.branch.unwrap_or(current.branch);
        let to = patch.to.unwrap_or(current.to);
        self.check_link(family, from, &branch, to, Some(id))?;
        if let Some(l) = self.links.iter_mut().find(|l| l.id == id) {
            *l = Link {
                id,
                from,
                branch,
                to,
            };
        }
        Ok(())
    }

    /// Deletes a link.
    pub fn delete_link(&mut self, id: LinkId) -> Result<(), TreeError> {
        let before = self.links.len();
        self.links.retain(|l| l.id != id);
        if self.links.len() == before {
            return Err(TreeError::LinkNotFound(id));
        }
        Ok(())
    }

    /// Replaces the whole tree with `other` (the editor's undo and redo), checked as the edits
    /// that would build it are: its first action is this tree's Start (same id; its name,
    /// parameters and place checked as an update's), every other action is checked as an
    /// added one and every link as a new one. Nothing changes when one is refused.
    pub fn replace(&mut self, family: ChannelFamily, other: Tree) -> Result<(), TreeError> {
        let start = self
            .start()
            .ok_or(TreeError::StartImmutable("removed"))?
            .clone();
        let mut actions = other.actions.into_iter();
        let Some(given) = actions.next().filter(|a| a.id == start.id) else {
            return Err(TreeError::StartImmutable(
                "replaced: the tree's first action is its Start, with its id",
            ));
        };
        let mut built = Tree {
            actions: vec![start],
            links: Vec::new(),
        };
        built.update_action(
            family,
            given.id,
            ActionPatch {
                name: Some(given.name),
                params: Some(given.params),
                record_passage: Some(given.record_passage),
                position: Some(given.position),
            },
        )?;
        for a in actions {
            built.add_action(
                family,
                NewAction {
                    id: a.id,
                    action_type: a.action_type,
                    name: a.name,
                    params: a.params,
                    record_passage: a.record_passage,
                    position: a.position,
                },
                None,
            )?;
        }
        for l in other.links {
            built.add_link(family, l)?;
        }
        *self = built;
        Ok(())
    }

    /// A copy of the tree where every action and link has a fresh identifier from `fresh`.
    pub fn with_fresh_ids(&self, fresh: &mut dyn FnMut() -> Uuid) -> Tree {
        let map: std::collections::HashMap<Uuid, Uuid> =
            self.actions.iter().map(|a| (a.id, fresh())).collect();
        let remap = |id: &Uuid| map.get(id).copied().unwrap_or(*id);
        Tree {
            actions: self
                .actions
                .iter()
                .map(|a| Action {
                    id: remap(&a.id),
                    ..a.clone()
                })
                .collect(),
            links: self
                .links
                .iter()
                .map(|l| Link {
                    id: fresh(),
                    from: remap(&l.from),
                    branch: l.branch.clone(),
                    to: remap(&l.to),
                })
                .collect(),
        }
    }
}
