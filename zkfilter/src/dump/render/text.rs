//! The text dump, in the spirit of ZooKeeper's `TxnLogToolkit`/`LogFormatter` (one line per txn:
//! time, session, cxid, zxid, op, body) and `SnapshotFormatter` (one block per node), with multi
//! sub-ops on their own indented lines and times in UTC ISO 8601.

use std::io::{self, Write};

use zkformat::compression::Compression;
use zkformat::data::AclList;
use zkformat::kind::FileHeader;
use zkformat::snapshot::{DigestCheck, Seal, Session, ZxidDigest};
use zkformat::txn::{op_name, Txn, TxnRecord};
use zkformat::txnlog::TxnEntry;
use zkformat::Zxid;

use super::{
    compression_name, data_repr, keeper_error_name, node_type_name, Ctx, DataRepr, LogTally,
    NodeView, OwnedAcl, Render, SnapTally,
};
use crate::dump::{format_time, hex64, path_str, plural, push_dec, push_hex, push_path, push_time};

/// The text renderer.
#[derive(Debug, Default)]
pub struct Text {
    /// The text of one node or txn line, reused from record to record.
    line: String,
    /// The snapshot ACL cache key last rendered, and its list's text: nearly every node of a
    /// snapshot uses one of a few keys. (A renderer dumps one file; a key's list is fixed in it.)
    acl_text: Option<(i64, String)>,
}

fn acl_text(acls: &[OwnedAcl]) -> String {
    let parts: Vec<String> = acls.iter().map(OwnedAcl::text).collect();
    format!("[{}]", parts.join(", "))
}

thread_local! {
    /// The last ACL list rendered (raw count and bytes → text): nearly every record of a file
    /// uses one of a few lists, so rendering is skipped when the list repeats.
    static ACL_LIST_CACHE: std::cell::RefCell<(i32, Vec<u8>, String)> =
        const { std::cell::RefCell::new((0, Vec::new(), String::new())) };
}

/// Appends `acl_list_text(l)` to `out`.
fn push_acl_list_text(out: &mut String, l: &AclList<'_>) {
    ACL_LIST_CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.2.is_empty() || c.0 != l.raw_count() || c.1 != l.body() {
            c.2 = acl_list_text(l);
            c.0 = l.raw_count();
            c.1.clear();
            c.1.extend_from_slice(l.body());
        }
        out.push_str(&c.2);
    });
}

fn acl_list_text(l: &AclList<'_>) -> String {
    if l.is_null() {
        return "null".to_string();
    }
    acl_text(&OwnedAcl::list(l))
}

/// ` data=…` or ` dataLength=N`.
fn data_text(cx: &Ctx<'_>, data: Option<&[u8]>) -> String {
    if !cx.opts.data {
        return match data {
            Some(d) => format!(" dataLength={}", d.len()),
            None => " dataLength=0 (null)".to_string(),
        };
    }
    match data_repr(data, cx.opts.data_format) {
        DataRepr::Null => " data=null".to_string(),
        DataRepr::Text(s) => format!(" data={s:?}"),
        DataRepr::Hex(h) => format!(" data=hex:{h}"),
        DataRepr::Base64(b) => format!(" data=base64:{b}"),
    }
}

/// The body of a txn after its op name (no leading space).
pub fn body_text(cx: &Ctx<'_>, body: &Txn<'_>) -> String {
    match body {
        Txn::Create(c) | Txn::Create2(c) => format!(
            "{}{} acl={} ephemeral={} parentCVersion={}",
            path_str(c.path),
            data_text(cx, c.data),
            acl_list_text(&c.acl),
            c.ephemeral.get(),
            c.parent_cversion
                .map_or_else(|| "none (V0 layout)".to_string(), |v| v.to_string())
        ),
        Txn::CreateContainer(c) | Txn::CreateTtl(c) => {
            let mut s = format!(
                "{}{} acl={} parentCVersion={}",
                path_str(c.path),
                data_text(cx, c.data),
                acl_list_text(&c.acl),
                c.parent_cversion
            );
            if let Some(t) = c.ttl {
                s.push_str(&format!(" ttl={t}"));
            }
            s
        }
        Txn::Delete { path } | Txn::DeleteContainer { path } => path_str(path).into_owned(),
        Txn::SetData(s) | Txn::Reconfig(s) => format!(
            "{}{} version={}",
            path_str(s.path),
            data_text(cx, s.data),
            s.version
        ),
        Txn::SetAcl(s) => format!(
            "{} acl={} version={}",
            path_str(s.path),
            acl_list_text(&s.acl),
            s.version
        ),
        Txn::Check { path, version } => format!("{} version={version}", path_str(path)),
        Txn::Multi(m) => format!(
            "{}{}",
            plural(m.len() as u64, "op", "ops"),
            if m.failed() {
                " (failed: applies nothing)"
            } else {
                ""
            }
        ),
        Txn::CreateSession { timeout } => format!("timeout={timeout}"),
        Txn::CloseSession(None) => "(no body)".to_string(),
        Txn::CloseSession(Some(p)) => {
            let paths: Vec<String> = p.iter().map(|x| path_str(x).into_owned()).collect();
            format!("paths2Delete=[{}]", paths.join(", "))
        }
        Txn::Error { err } => format!("err={err} ({})", keeper_error_name(*err)),
    }
}

