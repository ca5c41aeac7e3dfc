//! `Snapshot` and `Node`: the items of a snapshot (plain, gzip or snappy), read one at a time
//! by `zkformat`'s streaming reader, rendered as `zkdump` renders them.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};
use zkfilter::cli::CliError;
use zkfilter::dump::render::json::Json;
use zkfilter::dump::render::{node_type_name, NodeView, OwnedAcl, Render, SnapTally};
use zkfilter::dump::{path_hash, DumpOptions};
use zkformat::compression::Compression;
use zkformat::data::{Acl as ZkAcl, Stat};
use zkformat::snapshot::{Item, SnapshotItem, SnapshotReader, SnapshotSummary};

use crate::errors::format_error;
use crate::record::{AclEntry, Digest, End, Header, Record, Seal, Session};
use crate::records::{ctx, dump_options, json_to_py, once_detached, owned_acl_list, path_str};
use crate::source::{Src, SrcReader};

/// Children per parent-path hash (`numChildren` is not stored in snapshots).
type Children = foldhash::HashMap<u64, u32>;

/// The two readers zkdump uses (slice or decompressing stream), behind one interface.
trait ItemSource {
    fn next(&mut self) -> zkformat::Result<Option<Item<'_>>>;
    fn summary(&self) -> SnapshotSummary;
}

impl ItemSource for SnapshotReader<'_> {
    fn next(&mut self) -> zkformat::Result<Option<Item<'_>>> {
        self.next_item()
    }
    fn summary(&self) -> SnapshotSummary {
        SnapshotReader::summary(self)
    }
}

impl ItemSource for zkfilter::dump::source::SnapSource<'_> {
    fn next(&mut self) -> zkformat::Result<Option<Item<'_>>> {
        self.next_item()
    }
    fn summary(&self) -> SnapshotSummary {
        zkfilter::dump::source::SnapSource::summary(self)
    }
}

/// What a dump of the snapshot knows while reading (as `zkdump`'s snapshot dump).
#[derive(Debug)]
struct State {
    name: String,
    compression: Compression,
    acls: HashMap<i64, Arc<Vec<OwnedAcl>>>,
    open: Arc<Vec<OwnedAcl>>,
    children: Arc<Children>,
    tally: SnapTally,
}

impl State {
    fn new(name: &str, compression: Compression, children: Arc<Children>) -> State {
        State {
            name: name.to_string(),
            compression,
            acls: HashMap::new(),
            open: Arc::new(vec![OwnedAcl::from_acl(&ZkAcl::OPEN_UNSAFE)]),
            children,
            tally: SnapTally::default(),
        }
    }

    fn acl(&self, key: i64) -> Option<Arc<Vec<OwnedAcl>>> {
        if key == -1 {
            return Some(Arc::clone(&self.open));
        }
        self.acls.get(&key).cloned()
    }

    fn end_line(&self) -> String {
        let opts = DumpOptions::default();
        let mut buf = Vec::new();
        let _ = Json.snap_end(&mut buf, &ctx(&opts, &self.name), &self.tally);
        String::from_utf8_lossy(&buf).into_owned()
    }
}

