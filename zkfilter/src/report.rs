//! The `zkfilter` report: what was (or would be) dropped, as JSON for `--report` and as a short
//! text summary on stderr.

use serde_json::{json, Value};
use zkformat::data::parent_display as parent_of;
use zkformat::filter::{Category, FilterReport, Policy};

/// Formats a 64-bit id as ZooKeeper prints it (`0x…`).
pub fn hex(v: i64) -> String {
    format!("0x{:x}", v as u64)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Guesses which client recipe a parent of ephemeral nodes belongs to, from the children's
/// names (kazoo and Curator name their nodes recognisably). A heuristic, for operators.
pub fn recipe_of(parent: &[u8], sample_child: Option<&[u8]>) -> &'static str {
    let p = text(parent).to_ascii_lowercase();
    let c = sample_child
        .map(text)
        .unwrap_or_default()
        .to_ascii_lowercase();
    // The parent's name says most (kazoo's Election and Semaphore use lock-named children).
    for (word, recipe) in [
        ("election", "election"),
        ("leader", "election"),
        ("latch", "election"),
        ("party", "party"),
        ("queue", "queue"),
        ("semaphore", "lock"),
        ("lease", "lock"),
        ("lock", "lock"),
        ("member", "registration"),
        ("registr", "registration"),
        ("service", "registration"),
        ("instances", "registration"),
        ("brokers/ids", "registration"),
    ] {
        if p.contains(word) {
            return recipe;
        }
    }
    if c.contains("__lock__") || c.contains("__rlock__") || c.contains("lock") {
        "lock"
    } else if c.contains("__party__") {
        "party"
    } else {
        "other"
    }
}

/// What a run was: mode, input, output and whether it was a dry run.
#[derive(Debug, Clone, Copy)]
pub struct RunInfo<'a> {
    /// `log`, `snapshot` or `datadir`.
    pub mode: &'a str,
    /// The input as named by the user.
    pub input: &'a str,
    /// The output written, if any.
    pub output: Option<&'a str>,
    /// Whether nothing was written.
    pub dry_run: bool,
}

/// The JSON report. `extra` holds mode-specific fields (data dir choice, tail, …).
pub fn to_json(
    report: &FilterReport,
    policy: &Policy,
    run: &RunInfo<'_>,
    extra: Value,
    warnings: &[String],
) -> Value {
    let dropped: serde_json::Map<String, Value> =
        [Category::Session, Category::Ephemeral, Category::Prefix]
            .iter()
            .map(|c| {
                let (n, b) = report.dropped.get(c).copied().unwrap_or((0, 0));
                (c.name().to_string(), json!({"count": n, "bytes": b}))
            })
            .collect();
    let samples = samples_by_parent(report);
    let groups: Vec<Value> = report
        .ephemeral_parents
        .iter()
        .map(|(parent, (count, live))| {
            let sample = samples.get(parent.as_slice()).copied();
            json!({
                "parent": text(parent),
                "count": count,
                "liveAtEnd": live,
                "recipe": recipe_of(parent, sample.map(last_component)),
            })
        })
        .collect();
    json!({
        "tool": "zkfilter",
        "mode": run.mode,
        "input": run.input,
        "output": run.output,
        "dryRun": run.dry_run,
        "policy": {
            "dropSessions": policy.drop_sessions,
            "dropEphemerals": policy.drop_ephemerals,
            "dropPrefixes": policy.prefixes().map(text).collect::<Vec<_>>(),
        },
        "recordsIn": report.records_in,
        "recordsOut": report.records_out,
        "bytesIn": report.bytes_in,
        "bytesOut": report.bytes_out,
        "dropped": dropped,
        "multisRewritten": report.multis_rewritten,
        "digestsStripped": report.digests_stripped,
        "sessions": report.sessions.iter().map(|s| json!({
            "id": hex(s.id),
            "timeoutMs": s.timeout,
            "openAtEnd": s.open_at_end,
        })).collect::<Vec<_>>(),
        "ephemerals": report.ephemerals.iter().map(|e| json!({
            "path": text(&e.path),
            "owner": hex(e.owner),
            "dataLength": e.data_len,
            "liveAtEnd": e.live_at_end,
        })).collect::<Vec<_>>(),
        "ephemeralGroups": groups,
        "ephemeralsInUnlistedParents": report.ephemerals_in_unlisted_parents,
        "prefixes": report.prefix_drops.iter().map(|(p, (n, b))| json!({"prefix": text(p), "count": n, "bytes": b})).collect::<Vec<_>>(),
        "ttlNodes": report.ttl_nodes,
        "containerNodes": report.container_nodes,
        "detailsTruncated": report.truncated,
        "digest": report.digest_note,
        "logEnd": report.log_end.map(|e| e.describe()),
        "warnings": warnings,
        "details": extra,
    })
}

