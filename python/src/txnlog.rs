//! `TxnLog`, its iterators and `Txn`: the entries of a txn log, read from the memory map one at
//! a time (`zkformat::txnlog::TxnLog::entries_lenient`, as `zkdump` reads them).

use std::sync::{Arc, OnceLock};

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use pyo3::IntoPyObjectExt;
use self_cell::self_cell;
use zkfilter::cli::{zk_error_message, CliError};
use zkfilter::dump::hex64;
use zkfilter::dump::render::json::{body_fields, txn_head_fields, Json, Obj};
use zkfilter::dump::render::{LogTally, Render};
use zkformat::txn::{Txn as Body, TxnHeader, TxnRecord};
use zkformat::txnlog::{Entries, TxnLog as ZkLog};

use crate::errors::format_error;
use crate::record::{End, Header};
use crate::records::{
    acl_list, ctx, dump_options, json_to_py, once_detached, op_name, path_str, zxid_arg,
};
use crate::source::Src;

type EntriesOf<'a> = Entries<'a>;

self_cell!(
    /// A log's entries iterator together with the bytes it borrows.
    struct LogCell {
        owner: Arc<Src>,
        #[covariant]
        dependent: EntriesOf,
    }
);

impl std::fmt::Debug for LogCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogCell")
    }
}

/// A txn log (`log.<zxid>`). Iterating yields a `Txn` per entry, read one at a time from the
/// memory-mapped file.
#[pyclass(module = "zkformat", frozen)]
#[derive(Debug)]
pub struct TxnLog {
    src: Arc<Src>,
    header: Py<Header>,
    end: OnceLock<String>,
}

impl TxnLog {
    /// Opens a log whose bytes start with `ZKLG`.
    pub fn new(py: Python<'_>, src: Arc<Src>) -> PyResult<TxnLog> {
        let log = ZkLog::parse(&src.bytes, src.limits).map_err(|e| format_error(&src.name, &e))?;
        let mut buf = Vec::new();
        let opts = dump_options(false, "hex")?;
        let _ = Json.log_header(&mut buf, &ctx(&opts, &src.name), &log.header());
        let header = Header::from_json(py, &String::from_utf8_lossy(&buf))?;
        Ok(TxnLog {
            src,
            header,
            end: OnceLock::new(),
        })
    }

    fn iter(&self, py: Python<'_>, strict: bool, records: bool) -> PyResult<TxnIter> {
        let cell = LogCell::try_new(Arc::clone(&self.src), |s| {
            ZkLog::parse(&s.bytes, s.limits).map(|l| {
                if strict {
                    l.entries()
                } else {
                    l.entries_lenient()
                }
            })
        })
        .map_err(|e| format_error(&self.src.name, &e))?;
        Ok(TxnIter {
            cell,
            strict,
            filter: None,
            stage: if records {
                Stage::Header
            } else {
                Stage::Entries
            },
            header: records.then(|| self.header.clone_ref(py)),
            records,
            tally: LogTally::default(),
            pending: None,
        })
    }

    /// zkdump's `end` record: one pass over the whole log in Rust (the GIL released), cached.
    fn end_json(&self, py: Python<'_>) -> String {
        once_detached(&self.end, py, || {
            let mut t = LogTally::default();
            match ZkLog::parse(&self.src.bytes, self.src.limits) {
                Ok(log) => {
                    let mut it = log.entries_lenient();
                    loop {
                        match it.next_entry() {
                            Ok(Some(e)) => {
                                t.txns += 1;
                                if !e.checksum_ok() {
                                    t.checksum_errors += 1;
                                }
                                if e.check_record().is_err() {
                                    t.decode_errors += 1;
                                }
                            }
                            Ok(None) => break,
                            Err(e) => {
                                t.error = Some(CliError::format(&self.src.name, &e));
                                break;
                            }
                        }
                    }
                    t.end = it.end();
                }
                Err(e) => t.error = Some(CliError::format(&self.src.name, &e)),
            }
            t.shown = t.txns;
            end_line(&self.src.name, &t)
        })
        .clone()
    }
}

