//! The JSON Lines dump: one object per record, `"kind"` first, fields in a fixed order.
//!
//! The wire format is documented in the README ("JSON Lines schema") and is stable: 64-bit ids (zxids, session
//! ids, ephemeral owners, digests, seals) are `"0x…"` lowercase hex strings; counts, versions,
//! offsets, lengths and times (ms since the epoch) are integers; a field that has no value is
//! `null`, never omitted (`data` is present only with `--data`).

use std::io::{self, Write};

use zkformat::compression::Compression;
use zkformat::data::AclList;
use zkformat::kind::FileHeader;
use zkformat::snapshot::{DigestCheck, Seal, Session, ZxidDigest};
use zkformat::txn::{op_name, Txn, TxnHeader, TxnRecord};
use zkformat::txnlog::TxnEntry;
use zkformat::Zxid;

use super::{
    compression_name, data_repr, digest_check_name, end_reason_name, keeper_error_name,
    node_type_name, perms_letters, Ctx, DataRepr, LogTally, NodeView, OwnedAcl, Render, SnapTally,
};
use crate::cli::CliError;
use crate::dump::{hex64, path_str};

/// A JSON object written field by field, in order.
#[derive(Debug, Clone)]
pub struct Obj {
    buf: String,
    first: bool,
}

/// A JSON string literal.
pub fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

impl Obj {
    /// `{"kind":"<kind>"`.
    pub fn kind(kind: &str) -> Obj {
        let mut o = Obj::new();
        o.str("kind", kind);
        o
    }

    /// An empty object.
    pub fn new() -> Obj {
        Obj {
            buf: String::from("{"),
            first: true,
        }
    }

    fn key(&mut self, k: &str) {
        if !self.first {
            self.buf.push(',');
        }
        self.first = false;
        self.buf.push_str(&quote(k));
        self.buf.push(':');
    }

    /// A string field.
    pub fn str(&mut self, k: &str, v: &str) -> &mut Obj {
        self.key(k);
        self.buf.push_str(&quote(v));
        self
    }

    /// An integer field.
    pub fn int(&mut self, k: &str, v: impl Into<i128>) -> &mut Obj {
        self.key(k);
        self.buf.push_str(&v.into().to_string());
        self
    }

    /// A 64-bit id as `"0x…"`.
    pub fn hex(&mut self, k: &str, v: i64) -> &mut Obj {
        self.str(k, &hex64(v))
    }

    /// A boolean field.
    pub fn bool(&mut self, k: &str, v: bool) -> &mut Obj {
        self.key(k);
        self.buf.push_str(if v { "true" } else { "false" });
        self
    }

    /// A `null` field.
    pub fn null(&mut self, k: &str) -> &mut Obj {
        self.raw(k, "null")
    }

    /// A field with pre-encoded JSON.
    pub fn raw(&mut self, k: &str, json: &str) -> &mut Obj {
        self.key(k);
        self.buf.push_str(json);
        self
    }

    /// An optional string.
    pub fn opt_str(&mut self, k: &str, v: Option<&str>) -> &mut Obj {
        match v {
            Some(s) => self.str(k, s),
            None => self.null(k),
        }
    }

    /// An optional integer.
    pub fn opt_int(&mut self, k: &str, v: Option<i64>) -> &mut Obj {
        match v {
            Some(i) => self.int(k, i),
            None => self.null(k),
        }
    }

    /// The finished object.
    pub fn finish(&self) -> String {
        let mut s = self.buf.clone();
        s.push('}');
        s
    }

    /// Writes the object and a newline.
    pub fn line(&self, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(self.buf.as_bytes())?;
        out.write_all(b"}\n")
    }
}

impl Default for Obj {
    fn default() -> Obj {
        Obj::new()
    }
}

/// `[{"perms":31,"perm":"cdrwa","scheme":"world","id":"anyone"},…]`.
pub fn acl_json(acls: &[OwnedAcl]) -> String {
    let items: Vec<String> = acls
        .iter()
        .map(|a| {
            let mut o = Obj::new();
            o.int("perms", a.perms)
                .str("perm", &perms_letters(a.perms))
                .str("scheme", &a.scheme)
                .str("id", &a.id);
            o.finish()
        })
        .collect();
    format!("[{}]", items.join(","))
}