fn last_component(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

/// A few lines for stderr.
pub fn summary_lines(report: &FilterReport, dry_run: bool) -> Vec<String> {
    let verb = if dry_run { "would drop" } else { "dropped" };
    let mut v = Vec::new();
    let get = |c| report.dropped.get(&c).copied().unwrap_or((0, 0));
    let (sn, sb) = get(Category::Session);
    let (en, eb) = get(Category::Ephemeral);
    let (pn, pb) = get(Category::Prefix);
    v.push(format!(
        "zkfilter: {verb} {sn} session records ({sb} bytes), {en} ephemeral records ({eb} bytes), {pn} prefix records ({pb} bytes); kept {} of {} records",
        report.records_out, report.records_in
    ));
    let live_sessions = report.sessions.iter().filter(|s| s.open_at_end).count();
    if live_sessions > 0 {
        v.push(format!("zkfilter: {live_sessions} sessions were open at the end of the input; their ephemeral nodes would have come back"));
    }
    let samples = samples_by_parent(report);
    for (parent, (count, live)) in report.ephemeral_parents.iter().take(20) {
        let sample = samples.get(parent.as_slice()).map(|p| last_component(p));
        v.push(format!(
            "zkfilter:   {:<12} {} ({count} ephemerals, {live} live at end)",
            recipe_of(parent, sample),
            text(parent)
        ));
    }
    if report.ephemeral_parents.len() > 20 {
        v.push(format!(
            "zkfilter:   … and {} more parents (see --report)",
            report.ephemeral_parents.len() - 20
        ));
    }
    if report.ephemerals_in_unlisted_parents > 0 {
        v.push(format!(
            "zkfilter:   … and {} ephemerals under parents beyond the first {} (counted, not listed)",
            report.ephemerals_in_unlisted_parents,
            zkformat::filter::REPORT_DETAIL_LIMIT
        ));
    }
    if report.multis_rewritten > 0 {
        v.push(format!(
            "zkfilter: {} multi txns rewritten without their dropped ops",
            report.multis_rewritten
        ));
    }
    if report.digests_stripped > 0 {
        v.push(format!("zkfilter: TxnDigest stripped from {} kept entries (they no longer describe the filtered tree)", report.digests_stripped));
    }
    if report.ttl_nodes > 0 {
        v.push(format!(
            "zkfilter: {} TTL nodes kept: the restoring server needs -Dzookeeper.extendedTypesEnabled=true, or it deletes them at start-up",
            report.ttl_nodes
        ));
    }
    if let Some(d) = &report.digest_note {
        v.push(format!("zkfilter: snapshot digest {d}"));
    }
    v
}

/// The first listed ephemeral path under each parent (a sample for the recipe guess).
fn samples_by_parent(report: &FilterReport) -> std::collections::HashMap<&[u8], &[u8]> {
    let mut m = std::collections::HashMap::new();
    for e in &report.ephemerals {
        m.entry(parent_of(&e.path)).or_insert(e.path.as_slice());
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipes_are_recognised() {
        assert_eq!(
            recipe_of(b"/app/lock", Some(b"a1b2__lock__0000000001")),
            "lock"
        );
        assert_eq!(recipe_of(b"/app/election", Some(b"x")), "election");
        assert_eq!(recipe_of(b"/app/party", None), "party");
        assert_eq!(recipe_of(b"/services/web", Some(b"host1")), "registration");
        assert_eq!(recipe_of(b"/x", Some(b"y")), "other");
    }
}
