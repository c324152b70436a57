//! A per-configuration index from a request's origin and operation to the rules that could match,
//! built once when the configuration is stored, so evaluation does not scan every pattern:
//! exact origins are found by hash, wildcard origins by hashing the request's suffix at each
//! suffix length the rules use, and each operation has a bitset of the rules that list it.
//! Candidates are then checked in rule order, so the first matching rule still wins.

use crate::origin::{OriginPattern, StarClass};
use crate::rule::CorsRule;
use foldhash::fast::FixedState;
use std::collections::HashMap;

/// The most rules the index covers; longer lists (only possible by joining lists with
/// [`crate::CorsConfig::from_rules`]) are evaluated by a plain scan.
pub(crate) const MAX_INDEXED_RULES: usize = 128;

/// A set of rule positions (< 128).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RuleSet(u128);

impl RuleSet {
    fn insert(&mut self, rule: usize) {
        self.0 |= 1 << rule;
    }

    fn union(self, other: RuleSet) -> RuleSet {
        RuleSet(self.0 | other.0)
    }

    pub(crate) fn intersect(self, other: RuleSet) -> RuleSet {
        RuleSet(self.0 & other.0)
    }

    /// Rule positions in ascending order.
    pub(crate) fn iter(self) -> impl Iterator<Item = usize> {
        let mut bits = self.0;
        std::iter::from_fn(move || {
            (bits != 0).then(|| {
                let i = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                i
            })
        })
    }
}

type Map<K, V> = HashMap<K, V, FixedState>;

/// One wildcard pattern filed under its suffix.
#[derive(Clone, Debug)]
struct SuffixEntry {
    prefix: Box<[u8]>,
    star: StarClass,
    rule: usize,
}

/// Patterns of one matching family (literal S3 origins, or URL-aware B2/R2 origins).
#[derive(Clone, Debug, Default)]
struct OriginIndex {
    exact: Map<Box<[u8]>, RuleSet>,
    /// Suffix lengths present in `by_suffix`, ascending.
    suffix_lengths: Vec<usize>,
    by_suffix: Map<Box<[u8]>, Vec<SuffixEntry>>,
    /// Patterns that are not exact or wildcard (`*`, bare schemes), checked one by one.
    scan: Vec<(OriginPattern, usize)>,
}

impl OriginIndex {
    fn add(&mut self, pattern: &OriginPattern, rule: usize) {
        match pattern {
            OriginPattern::Exact(s) => self
                .exact
                .entry(s.as_bytes().into())
                .or_default()
                .insert(rule),
            OriginPattern::Wildcard {
                prefix,
                suffix,
                star,
            } => {
                if !self.suffix_lengths.contains(&suffix.len()) {
                    self.suffix_lengths.push(suffix.len());
                    self.suffix_lengths.sort_unstable();
                }
                self.by_suffix
                    .entry(suffix.as_bytes().into())
                    .or_default()
                    .push(SuffixEntry {
                        prefix: prefix.as_bytes().into(),
                        star: *star,
                        rule,
                    });
            }
            other => self.scan.push((other.clone(), rule)),
        }
    }

    fn candidates(&self, origin: &str) -> RuleSet {
        let o = origin.as_bytes();
        let mut set = self.exact.get(o).copied().unwrap_or_default();
        for &len in &self.suffix_lengths {
            if len > o.len() {
                break;
            }
            let Some(entries) = self.by_suffix.get(&o[o.len() - len..]) else {
                continue;
            };
            for SuffixEntry { prefix, star, rule } in entries {
                if o.len() >= prefix.len() + len
                    && o.starts_with(prefix)
                    && (*star == StarClass::AnyRun
                        || o[prefix.len()..o.len() - len]
                            .iter()
                            .all(|b| *b != b':' && *b != b'/'))
                {
                    set.insert(*rule);
                }
            }
        }
        for (pattern, rule) in &self.scan {
            if pattern.matches(origin) {
                set.insert(*rule);
            }
        }
        set
    }
}

/// The index over one rule list.
#[derive(Clone, Debug, Default)]
pub(crate) struct RuleIndex {
    literal: OriginIndex,
    url: OriginIndex,
    /// Per [`crate::Operation`] (by discriminant): the rules that list it.
    by_operation: [RuleSet; 9],
}

impl RuleIndex {
    /// Builds the index, or `None` when there are too many rules to index.
    pub(crate) fn build(rules: &[CorsRule]) -> Option<RuleIndex> {
        if rules.len() > MAX_INDEXED_RULES {
            return None;
        }
        let mut index = RuleIndex::default();
        for (i, rule) in rules.iter().enumerate() {
            let family = if rule.dialect().is_url_aware() {
                &mut index.url
            } else {
                &mut index.literal
            };
            for pattern in rule.origin_patterns() {
                family.add(pattern, i);
            }
            for op in rule.operation_set().iter() {
                index.by_operation[op as usize].insert(i);
            }
        }
        Some(index)
    }

    /// The rules whose operations include `op` and whose origins match: `origin` for literal
    /// rules, `url_origin` (default port stripped) for URL-aware ones.
    pub(crate) fn candidates(
        &self,
        op: crate::Operation,
        origin: &str,
        url_origin: &str,
    ) -> RuleSet {
        let by_origin = self
            .literal
            .candidates(origin)
            .union(self.url.candidates(url_origin));
        by_origin.intersect(self.by_operation[op as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::RuleSet;

    #[test]
    fn rule_sets_iterate_in_order() {
        let mut s = RuleSet::default();
        for i in [127, 3, 64, 0] {
            s.insert(i);
        }
        assert_eq!(s.iter().collect::<Vec<_>>(), [0, 3, 64, 127]);
    }
}