/// Makes what the iterator yields for a node: (node, offset, numChildren, resolved ACL).
type MakeNode<'f, T> =
    dyn FnMut(&zkformat::snapshot::Node<'_>, u64, u32, Option<Arc<Vec<OwnedAcl>>>) -> T + 'f;

/// What one step found.
enum Out<T> {
    /// A node.
    Node(T),
    /// Another record, rendered (kind, JSON line).
    Line(&'static str, String),
}

/// Reads items until a node or (with `records`) another record zkdump prints. `Ok(None)` at the
/// end (the tally then says complete).
fn step<T>(
    src: &mut dyn ItemSource,
    st: &mut State,
    records: bool,
    node: &mut MakeNode<'_, T>,
) -> zkformat::Result<Option<Out<T>>> {
    let opts = DumpOptions::default();
    loop {
        let Some(item) = src.next()? else {
            st.tally.complete = true;
            st.tally.summary = src.summary();
            return Ok(None);
        };
        let off = item.offset;
        let cx = ctx(&opts, &st.name);
        let mut buf = Vec::new();
        let mut r = Json;
        let kind = match item.value {
            SnapshotItem::Header(h) => {
                let _ = r.snap_header(&mut buf, &cx, &h, st.compression, off);
                "header"
            }
            SnapshotItem::Session(s) => {
                st.tally.sessions_shown += 1;
                let _ = r.session(&mut buf, &cx, &s, off);
                "session"
            }
            SnapshotItem::AclEntry(a) => {
                let list = OwnedAcl::list(&a.acls);
                let _ = r.acl(&mut buf, &cx, a.key, &list, off);
                st.acls.insert(a.key, Arc::new(list));
                "acl"
            }
            SnapshotItem::Node(n) => {
                st.tally.shown += 1;
                let count = st.children.get(&path_hash(n.path)).copied().unwrap_or(0);
                let acl = st.acl(n.acl_key);
                return Ok(Some(Out::Node(node(&n, off, count, acl))));
            }
            SnapshotItem::TreeEnd => {
                let _ = r.tree_end(&mut buf, &cx, off);
                "treeEnd"
            }
            SnapshotItem::Seal(s) => {
                let _ = r.seal(&mut buf, &cx, &s, off);
                "seal"
            }
            SnapshotItem::Digest(d) => {
                // The digest is compared with the tree read so far (every node): as zkdump.
                let check = src.summary().digest_check(cx.name_zxid);
                let _ = r.digest(&mut buf, &cx, &d, check, off);
                "digest"
            }
            SnapshotItem::LastZxid(z) => {
                let _ = r.last_zxid(&mut buf, &cx, z, off);
                "lastZxid"
            }
            _ => continue,
        };
        if records {
            return Ok(Some(Out::Line(
                kind,
                String::from_utf8_lossy(&buf).into_owned(),
            )));
        }
    }
}

/// What one full pass over the snapshot found: every record but the nodes, and the end.
#[derive(Debug)]
struct Pass {
    lines: Vec<(&'static str, String)>,
    end: String,
}

/// A snapshot (`snapshot.<zxid>`, plain, `.gz` or `.snappy`). Iterating yields a `Node` per node,
/// streamed (a compressed snapshot is decompressed as it is read).
#[pyclass(module = "zkformat", frozen)]
#[derive(Debug)]
pub struct Snapshot {
    src: Arc<Src>,
    header: Py<Header>,
    compression: Compression,
    children: OnceLock<Arc<Children>>,
    pass: OnceLock<Pass>,
}

impl Snapshot {
    /// Opens a snapshot and reads its header.
    pub fn new(py: Python<'_>, src: Arc<Src>) -> PyResult<Snapshot> {
        let mut reader = SnapshotReader::open(SrcReader::new(Arc::clone(&src)), src.limits)
            .map_err(|e| format_error(&src.name, &e))?;
        let compression = reader.compression();
        let mut st = State::new(&src.name, compression, Arc::default());
        let first = step(&mut reader, &mut st, true, &mut |_, _, _, _| ())
            .map_err(|e| format_error(&src.name, &e))?;
        let Some(Out::Line("header", line)) = first else {
            return Err(format_error(
                &src.name,
                &zkformat::Error::new(
                    zkformat::ErrorKind::Truncated {
                        what: "snapshot file header",
                        needed: 16,
                    },
                    0,
                ),
            ));
        };
        Ok(Snapshot {
            header: Header::from_json(py, &line)?,
            src,
            compression,
            children: OnceLock::new(),
            pass: OnceLock::new(),
        })
    }

    fn children(&self, py: Python<'_>) -> Arc<Children> {
        Arc::clone(once_detached(&self.children, py, || {
            Arc::new(zkfilter::dump::records::count_children(
                &self.src.bytes,
                self.src.limits,
            ))
        }))
    }

    /// The full pass (GIL released): zkdump's reader over the mapped bytes.
    fn pass(&self, py: Python<'_>) -> &Pass {
        let children = self.children(py);
        once_detached(&self.pass, py, || {
            {
                std::thread::scope(|scope| {
                    let mut st = State::new(&self.src.name, self.compression, children);
                    let mut lines = Vec::new();
                    match zkfilter::dump::source::SnapSource::from_slice(
                        scope,
                        &self.src.bytes,
                        self.src.limits,
                    ) {
                        Ok(mut src) => loop {
                            match step(&mut src, &mut st, true, &mut |_, _, _, _| ()) {
                                Ok(Some(Out::Line(k, l))) => lines.push((k, l)),
                                Ok(Some(Out::Node(()))) => {}
                                Ok(None) => break,
                                Err(e) => {
                                    st.tally.summary = src.summary();
                                    st.tally.error = Some(CliError::format(&st.name, &e));
                                    break;
                                }
                            }
                        },
                        Err(e) => st.tally.error = Some(CliError::format(&st.name, &e)),
                    }
                    Pass {
                        lines,
                        end: st.end_line(),
                    }
                })
            }
        })
    }

    fn of_kind(&self, py: Python<'_>, kind: &str) -> Vec<String> {
        self.pass(py)
            .lines
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, l)| l.clone())
            .collect()
    }

    fn iter(&self, py: Python<'_>, records: bool) -> PyResult<SnapIter> {
        let children = self.children(py);
        let reader = SnapshotReader::open(SrcReader::new(Arc::clone(&self.src)), self.src.limits)
            .map_err(|e| format_error(&self.src.name, &e))?;
        Ok(SnapIter {
            reader,
            st: State::new(&self.src.name, self.compression, children),
            records,
            done: false,
            pending: None,
        })
    }
}

#[pymethods]
impl Snapshot {
    /// zkdump's `header` record (file, fileKind, magic, version, dbid, compression, nameZxid).
    #[getter]
    fn header(&self, py: Python<'_>) -> Py<Header> {
        self.header.clone_ref(py)
    }

    /// The name given to the input (the path, or `-`).
    #[getter]
    fn name(&self) -> String {
        self.src.name.clone()
    }

    /// The session table: a list of Session (offset, session, timeout).
    #[getter]
    fn sessions(&self, py: Python<'_>) -> PyResult<Vec<Py<Session>>> {
        self.of_kind(py, "session")
            .iter()
            .map(|l| Session::from_json(py, l))
            .collect()
    }

    /// The ACL cache as stored: a list of AclEntry (offset, key, acl).
    #[getter]
    fn acl_entries(&self, py: Python<'_>) -> PyResult<Vec<Py<AclEntry>>> {
        self.of_kind(py, "acl")
            .iter()
            .map(|l| AclEntry::from_json(py, l))
            .collect()
    }

    /// The ACL cache as a dict: key -> list of ACL (key -1, world:anyone ALL, is implicit).
    #[getter]
    fn acl_cache<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for e in self.acl_entries(py)? {
            let e = e.bind(py);
            d.set_item(e.getattr("key")?, e.getattr("acl")?)?;
        }
        Ok(d)
    }

    /// The seals, each verified: a list of Seal (offset, index, value, ok).
    #[getter]
    fn seals(&self, py: Python<'_>) -> PyResult<Vec<Py<Seal>>> {
        self.of_kind(py, "seal")
            .iter()
            .map(|l| Seal::from_json(py, l))
            .collect()
    }

    /// The digest section (3.6+): a Digest (offset, zxid, version, digest, check, computed),
    /// or None. `check` compares it with the tree: match, mismatch, notComparable, empty.
    #[getter]
    fn digest(&self, py: Python<'_>) -> PyResult<Option<Py<Digest>>> {
        self.of_kind(py, "digest")
            .first()
            .map(|l| Digest::from_json(py, l))
            .transpose()
    }

    /// The last-processed-zxid section (3.9+), or None.
    #[getter]
    fn last_zxid(&self, py: Python<'_>) -> PyResult<Option<i64>> {
        match self.of_kind(py, "lastZxid").first() {
            Some(l) => Ok(Record::from_json(py, l)?
                .dict(py)
                .get_item("zxid")?
                .map(|v| crate::records::hex_to_int(&v))
                .transpose()?
                .flatten()),
            None => Ok(None),
        }
    }

    /// zkdump's `end` record: nodes, sessions, aclEntries, seals, length, treeDigest, complete,
    /// error. Reads the whole snapshot once (in Rust, the GIL released); cached.
    #[getter]
    fn end(&self, py: Python<'_>) -> PyResult<Py<End>> {
        let line = self.pass(py).end.clone();
        End::from_json(py, &line)
    }

    fn __iter__(&self, py: Python<'_>) -> PyResult<SnapIter> {
        self.iter(py, false)
    }

    /// Every record `zkdump --json` prints for this snapshot, in order: `header`, `session`s,
    /// `acl`s, `node`s (as Node), `treeEnd`, `seal`s, `digest`, `lastZxid`, `end`. A read error
    /// ends the iteration after the `end` record that describes it, with the exception.
    fn records(&self, py: Python<'_>) -> PyResult<SnapIter> {
        self.iter(py, true)
    }

    fn __repr__(&self) -> String {
        format!("<zkformat.Snapshot {:?}>", self.src.name)
    }
}