fn acl_list_json(l: &AclList<'_>) -> String {
    if l.is_null() {
        "null".to_string()
    } else {
        acl_json(&OwnedAcl::list(l))
    }
}

/// `{"text":…}`, `{"hex":…}`, `{"base64":…}` or `null`.
pub fn data_json(cx: &Ctx<'_>, data: Option<&[u8]>) -> String {
    match data_repr(data, cx.opts.data_format) {
        DataRepr::Null => "null".to_string(),
        DataRepr::Text(s) => format!("{{\"text\":{}}}", quote(&s)),
        DataRepr::Hex(h) => format!("{{\"hex\":{}}}", quote(&h)),
        DataRepr::Base64(b) => format!("{{\"base64\":{}}}", quote(&b)),
    }
}

fn data_fields(o: &mut Obj, cx: &Ctx<'_>, data: Option<&[u8]>) {
    o.int("dataLength", data.map_or(0, |d| d.len() as i64));
    if cx.opts.data {
        o.raw("data", &data_json(cx, data));
    }
}

/// Adds the body fields of `body` to `o`.
pub fn body_fields(o: &mut Obj, cx: &Ctx<'_>, body: &Txn<'_>) {
    match body {
        Txn::Create(c) | Txn::Create2(c) => {
            o.str("path", &path_str(c.path));
            data_fields(o, cx, c.data);
            o.raw("acl", &acl_list_json(&c.acl))
                .bool("ephemeral", c.ephemeral.get())
                .opt_int("parentCVersion", c.parent_cversion.map(i64::from));
        }
        Txn::CreateContainer(c) | Txn::CreateTtl(c) => {
            o.str("path", &path_str(c.path));
            data_fields(o, cx, c.data);
            o.raw("acl", &acl_list_json(&c.acl))
                .int("parentCVersion", c.parent_cversion);
            if let Txn::CreateTtl(_) = body {
                o.opt_int("ttl", c.ttl);
            }
        }
        Txn::Delete { path } | Txn::DeleteContainer { path } => {
            o.str("path", &path_str(path));
        }
        Txn::SetData(s) | Txn::Reconfig(s) => {
            o.str("path", &path_str(s.path));
            data_fields(o, cx, s.data);
            o.int("version", s.version);
        }
        Txn::SetAcl(s) => {
            o.str("path", &path_str(s.path))
                .raw("acl", &acl_list_json(&s.acl))
                .int("version", s.version);
        }
        Txn::Check { path, version } => {
            o.str("path", &path_str(path)).int("version", *version);
        }
        Txn::Multi(m) => {
            o.bool("failed", m.failed());
            let ops: Vec<String> = m
                .ops()
                .map(|sub| {
                    let mut so = Obj::new();
                    so.str("op", &op_name(sub.op)).int("opCode", sub.op);
                    match sub.txn() {
                        Ok(t) => body_fields(&mut so, cx, &t),
                        Err(e) => {
                            so.str("error", &crate::cli::zk_error_message(&e));
                        }
                    }
                    so.finish()
                })
                .collect();
            o.raw("ops", &format!("[{}]", ops.join(",")));
        }
        Txn::CreateSession { timeout } => {
            o.int("timeout", *timeout);
        }
        Txn::CloseSession(None) => {
            o.null("paths2Delete");
        }
        Txn::CloseSession(Some(p)) => {
            let paths: Vec<String> = p.iter().map(|x| quote(&path_str(x))).collect();
            o.raw("paths2Delete", &format!("[{}]", paths.join(",")));
        }
        Txn::Error { err } => {
            o.int("err", *err).str("errName", keeper_error_name(*err));
        }
    }
}

/// `null` or `{"message":…,"offset":…,"zxid":…,"hint":…}`.
pub fn error_json(e: Option<&CliError>) -> String {
    match e {
        None => "null".to_string(),
        Some(e) => {
            let mut o = Obj::new();
            o.str("message", &e.message)
                .opt_int("offset", e.offset.map(|v| v as i64))
                .opt_str("zxid", e.zxid.map(|z| hex64(z.0)).as_deref())
                .opt_str("hint", e.hint.as_deref());
            o.finish()
        }
    }
}

/// The JSON Lines renderer.
#[derive(Debug, Default)]
pub struct Json;

