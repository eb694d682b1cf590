//! The distribution, operation by operation: algorithms, offers, overflow, dissuasion,
//! distribution to a user, transfers and the customer routing rules.

use acd::*;
use jiff::{SignedDuration, Timestamp};
use uuid::Uuid;

fn t(s: i64) -> Timestamp {
    Timestamp::from_second(1_780_000_000 + s).unwrap()
}

fn uid(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn user(n: u128, capacity: u32) -> UserSpec {
    UserSpec {
        id: uid(n),
        presence: Presence::Online,
        capacity,
        auto_accept: false,
        last_message_at: None,
    }
}

const G: u128 = 1000;

fn group(members: &[u128], algorithm: Algorithm, limits: GroupLimits) -> GroupSpec {
    GroupSpec {
        id: uid(G),
        members: members.iter().map(|m| uid(*m)).collect(),
        algorithm,
        limits,
    }
}

fn queue() -> Target {
    Target::Queues {
        groups: vec![uid(G)],
        priority: false,
    }
}

fn acd(users: &[(u128, u32)], algorithm: Algorithm, limits: GroupLimits) -> Acd {
    let mut a = Acd::new(Settings::default(), 7);
    for (n, c) in users {
        a.upsert_user(user(*n, *c), t(0));
    }
    let members: Vec<u128> = users.iter().map(|(n, _)| *n).collect();
    a.upsert_group(group(&members, algorithm, limits), t(0));
    a
}

fn offered(events: &[Event]) -> Vec<(Uuid, Uuid)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Offered {
                interaction, user, ..
            } => Some((*interaction, *user)),
            _ => None,
        })
        .collect()
}

fn outcome(events: &[Event], i: Uuid) -> Option<Outcome> {
    events.iter().find_map(|e| match e {
        Event::Resolved {
            interaction,
            outcome,
        } if *interaction == i => Some(outcome.clone()),
        _ => None,
    })
}

/// Distributes, accepts and closes one interaction; returns who got it.
fn serve(a: &mut Acd, n: u128, at: i64) -> Uuid {
    let i = uid(n);
    let ev = a.enqueue(i, queue(), t(at)).unwrap();
    let (_, u) = offered(&ev)[0];
    a.accept(i, u, t(at)).unwrap();
    a.message_sent(u, t(at));
    let ev = a.close(i, t(at + 1));
    assert_eq!(outcome(&ev, i), Some(Outcome::Processed));
    u
}

#[test]
fn in_order_rotates_exactly_and_skips_who_cannot_take_it() {
    let mut a = acd(
        &[(1, 1), (2, 1), (3, 1), (4, 1)],
        Algorithm::InOrder,
        GroupLimits::default(),
    );
    let got: Vec<Uuid> = (0..8)
        .map(|n| serve(&mut a, 100 + n, n as i64 * 10))
        .collect();
    let expect: Vec<Uuid> = [1, 2, 3, 4, 1, 2, 3, 4].iter().map(|n| uid(*n)).collect();
    assert_eq!(got, expect);
    // user 2 goes away: the rotation skips them and keeps its place
    a.set_presence(uid(2), Presence::Away, t(100));
    let got: Vec<Uuid> = (0..4)
        .map(|n| serve(&mut a, 200 + n, 200 + n as i64 * 10))
        .collect();
    assert_eq!(got, [uid(1), uid(3), uid(4), uid(1)]);
    assert_eq!(
        a.rotation(uid(G)),
        Some(1),
        "persisted position: after user 1"
    );
}