/// The iterator of a `Snapshot`.
#[pyclass(module = "zkformat", unsendable)]
pub struct SnapIter {
    reader: SnapshotReader<'static>,
    st: State,
    records: bool,
    done: bool,
    pending: Option<PyErr>,
}

impl std::fmt::Debug for SnapIter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SnapIter")
    }
}

#[pymethods]
impl SnapIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        if self.done {
            return match self.pending.take() {
                Some(e) => Err(e),
                None => Ok(None),
            };
        }
        let mut make = |n: &zkformat::snapshot::Node<'_>, off, count, acl| {
            Node::new(py, n.path, n.data, Some(off), n.stat, n.acl_key, count, acl)
        };
        match step(&mut self.reader, &mut self.st, self.records, &mut make) {
            Ok(Some(Out::Node(n))) => Ok(Some(Py::new(py, n)?.into_any())),
            Ok(Some(Out::Line(kind, line))) => Ok(Some(record_of(py, kind, &line)?)),
            Ok(None) => {
                self.done = true;
                if self.records {
                    self.st.tally.summary = self.reader.summary();
                    return Ok(Some(End::from_json(py, &self.st.end_line())?.into_any()));
                }
                Ok(None)
            }
            Err(e) => {
                self.done = true;
                let err = format_error(&self.st.name, &e);
                if self.records {
                    self.st.tally.summary = self.reader.summary();
                    self.st.tally.error = Some(CliError::format(&self.st.name, &e));
                    self.pending = Some(err);
                    return Ok(Some(End::from_json(py, &self.st.end_line())?.into_any()));
                }
                Err(err)
            }
        }
    }
}