fn header_obj(cx: &Ctx<'_>, file_kind: &str, h: &FileHeader, c: Compression) -> Obj {
    let mut o = Obj::kind("header");
    o.str("file", cx.name)
        .str("fileKind", file_kind)
        .str("magic", &String::from_utf8_lossy(&h.magic.to_be_bytes()))
        .int("version", h.version)
        .int("dbid", h.dbid)
        .str("compression", compression_name(c))
        .opt_str("nameZxid", cx.name_zxid.map(|z| hex64(z.0)).as_deref());
    o
}

fn txn_head(o: &mut Obj, e: &TxnEntry<'_>) {
    txn_head_fields(o, e.offset(), e.header(), e.checksum_ok());
}

/// The fields every `txn` and `txnError` record opens with: `offset`, `zxid`, `session`,
/// `cxid`, `time`, `op`, `opCode`, `checksumOk`.
pub fn txn_head_fields(o: &mut Obj, offset: u64, h: &TxnHeader, checksum_ok: bool) {
    o.int("offset", offset)
        .hex("zxid", h.zxid.0)
        .hex("session", h.session)
        .int("cxid", h.cxid)
        .int("time", h.time)
        .str("op", &op_name(h.op))
        .int("opCode", h.op)
        .bool("checksumOk", checksum_ok);
}

impl Render for Json {
    fn for_another_thread(&self) -> Box<dyn Render + Send + Sync> {
        Box::new(Json)
    }

    fn log_header(&mut self, out: &mut dyn Write, cx: &Ctx<'_>, h: &FileHeader) -> io::Result<()> {
        header_obj(cx, "txnLog", h, Compression::None).line(out)
    }

    fn txn(
        &mut self,
        out: &mut dyn Write,
        cx: &Ctx<'_>,
        e: &TxnEntry<'_>,
        rec: &TxnRecord<'_>,
    ) -> io::Result<()> {
        let mut o = Obj::kind("txn");
        txn_head(&mut o, e);
        o.opt_str(
            "digest",
            rec.digest.map(|d| hex64(d.tree_digest)).as_deref(),
        );
        body_fields(&mut o, cx, &rec.body);
        o.line(out)
    }

    fn txn_error(
        &mut self,
        out: &mut dyn Write,
        _cx: &Ctx<'_>,
        e: &TxnEntry<'_>,
        err: &zkformat::Error,
    ) -> io::Result<()> {
        let mut o = Obj::kind("txnError");
        txn_head(&mut o, e);
        o.str("error", &crate::cli::zk_error_message(err))
            .int("errorOffset", err.offset());
        o.line(out)
    }

    fn log_end(&mut self, out: &mut dyn Write, _cx: &Ctx<'_>, t: &LogTally) -> io::Result<()> {
        let mut o = Obj::kind("end");
        o.str("fileKind", "txnLog")
            .int("txns", t.txns)
            .int("shown", t.shown)
            .int("checksumErrors", t.checksum_errors)
            .int("decodeErrors", t.decode_errors);
        match (&t.end, &t.error) {
            (Some(end), None) => {
                o.str("reason", end_reason_name(end.reason))
                    .int("offset", end.offset)
                    .int("trailingBytes", end.trailing_bytes)
                    .int("trailingNonzero", end.trailing_nonzero)
                    .bool("clean", end.is_clean());
            }
            _ => {
                o.str("reason", "error")
                    .opt_int(
                        "offset",
                        t.error.as_ref().and_then(|e| e.offset).map(|v| v as i64),
                    )
                    .null("trailingBytes")
                    .null("trailingNonzero")
                    .bool("clean", false);
            }
        }
        o.raw("error", &error_json(t.error.as_ref()));
        o.line(out)
    }

    fn snap_header(
        &mut self,
        out: &mut dyn Write,
        cx: &Ctx<'_>,
        h: &FileHeader,
        c: Compression,
        _offset: u64,
    ) -> io::Result<()> {
        header_obj(cx, "snapshot", h, c).line(out)
    }

    fn session_count(&mut self, _out: &mut dyn Write, _cx: &Ctx<'_>, _n: i32) -> io::Result<()> {
        Ok(())
    }