fn end_line(name: &str, t: &LogTally) -> String {
    let opts = zkfilter::dump::DumpOptions::default();
    let mut buf = Vec::new();
    let _ = Json.log_end(&mut buf, &ctx(&opts, name), t);
    String::from_utf8_lossy(&buf).into_owned()
}

#[pymethods]
impl TxnLog {
    /// zkdump's `header` record (file, fileKind, magic, version, dbid, compression, nameZxid).
    #[getter]
    fn header(&self, py: Python<'_>) -> Py<Header> {
        self.header.clone_ref(py)
    }

    /// zkdump's `end` record: txns, checksumErrors, decodeErrors, reason (eof, zeroPadding,
    /// torn, partialRecord, error), offset, trailingBytes, trailingNonzero, clean, error. Reads
    /// the whole log once (in Rust, the GIL released); cached.
    #[getter]
    fn end(&self, py: Python<'_>) -> PyResult<Py<End>> {
        let line = self.end_json(py);
        End::from_json(py, &line)
    }

    /// The name given to the input (the path, or `-`).
    #[getter]
    fn name(&self) -> String {
        self.src.name.clone()
    }

    fn __iter__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        batched(py, self.iter(py, false, false)?)
    }

    /// Iterates the txns. `strict=False` (the default, as `zkdump` and `iter(log)`): an entry
    /// whose Adler32 does not match is yielded with `checksumOk` False, and one whose payload
    /// does not decode as a `Txn` of kind `txnError`; `strict=True` raises `ChecksumError` /
    /// `CorruptError` there instead, as ZooKeeper stops.
    ///
    /// The other arguments select txns in Rust, as `zkdump`'s options do (all must match):
    /// `from_zxid`/`to_zxid` (int or `"0x…"`), `session`, `path_prefix` (a literal prefix of the
    /// txn's path, of any multi sub-op's or closeSession's paths), `ops` (op names; a multi
    /// matches its sub-ops). Txns that do not match cost no Python object.
    #[pyo3(signature = (strict = false, *, from_zxid = None, to_zxid = None, session = None,
        path_prefix = None, ops = None))]
    #[allow(clippy::too_many_arguments)]
    fn txns(
        &self,
        py: Python<'_>,
        strict: bool,
        from_zxid: Option<&Bound<'_, PyAny>>,
        to_zxid: Option<&Bound<'_, PyAny>>,
        session: Option<&Bound<'_, PyAny>>,
        path_prefix: Option<String>,
        ops: Option<Vec<String>>,
    ) -> PyResult<Py<PyAny>> {
        let mut it = self.iter(py, strict, false)?;
        let f = zkfilter::dump::Filter {
            from_zxid: from_zxid.map(zxid_arg).transpose()?,
            to_zxid: to_zxid.map(zxid_arg).transpose()?,
            session: session.map(zxid_arg).transpose()?.map(|z| z.0),
            path_prefix: path_prefix.map(String::into_bytes),
            ops: zkfilter::dump::parse_ops(&ops.unwrap_or_default())
                .map_err(pyo3::exceptions::PyValueError::new_err)?,
        };
        if !f.is_empty() {
            it.filter = Some(f);
        }
        batched(py, it)
    }

    /// Every record `zkdump --json` prints for this log, in order: the `header` (a `Header`),
    /// each `txn`/`txnError` (a `Txn`), then the `end` (an `End`). A read error ends the
    /// iteration after the `end` record that describes it, with the exception.
    fn records(&self, py: Python<'_>) -> PyResult<TxnIter> {
        self.iter(py, false, true)
    }

    fn __repr__(&self) -> String {
        format!("<zkformat.TxnLog {:?}>", self.src.name)
    }
}

/// `itertools.chain.from_iterable(batches)`: the txns are made in Rust a batch at a time and
/// handed out by CPython's own iterators, so that a Python loop over a log pays no call into
/// the extension per txn. Memory stays bounded: one batch of objects at a time.
fn batched(py: Python<'_>, it: TxnIter) -> PyResult<Py<PyAny>> {
    static CHAIN: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();
    let chain = CHAIN.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py
            .import("itertools")?
            .getattr("chain")?
            .getattr("from_iterable")?
            .unbind())
    })?;
    let batches = Py::new(py, TxnBatches { inner: it })?;
    chain.call1(py, (batches,))
}