fn record_of(py: Python<'_>, kind: &str, line: &str) -> PyResult<Py<PyAny>> {
    Ok(match kind {
        "header" => Header::from_json(py, line)?.into_any(),
        "session" => Session::from_json(py, line)?.into_any(),
        "acl" => AclEntry::from_json(py, line)?.into_any(),
        "seal" => Seal::from_json(py, line)?.into_any(),
        "digest" => Digest::from_json(py, line)?.into_any(),
        _ => Py::new(py, Record::from_json(py, line)?)?.into_any(),
    })
}

/// A node: of a snapshot (with its `offset` in the decompressed stream) or of a replayed tree
/// (`offset` None). Field names are those of zkdump's `node` record; `data` is bytes (None for
/// a null buffer), `acl` a list of ACL (None for a key not in the ACL cache).
#[pyclass(module = "zkformat", frozen)]
#[derive(Debug)]
pub struct Node {
    /// The path (`/` for the root).
    #[pyo3(get)]
    path: Py<PyAny>,
    /// The data: bytes, or None for a null buffer.
    #[pyo3(get)]
    data: Py<PyAny>,
    offset: Option<u64>,
    stat: Stat,
    acl_key: i64,
    num_children: u32,
    acl: Option<Arc<Vec<OwnedAcl>>>,
}

impl Node {
    /// Builds a node.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        py: Python<'_>,
        path: &[u8],
        data: Option<&[u8]>,
        offset: Option<u64>,
        stat: Stat,
        acl_key: i64,
        num_children: u32,
        acl: Option<Arc<Vec<OwnedAcl>>>,
    ) -> Node {
        Node {
            path: PyString::new(py, &path_str(path)).into_any().unbind(),
            data: match data {
                Some(d) => PyBytes::new(py, d).into_any().unbind(),
                None => py.None(),
            },
            offset,
            stat,
            acl_key,
            num_children,
            acl,
        }
    }
}