    fn session(
        &mut self,
        out: &mut dyn Write,
        _cx: &Ctx<'_>,
        s: &Session,
        offset: u64,
    ) -> io::Result<()> {
        let mut o = Obj::kind("session");
        o.int("offset", offset)
            .hex("session", s.id)
            .int("timeout", s.timeout);
        o.line(out)
    }

    fn acl_count(&mut self, _out: &mut dyn Write, _cx: &Ctx<'_>, _n: i32) -> io::Result<()> {
        Ok(())
    }

    fn acl(
        &mut self,
        out: &mut dyn Write,
        _cx: &Ctx<'_>,
        key: i64,
        acls: &[OwnedAcl],
        offset: u64,
    ) -> io::Result<()> {
        let mut o = Obj::kind("acl");
        o.int("offset", offset)
            .int("key", key)
            .raw("acl", &acl_json(acls));
        o.line(out)
    }

    fn node(&mut self, out: &mut dyn Write, cx: &Ctx<'_>, n: &NodeView<'_, '_>) -> io::Result<()> {
        let node = n.node;
        let s = &node.stat;
        let mut o = Obj::kind("node");
        o.int("offset", n.offset)
            .str("path", &path_str(node.path))
            .str("nodeType", node_type_name(s.ephemeral_owner))
            .hex("ephemeralOwner", s.ephemeral_owner)
            .hex("czxid", s.czxid)
            .hex("mzxid", s.mzxid)
            .hex("pzxid", s.pzxid)
            .int("ctime", s.ctime)
            .int("mtime", s.mtime)
            .int("version", s.version)
            .int("cversion", s.cversion)
            .int("aversion", s.aversion)
            .int("dataLength", node.data.map_or(0, |d| d.len() as i64))
            .bool("dataNull", node.data.is_none())
            .int("numChildren", n.num_children)
            .int("aclKey", node.acl_key)
            .raw("acl", &n.acl.map_or_else(|| "null".to_string(), acl_json));
        if cx.opts.data {
            o.raw("data", &data_json(cx, node.data));
        }
        o.line(out)
    }

    fn tree_end(&mut self, out: &mut dyn Write, _cx: &Ctx<'_>, offset: u64) -> io::Result<()> {
        let mut o = Obj::kind("treeEnd");
        o.int("offset", offset);
        o.line(out)
    }

    fn seal(
        &mut self,
        out: &mut dyn Write,
        _cx: &Ctx<'_>,
        s: &Seal,
        offset: u64,
    ) -> io::Result<()> {
        let mut o = Obj::kind("seal");
        o.int("offset", offset)
            .int("index", s.index)
            .hex("value", s.value as i64)
            .bool("ok", true);
        o.line(out)
    }

    fn digest(
        &mut self,
        out: &mut dyn Write,
        _cx: &Ctx<'_>,
        d: &ZxidDigest,
        check: DigestCheck,
        offset: u64,
    ) -> io::Result<()> {
        let mut o = Obj::kind("digest");
        o.int("offset", offset)
            .hex("zxid", d.zxid.0)
            .int("version", d.version)
            .hex("digest", d.digest)
            .str("check", digest_check_name(check));
        match check {
            DigestCheck::Mismatch { computed, .. } => o.hex("computed", computed),
            _ => o.null("computed"),
        };
        o.line(out)
    }

    fn last_zxid(
        &mut self,
        out: &mut dyn Write,
        _cx: &Ctx<'_>,
        z: Zxid,
        offset: u64,
    ) -> io::Result<()> {
        let mut o = Obj::kind("lastZxid");
        o.int("offset", offset).hex("zxid", z.0);
        o.line(out)
    }

    fn snap_end(&mut self, out: &mut dyn Write, _cx: &Ctx<'_>, t: &SnapTally) -> io::Result<()> {
        let s = &t.summary;
        let mut o = Obj::kind("end");
        o.str("fileKind", "snapshot")
            .int("nodes", s.nodes)
            .int("shown", t.shown)
            .int("sessions", s.sessions)
            .int("aclEntries", s.acl_entries)
            .int("seals", s.seals)
            .int("length", s.length)
            .hex("treeDigest", s.tree_digest.value())
            .bool("complete", t.complete)
            .raw("error", &error_json(t.error.as_ref()));
        o.line(out)
    }
}
