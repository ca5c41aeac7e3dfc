//! Which client recipe a parent of ephemeral nodes serves — lock, leader election, party, queue,
//! service registration — guessed from the names, as kazoo and Curator write them.
//!
//! A heuristic for operators (what would come back from the dead after a restore), shared by
//! `zkfilter`'s report and `zkdump sessions` so that one parent gets one name in both. The rules,
//! in order (names compared in lowercase):
//!
//! 1. The parent's path, first word found in this order: `election`, `leader`, `latch` →
//!    election; `party` → party; `queue` → queue; `semaphore`, `lease`, `mutex`, `lock` → lock;
//!    `member`, `registr`, `service`, `instances`, `brokers/ids` → registration. (kazoo's
//!    Election and Semaphore name their children like a lock's, so the parent says most.)
//! 2. The children's names (the last path component), any child: `lock`, `lease`, `mutex`,
//!    `semaphore` (kazoo `__lock__`/`__rlock__`, Curator `-lock-`/`-lease-`) → lock;
//!    `__party__` → party; `latch`, `leader`, `election` (Curator `-latch-`) → election.
//! 3. Otherwise → other.
//!
//! The verdict depends only on the parent and the set of child names given, not on their
//! order.
//!
//! ```
//! use zkformat::recipe::{classify, Recipe};
//!
//! assert_eq!(classify(b"/app/lock", [&b"x__lock__0000000001"[..]]), Recipe::Lock);
//! assert_eq!(classify(b"/app/locking-queue/taken", [&b"entry-1"[..]]), Recipe::Queue);
//! assert_eq!(classify(b"/app", [&b"/app/ab12__party__"[..]]).name(), "party");
//! ```

use std::fmt;

/// A client recipe that keeps ephemeral nodes under a parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Recipe {
    /// A lock, read/write lock, mutex or semaphore lease.
    Lock,
    /// A leader election or leader latch.
    Election,
    /// A party (group membership).
    Party,
    /// A queue (kazoo's LockingQueue holds its taken entries as ephemerals).
    Queue,
    /// A service registration or member list.
    Registration,
    /// None of the above recognised.
    Other,
}

impl Recipe {
    /// The name printed by the tools: `lock`, `election`, `party`, `queue`, `registration`,
    /// `other`.
    pub fn name(self) -> &'static str {
        match self {
            Recipe::Lock => "lock",
            Recipe::Election => "election",
            Recipe::Party => "party",
            Recipe::Queue => "queue",
            Recipe::Registration => "registration",
            Recipe::Other => "other",
        }
    }
}

impl fmt::Display for Recipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Words in a parent's path, in the order they are looked for.
const PARENT_WORDS: &[(&str, Recipe)] = &[
    ("election", Recipe::Election),
    ("leader", Recipe::Election),
    ("latch", Recipe::Election),
    ("party", Recipe::Party),
    ("queue", Recipe::Queue),
    ("semaphore", Recipe::Lock),
    ("lease", Recipe::Lock),
    ("mutex", Recipe::Lock),
    ("lock", Recipe::Lock),
    ("member", Recipe::Registration),
    ("registr", Recipe::Registration),
    ("service", Recipe::Registration),
    ("instances", Recipe::Registration),
    ("brokers/ids", Recipe::Registration),
];

/// Words in a child's name, in the order they are looked for (over all children).
const CHILD_WORDS: &[(&str, Recipe)] = &[
    ("lock", Recipe::Lock),
    ("lease", Recipe::Lock),
    ("mutex", Recipe::Lock),
    ("semaphore", Recipe::Lock),
    ("__party__", Recipe::Party),
    ("latch", Recipe::Election),
    ("leader", Recipe::Election),
    ("election", Recipe::Election),
];

fn last_component(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => path.get(i + 1..).unwrap_or(b""),
        None => path,
    }
}

/// Guesses the recipe of `parent` from its path and its ephemeral children (names or full
/// paths; only the last component is read). See the [module documentation](self) for the rules.
pub fn classify<'a>(parent: &[u8], children: impl IntoIterator<Item = &'a [u8]>) -> Recipe {
    let p = String::from_utf8_lossy(parent).to_ascii_lowercase();
    if let Some((_, r)) = PARENT_WORDS.iter().find(|(w, _)| p.contains(w)) {
        return *r;
    }
    let names: Vec<String> = children
        .into_iter()
        .map(|c| String::from_utf8_lossy(last_component(c)).to_ascii_lowercase())
        .collect();
    CHILD_WORDS
        .iter()
        .find(|(w, _)| names.iter().any(|n| n.contains(w)))
        .map_or(Recipe::Other, |(_, r)| *r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one<'a>(parent: &'a [u8], child: &'a [u8]) -> Recipe {
        classify(parent, [child])
    }

    #[test]
    fn kazoo_recipes() {
        // As written by kazoo 2.x in testdata/zk-3.8/recipes.
        assert_eq!(
            one(b"/recipes/election", b"1a29__lock__0000000000"),
            Recipe::Election
        );
        assert_eq!(
            one(b"/recipes/lock", b"7c35__lock__0000000001"),
            Recipe::Lock
        );
        assert_eq!(
            one(b"/recipes/rwlock", b"0c54__rlock__0000000000"),
            Recipe::Lock
        );
        assert_eq!(one(b"/recipes/semaphore", b"c745"), Recipe::Lock);
        assert_eq!(one(b"/recipes/party", b"ca4e__party__"), Recipe::Party);
        assert_eq!(
            one(b"/recipes/shallow-party", b"4b19-shallow-a"),
            Recipe::Party
        );
        assert_eq!(
            one(b"/recipes/locking-queue/taken", b"entry-100-0000000001"),
            Recipe::Queue
        );
    }

    #[test]
    fn children_decide_when_the_parent_says_nothing() {
        assert_eq!(one(b"/app/x", b"_c_1234-lock-0000000001"), Recipe::Lock);
        assert_eq!(
            one(b"/app/x", b"_c_1234-latch-0000000001"),
            Recipe::Election
        );
        assert_eq!(one(b"/app/x", b"ab__party__"), Recipe::Party);
        assert_eq!(one(b"/services/web", b"host1"), Recipe::Registration);
        assert_eq!(one(b"/x", b"y"), Recipe::Other);
        assert_eq!(classify(b"/x", std::iter::empty()), Recipe::Other);
        // Full paths work as names.
        assert_eq!(one(b"/a", b"/a/k__lock__0000000001"), Recipe::Lock);
    }

    #[test]
    fn order_of_children_does_not_matter() {
        let a: [&[u8]; 2] = [b"host-1", b"x__lock__0000000001"];
        let b: [&[u8]; 2] = [b"x__lock__0000000001", b"host-1"];
        assert_eq!(classify(b"/w", a), classify(b"/w", b));
        assert_eq!(classify(b"/w", a), Recipe::Lock);
        assert_eq!(Recipe::Registration.to_string(), "registration");
    }
}