/// Txns per batch.
const BATCH: usize = 256;

/// Lists of up to 256 `Txn`s (see `batched`).
#[pyclass(module = "zkformat")]
#[derive(Debug)]
pub struct TxnBatches {
    inner: TxnIter,
}

#[pymethods]
impl TxnBatches {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Option<Py<pyo3::types::PyList>>> {
        let mut v = Vec::with_capacity(BATCH);
        while v.len() < BATCH {
            match self.inner.__next__(py) {
                Ok(Some(t)) => v.push(t),
                Ok(None) => break,
                Err(e) if v.is_empty() => return Err(e),
                Err(e) => {
                    // Hand out what came before the error first.
                    self.inner.pending = Some(e);
                    self.inner.stage = Stage::Done;
                    break;
                }
            }
        }
        if v.is_empty() {
            return Ok(None);
        }
        Ok(Some(pyo3::types::PyList::new(py, v)?.unbind()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Header,
    Entries,
    End,
    Done,
}

/// The iterator of a `TxnLog`: one `Txn` per entry.
#[pyclass(module = "zkformat")]
#[derive(Debug)]
pub struct TxnIter {
    cell: LogCell,
    strict: bool,
    filter: Option<zkfilter::dump::Filter>,
    stage: Stage,
    header: Option<Py<Header>>,
    records: bool,
    tally: LogTally,
    pending: Option<PyErr>,
}

/// What the iterator found in Rust.
enum Next {
    Entry(Txn),
    End,
    Error(zkformat::Error),
}

#[pymethods]
impl TxnIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        match self.stage {
            Stage::Done => {
                return match self.pending.take() {
                    Some(e) => Err(e),
                    None => Ok(None),
                }
            }
            Stage::Header => {
                self.stage = Stage::Entries;
                if let Some(h) = self.header.take() {
                    return Ok(Some(h.into_any()));
                }
            }
            Stage::End => {
                self.stage = Stage::Done;
                self.tally.end = self.cell.borrow_dependent().end();
                let name = self.cell.borrow_owner().name.clone();
                let line = end_line(&name, &self.tally);
                return Ok(Some(End::from_json(py, &line)?.into_any()));
            }
            Stage::Entries => {}
        }
        let records = self.records;
        let strict = self.strict;
        let filter = self.filter.as_ref();
        let next = self.cell.with_dependent_mut(|src, entries| loop {
            break match entries.next_entry() {
                Ok(Some(e)) => {
                    let h = *e.header();
                    if let Some(f) = filter {
                        // zkdump's selection: header first, then the decoded record; an
                        // undecodable entry is shown only when no op or path is asked for.
                        if !f.header_matches(h.zxid, h.session) {
                            continue;
                        }
                        if !f.ops.is_empty() || f.path_prefix.is_some() {
                            match e.record() {
                                Ok(rec) if f.txn_matches(&rec) => {}
                                _ => continue,
                            }
                        }
                    }
                    let (path, decoded) = match e.check_path() {
                        Ok(p) => (p, Ok(())),
                        Err(err) => (None, Err(err)),
                    };
                    if let Err(err) = decoded {
                        if strict {
                            return Next::Error(err);
                        }
                        return Next::Entry(Txn::new(py, src, &e, h, None, false));
                    }
                    Next::Entry(Txn::new(py, src, &e, h, path, true))
                }
                Ok(None) => Next::End,
                Err(err) => Next::Error(err),
            };
        });
        match next {
            Next::Entry(t) => {
                self.tally.txns += 1;
                self.tally.shown += 1;
                if !t.checksum_ok {
                    self.tally.checksum_errors += 1;
                }
                if !t.decoded {
                    self.tally.decode_errors += 1;
                }
                Ok(Some(Py::new(py, t)?.into_any()))
            }
            Next::End => {
                if records {
                    self.stage = Stage::End;
                    self.__next__(py)
                } else {
                    self.stage = Stage::Done;
                    Ok(None)
                }
            }
            Next::Error(err) => {
                let name = self.cell.borrow_owner().name.clone();
                let e = format_error(&name, &err);
                if records {
                    self.tally.error = Some(CliError::format(&name, &err));
                    self.pending = Some(e);
                    self.stage = Stage::End;
                    self.__next__(py)
                } else {
                    self.stage = Stage::Done;
                    Err(e)
                }
            }
        }
    }
}

/// One txn log entry. `zxid`, `op` and `path` are read when the entry is; every other field is
/// decoded from the mapped bytes when asked for. Field names are those of `zkdump --json`; a
/// field the op does not have is None (and absent from `to_dict()`).
#[pyclass(module = "zkformat", frozen)]
#[derive(Debug)]
pub struct Txn {
    /// The txn's zxid (int).
    #[pyo3(get)]
    zxid: Py<PyAny>,
    /// ZooKeeper's op name (`create`, `setData`, `multi`, `createSession`, …).
    #[pyo3(get)]
    op: Py<PyAny>,
    /// The path the txn acts on (str), or None (sessions, multi, error).
    #[pyo3(get)]
    path: Py<PyAny>,
    src: Arc<Src>,
    offset: u64,
    len: u32,
    header: TxnHeader,
    checksum_ok: bool,
    decoded: bool,
}

impl Txn {
    fn new(
        py: Python<'_>,
        src: &Arc<Src>,
        e: &zkformat::txnlog::TxnEntry<'_>,
        h: TxnHeader,
        path: Option<&[u8]>,
        decoded: bool,
    ) -> Txn {
        let path = match path {
            Some(p) => match std::str::from_utf8(p) {
                Ok(s) if !s.is_empty() => PyString::new(py, s).into_any().unbind(),
                _ => PyString::new(py, &path_str(p)).into_any().unbind(),
            },
            None => py.None(),
        };
        Txn {
            zxid: h
                .zxid
                .0
                .into_pyobject(py)
                .map_or_else(|_| py.None(), |v| v.into_any().unbind()),
            op: op_name(py, h.op),
            path,
            src: Arc::clone(src),
            offset: e.offset(),
            len: e.raw().len() as u32,
            header: h,
            checksum_ok: e.checksum_ok(),
            decoded,
        }
    }