#[test]
fn most_waiting_and_least_chats_pick_the_right_user() {
    let mut a = acd(
        &[(1, 5), (2, 5), (3, 5)],
        Algorithm::MostWaiting,
        GroupLimits::default(),
    );
    a.message_sent(uid(1), t(10));
    a.message_sent(uid(2), t(5));
    a.message_sent(uid(3), t(20));
    let ev = a.enqueue(uid(100), queue(), t(30)).unwrap();
    assert_eq!(
        offered(&ev),
        [(uid(100), uid(2))],
        "user 2 wrote last the longest ago"
    );

    let mut a = acd(
        &[(1, 5), (2, 5), (3, 5)],
        Algorithm::LeastChats,
        GroupLimits::default(),
    );
    // users 1 and 2 hold conversations; 3 holds one too but wrote long ago
    for (i, u) in [(101, 1), (102, 1), (103, 2), (104, 3)] {
        a.enqueue(
            uid(i),
            Target::User {
                user: uid(u),
                keep: false,
            },
            t(0),
        )
        .unwrap();
        a.accept(uid(i), uid(u), t(0)).unwrap();
    }
    a.message_sent(uid(2), t(50));
    a.message_sent(uid(3), t(40));
    let ev = a.enqueue(uid(200), queue(), t(60)).unwrap();
    assert_eq!(
        offered(&ev),
        [(uid(200), uid(3))],
        "fewest chats (1 each for 2 and 3), tie to the most waiting"
    );
    assert_eq!(a.load(uid(3)), 2);
}

#[test]
fn random_spreads_within_statistical_bounds() {
    let mut a = acd(
        &[(1, 100), (2, 100), (3, 100), (4, 100)],
        Algorithm::Random,
        GroupLimits::default(),
    );
    let mut counts = std::collections::HashMap::new();
    for n in 0..8_000u128 {
        let i = uid(10_000 + n);
        let ev = a.enqueue(i, queue(), t(0)).unwrap();
        let (_, u) = offered(&ev)[0];
        *counts.entry(u).or_insert(0) += 1;
        a.accept(i, u, t(0)).unwrap();
        a.close(i, t(1));
    }
    // 2 000 expected each; 5 standard deviations ≈ 194
    for (_, n) in counts {
        assert!((1_800..=2_200).contains(&n), "{n}");
    }
}

#[test]
fn offers_decline_expire_auto_accept_and_presence() {
    let settings = Settings::default();
    let mut a = acd(
        &[(1, 1), (2, 1)],
        Algorithm::InOrder,
        GroupLimits::default(),
    );
    let i = uid(100);
    let ev = a.enqueue(i, queue(), t(0)).unwrap();
    assert_eq!(offered(&ev), [(i, uid(1))]);
    // declined → the next eligible user
    let ev = a.decline(i, uid(1), t(1)).unwrap();
    assert_eq!(offered(&ev), [(i, uid(2))]);
    // not answered in time → back to user 1 (user 2 let it expire)
    assert_eq!(a.next_wake(), Some(t(1) + settings.offer_timeout));
    let ev = a.tick(t(1) + settings.offer_timeout);
    assert!(ev.contains(&Event::OfferExpired {
        interaction: i,
        user: uid(2)
    }));
    assert_eq!(
        offered(&ev),
        [(i, uid(1))],
        "everyone declined: the round starts again"
    );
    // user 1 goes offline with the offer open: withdrawn, to user 2
    let ev = a.set_presence(uid(1), Presence::Offline, t(40));
    assert!(ev.contains(&Event::OfferWithdrawn {
        interaction: i,
        user: uid(1)
    }));
    assert_eq!(offered(&ev), [(i, uid(2))]);
    assert!(
        a.accept(i, uid(1), t(41)).is_err(),
        "an offer taken back cannot be accepted"
    );
    a.accept(i, uid(2), t(41)).unwrap();
    assert_eq!(a.next_wake(), None);

    // auto-accept
    let mut a = acd(&[(1, 1)], Algorithm::Random, GroupLimits::default());
    a.upsert_user(
        UserSpec {
            auto_accept: true,
            ..user(1, 1)
        },
        t(0),
    );
    let ev = a.enqueue(uid(5), queue(), t(0)).unwrap();
    assert!(ev.contains(&Event::Accepted {
        interaction: uid(5),
        user: uid(1)
    }));
    // at capacity: the next one waits, and is offered when the first closes
    let ev = a.enqueue(uid(6), queue(), t(1)).unwrap();
    assert!(offered(&ev).is_empty());
    assert_eq!(a.waiting(uid(G)), [uid(6)]);
    let ev = a.close(uid(5), t(2));
    assert_eq!(offered(&ev), [(uid(6), uid(1))]);
}

