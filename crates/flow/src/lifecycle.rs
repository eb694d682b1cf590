//! Version lifecycle rules (seed 001 §2, §5, §6). Each rule works on the records of all the
//! versions of one routing and changes them in place, or refuses with a [`RuleError`] naming
//! the rule; on refusal nothing is changed.
//!
//! Scheduling: "two scheduled productions of one routing cannot fall on the same date" compares
//! calendar days in the deployment's configured time zone.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::model::{VersionId, VersionRecord, VersionStatus, limits};

/// Why a rule refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleKind {
    /// The current state forbids it (HTTP 409).
    Conflict,
    /// The request itself is unacceptable (HTTP 422).
    Invalid,
    /// The version does not exist in this routing (HTTP 404).
    NotFound,
}

/// A refused transition.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RuleError {
    /// Stable code naming the rule (`version_read_only`, `blank_version`…).
    pub code: &'static str,
    pub message: String,
    pub kind: RuleKind,
}

fn conflict(code: &'static str, message: impl Into<String>) -> RuleError {
    RuleError {
        code,
        message: message.into(),
        kind: RuleKind::Conflict,
    }
}

fn invalid(code: &'static str, message: impl Into<String>) -> RuleError {
    RuleError {
        code,
        message: message.into(),
        kind: RuleKind::Invalid,
    }
}

/// What the rules need to know of a version's tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeState {
    /// Nothing but Start.
    pub blank: bool,
    /// Number of error diagnostics.
    pub errors: usize,
}

fn find(versions: &mut [VersionRecord], id: VersionId) -> Result<&mut VersionRecord, RuleError> {
    versions.iter_mut().find(|v| v.id == id).ok_or(RuleError {
        code: "version_not_found",
        message: format!("version {id} is not in this routing"),
        kind: RuleKind::NotFound,
    })
}

fn touch(v: &mut VersionRecord, now: Timestamp) {
    v.revision += 1;
    v.updated_at = now;
}

/// Only development versions can be edited.
pub fn check_editable(v: &VersionRecord) -> Result<(), RuleError> {
    if v.status != VersionStatus::Development {
        return Err(conflict(
            "version_read_only",
            format!(
                "version '{}' is in {} and read-only; duplicate it to make changes",
                v.name,
                v.status.as_str()
            ),
        ));
    }
    Ok(())
}

fn check_deployable(v: &VersionRecord, tree: TreeState) -> Result<(), RuleError> {
    if tree.blank {
        return Err(conflict(
            "blank_version",
            format!("version '{}' holds nothing but Start", v.name),
        ));
    }
    if tree.errors > 0 {
        return Err(conflict(
            "version_has_errors",
            format!(
                "version '{}' has {} error(s); see its diagnostics",
                v.name, tree.errors
            ),
        ));
    }
    Ok(())
}

/// Puts a development or backup version into production; the current production version goes
/// to backup. The version leaves test mode and loses any planned production.
pub fn put_in_production(
    versions: &mut [VersionRecord],
    id: VersionId,
    tree: TreeState,
    now: Timestamp,
) -> Result<(), RuleError> {
    let target = find(versions, id)?;
    if target.status == VersionStatus::Production {
        return Err(conflict(
            "already_in_production",
            format!("version '{}' is already in production", target.name),
        ));
    }
    check_deployable(target, tree)?;
    for v in versions.iter_mut() {
        if v.id == id {
            v.status = VersionStatus::Production;
            v.in_test = false;
            v.scheduled_at = None;
            touch(v, now);
        } else if v.status == VersionStatus::Production {
            v.status = VersionStatus::Backup;
            touch(v, now);
        }
    }
    Ok(())
}

/// Puts a development version in test.
pub fn put_in_test(
    versions: &mut [VersionRecord],
    id: VersionId,
    now: Timestamp,
) -> Result<(), RuleError> {
    let v = find(versions, id)?;
    if v.status != VersionStatus::Development {
        return Err(conflict(
            "not_in_development",
            format!(
                "only development versions can be put in test; '{}' is in {}",
                v.name,
                v.status.as_str()
            ),
        ));
    }
    if v.in_test {
        return Err(conflict(
            "already_in_test",
            format!("version '{}' is already in test", v.name),
        ));
    }
    v.in_test = true;
    touch(v, now);
    Ok(())
}