#[pymethods]
impl Node {
    /// Byte offset of the node record in the (decompressed) snapshot; None for tree nodes.
    #[getter]
    fn offset(&self) -> Option<u64> {
        self.offset
    }
    /// `persistent`, `ephemeral`, `container` or `ttl`.
    #[getter(nodeType)]
    fn node_type(&self) -> &'static str {
        node_type_name(self.stat.ephemeral_owner)
    }
    /// The owner session of an ephemeral (0 for persistent nodes; the container and TTL
    /// encodings as stored).
    #[getter(ephemeralOwner)]
    fn ephemeral_owner(&self) -> i64 {
        self.stat.ephemeral_owner
    }
    /// Zxid of the create.
    #[getter]
    fn czxid(&self) -> i64 {
        self.stat.czxid
    }
    /// Zxid of the last data change.
    #[getter]
    fn mzxid(&self) -> i64 {
        self.stat.mzxid
    }
    /// Zxid of the last change to the children.
    #[getter]
    fn pzxid(&self) -> i64 {
        self.stat.pzxid
    }
    /// Create time, ms since the epoch.
    #[getter]
    fn ctime(&self) -> i64 {
        self.stat.ctime
    }
    /// Last modification time, ms since the epoch.
    #[getter]
    fn mtime(&self) -> i64 {
        self.stat.mtime
    }
    /// Data version.
    #[getter]
    fn version(&self) -> i32 {
        self.stat.version
    }
    /// Children version, as stored.
    #[getter]
    fn cversion(&self) -> i32 {
        self.stat.cversion
    }
    /// ACL version.
    #[getter]
    fn aversion(&self) -> i32 {
        self.stat.aversion
    }
    /// Length of the data (0 for null data).
    #[getter(dataLength)]
    fn data_length(&self, py: Python<'_>) -> usize {
        self.data
            .bind(py)
            .cast::<PyBytes>()
            .map_or(0, |b| b.as_bytes().len())
    }
    /// True when the data is a null buffer.
    #[getter(dataNull)]
    fn data_null(&self, py: Python<'_>) -> bool {
        self.data.is_none(py)
    }
    /// Number of children (counted: snapshots do not store it).
    #[getter(numChildren)]
    fn num_children(&self) -> u32 {
        self.num_children
    }
    /// Key of the node's ACL list in the ACL cache (-1: world:anyone ALL).
    #[getter(aclKey)]
    fn acl_key(&self) -> i64 {
        self.acl_key
    }
    /// The ACL list (resolved from the ACL cache), or None for a key not in the cache.
    #[getter]
    fn acl(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        owned_acl_list(py, self.acl.as_deref().map(Vec::as_slice))
    }

    /// The stat as a dict in ZooKeeper's (and kazoo's ZnodeStat) order: czxid, mzxid, ctime,
    /// mtime, version, cversion, aversion, ephemeralOwner, dataLength, numChildren, pzxid.
    fn stat<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        let s = &self.stat;
        d.set_item("czxid", s.czxid)?;
        d.set_item("mzxid", s.mzxid)?;
        d.set_item("ctime", s.ctime)?;
        d.set_item("mtime", s.mtime)?;
        d.set_item("version", s.version)?;
        d.set_item("cversion", s.cversion)?;
        d.set_item("aversion", s.aversion)?;
        d.set_item("ephemeralOwner", s.ephemeral_owner)?;
        d.set_item("dataLength", self.data_length(py))?;
        d.set_item("numChildren", self.num_children)?;
        d.set_item("pzxid", s.pzxid)?;
        Ok(d)
    }

    /// zkdump's `node` record for this node, exactly (`offset` None for tree nodes);
    /// `data=True` adds `data` as `zkdump --data` does.
    #[pyo3(signature = (data = false, data_format = "hex"))]
    fn to_dict(&self, py: Python<'_>, data: bool, data_format: &str) -> PyResult<Py<PyAny>> {
        let opts = dump_options(data, data_format)?;
        let cx = ctx(&opts, "");
        let path: String = self.path.bind(py).extract()?;
        let bytes = self
            .data
            .bind(py)
            .cast::<PyBytes>()
            .ok()
            .map(|b| b.as_bytes().to_vec());
        let node = zkformat::snapshot::Node {
            path: path.as_bytes(),
            data: bytes.as_deref(),
            acl_key: self.acl_key,
            stat: self.stat,
        };
        let mut buf = Vec::new();
        Json.node(
            &mut buf,
            &cx,
            &NodeView {
                node: &node,
                offset: self.offset.unwrap_or(0),
                num_children: self.num_children,
                acl: self.acl.as_deref().map(Vec::as_slice),
            },
        )
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
        let d = json_to_py(py, &String::from_utf8_lossy(&buf))?;
        if self.offset.is_none() {
            d.bind(py).set_item("offset", py.None())?;
        }
        Ok(d)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "<Node {} {} dataLength={} numChildren={}>",
            self.path.bind(py).str()?,
            self.node_type(),
            self.data_length(py),
            self.num_children
        ))
    }
}

/// Registers the classes.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Snapshot>()?;
    m.add_class::<SnapIter>()?;
    m.add_class::<Node>()?;
    Ok(())
}