#[test]
fn overflow_branches_and_queue_groups() {
    let limits = GroupLimits {
        max_waiting: Some(2),
        ..GroupLimits::default()
    };
    let mut a = acd(&[(1, 1)], Algorithm::Random, limits);
    a.enqueue(uid(100), queue(), t(0)).unwrap();
    a.enqueue(uid(101), queue(), t(0)).unwrap();
    a.enqueue(uid(102), queue(), t(0)).unwrap();
    assert_eq!(
        a.enqueue(uid(103), queue(), t(0)),
        Err(Refusal::OverflowMaxWaiting)
    );
    a.set_presence(uid(1), Presence::Offline, t(0));
    assert_eq!(
        a.enqueue(uid(104), queue(), t(0)),
        Err(Refusal::OverflowNoUser)
    );
    assert_eq!(
        a.enqueue(
            uid(105),
            Target::Queues {
                groups: vec![uid(9)],
                priority: false
            },
            t(0)
        ),
        Err(Refusal::NotFound)
    );

    // estimated waiting time: 2 ahead, capacity 2 full, 10 min mean handling → 5 min
    let limits = GroupLimits {
        max_estimated_wait: Some(SignedDuration::from_mins(4)),
        ..GroupLimits::default()
    };
    let mut a = acd(&[(1, 1), (2, 1)], Algorithm::Random, limits);
    let mut a2 = a.clone();
    for n in 0..2 {
        let i = uid(300 + n);
        let ev = a.enqueue(i, queue(), t(0)).unwrap();
        let (_, u) = offered(&ev)[0];
        a.accept(i, u, t(0)).unwrap();
        a.close(i, t(600));
    }
    a.enqueue(uid(310), queue(), t(600)).unwrap();
    a.enqueue(uid(311), queue(), t(600)).unwrap();
    // both busy, nobody ahead: one place must free, one every 10 min / 2
    assert_eq!(
        a.estimated_wait(uid(G), false),
        Some(SignedDuration::from_mins(5))
    );
    assert_eq!(
        a.enqueue(uid(312), queue(), t(600)),
        Err(Refusal::OverflowMaxEstimatedWait)
    );
    let wider = GroupLimits {
        max_estimated_wait: Some(SignedDuration::from_mins(6)),
        ..GroupLimits::default()
    };
    a.upsert_group(group(&[1, 2], Algorithm::Random, wider), t(600));
    a.enqueue(uid(312), queue(), t(600)).unwrap();
    assert_eq!(
        a.estimated_wait(uid(G), false),
        Some(SignedDuration::from_mins(10)),
        "one ahead"
    );
    assert_eq!(
        a.estimated_wait(uid(G), true),
        Some(SignedDuration::from_mins(5)),
        "nobody prioritized ahead"
    );
    assert_eq!(
        a.enqueue(uid(313), queue(), t(600)),
        Err(Refusal::OverflowMaxEstimatedWait)
    );
    let vip = Target::Queues {
        groups: vec![uid(G)],
        priority: true,
    };
    a.enqueue(uid(314), vip, t(600)).unwrap();
    assert_eq!(a.waiting(uid(G)), [uid(314), uid(312)]);

    // queue group: the first queue that would not overflow
    let second = GroupSpec {
        id: uid(G + 1),
        members: vec![uid(2)],
        algorithm: Algorithm::Random,
        limits: GroupLimits::default(),
    };
    a2.upsert_group(second, t(0));
    a2.set_presence(uid(1), Presence::Offline, t(0));
    a2.upsert_group(group(&[1], Algorithm::Random, GroupLimits::default()), t(0));
    let both = Target::Queues {
        groups: vec![uid(G), uid(G + 1)],
        priority: false,
    };
    let ev = a2.enqueue(uid(400), both.clone(), t(0)).unwrap();
    assert!(ev.contains(&Event::Queued {
        interaction: uid(400),
        group: Some(uid(G + 1)),
        user: None
    }));
    a2.set_presence(uid(2), Presence::Offline, t(0));
    assert_eq!(
        a2.enqueue(uid(401), both, t(0)),
        Err(Refusal::OverflowNoUser),
        "the first queue's reason"
    );
}