/// Takes a development version out of test.
pub fn remove_from_test(
    versions: &mut [VersionRecord],
    id: VersionId,
    now: Timestamp,
) -> Result<(), RuleError> {
    let v = find(versions, id)?;
    if !v.in_test {
        return Err(conflict(
            "not_in_test",
            format!("version '{}' is not in test", v.name),
        ));
    }
    v.in_test = false;
    touch(v, now);
    Ok(())
}

/// Development and backup versions can be deleted; the production version cannot.
pub fn check_deletable(v: &VersionRecord) -> Result<(), RuleError> {
    if v.status == VersionStatus::Production {
        return Err(conflict(
            "version_in_production",
            format!(
                "version '{}' is in production and cannot be deleted",
                v.name
            ),
        ));
    }
    Ok(())
}

/// A routing can be deleted only when none of its versions is in production.
pub fn check_routing_deletable(versions: &[VersionRecord]) -> Result<(), RuleError> {
    if let Some(p) = versions
        .iter()
        .find(|v| v.status == VersionStatus::Production)
    {
        return Err(conflict(
            "routing_in_production",
            format!(
                "version {} '{}' is in production; put another routing on its entry points and delete that version's routing later, or duplicate and delete",
                p.number, p.name
            ),
        ));
    }
    Ok(())
}

/// A routing holds at most [`limits::VERSIONS_PER_ROUTING`] versions.
pub fn check_room_for_version(versions: &[VersionRecord]) -> Result<(), RuleError> {
    if versions.len() >= limits::VERSIONS_PER_ROUTING {
        return Err(conflict(
            "too_many_versions",
            format!(
                "a routing holds at most {} versions; delete old ones first",
                limits::VERSIONS_PER_ROUTING
            ),
        ));
    }
    Ok(())
}

/// Number of the next version of a routing.
pub fn next_number(versions: &[VersionRecord]) -> u32 {
    versions.iter().map(|v| v.number).max().unwrap_or(0) + 1
}

/// Plans the production of a development version at `at`, which must be in the future and on a
/// date (in `tz`) where no other version of the routing is planned.
pub fn schedule(
    versions: &mut [VersionRecord],
    id: VersionId,
    at: Timestamp,
    tree: TreeState,
    now: Timestamp,
    tz: &TimeZone,
) -> Result<(), RuleError> {
    let day = at.to_zoned(tz.clone()).date();
    let taken = versions.iter().find(|v| {
        v.id != id
            && v.scheduled_at
                .is_some_and(|t| t.to_zoned(tz.clone()).date() == day)
    });
    let taken = taken.map(|v| v.name.clone());
    let v = find(versions, id)?;
    if v.status != VersionStatus::Development {
        return Err(conflict(
            "not_in_development",
            format!(
                "only development versions can be scheduled; '{}' is in {}",
                v.name,
                v.status.as_str()
            ),
        ));
    }
    if at <= now {
        return Err(invalid(
            "schedule_in_past",
            format!("the production time {at} is not in the future"),
        ));
    }
    if let Some(other) = taken {
        return Err(conflict(
            "schedule_date_taken",
            format!("version '{other}' is already planned for production on {day}"),
        ));
    }
    check_deployable(v, tree)?;
    v.scheduled_at = Some(at);
    touch(v, now);
    Ok(())
}

/// Removes a planned production.
pub fn unschedule(
    versions: &mut [VersionRecord],
    id: VersionId,
    now: Timestamp,
) -> Result<(), RuleError> {
    let v = find(versions, id)?;
    if v.scheduled_at.is_none() {
        return Err(conflict(
            "not_scheduled",
            format!("version '{}' has no planned production", v.name),
        ));
    }
    v.scheduled_at = None;
    touch(v, now);
    Ok(())
}