/// Appends ` dataLength=N` (or `data_text`'s text when data is shown).
fn push_data_text(out: &mut String, cx: &Ctx<'_>, data: Option<&[u8]>) {
    match (cx.opts.data, data) {
        (false, Some(d)) => {
            out.push_str(" dataLength=");
            push_dec(out, d.len() as i64);
        }
        _ => out.push_str(&data_text(cx, data)),
    }
}

/// Appends `body_text(cx, body)` to `out`, without intermediate strings for the common txns.
pub fn push_body_text(out: &mut String, cx: &Ctx<'_>, body: &Txn<'_>) {
    match body {
        Txn::Create(c) | Txn::Create2(c) => {
            push_path(out, c.path);
            push_data_text(out, cx, c.data);
            out.push_str(" acl=");
            push_acl_list_text(out, &c.acl);
            out.push_str(if c.ephemeral.get() {
                " ephemeral=true parentCVersion="
            } else {
                " ephemeral=false parentCVersion="
            });
            match c.parent_cversion {
                Some(v) => push_dec(out, v.into()),
                None => out.push_str("none (V0 layout)"),
            }
        }
        Txn::Delete { path } | Txn::DeleteContainer { path } => push_path(out, path),
        Txn::SetData(s) | Txn::Reconfig(s) => {
            push_path(out, s.path);
            push_data_text(out, cx, s.data);
            out.push_str(" version=");
            push_dec(out, s.version.into());
        }
        Txn::CreateSession { timeout } => {
            out.push_str("timeout=");
            push_dec(out, (*timeout).into());
        }
        Txn::Error { err } => {
            out.push_str("err=");
            push_dec(out, (*err).into());
            out.push_str(" (");
            out.push_str(keeper_error_name(*err));
            out.push(')');
        }
        other => out.push_str(&body_text(cx, other)),
    }
}

impl Render for Text {
    fn for_another_thread(&self) -> Box<dyn Render + Send + Sync> {
        Box::new(Text::default())
    }

    fn log_header(&mut self, out: &mut dyn Write, _cx: &Ctx<'_>, h: &FileHeader) -> io::Result<()> {
        writeln!(
            out,
            "ZooKeeper Transactional Log File with dbid {} txnlog format version {}",
            h.dbid, h.version
        )
    }

    fn txn(
        &mut self,
        out: &mut dyn Write,
        cx: &Ctx<'_>,
        e: &TxnEntry<'_>,
        rec: &TxnRecord<'_>,
    ) -> io::Result<()> {
        let h = &rec.header;
        // One reused buffer per line; numbers formatted by hand (see `node`).
        let b = &mut self.line;
        b.clear();
        if !e.checksum_ok() {
            b.push_str("CRC ERROR - ");
        }
        push_time(b, h.time);
        b.push_str(" session 0x");
        push_hex(b, h.session as u64);
        b.push_str(" cxid 0x");
        push_hex(b, u64::from(h.cxid as u32));
        b.push_str(" zxid 0x");
        push_hex(b, h.zxid.0 as u64);
        b.push(' ');
        b.push_str(&op_name(h.op));
        let at = b.len();
        b.push(' ');
        push_body_text(b, cx, &rec.body);
        if b.len() == at + 1 {
            b.truncate(at);
        }
        if let Some(d) = rec.digest {
            b.push_str(" digest=0x");
            push_hex(b, d.tree_digest as u64);
        }
        b.push('\n');
        out.write_all(b.as_bytes())?;
        if let Txn::Multi(m) = &rec.body {
            for (i, o) in m.ops().enumerate() {
                match o.txn() {
                    Ok(t) => writeln!(out, "    [{i}] {} {}", op_name(o.op), body_text(cx, &t))?,
                    Err(err) => writeln!(out, "    [{i}] {} <undecodable: {err}>", op_name(o.op))?,
                }
            }
        }
        Ok(())
    }