    fn payload(&self) -> &[u8] {
        let start = self.offset as usize + 12;
        let end = self.offset as usize + self.len as usize - 1;
        self.src.bytes.get(start..end).unwrap_or(&[])
    }

    fn record(&self) -> zkformat::Result<TxnRecord<'_>> {
        TxnRecord::decode(self.payload(), self.offset + 12, self.src.limits)
    }

    fn field(&self, py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
        match self.record() {
            Ok(rec) => body_field(py, &rec.body, name, self),
            Err(_) => Ok(py.None()),
        }
    }
}

/// The fields every txn has.
const TXN_FIELDS: &[&str] = &[
    "kind",
    "offset",
    "zxid",
    "session",
    "cxid",
    "time",
    "op",
    "opCode",
    "checksumOk",
    "digest",
    "path",
];

/// The body fields, by op (see the README's JSON Lines schema).
pub const BODY_FIELDS: &[&str] = &[
    "dataLength",
    "data",
    "acl",
    "ephemeral",
    "parentCVersion",
    "ttl",
    "version",
    "failed",
    "ops",
    "timeout",
    "paths2Delete",
    "err",
    "errName",
];

/// A body field of a txn or of a multi's sub-op (None when the op has no such field).
fn body_field(py: Python<'_>, body: &Body<'_>, name: &str, parent: &Txn) -> PyResult<Py<PyAny>> {
    fn int<'py, T: IntoPyObject<'py>>(py: Python<'py>, v: T) -> PyResult<Py<PyAny>> {
        v.into_py_any(py)
    }
    let data = |d: Option<&[u8]>| -> Py<PyAny> {
        match d {
            Some(d) => PyBytes::new(py, d).into_any().unbind(),
            None => py.None(),
        }
    };
    let none = py.None();
    Ok(match (name, body) {
        ("path", b) => match b.path() {
            Some(p) => PyString::new(py, &path_str(p)).into_any().unbind(),
            None => none,
        },
        ("data", Body::Create(c) | Body::Create2(c)) => data(c.data),
        ("data", Body::CreateContainer(c) | Body::CreateTtl(c)) => data(c.data),
        ("data", Body::SetData(s) | Body::Reconfig(s)) => data(s.data),
        ("dataLength", Body::Create(c) | Body::Create2(c)) => {
            int(py, c.data.map_or(0, <[u8]>::len))?
        }
        ("dataLength", Body::CreateContainer(c) | Body::CreateTtl(c)) => {
            int(py, c.data.map_or(0, <[u8]>::len))?
        }
        ("dataLength", Body::SetData(s) | Body::Reconfig(s)) => {
            int(py, s.data.map_or(0, <[u8]>::len))?
        }
        ("acl", Body::Create(c) | Body::Create2(c)) => acl_list(py, &c.acl)?,
        ("acl", Body::CreateContainer(c) | Body::CreateTtl(c)) => acl_list(py, &c.acl)?,
        ("acl", Body::SetAcl(s)) => acl_list(py, &s.acl)?,
        ("ephemeral", Body::Create(c) | Body::Create2(c)) => int(py, c.ephemeral.get())?,
        ("parentCVersion", Body::Create(c) | Body::Create2(c)) => int(py, c.parent_cversion)?,
        ("parentCVersion", Body::CreateContainer(c) | Body::CreateTtl(c)) => {
            int(py, c.parent_cversion)?
        }
        ("ttl", Body::CreateTtl(c)) => int(py, c.ttl)?,
        ("version", Body::SetData(s) | Body::Reconfig(s)) => int(py, s.version)?,
        ("version", Body::SetAcl(s)) => int(py, s.version)?,
        ("version", Body::Check { version, .. }) => int(py, *version)?,
        ("failed", Body::Multi(m)) => int(py, m.failed())?,
        ("ops", Body::Multi(m)) => {
            let subs: Vec<SubOp> = (0..m.len())
                .map(|i| SubOp {
                    src: Arc::clone(&parent.src),
                    offset: parent.offset,
                    len: parent.len,
                    index: i,
                })
                .collect();
            subs.into_pyobject(py)?.into_any().unbind()
        }
        ("timeout", Body::CreateSession { timeout }) => int(py, *timeout)?,
        ("paths2Delete", Body::CloseSession(Some(p))) => {
            let v: Vec<String> = p.iter().map(|x| path_str(x).into_owned()).collect();
            v.into_pyobject(py)?.into_any().unbind()
        }
        ("err", Body::Error { err }) => int(py, *err)?,
        ("errName", Body::Error { err }) => {
            int(py, zkfilter::dump::render::keeper_error_name(*err))?
        }
        _ => none,
    })
}

