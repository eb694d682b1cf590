//! Users, groups, their settings and the values the distribution works with.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub type UserId = Uuid;
pub type GroupId = Uuid;
pub type InteractionId = Uuid;

/// Limits of the distribution.
pub mod limits {
    /// Most users.
    pub const USERS: usize = 100_000;
    /// Most members of one group.
    pub const MEMBERS: usize = 1_000;
    /// Most simultaneous conversations of one user.
    pub const CAPACITY: u32 = 100;
    /// Most queues in a queue group.
    pub const QUEUES_IN_GROUP: usize = 20;
    /// Most "I give up" words of a group.
    pub const GIVE_UP_WORDS: usize = 50;
    /// Handling times kept per group for the estimated waiting time.
    pub const HANDLING_SAMPLES: usize = 20;
    /// Queue entries looked at in one dispatch of a group (entries every eligible user declined
    /// are skipped; the scan stops here).
    pub const DISPATCH_SCAN: usize = 64;
}

/// An agent's presence. Only `Online` users receive offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    Online,
    Away,
    Offline,
}

impl Presence {
    pub fn as_str(self) -> &'static str {
        match self {
            Presence::Online => "online",
            Presence::Away => "away",
            Presence::Offline => "offline",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "online" => Some(Presence::Online),
            "away" => Some(Presence::Away),
            "offline" => Some(Presence::Offline),
            _ => None,
        }
    }
}

/// How a group picks among its eligible users (members online and below capacity).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// Uniformly among eligible users, with the state's seeded generator (replayable).
    #[default]
    Random,
    /// Strict rotation over the members in their fixed order: the first eligible member after
    /// the one served last (the position is part of the state, so it survives restarts).
    InOrder,
    /// The eligible user whose last message to a customer is the oldest; never-messaged users
    /// first; ties in member order.
    MostWaiting,
    /// The eligible user with the fewest open conversations (assigned or offered); ties go to
    /// the most waiting.
    LeastChats,
}

impl Algorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Random => "random",
            Algorithm::InOrder => "in_order",
            Algorithm::MostWaiting => "most_waiting",
            Algorithm::LeastChats => "least_chats",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "random" => Some(Algorithm::Random),
            "in_order" => Some(Algorithm::InOrder),
            "most_waiting" => Some(Algorithm::MostWaiting),
            "least_chats" => Some(Algorithm::LeastChats),
            _ => None,
        }
    }
}

/// A user as the distribution sees them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserSpec {
    pub id: UserId,
    pub presence: Presence,
    /// Most simultaneous conversations (offers included), 1 to 100.
    pub capacity: u32,
    /// Offers are accepted at once, without the user answering.
    pub auto_accept: bool,
    /// When the user last wrote to a customer (for *most waiting*).
    pub last_message_at: Option<Timestamp>,
}

/// Limits of a group. Absent limits do not apply.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupLimits {
    /// Most interactions waiting (not yet offered): beyond, *Overflow – Maximum number of
    /// waiting interactions*.
    pub max_waiting: Option<u32>,
    /// Longest estimated waiting time accepted: beyond, *Overflow – Maximum estimated waiting
    /// time*.
    pub max_estimated_wait: Option<SignedDuration>,
    /// Longest wait before the customer is dissuaded (*Dissuasion – Maximum wait time reached*).
    pub max_wait: Option<SignedDuration>,
    /// Words that mean "I give up waiting" (*Dissuasion – By the user*), compared without case
    /// or accents, as whole words.
    pub give_up_words: Vec<String>,
}

/// A group (queue) as the distribution sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupSpec {
    pub id: GroupId,
    /// Members in their fixed order (the order of *in order*).
    pub members: Vec<UserId>,
    pub algorithm: Algorithm,
    pub limits: GroupLimits,
}

/// Settings of the distribution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// How long an offer waits for the user's answer before it goes to the next eligible user
    /// (and how long a distribution to one user waits for them).
    pub offer_timeout: SignedDuration,
    /// Handling time assumed while a group has no handled conversation yet.
    pub default_handling: SignedDuration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            offer_timeout: SignedDuration::from_secs(30),
            default_handling: SignedDuration::from_mins(5),
        }
    }
}