#[test]
fn priority_goes_to_the_head() {
    let mut a = acd(&[(1, 1)], Algorithm::Random, GroupLimits::default());
    a.enqueue(uid(1_000), queue(), t(0)).unwrap(); // offered
    a.enqueue(uid(100), queue(), t(1)).unwrap();
    a.enqueue(uid(101), queue(), t(2)).unwrap();
    let vip = Target::Queues {
        groups: vec![uid(G)],
        priority: true,
    };
    a.enqueue(uid(102), vip.clone(), t(3)).unwrap();
    a.enqueue(uid(103), vip, t(4)).unwrap();
    assert_eq!(a.waiting(uid(G)), [uid(102), uid(103), uid(100), uid(101)]);
}

#[test]
fn dissuasion_by_time_and_by_the_customer() {
    let limits = GroupLimits {
        max_wait: Some(SignedDuration::from_mins(2)),
        give_up_words: vec!["laisse tomber".into(), "STOP".into()],
        ..GroupLimits::default()
    };
    let mut a = acd(&[(1, 1)], Algorithm::Random, limits);
    a.enqueue(uid(1), queue(), t(0)).unwrap(); // offered, so the others wait
    a.accept(uid(1), uid(1), t(0)).unwrap();
    a.enqueue(uid(2), queue(), t(10)).unwrap();
    a.enqueue(uid(3), queue(), t(20)).unwrap();
    assert!(
        a.customer_message(uid(3), "ok I'll wait, no stopping", t(30))
            .is_empty(),
        "whole words only"
    );
    let ev = a.customer_message(uid(3), "Bon, LAISSÉ  tombér !", t(30));
    assert_eq!(outcome(&ev, uid(3)), Some(Outcome::DissuasionByUser));
    assert_eq!(a.next_wake(), Some(t(130)));
    assert!(a.tick(t(129)).is_empty());
    let ev = a.tick(t(130));
    assert_eq!(outcome(&ev, uid(2)), Some(Outcome::DissuasionMaxWait));
    assert!(a.waiting(uid(G)).is_empty());
    // an assigned conversation is no longer dissuaded
    assert!(a.customer_message(uid(1), "stop", t(200)).is_empty());
}

#[test]
fn distribution_to_a_user_every_branch() {
    let settings = Settings::default();
    let mut a = acd(&[(1, 1), (2, 1)], Algorithm::Random, GroupLimits::default());
    let to = |u: u128| Target::User {
        user: uid(u),
        keep: false,
    };
    // OK: accepted
    let ev = a.enqueue(uid(10), to(1), t(0)).unwrap();
    assert_eq!(offered(&ev), [(uid(10), uid(1))]);
    let ev = a.accept(uid(10), uid(1), t(5)).unwrap();
    assert_eq!(outcome(&ev, uid(10)), Some(Outcome::Accepted));
    // the later close does not answer the routing twice
    let ev = a.close(uid(10), t(60));
    assert_eq!(outcome(&ev, uid(10)), None);
    // No response: the offer expires
    a.enqueue(uid(11), to(1), t(100)).unwrap();
    let ev = a.tick(t(100) + settings.offer_timeout);
    assert_eq!(outcome(&ev, uid(11)), Some(Outcome::NoResponse));
    // at capacity the whole time: no response either
    a.enqueue(uid(12), to(2), t(200)).unwrap();
    a.accept(uid(12), uid(2), t(200)).unwrap();
    a.enqueue(uid(13), to(2), t(201)).unwrap();
    let ev = a.tick(t(201) + settings.offer_timeout);
    assert_eq!(outcome(&ev, uid(13)), Some(Outcome::NoResponse));
    // Error: declined, offline
    a.enqueue(uid(14), to(1), t(300)).unwrap();
    let ev = a.decline(uid(14), uid(1), t(301)).unwrap();
    assert_eq!(
        outcome(&ev, uid(14)),
        Some(Outcome::Error("the user declined".into()))
    );
    a.set_presence(uid(1), Presence::Offline, t(302));
    assert_eq!(
        a.enqueue(uid(15), to(1), t(302)),
        Err(Refusal::Unavailable("the user is offline".into()))
    );
    // Reference not found
    assert_eq!(a.enqueue(uid(16), to(99), t(302)), Err(Refusal::NotFound));
    // keep user: waits for an offline owner, offered when they come online
    let ev = a
        .enqueue(
            uid(17),
            Target::User {
                user: uid(1),
                keep: true,
            },
            t(400),
        )
        .unwrap();
    assert!(offered(&ev).is_empty());
    assert_eq!(a.next_wake(), None, "no deadline");
    let ev = a.set_presence(uid(1), Presence::Online, t(5_000));
    assert_eq!(offered(&ev), [(uid(17), uid(1))]);
}