#[pymethods]
impl Txn {
    /// `txn`, or `txnError` for an entry whose payload does not decode.
    #[getter]
    fn kind(&self) -> &'static str {
        if self.decoded {
            "txn"
        } else {
            "txnError"
        }
    }

    /// Byte offset of the entry in the file.
    #[getter]
    fn offset(&self) -> u64 {
        self.offset
    }

    /// Session id (the header's clientId).
    #[getter]
    fn session(&self) -> i64 {
        self.header.session
    }

    /// The client's request counter.
    #[getter]
    fn cxid(&self) -> i32 {
        self.header.cxid
    }

    /// Time, ms since the epoch.
    #[getter]
    fn time(&self) -> i64 {
        self.header.time
    }

    /// The op code.
    #[getter(opCode)]
    fn op_code(&self) -> i32 {
        self.header.op
    }

    /// False when the stored Adler32 does not match the payload (iterated with strict=False).
    #[getter(checksumOk)]
    fn checksum_ok(&self) -> bool {
        self.checksum_ok
    }

    /// The entry's TxnDigest (3.6+ tree digest after the txn), or None.
    #[getter]
    fn digest(&self) -> Option<i64> {
        self.record()
            .ok()
            .and_then(|r| r.digest)
            .map(|d| d.tree_digest)
    }

    /// Length of the data (creates, setData, reconfig).
    #[getter(dataLength)]
    fn data_length(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.field(py, "dataLength")
    }

    /// The data as bytes (creates, setData, reconfig; None for a null buffer).
    #[getter]
    fn data(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.field(py, "data")
    }

    /// The ACL list (creates, setACL): a list of ACL, or None for a null vector.
    #[getter]
    fn acl(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.field(py, "acl")
    }

    /// The ephemeral flag (create, create2).
    #[getter]
    fn ephemeral(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.field(py, "ephemeral")
    }

    /// The parent's cversion after the create (None for the pre-3.4 layout).
    #[getter(parentCVersion)]
    fn parent_cversion(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.field(py, "parentCVersion")
    }

    /// TTL in ms (createTTL).
    #[getter]
    fn ttl(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.field(py, "ttl")
    }

    /// The resulting version (setData, reconfig, setACL).
    #[getter]
    fn version(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.field(py, "version")
    }

    /// multi: True when the multi holds an error sub-op (it changed nothing).
    #[getter]
    fn failed(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.field(py, "failed")
    }

    /// multi: the sub-ops (a list of SubOp).
    #[getter]
    fn ops(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.field(py, "ops")
    }

    /// createSession: the requested session timeout in ms.
    #[getter]
    fn timeout(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.field(py, "timeout")
    }

    /// closeSession: the ephemeral paths it deletes (3.6+), or None when the entry has none.
    #[getter(paths2Delete)]
    fn paths2delete(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.field(py, "paths2Delete")
    }

    /// error: the KeeperException code.
    #[getter]
    fn err(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.field(py, "err")
    }

    /// error: the code's name (NONODE, NODEEXISTS, ...).
    #[getter(errName)]
    fn err_name(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.field(py, "errName")
    }

    fn __dir__(&self) -> Vec<&'static str> {
        let mut v = TXN_FIELDS.to_vec();
        v.extend_from_slice(BODY_FIELDS);
        v.push("to_dict");
        v.push("raw");
        v
    }

    /// txnError: why the payload does not decode.
    #[getter]
    fn error(&self) -> Option<String> {
        self.record().err().map(|e| zk_error_message(&e))
    }

    /// txnError: the offset of the problem.
    #[getter(errorOffset)]
    fn error_offset(&self) -> Option<u64> {
        self.record().err().map(|e| e.offset())
    }

    /// The whole framed entry (checksum, length, payload, end-of-record byte), as stored.
    #[getter]
    fn raw<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let start = self.offset as usize;
        PyBytes::new(
            py,
            self.src
                .bytes
                .get(start..start + self.len as usize)
                .unwrap_or(&[]),
        )
    }

    /// zkdump's `txn` (or `txnError`) JSON Lines record for this entry, exactly:
    /// `data=True` adds `data` as `zkdump --data` does (`{"text": …}` for UTF-8, else
    /// `{"hex": …}` or, with `data_format="base64"`, `{"base64": …}`).
    #[pyo3(signature = (data = false, data_format = "hex"))]
    fn to_dict(&self, py: Python<'_>, data: bool, data_format: &str) -> PyResult<Py<PyAny>> {
        let opts = dump_options(data, data_format)?;
        let cx = ctx(&opts, &self.src.name);
        let h = &self.header;
        let rec = self.record();
        let mut o = Obj::kind(if rec.is_ok() { "txn" } else { "txnError" });
        txn_head_fields(&mut o, self.offset, h, self.checksum_ok);
        match rec {
            Ok(rec) => {
                o.opt_str(
                    "digest",
                    rec.digest.map(|d| hex64(d.tree_digest)).as_deref(),
                );
                body_fields(&mut o, &cx, &rec.body);
            }
            Err(e) => {
                o.str("error", &zk_error_message(&e))
                    .int("errorOffset", e.offset());
            }
        }
        json_to_py(py, &o.finish())
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "<Txn {} zxid=0x{:x} session=0x{:x} path={}>",
            self.op.bind(py),
            self.header.zxid.0,
            self.header.session,
            self.path
                .bind(py)
                .repr()
                .map_or_else(|_| "?".into(), |r| r.to_string())
        )
    }
}