    fn txn_error(
        &mut self,
        out: &mut dyn Write,
        _cx: &Ctx<'_>,
        e: &TxnEntry<'_>,
        err: &zkformat::Error,
    ) -> io::Result<()> {
        let h = e.header();
        let crc = if e.checksum_ok() { "" } else { "CRC ERROR - " };
        writeln!(
            out,
            "{crc}{} session {} cxid 0x{:x} zxid {} {} <undecodable: {}>",
            format_time(h.time),
            hex64(h.session),
            h.cxid as u32,
            h.zxid,
            op_name(h.op),
            crate::cli::zk_error_message(err)
        )
    }

    fn log_end(&mut self, out: &mut dyn Write, cx: &Ctx<'_>, t: &LogTally) -> io::Result<()> {
        let txns = plural(t.txns, "txn", "txns");
        if let Some(e) = &t.error {
            writeln!(out, "Stopped after {txns}: {e}")?;
        } else {
            let how = t.end.map(|e| e.describe()).unwrap_or_default();
            writeln!(out, "EOF reached after {txns} ({how}).")?;
        }
        if !cx.opts.filter.is_empty() {
            writeln!(out, "{} of {txns} shown.", t.shown)?;
        }
        if t.checksum_errors > 0 {
            writeln!(
                out,
                "{} with a CRC ERROR.",
                plural(t.checksum_errors, "entry", "entries")
            )?;
        }
        Ok(())
    }

    fn snap_header(
        &mut self,
        out: &mut dyn Write,
        _cx: &Ctx<'_>,
        h: &FileHeader,
        c: Compression,
        _offset: u64,
    ) -> io::Result<()> {
        writeln!(
            out,
            "ZooKeeper Snapshot File with dbid {} snapshot format version {} (compression {})",
            h.dbid,
            h.version,
            compression_name(c)
        )
    }

    fn session_count(&mut self, out: &mut dyn Write, _cx: &Ctx<'_>, n: i32) -> io::Result<()> {
        writeln!(out, "Session Details (sid, timeout) (count={n}):")
    }

    fn session(
        &mut self,
        out: &mut dyn Write,
        _cx: &Ctx<'_>,
        s: &Session,
        _offset: u64,
    ) -> io::Result<()> {
        writeln!(out, "  {}, {}", hex64(s.id), s.timeout)
    }

    fn acl_count(&mut self, out: &mut dyn Write, _cx: &Ctx<'_>, n: i32) -> io::Result<()> {
        writeln!(out, "ACL cache (count={n}):")
    }

    fn acl(
        &mut self,
        out: &mut dyn Write,
        _cx: &Ctx<'_>,
        key: i64,
        acls: &[OwnedAcl],
        _offset: u64,
    ) -> io::Result<()> {
        writeln!(out, "  {key}: {}", acl_text(acls))
    }

