//! Customer routing options (seed 004): where a customer's message goes when an entry point
//! uses rules instead of a smart routing.

use serde::{Deserialize, Serialize};

use crate::model::{GroupId, Presence, UserId};
use crate::state::Acd;

/// A group (with its own algorithm) and the message sent to the customer once assigned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRule {
    pub group: GroupId,
    /// Sent after assignment (a welcome, or an out-of-office notice); empty: nothing.
    #[serde(default)]
    pub message: String,
    /// How the group picks the user (seed 004: each rule selects a group and an algorithm);
    /// none: the group's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<crate::Algorithm>,
}

/// What to do when a returning customer's owner is not online.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum OwnerOffline {
    /// Wait for the owner, even offline.
    KeepUser,
    /// Go to a group, unless everyone is offline (then the owner).
    Group(GroupRule),
}

/// The rules of one entry point.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerRouting {
    /// A new customer while at least one user is online.
    pub new_online: GroupRule,
    /// A new customer while every user is offline.
    pub new_offline: GroupRule,
    /// A returning customer whose owner is not online.
    pub owner_offline: OwnerOffline,
}

/// Where the rules send a customer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Routed {
    /// To the customer's owner, waiting for them however long.
    Owner { user: UserId },
    /// To a group, by `algorithm` (none: the group's), then `message` once assigned.
    Group {
        group: GroupId,
        message: String,
        algorithm: Option<crate::Algorithm>,
    },
}

/// Applies the rules. A customer is *new* when they have no owner (never handled, or their
/// owner was removed); a *returning* customer goes to their owner when the owner is online;
/// otherwise *keep user* waits for the owner, or the group rule applies while anyone is online
/// and the owner is waited for when everyone is offline.
pub fn route_customer(rules: &CustomerRouting, owner: Option<UserId>, acd: &Acd) -> Routed {
    let group = |r: &GroupRule| Routed::Group {
        group: r.group,
        message: r.message.clone(),
        algorithm: r.algorithm,
    };
    let owner = owner.and_then(|o| acd.user(o).map(|spec| (o, spec.presence)));
    match owner {
        None if acd.anyone_online() => group(&rules.new_online),
        None => group(&rules.new_offline),
        Some((user, Presence::Online)) => Routed::Owner { user },
        Some((user, _)) => match &rules.owner_offline {
            OwnerOffline::KeepUser => Routed::Owner { user },
            OwnerOffline::Group(r) if acd.anyone_online() => group(r),
            OwnerOffline::Group(_) => Routed::Owner { user },
        },
    }
}