/// One sub-op of a multi: `op`, `opCode` and the body fields of its op (or `error`).
#[pyclass(module = "zkformat", frozen)]
#[derive(Debug)]
pub struct SubOp {
    src: Arc<Src>,
    offset: u64,
    len: u32,
    index: usize,
}

impl SubOp {
    fn with<T>(
        &self,
        f: impl FnOnce(&zkformat::txn::MultiOp<'_>, &Txn) -> PyResult<T>,
        default: T,
    ) -> PyResult<T> {
        let parent = Txn {
            zxid: Python::attach(|py| py.None()),
            op: Python::attach(|py| py.None()),
            path: Python::attach(|py| py.None()),
            src: Arc::clone(&self.src),
            offset: self.offset,
            len: self.len,
            header: TxnHeader::default(),
            checksum_ok: true,
            decoded: true,
        };
        let Ok(rec) = parent.record() else {
            return Ok(default);
        };
        let Body::Multi(m) = rec.body else {
            return Ok(default);
        };
        let op = m.ops().nth(self.index);
        match op {
            Some(op) => f(&op, &parent),
            None => Ok(default),
        }
    }
}

#[pymethods]
impl SubOp {
    /// The sub-op's name (`create`, `delete`, `setData`, `check`, `error`, …).
    #[getter]
    fn op(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.with(|op, _| Ok(op_name(py, op.op)), py.None())
    }

