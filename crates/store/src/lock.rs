//! Object lock: retention and legal hold on versions, and a bucket's default retention.
//!
//! The rules live here as pure functions over the stored state, so the metadata backends apply
//! them inside their transactions and every API (S3, B2, lifecycle) gets the same answers.

use crate::time::{Millis, DAY};
use serde::{Deserialize, Serialize};

/// How strictly a retention holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LockMode {
    /// Callers allowed to bypass governance retention may shorten or remove it, and delete.
    Governance,
    /// Nobody may shorten it, change its mode, or delete the version before it ends.
    Compliance,
}

/// A version's retention: it may not be deleted before `until` (see [`LockMode`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    /// The mode.
    pub mode: LockMode,
    /// Retained until this time.
    pub until: Millis,
}

/// The length of a default retention.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LockPeriod {
    /// This many days.
    Days(u32),
    /// This many years of 365 days.
    Years(u32),
}

impl LockPeriod {
    /// The period in milliseconds (saturating).
    pub fn millis(self) -> Millis {
        let days = match self {
            LockPeriod::Days(d) => Millis::from(d),
            LockPeriod::Years(y) => Millis::from(y).saturating_mul(365),
        };
        days.saturating_mul(DAY)
    }
}

/// The retention a new version gets when its upload names none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultRetention {
    /// The mode.
    pub mode: LockMode,
    /// How long from the version's creation.
    pub period: LockPeriod,
}

/// A bucket's object lock setting (present means lock is on; it is never turned off).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectLock {
    /// The default retention, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<DefaultRetention>,
}

impl ObjectLock {
    /// The retention of a version created at `created` whose upload named `named`: what it
    /// named, else the default retention, if any.
    pub fn with_default(&self, named: Option<Retention>, created: Millis) -> Option<Retention> {
        named.or_else(|| {
            self.default.map(|d| Retention {
                mode: d.mode,
                until: created.saturating_add(d.period.millis()),
            })
        })
    }
}

/// What holds one version: its retention and legal hold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VersionLock {
    /// The retention, if any.
    pub retention: Option<Retention>,
    /// The legal hold is on.
    pub legal_hold: bool,
}

/// Why a version may not be deleted or its retention changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LockRefusal {
    /// A legal hold is on.
    #[error("the version is under a legal hold")]
    LegalHold,
    /// A compliance retention runs until the time given.
    #[error("the version is retained in compliance mode until {0} (ms since the epoch)")]
    Compliance(Millis),
    /// A governance retention runs until the time given, and the caller did not bypass it.
    #[error("the version is retained in governance mode until {0} (ms since the epoch); bypassing governance retention is needed")]
    Governance(Millis),
}

/// Whether a version held by `lock` may be deleted at `now`: `Err` names what holds it.
pub fn check_delete(lock: VersionLock, now: Millis, bypass: bool) -> Result<(), LockRefusal> {
    if lock.legal_hold {
        return Err(LockRefusal::LegalHold);
    }
    match lock.retention {
        Some(r) if r.until > now => match r.mode {
            LockMode::Compliance => Err(LockRefusal::Compliance(r.until)),
            LockMode::Governance if !bypass => Err(LockRefusal::Governance(r.until)),
            LockMode::Governance => Ok(()),
        },
        _ => Ok(()),
    }
}

/// Whether a version's retention may change from `old` to `new` at `now`. A running compliance
/// retention may only be lengthened; a running governance retention may be shortened, removed
/// or changed in mode only with `bypass`. An ended retention may change freely.
pub fn check_retention_change(
    old: Option<Retention>,
    new: Option<Retention>,
    now: Millis,
    bypass: bool,
) -> Result<(), LockRefusal> {
    let Some(old) = old.filter(|r| r.until > now) else {
        return Ok(());
    };
    let lengthens = new.is_some_and(|n| n.mode == old.mode && n.until >= old.until);
    if lengthens {
        return Ok(());
    }
    match old.mode {
        LockMode::Compliance => Err(LockRefusal::Compliance(old.until)),
        LockMode::Governance if bypass => Ok(()),
        LockMode::Governance => Err(LockRefusal::Governance(old.until)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(retention: Option<Retention>, legal_hold: bool) -> VersionLock {
        VersionLock {
            retention,
            legal_hold,
        }
    }

    const GOV: Retention = Retention {
        mode: LockMode::Governance,
        until: 1_000,
    };
    const COMP: Retention = Retention {
        mode: LockMode::Compliance,
        until: 1_000,
    };

    #[test]
    fn legal_hold_refuses_delete_even_with_bypass() {
        assert_eq!(
            check_delete(meta(None, true), 0, true),
            Err(LockRefusal::LegalHold)
        );
    }

    #[test]
    fn governance_refuses_delete_unless_bypassed() {
        let m = meta(Some(GOV), false);
        assert_eq!(
            check_delete(m, 0, false),
            Err(LockRefusal::Governance(1_000))
        );
        assert_eq!(check_delete(m, 0, true), Ok(()));
    }

    #[test]
    fn compliance_refuses_delete_until_it_ends() {
        let m = meta(Some(COMP), false);
        assert_eq!(
            check_delete(m, 999, true),
            Err(LockRefusal::Compliance(1_000))
        );
        assert_eq!(check_delete(m, 1_000, false), Ok(()));
    }

    #[test]
    fn retention_may_be_lengthened_in_the_same_mode() {
        let longer = Retention {
            until: 2_000,
            ..COMP
        };
        assert_eq!(
            check_retention_change(Some(COMP), Some(longer), 0, false),
            Ok(())
        );
    }

    #[test]
    fn compliance_may_not_be_shortened_or_changed_even_with_bypass() {
        let shorter = Retention { until: 500, ..COMP };
        let gov = Retention {
            until: 5_000,
            ..GOV
        };
        assert!(check_retention_change(Some(COMP), Some(shorter), 0, true).is_err());
        assert!(check_retention_change(Some(COMP), Some(gov), 0, true).is_err());
        assert!(check_retention_change(Some(COMP), None, 0, true).is_err());
    }

    #[test]
    fn governance_may_be_shortened_or_changed_only_with_bypass() {
        let comp = Retention {
            until: 1_000,
            ..COMP
        };
        assert!(check_retention_change(Some(GOV), Some(comp), 0, false).is_err());
        assert_eq!(
            check_retention_change(Some(GOV), Some(comp), 0, true),
            Ok(())
        );
        assert_eq!(check_retention_change(Some(GOV), None, 0, true), Ok(()));
    }

    #[test]
    fn an_ended_retention_changes_freely() {
        assert_eq!(
            check_retention_change(Some(COMP), None, 1_000, false),
            Ok(())
        );
    }

    #[test]
    fn default_retention_counts_from_creation_and_never_overrides() {
        let lock = ObjectLock {
            default: Some(DefaultRetention {
                mode: LockMode::Governance,
                period: LockPeriod::Days(2),
            }),
        };
        let given = lock.with_default(None, 10);
        assert_eq!(given.map(|r| r.until), Some(10 + 2 * DAY));
        assert_eq!(lock.with_default(Some(COMP), 10), Some(COMP));
    }
}