#[test]
fn transfers_and_leaving_before_being_handled() {
    let mut a = acd(
        &[(1, 1), (2, 1)],
        Algorithm::InOrder,
        GroupLimits::default(),
    );
    a.enqueue(uid(10), queue(), t(0)).unwrap();
    a.accept(uid(10), uid(1), t(0)).unwrap();
    assert!(
        a.transfer(uid(10), uid(2), queue(), t(1)).is_err(),
        "only its holder transfers it"
    );
    let ev = a
        .transfer(
            uid(10),
            uid(1),
            Target::User {
                user: uid(2),
                keep: false,
            },
            t(1),
        )
        .unwrap();
    assert!(ev.contains(&Event::Transferred {
        interaction: uid(10),
        from: uid(1)
    }));
    assert_eq!(offered(&ev), [(uid(10), uid(2))]);
    let ev = a.accept(uid(10), uid(2), t(2)).unwrap();
    assert_eq!(
        outcome(&ev, uid(10)),
        None,
        "the routing still waits for the close"
    );
    let ev = a.close(uid(10), t(3));
    assert_eq!(outcome(&ev, uid(10)), Some(Outcome::Processed));
    // a transfer to a queue nobody can serve is refused and changes nothing
    a.enqueue(uid(11), queue(), t(4)).unwrap();
    let holder = a
        .conversations_of(uid(1))
        .first()
        .map(|_| uid(1))
        .unwrap_or(uid(2));
    a.accept(uid(11), holder, t(4)).unwrap();
    let nobody = Target::Queues {
        groups: vec![uid(77)],
        priority: false,
    };
    assert_eq!(
        a.transfer(uid(11), holder, nobody, t(5)),
        Err(Refusal::NotFound)
    );
    assert_eq!(a.conversations_of(holder), [uid(11)]);
    // released without handling: Unprocessed, and the place is free again
    assert!(a.release(uid(11), uid(99), t(5)).is_err());
    let ev = a.release(uid(11), holder, t(5)).unwrap();
    assert_eq!(outcome(&ev, uid(11)), Some(Outcome::Unprocessed));
    assert!(ev.contains(&Event::Closed {
        interaction: uid(11),
        user: Some(holder),
        handled: false
    }));
    assert!(a.conversations_of(holder).is_empty());
    // the customer leaves while waiting: Unprocessed
    a.set_presence(uid(1), Presence::Away, t(6));
    a.set_presence(uid(2), Presence::Away, t(6));
    a.upsert_user(
        UserSpec {
            presence: Presence::Online,
            ..user(3, 1)
        },
        t(6),
    );
    a.upsert_group(
        group(&[1, 2, 3], Algorithm::InOrder, GroupLimits::default()),
        t(6),
    );
    a.enqueue(uid(12), queue(), t(7)).unwrap();
    a.enqueue(uid(13), queue(), t(7)).unwrap();
    let ev = a.close(uid(13), t(8));
    assert_eq!(outcome(&ev, uid(13)), Some(Outcome::Unprocessed));
}