    /// The sub-op's code.
    #[getter(opCode)]
    fn op_code(&self) -> PyResult<Option<i32>> {
        self.with(|op, _| Ok(Some(op.op)), None)
    }

    /// The body fields of the sub-op (`path`, `dataLength`, `data`, `acl`, `ephemeral`,
    /// `parentCVersion`, `ttl`, `version`, `err`, `errName`): None when it has no such field.
    fn __getattr__(&self, py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
        if name == "path" || BODY_FIELDS.contains(&name) {
            return self.with(
                |op, parent| match op.txn() {
                    Ok(b) => body_field(py, &b, name, parent),
                    Err(_) => Ok(py.None()),
                },
                py.None(),
            );
        }
        Err(pyo3::exceptions::PyAttributeError::new_err(format!(
            "'SubOp' object has no attribute {name:?}"
        )))
    }

    /// Why the sub-record does not decode, or None.
    #[getter]
    fn error(&self) -> PyResult<Option<String>> {
        self.with(
            |op, _| Ok(op.txn().err().map(|e| zk_error_message(&e))),
            None,
        )
    }

    /// The sub-op as in zkdump's `ops` array, exactly (see `Txn.to_dict`).
    #[pyo3(signature = (data = false, data_format = "hex"))]
    fn to_dict(&self, py: Python<'_>, data: bool, data_format: &str) -> PyResult<Py<PyAny>> {
        let opts = dump_options(data, data_format)?;
        let name = self.src.name.clone();
        let line = self.with(
            |op, _| {
                let cx = ctx(&opts, &name);
                let mut so = Obj::new();
                so.str("op", &zkformat::txn::op_name(op.op))
                    .int("opCode", op.op);
                match op.txn() {
                    Ok(t) => body_fields(&mut so, &cx, &t),
                    Err(e) => {
                        so.str("error", &zk_error_message(&e));
                    }
                }
                Ok(Some(so.finish()))
            },
            None,
        )?;
        match line {
            Some(l) => json_to_py(py, &l),
            None => Ok(py.None()),
        }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "<SubOp {} path={}>",
            self.op(py)?.bind(py),
            self.__getattr__(py, "path")?.bind(py).repr()?
        ))
    }
}

/// Registers the classes.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<TxnLog>()?;
    m.add_class::<TxnIter>()?;
    m.add_class::<TxnBatches>()?;
    m.add_class::<Txn>()?;
    m.add_class::<SubOp>()?;
    Ok(())
}
