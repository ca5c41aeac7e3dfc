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
use crate::dump::{format_time, hex64, path_str};

/// The text renderer.
#[derive(Debug, Default)]
pub struct Text;

fn acl_text(acls: &[OwnedAcl]) -> String {
    let parts: Vec<String> = acls.iter().map(OwnedAcl::text).collect();
    format!("[{}]", parts.join(", "))
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
            "{} ops{}",
            m.len(),
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

impl Render for Text {
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
        let crc = if e.checksum_ok() { "" } else { "CRC ERROR - " };
        let body = body_text(cx, &rec.body);
        let sep = if body.is_empty() { "" } else { " " };
        write!(
            out,
            "{crc}{} session {} cxid 0x{:x} zxid {} {}{sep}{body}",
            format_time(h.time),
            hex64(h.session),
            h.cxid as u32,
            h.zxid,
            op_name(h.op)
        )?;
        if let Some(d) = rec.digest {
            write!(out, " digest={}", hex64(d.tree_digest))?;
        }
        writeln!(out)?;
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
        if let Some(e) = &t.error {
            writeln!(out, "Stopped after {} txns: {e}", t.txns)?;
        } else {
            let how = t.end.map(|e| e.describe()).unwrap_or_default();
            writeln!(out, "EOF reached after {} txns ({how}).", t.txns)?;
        }
        if !cx.opts.filter.is_empty() {
            writeln!(out, "{} of {} txns shown.", t.shown, t.txns)?;
        }
        if t.checksum_errors > 0 {
            writeln!(out, "{} entries with a CRC ERROR.", t.checksum_errors)?;
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
        let node = n.node;
        let s = &node.stat;
        writeln!(out, "----")?;
        writeln!(out, "{}", path_str(node.path))?;
        writeln!(out, "  cZxid = {}", hex64(s.czxid))?;
        writeln!(out, "  ctime = {}", format_time(s.ctime))?;
        writeln!(out, "  mZxid = {}", hex64(s.mzxid))?;
        writeln!(out, "  mtime = {}", format_time(s.mtime))?;
        writeln!(out, "  pZxid = {}", hex64(s.pzxid))?;
        writeln!(out, "  cversion = {}", s.cversion)?;
        writeln!(out, "  dataVersion = {}", s.version)?;
        writeln!(out, "  aclVersion = {}", s.aversion)?;
        writeln!(
            out,
            "  ephemeralOwner = {} ({})",
            hex64(s.ephemeral_owner),
            node_type_name(s.ephemeral_owner)
        )?;
        match node.data {
            Some(d) => writeln!(out, "  dataLength = {}", d.len())?,
            None => writeln!(out, "  dataLength = 0 (null)")?,
        }
        writeln!(out, "  numChildren = {}", n.num_children)?;
        match n.acl {
            Some(a) => writeln!(out, "  acl = {} {}", node.acl_key, acl_text(a))?,
            None => writeln!(out, "  acl = {} (not in the ACL cache)", node.acl_key)?,
        }
        if cx.opts.data {
            writeln!(out, "  {}", data_text(cx, node.data).trim_start())?;
        }
        Ok(())
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
        if let Some(e) = &t.error {
            writeln!(
                out,
                "Stopped after {} nodes, {} sessions, {} ACL entries: {e}",
                s.nodes, s.sessions, s.acl_entries
            )?;
        } else {
            writeln!(
                out,
                "EOF reached: {} nodes, {} sessions, {} ACL entries, {} seals checked, {} bytes.",
                s.nodes, s.sessions, s.acl_entries, s.seals, s.length
            )?;
        }
        if !cx.opts.filter.is_empty() {
            writeln!(out, "{} of {} nodes shown.", t.shown, s.nodes)?;
        }
        Ok(())
    }
}