    fn node(&mut self, out: &mut dyn Write, cx: &Ctx<'_>, n: &NodeView<'_, '_>) -> io::Result<()> {
        use std::fmt::Write as _;
        let node = n.node;
        let s = &node.stat;
        // The whole block is built in one reused buffer and written at once; numbers are
        // formatted by hand (a million-node dump spends most of its time here).
        let b = &mut self.line;
        b.clear();
        b.push_str("----\n");
        push_path(b, node.path);
        b.push_str("\n  cZxid = 0x");
        push_hex(b, s.czxid as u64);
        b.push_str("\n  ctime = ");
        push_time(b, s.ctime);
        b.push_str("\n  mZxid = 0x");
        push_hex(b, s.mzxid as u64);
        b.push_str("\n  mtime = ");
        push_time(b, s.mtime);
        b.push_str("\n  pZxid = 0x");
        push_hex(b, s.pzxid as u64);
        b.push_str("\n  cversion = ");
        push_dec(b, s.cversion.into());
        b.push_str("\n  dataVersion = ");
        push_dec(b, s.version.into());
        b.push_str("\n  aclVersion = ");
        push_dec(b, s.aversion.into());
        b.push_str("\n  ephemeralOwner = 0x");
        push_hex(b, s.ephemeral_owner as u64);
        b.push_str(" (");
        b.push_str(node_type_name(s.ephemeral_owner));
        b.push_str(")\n");
        match node.data {
            Some(d) => {
                b.push_str("  dataLength = ");
                push_dec(b, d.len() as i64);
                b.push('\n');
            }
            None => b.push_str("  dataLength = 0 (null)\n"),
        }
        b.push_str("  numChildren = ");
        push_dec(b, n.num_children.into());
        b.push('\n');
        match n.acl {
            Some(a) => {
                b.push_str("  acl = ");
                push_dec(b, node.acl_key);
                b.push(' ');
                match &self.acl_text {
                    Some((key, text)) if *key == node.acl_key => b.push_str(text),
                    _ => {
                        let text = acl_text(a);
                        b.push_str(&text);
                        self.acl_text = Some((node.acl_key, text));
                    }
                }
                b.push('\n');
            }
            None => {
                let _ = writeln!(b, "  acl = {} (not in the ACL cache)", node.acl_key);
            }
        }
        if cx.opts.data {
            let _ = writeln!(b, "  {}", data_text(cx, node.data).trim_start());
        }
        out.write_all(b.as_bytes())
    }

    fn tree_end(&mut self, out: &mut dyn Write, _cx: &Ctx<'_>, offset: u64) -> io::Result<()> {
        writeln!(out, "----")?;
        writeln!(out, "Tree end at byte {offset}")
    }

    fn seal(
        &mut self,
        out: &mut dyn Write,
        _cx: &Ctx<'_>,
        s: &Seal,
        offset: u64,
    ) -> io::Result<()> {
        writeln!(
            out,
            "Seal #{} at byte {offset}: 0x{:08x} (ok)",
            s.index, s.value
        )
    }

    fn digest(
        &mut self,
        out: &mut dyn Write,
        _cx: &Ctx<'_>,
        d: &ZxidDigest,
        check: DigestCheck,
        _offset: u64,
    ) -> io::Result<()> {
        let verdict = match check {
            DigestCheck::Absent => "absent".to_string(),
            DigestCheck::Empty => "empty digest (ignored by ZooKeeper)".to_string(),
            DigestCheck::NotComparable => {
                "taken at a later zxid than the file name (fuzzy snapshot): not comparable without replaying logs".to_string()
            }
            DigestCheck::Match => "matches the tree".to_string(),
            DigestCheck::Mismatch { computed, .. } => {
                format!("MISMATCH: the tree digests to {}", hex64(computed))
            }
        };
        writeln!(
            out,
            "Digest: zxid {}, version {}, digest {}: {verdict}",
            d.zxid,
            d.version,
            hex64(d.digest)
        )
    }

    fn last_zxid(
        &mut self,
        out: &mut dyn Write,
        _cx: &Ctx<'_>,
        z: Zxid,
        _offset: u64,
    ) -> io::Result<()> {
        writeln!(out, "Last processed zxid: {z}")
    }

    fn snap_end(&mut self, out: &mut dyn Write, cx: &Ctx<'_>, t: &SnapTally) -> io::Result<()> {
        let s = &t.summary;
        let counts = format!(
            "{}, {}, {}",
            plural(s.nodes, "node", "nodes"),
            plural(s.sessions, "session", "sessions"),
            plural(s.acl_entries, "ACL entry", "ACL entries")
        );
        if let Some(e) = &t.error {
            writeln!(out, "Stopped after {counts}: {e}")?;
        } else {
            writeln!(
                out,
                "EOF reached: {counts}, {} checked, {}.",
                plural(s.seals, "seal", "seals"),
                plural(s.length, "byte", "bytes")
            )?;
        }
        if !cx.opts.filter.is_empty() {
            writeln!(
                out,
                "{} of {} shown.",
                t.shown,
                plural(s.nodes, "node", "nodes")
            )?;
        }
        Ok(())
    }
}