#[test]
fn customer_routing_rules_of_seed_004() {
    let rules = CustomerRouting {
        new_online: GroupRule {
            group: uid(G),
            message: "Welcome!".into(),
            algorithm: Some(Algorithm::InOrder),
        },
        new_offline: GroupRule {
            group: uid(G + 1),
            message: "We are closed.".into(),
            algorithm: None,
        },
        owner_offline: OwnerOffline::Group(GroupRule {
            group: uid(G + 2),
            message: "Your usual agent is away.".into(),
            algorithm: None,
        }),
    };
    let mut a = acd(&[(1, 1), (2, 1)], Algorithm::Random, GroupLimits::default());
    let to_group = |g: u128, m: &str| Routed::Group {
        group: uid(g),
        message: m.into(),
        algorithm: None,
    };
    // new customer, someone online / everyone offline; the rule names its algorithm
    assert_eq!(
        route_customer(&rules, None, &a),
        Routed::Group {
            group: uid(G),
            message: "Welcome!".into(),
            algorithm: Some(Algorithm::InOrder)
        }
    );
    // returning customer, owner online
    assert_eq!(
        route_customer(&rules, Some(uid(1)), &a),
        Routed::Owner { user: uid(1) }
    );
    // owner offline, someone else online → the group rule
    a.set_presence(uid(1), Presence::Offline, t(0));
    assert_eq!(
        route_customer(&rules, Some(uid(1)), &a),
        to_group(G + 2, "Your usual agent is away.")
    );
    // keep user
    let keep = CustomerRouting {
        owner_offline: OwnerOffline::KeepUser,
        ..rules.clone()
    };
    assert_eq!(
        route_customer(&keep, Some(uid(1)), &a),
        Routed::Owner { user: uid(1) }
    );
    // everyone offline: new → the offline rule; returning → the owner
    a.set_presence(uid(2), Presence::Offline, t(0));
    assert_eq!(
        route_customer(&rules, None, &a),
        to_group(G + 1, "We are closed.")
    );
    assert_eq!(
        route_customer(&rules, Some(uid(1)), &a),
        Routed::Owner { user: uid(1) }
    );
    // an owner who no longer exists: a new customer
    assert_eq!(
        route_customer(&rules, Some(uid(99)), &a),
        to_group(G + 1, "We are closed.")
    );
}

#[test]
fn restored_state_continues_the_same_way() {
    let mut a = acd(
        &[(1, 1), (2, 1), (3, 1)],
        Algorithm::InOrder,
        GroupLimits::default(),
    );
    serve(&mut a, 100, 0);
    a.enqueue(uid(101), queue(), t(10)).unwrap();
    a.enqueue(uid(102), queue(), t(11)).unwrap();
    a.accept(uid(101), uid(2), t(12)).unwrap();
    // rebuild from what would be stored
    let mut b = Acd::new(Settings::default(), a.rng_state());
    for n in 1..=3 {
        b.upsert_user(a.user(uid(n)).unwrap().clone(), t(12));
    }
    b.upsert_group(
        group(&[1, 2, 3], Algorithm::InOrder, GroupLimits::default()),
        t(12),
    );
    b.restore_group_state(
        uid(G),
        a.rotation(uid(G)).unwrap(),
        a.handling_times(uid(G)),
    );
    let mut entries: Vec<Entry> = a.entries().cloned().collect();
    entries.sort_by_key(|e| e.seq);
    for e in entries {
        b.restore_entry(e);
    }
    assert_eq!(b.next_wake(), a.next_wake());
    let next = |x: &mut Acd| {
        x.close(uid(101), t(20));
        x.close(uid(102), t(20));
        let ev = x.enqueue(uid(103), queue(), t(21)).unwrap();
        offered(&ev)
    };
    assert_eq!(next(&mut a), next(&mut b));
}

/// A customer routing rule names its algorithm (seed 004); it is used for the interactions it
/// queues instead of the group's own.
#[test]
fn a_rule_algorithm_overrides_the_group_algorithm() {
    // the group picks at random; the rule says "in order": members 1, 2, 3, 1, 2, 3
    let mut a = acd(
        &[(1, 10), (2, 10), (3, 10)],
        Algorithm::Random,
        GroupLimits::default(),
    );
    let mut got = Vec::new();
    for n in 0..6u128 {
        let ev = a
            .enqueue(
                uid(100 + n),
                Target::Wait {
                    group: uid(G),
                    algorithm: Some(Algorithm::InOrder),
                },
                t(1),
            )
            .unwrap();
        got.extend(offered(&ev).into_iter().map(|(_, u)| u));
    }
    assert_eq!(got, [1, 2, 3, 1, 2, 3].map(uid));
    // without one, the group's own (random) applies and is not a strict rotation every time
    let mut random = Vec::new();
    for n in 0..20u128 {
        let ev = a
            .enqueue(
                uid(200 + n),
                Target::Wait {
                    group: uid(G),
                    algorithm: None,
                },
                t(2),
            )
            .unwrap();
        random.extend(offered(&ev).into_iter().map(|(_, u)| u));
    }
    let rotation: Vec<Uuid> = (0..20).map(|k| uid(1 + (k % 3) as u128)).collect();
    assert_eq!(random.len(), 20);
    assert_ne!(random, rotation);
}
