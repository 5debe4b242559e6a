//! Naming conventions: checking names, normalizing them, and proposing a conforming one.

use crate::model::Naming;

/// Whether `name` is lower `snake_case`: `[a-z][a-z0-9]*` words joined by single `_`.
pub fn is_snake_case(name: &str) -> bool {
    let mut words = name.split('_');
    words.clone().next().is_some_and(|first| first.starts_with(|c: char| c.is_ascii_lowercase()))
        && words.all(|word| !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
}

/// Whether an event name follows the convention.
pub fn follows(naming: Naming, name: &str) -> bool {
    match naming {
        Naming::SnakeCase => is_snake_case(name),
        Naming::ResourceAction => name.split('.').count() >= 2 && name.split('.').all(is_snake_case),
    }
}

/// A name reduced to what a reader hears: lower case, every run of separators (space, `-`,
/// `.`, `_`, camel-case humps) one `_`. Two names with the same normal form collide.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut previous_lower = false;
    for c in name.chars() {
        if c.is_alphanumeric() {
            if c.is_uppercase() && previous_lower && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
            previous_lower = c.is_lowercase() || c.is_ascii_digit();
        } else {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            previous_lower = false;
        }
    }
    out.trim_end_matches('_').to_owned()
}

/// The closest name that follows the convention.
pub fn conforming(naming: Naming, name: &str) -> String {
    match naming {
        Naming::SnakeCase => normalize(name),
        Naming::ResourceAction if name.contains('.') => {
            name.split('.').map(normalize).filter(|segment| !segment.is_empty()).collect::<Vec<_>>().join(".")
        }
        // "identity registered" → "identity.registered": the first word is the resource.
        Naming::ResourceAction => normalize(name).replacen('_', ".", 1),
    }
}

/// Every pair of distinct names exactly one edit apart (a character inserted, removed,
/// replaced, or two neighbours swapped), as index pairs `(i, j)` with `i < j`.
///
/// Two such names share a key among each name and its one-deletion variants (a replacement or
/// a swap deletes to the same string at the same place; an insertion deletes to the shorter
/// name), so only names sharing a key are compared: O(n · L² + n log n) for n names of length
/// L, instead of comparing every pair. Keys are hashed, not built as strings; a shared hash
/// is only a candidate, confirmed by the edit distance.
pub fn one_edit_pairs(names: &[String]) -> Vec<(usize, usize)> {
    let mut keys: Vec<(u64, usize)> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let chars: Vec<char> = name.chars().collect();
        let start = keys.len();
        // `skip == chars.len()` deletes nothing: the name itself.
        for skip in 0..=chars.len() {
            let hash = chars
                .iter()
                .enumerate()
                .filter(|&(at, _)| at != skip)
                .fold(0xcbf2_9ce4_8422_2325_u64, |hash, (_, &c)| (hash ^ u64::from(c)).wrapping_mul(0x0100_0000_01b3));
            keys.push((hash, i));
        }
        keys[start..].sort_unstable();
        let mut own: Vec<(u64, usize)> = keys.split_off(start);
        own.dedup();
        keys.extend(own);
    }
    keys.sort_unstable();
    let mut pairs: Vec<(usize, usize)> = keys
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|sharing| sharing.len() > 1)
        .flat_map(|sharing| {
            sharing.iter().enumerate().flat_map(move |(k, &(_, j))| sharing[..k].iter().map(move |&(_, i)| (i, j)))
        })
        .filter(|&(i, j)| i != j && names[i] != names[j] && strsim::damerau_levenshtein(&names[i], &names[j]) == 1)
        .map(|(i, j)| (i.min(j), i.max(j)))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conventions() {
        assert!(follows(Naming::ResourceAction, "auth.login_failed"));
        assert!(!follows(Naming::ResourceAction, "login"));
        assert!(!follows(Naming::ResourceAction, "ui.onboard.domainNameTC.submit"));
        assert!(follows(Naming::SnakeCase, "account_registered"));
        assert!(!follows(Naming::SnakeCase, "identity registered"));
        assert!(!follows(Naming::SnakeCase, "a__b"));
    }

    #[test]
    fn one_edit_pairs_are_the_pairs_at_distance_one() {
        let names: Vec<String> =
            ["order_placed", "order_placd", "ordre_placed", "order_placeds", "order_paid", "order_placed"]
                .map(String::from)
                .to_vec();
        let mut expected = Vec::new();
        for j in 0..names.len() {
            for i in 0..j {
                if names[i] != names[j] && strsim::damerau_levenshtein(&names[i], &names[j]) == 1 {
                    expected.push((i, j));
                }
            }
        }
        assert_eq!(one_edit_pairs(&names), expected);
        assert_eq!(expected, [(0, 1), (0, 2), (0, 3), (1, 5), (2, 5), (3, 5)]);
    }

    #[test]
    fn normal_forms_collide_as_a_reader_would() {
        assert_eq!(normalize("identity registered"), "identity_registered");
        assert_eq!(normalize("identity_registered"), "identity_registered");
        assert_eq!(normalize("Identity-Registered "), "identity_registered");
        assert_eq!(normalize("domainNameTC"), "domain_name_tc");
        assert_eq!(
            conforming(Naming::ResourceAction, "ui.onboard.domainNameTC.submit"),
            "ui.onboard.domain_name_tc.submit"
        );
        assert_eq!(conforming(Naming::ResourceAction, "identity registered"), "identity.registered");
    }
}
