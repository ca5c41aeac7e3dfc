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

/// Guesses which client recipe a parent of ephemeral nodes belongs to, from its path and its
/// children's names: [`zkformat::recipe::classify`], the rule `zkdump sessions` uses too.
pub fn recipe_of<'a>(parent: &[u8], children: impl IntoIterator<Item = &'a [u8]>) -> &'static str {
    zkformat::recipe::classify(parent, children).name()
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
    let children = children_by_parent(report);
    let groups: Vec<Value> = report
        .ephemeral_parents
        .iter()
        .map(|(parent, (count, live))| {
            let kids = children.get(parent.as_slice()).cloned().unwrap_or_default();
            json!({
                "parent": text(parent),
                "count": count,
                "liveAtEnd": live,
                "recipe": recipe_of(parent, kids),
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

/// A few lines for stderr.
pub fn summary_lines(report: &FilterReport, dry_run: bool, mode: &str) -> Vec<String> {
    let verb = if dry_run { "would drop" } else { "dropped" };
    let mut v = Vec::new();
    let get = |c| report.dropped.get(&c).copied().unwrap_or((0, 0));
    let (sn, sb) = get(Category::Session);
    let (en, eb) = get(Category::Ephemeral);
    let (pn, pb) = get(Category::Prefix);
    let n = |count: u64, one: &str, many: &str| {
        format!("{count} {}", if count == 1 { one } else { many })
    };
    if mode == "log" {
        // Every entry is kept, rewritten (a multi without its dropped ops, or a stand-in), or
        // dropped: in = kept + rewritten + dropped, out = kept + rewritten.
        let touched = sn + en + pn;
        let dropped = touched.saturating_sub(report.multis_rewritten);
        let kept = report.records_in.saturating_sub(touched);
        v.push(format!(
            "zkfilter: {} in, {} out: {kept} kept, {} rewritten, {} {verb}",
            n(report.records_in, "entry", "entries"),
            report.records_out,
            report.multis_rewritten,
            dropped,
        ));
        v.push(format!(
            "zkfilter: {verb}: {} ({sb} bytes), {} ({eb} bytes), {} below --drop-prefix ({pb} bytes)",
            n(sn, "session txn", "session txns"),
            n(en, "txn on ephemerals", "txns on ephemerals"),
            n(pn, "txn", "txns"),
        ));
    } else {
        v.push(format!(
            "zkfilter: {} in (nodes and sessions), {} out; {verb} {}, {}, {} below --drop-prefix ({} bytes)",
            n(report.records_in, "record", "records"),
            report.records_out,
            n(sn, "session", "sessions"),
            n(en, "ephemeral node", "ephemeral nodes"),
            n(pn, "node", "nodes"),
            sb + eb + pb,
        ));
    }
    let live_sessions = report.sessions.iter().filter(|s| s.open_at_end).count();
    if live_sessions > 0 {
        let (were, their) = if live_sessions == 1 {
            ("session was", "its")
        } else {
            ("sessions were", "their")
        };
        v.push(format!("zkfilter: {live_sessions} {were} open at the end of the input; {their} ephemeral nodes would have come back"));
    }
    let children = children_by_parent(report);
    for (parent, (count, live)) in report.ephemeral_parents.iter().take(20) {
        let kids = children.get(parent.as_slice()).cloned().unwrap_or_default();
        v.push(format!(
            "zkfilter:   {:<12} {} ({count} {}, {live} live at end)",
            recipe_of(parent, kids),
            text(parent),
            if *count == 1 {
                "ephemeral"
            } else {
                "ephemerals"
            }
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
            "zkfilter:   … and {} under parents beyond the first {} (counted, not listed)",
            n(
                report.ephemerals_in_unlisted_parents,
                "ephemeral",
                "ephemerals"
            ),
            zkformat::filter::REPORT_DETAIL_LIMIT
        ));
    }
    if report.multis_rewritten > 0 {
        v.push(format!(
            "zkfilter: {} rewritten as a multi without the dropped ops (or a stand-in keeping the parent's stats)",
            n(report.multis_rewritten, "txn", "txns")
        ));
    }
    if report.digests_stripped > 0 {
        v.push(format!(
            "zkfilter: TxnDigest stripped from {} (they no longer describe the filtered tree)",
            n(report.digests_stripped, "kept entry", "kept entries")
        ));
    }
    if report.ttl_nodes > 0 {
        v.push(format!(
            "zkfilter: {} kept: the restoring server needs -Dzookeeper.extendedTypesEnabled=true, or it deletes them at start-up",
            n(report.ttl_nodes, "TTL node", "TTL nodes")
        ));
    }
    if let Some(d) = &report.digest_note {
        v.push(format!("zkfilter: snapshot digest {d}"));
    }
    v
}

/// The listed ephemeral paths under each parent (what the recipe guess reads).
fn children_by_parent(report: &FilterReport) -> std::collections::HashMap<&[u8], Vec<&[u8]>> {
    let mut m: std::collections::HashMap<&[u8], Vec<&[u8]>> = std::collections::HashMap::new();
    for e in &report.ephemerals {
        m.entry(parent_of(&e.path))
            .or_default()
            .push(e.path.as_slice());
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipes_are_recognised() {
        let one = |c: &'static [u8]| [c];
        assert_eq!(
            recipe_of(b"/app/lock", one(b"a1b2__lock__0000000001")),
            "lock"
        );
        assert_eq!(recipe_of(b"/app/election", one(b"x")), "election");
        assert_eq!(recipe_of(b"/app/party", []), "party");
        assert_eq!(recipe_of(b"/services/web", one(b"host1")), "registration");
        assert_eq!(recipe_of(b"/x", one(b"y")), "other");
    }
}
