//! Assignment decisions: `cargo bench -p acd`. 10 000 users, 1 000 groups, 100 000 waiting
//! interactions, for each algorithm; prints decisions per second and latency percentiles on
//! one core.
//!
//! Users 0–4 999 belong to the 500 "busy" groups (each user in 3 groups, 30 members a group,
//! capacity 5, all places taken) where 100 000 interactions wait (200 a group); users
//! 5 000–9 999 belong to the 500 "free" groups, which have eligible members. Two decisions are
//! timed, alternately:
//! - an arrival in a free group: the algorithm picks one of up to 30 eligible members and the
//!   offer is made (`enqueue`); the user accepts and closes it at once (untimed) so the group
//!   stays free;
//! - a freed place in a busy group: an assigned conversation closes and the most urgent
//!   waiting interaction of the user's groups is offered to them (`close`); the offer is
//!   accepted (untimed) and a new interaction arrives in a busy group (untimed) so 100 000
//!   keep waiting.

use std::hint::black_box;
use std::time::{Duration, Instant};

use acd::*;
use jiff::Timestamp;
use uuid::Uuid;

const USERS: u128 = 10_000;
const GROUPS: u128 = 1_000;
const WAITING: u128 = 100_000;

fn uid(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn group(g: u128) -> Uuid {
    uid(1_000_000 + g)
}

fn members(g: u128) -> Vec<Uuid> {
    // groups 0–499 hold users 0–4 999, groups 500–999 users 5 000–9 999; each user in 3 groups
    let (base, g) = if g < 500 { (0, g) } else { (5_000, g - 500) };
    (0..5_000u128)
        .filter(|u| u % 500 == g || (u + 167) % 500 == g || (u + 333) % 500 == g)
        .map(|u| uid(base + u))
        .collect()
}

fn offered(events: &[Event]) -> Option<(Uuid, Uuid)> {
    events.iter().find_map(|e| match e {
        Event::Offered {
            interaction, user, ..
        } => Some((*interaction, *user)),
        _ => None,
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn run(algorithm: Algorithm, seconds: u64, label: &str) {
    let now = Timestamp::from_second(1_780_000_000).unwrap();
    let mut a = Acd::new(Settings::default(), 42);
    for u in 0..USERS {
        a.upsert_user(
            UserSpec {
                id: uid(u),
                presence: Presence::Online,
                capacity: 5,
                auto_accept: false,
                last_message_at: None,
            },
            now,
        );
    }
    for g in 0..GROUPS {
        a.upsert_group(
            GroupSpec {
                id: group(g),
                members: members(g),
                algorithm,
                limits: GroupLimits::default(),
            },
            now,
        );
    }
    // fill the busy groups: every place taken, then 100 000 waiting
    let mut next = 10_000_000u128;
    let mut assigned: Vec<(Uuid, Uuid)> = Vec::new();
    let busy = |n: u128| Target::Queues {
        groups: vec![group(n % 500)],
        priority: false,
    };
    while (assigned.len() as u128) < 5_000 * 5 {
        next += 1;
        let ev = a.enqueue(uid(next), busy(next), now).unwrap();
        for (i, u) in ev.iter().filter_map(|e| match e {
            Event::Offered {
                interaction, user, ..
            } => Some((*interaction, *user)),
            _ => None,
        }) {
            a.accept(i, u, now).unwrap();
            assigned.push((i, u));
        }
    }
    for _ in 0..WAITING {
        next += 1;
        a.enqueue(uid(next), busy(next), now).unwrap();
    }
    let waiting: usize = (0..500).map(|g| a.waiting(group(g)).len()).sum();
    // the fill leaves a few more waiting where a group's places ran out early
    assert!(waiting as u128 >= WAITING);

    let mut arrivals = Vec::new();
    let mut freed = Vec::new();
    let mut rng = 1u64;
    let started = Instant::now();
    let mut spent = Duration::ZERO;
    let mut k = 0u128;
    while started.elapsed() < Duration::from_secs(seconds) {
        k += 1;
        // an arrival in a free group
        next += 1;
        let i = uid(next);
        let target = Target::Queues {
            groups: vec![group(500 + k % 500)],
            priority: false,
        };
        let t = Instant::now();
        let ev = black_box(a.enqueue(i, target, now).unwrap());
        let d = t.elapsed();
        arrivals.push(d);
        spent += d;
        let (_, u) = offered(&ev).expect("a free group offers at once");
        a.accept(i, u, now).unwrap();
        a.message_sent(u, now);
        a.close(i, now);

        // a freed place in a busy group
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let slot = (rng >> 33) as usize % assigned.len();
        let (closing, _) = assigned[slot];
        let t = Instant::now();
        let ev = black_box(a.close(closing, now));
        let d = t.elapsed();
        freed.push(d);
        spent += d;
        let (j, v) = offered(&ev).expect("a waiting interaction takes the freed place");
        a.accept(j, v, now).unwrap();
        assigned[slot] = (j, v);
        next += 1;
        a.enqueue(uid(next), busy(next), now).unwrap();
    }
    let decisions = arrivals.len() + freed.len();
    let mut all: Vec<Duration> = arrivals.iter().chain(&freed).copied().collect();
    all.sort();
    arrivals.sort();
    freed.sort();
    println!(
        "{:<13}{label} {:>9.0} decisions/s | arrival p50 {:>5.1} µs p99 {:>5.1} µs | freed place p50 {:>5.1} µs p99 {:>5.1} µs | all p99 {:>5.1} µs",
        algorithm.as_str(),
        decisions as f64 / spent.as_secs_f64(),
        percentile(&arrivals, 0.5).as_secs_f64() * 1e6,
        percentile(&arrivals, 0.99).as_secs_f64() * 1e6,
        percentile(&freed, 0.5).as_secs_f64() * 1e6,
        percentile(&freed, 0.99).as_secs_f64() * 1e6,
        percentile(&all, 0.99).as_secs_f64() * 1e6,
    );
}

fn main() {
    println!("10 000 users, 1 000 groups, 100 000 waiting, one core");
    // the first run pays for warming the machine up
    run(Algorithm::InOrder, 1, " (warm-up)");
    for algorithm in [
        Algorithm::Random,
        Algorithm::InOrder,
        Algorithm::MostWaiting,
        Algorithm::LeastChats,
    ] {
        run(algorithm, 3, "");
    }
}