/// Carries out a planned production that fell due. On refusal the plan is dropped (it would
/// fail again) and the error is returned so that it can be recorded on the routing.
pub fn fire_scheduled(
    versions: &mut [VersionRecord],
    id: VersionId,
    tree: TreeState,
    now: Timestamp,
) -> Result<(), RuleError> {
    let v = find(versions, id)?;
    match v.scheduled_at {
        Some(t) if t <= now => {}
        _ => {
            return Err(conflict(
                "not_due",
                format!("version '{}' has no production due", v.name),
            ));
        }
    }
    let outcome = if v.status == VersionStatus::Development {
        put_in_production(versions, id, tree, now)
    } else {
        Err(conflict(
            "not_in_development",
            "the version is no longer in development",
        ))
    };
    if outcome.is_err() {
        let v = find(versions, id)?;
        v.scheduled_at = None;
        touch(v, now);
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    const OK: TreeState = TreeState {
        blank: false,
        errors: 0,
    };

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn version(n: u128, status: VersionStatus) -> VersionRecord {
        VersionRecord {
            id: Uuid::from_u128(n),
            routing_id: Uuid::nil(),
            number: n as u32,
            name: format!("v{n}"),
            description: String::new(),
            status,
            in_test: false,
            scheduled_at: None,
            revision: 1,
            created_at: t("2026-01-01T00:00:00Z"),
            updated_at: t("2026-01-01T00:00:00Z"),
        }
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    use VersionStatus::*;

    #[test]
    fn production_moves_the_previous_one_to_backup() {
        let now = t("2026-02-01T00:00:00Z");
        let mut vs = vec![
            version(1, Production),
            version(2, Development),
            version(3, Backup),
        ];
        vs[1].in_test = true;
        put_in_production(&mut vs, id(2), OK, now).unwrap();
        assert_eq!(
            [vs[0].status, vs[1].status, vs[2].status],
            [Backup, Production, Backup]
        );
        assert!(!vs[1].in_test);
        assert_eq!(vs[0].revision, 2);
        assert_eq!(vs[2].revision, 1);
        // a backup can be restored
        put_in_production(&mut vs, id(3), OK, now).unwrap();
        assert_eq!(
            [vs[0].status, vs[1].status, vs[2].status],
            [Backup, Backup, Production]
        );
    }

    #[test]
    fn production_refusals() {
        let now = t("2026-02-01T00:00:00Z");
        let mut vs = vec![version(1, Production), version(2, Development)];
        let before = vs.clone();
        let code = |r: Result<(), RuleError>| r.unwrap_err().code;
        assert_eq!(
            code(put_in_production(&mut vs, id(1), OK, now)),
            "already_in_production"
        );
        assert_eq!(
            code(put_in_production(
                &mut vs,
                id(2),
                TreeState {
                    blank: true,
                    errors: 0
                },
                now
            )),
            "blank_version"
        );
        assert_eq!(
            code(put_in_production(
                &mut vs,
                id(2),
                TreeState {
                    blank: false,
                    errors: 2
                },
                now
            )),
            "version_has_errors"
        );
        assert_eq!(
            code(put_in_production(&mut vs, id(9), OK, now)),
            "version_not_found"
        );
        assert_eq!(vs, before);
    }

    #[test]
    fn test_mode() {
        let now = t("2026-02-01T00:00:00Z");
        let mut vs = vec![
            version(1, Production),
            version(2, Development),
            version(3, Backup),
        ];
        assert_eq!(
            put_in_test(&mut vs, id(1), now).unwrap_err().code,
            "not_in_development"
        );
        assert_eq!(
            put_in_test(&mut vs, id(3), now).unwrap_err().code,
            "not_in_development"
        );
        assert_eq!(
            remove_from_test(&mut vs, id(2), now).unwrap_err().code,
            "not_in_test"
        );
        put_in_test(&mut vs, id(2), now).unwrap();
        assert_eq!(
            put_in_test(&mut vs, id(2), now).unwrap_err().code,
            "already_in_test"
        );
        remove_from_test(&mut vs, id(2), now).unwrap();
        assert!(!vs[1].in_test);
    }

    #[test]
    fn deletion_and_editing() {
        assert_eq!(
            check_deletable(&version(1, Production)).unwrap_err().code,
            "version_in_production"
        );
        assert!(check_deletable(&version(1, Backup)).is_ok());
        assert!(check_deletable(&version(1, Development)).is_ok());
        assert_eq!(
            check_editable(&version(1, Backup)).unwrap_err().code,
            "version_read_only"
        );
        assert_eq!(
            check_editable(&version(1, Production)).unwrap_err().code,
            "version_read_only"
        );
        assert!(check_editable(&version(1, Development)).is_ok());
        assert_eq!(
            check_routing_deletable(&[version(1, Production)])
                .unwrap_err()
                .code,
            "routing_in_production"
        );
        assert!(check_routing_deletable(&[version(1, Backup)]).is_ok());
    }

    #[test]
    fn scheduling_rules() {
        let now = t("2026-03-10T12:00:00Z");
        let paris: TimeZone = TimeZone::get("Europe/Paris").unwrap();
        let mut vs = vec![
            version(1, Development),
            version(2, Development),
            version(3, Production),
        ];
        let code = |r: Result<(), RuleError>| r.unwrap_err().code;
        assert_eq!(
            code(schedule(
                &mut vs,
                id(1),
                t("2026-03-10T11:00:00Z"),
                OK,
                now,
                &paris
            )),
            "schedule_in_past"
        );
        assert_eq!(
            code(schedule(
                &mut vs,
                id(3),
                t("2026-03-11T11:00:00Z"),
                OK,
                now,
                &paris
            )),
            "not_in_development"
        );
        assert_eq!(
            code(schedule(
                &mut vs,
                id(1),
                t("2026-03-11T11:00:00Z"),
                TreeState {
                    blank: true,
                    errors: 0
                },
                now,
                &paris
            )),
            "blank_version"
        );
        schedule(&mut vs, id(1), t("2026-03-11T22:30:00Z"), OK, now, &paris).unwrap(); // 23:30 in Paris, 11 March
        // 12 March 00:30 in Paris is another date, though the same UTC date as the first
        schedule(&mut vs, id(2), t("2026-03-11T23:30:00Z"), OK, now, &paris).unwrap();
        assert_eq!(
            code(schedule(
                &mut vs,
                id(2),
                t("2026-03-11T08:00:00Z"),
                OK,
                now,
                &paris
            )),
            "schedule_date_taken"
        );
        // rescheduling a version on its own date is fine
        schedule(&mut vs, id(1), t("2026-03-11T09:00:00Z"), OK, now, &paris).unwrap();
        unschedule(&mut vs, id(1), now).unwrap();
        assert_eq!(code(unschedule(&mut vs, id(1), now)), "not_scheduled");
    }

    #[test]
    fn firing() {
        let now = t("2026-03-10T12:00:00Z");
        let mut vs = vec![version(1, Development), version(2, Production)];
        vs[0].scheduled_at = Some(t("2026-03-10T11:59:00Z"));
        assert_eq!(
            fire_scheduled(
                &mut vs,
                id(1),
                TreeState {
                    blank: false,
                    errors: 1
                },
                now
            )
            .unwrap_err()
            .code,
            "version_has_errors"
        );
        assert_eq!(vs[0].scheduled_at, None);
        assert_eq!(vs[0].status, Development);
        vs[0].scheduled_at = Some(t("2026-03-10T12:01:00Z"));
        assert_eq!(
            fire_scheduled(&mut vs, id(1), OK, now).unwrap_err().code,
            "not_due"
        );
        vs[0].scheduled_at = Some(t("2026-03-10T11:59:00Z"));
        fire_scheduled(&mut vs, id(1), OK, now).unwrap();
        assert_eq!((vs[0].status, vs[1].status), (Production, Backup));
        assert_eq!(vs[0].scheduled_at, None);
    }
}
