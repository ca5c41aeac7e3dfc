//! `DataDir`, `Tree`: a data dir replayed as ZooKeeper restores it (`zkformat::tree`), the
//! restore-safety report (`zkdump sessions`), verification (`zkdump verify`) and the restore
//! filter (`zkfilter datadir`), each run in-process with the GIL released.

use std::collections::HashMap;
use std::sync::Arc;

use pyo3::exceptions::{PyKeyError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use zkfilter::cli::CliError;
use zkfilter::dump::render::OwnedAcl;
use zkformat::data::Acl as ZkAcl;
use zkformat::tree::DataTree;
use zkformat::Zxid;

use crate::errors::{cli_error, format_error};
use crate::record::{FilterReport, Finding, SessionsReport};
use crate::records::{json_to_py, zxid_arg};
use crate::snapshot::Node;
use crate::source::{limits, path_arg};

/// A time argument: ms since the epoch (int), RFC 3339 text, or an aware `datetime`.
pub fn time_arg(obj: &Bound<'_, PyAny>) -> PyResult<i64> {
    if let Ok(ms) = obj.extract::<i64>() {
        return Ok(ms);
    }
    if let Ok(s) = obj.extract::<String>() {
        return zkfilter::cli::parse_time_ms(&s).map_err(PyValueError::new_err);
    }
    if obj.hasattr("timestamp")? {
        let secs: f64 = obj.call_method0("timestamp")?.extract()?;
        return Ok((secs * 1000.0).round() as i64);
    }
    Err(PyValueError::new_err(
        "a time is ms since the epoch (int), RFC 3339 text or a datetime",
    ))
}

/// The error of a tool, or of the library reading a file (named).
enum Failure {
    Tool(CliError),
    File(zkformat::tree::FileError),
}

impl Failure {
    fn into_py(self) -> PyErr {
        match self {
            Failure::Tool(e) => cli_error(&e),
            Failure::File(fe) => format_error(&fe.path.display().to_string(), &fe.error),
        }
    }
}

/// A ZooKeeper data dir: the server's `dataDir` (holding `version-2/`), a `version-2` folder, or
/// a `.tar`, `.tar.gz` or `.tar.zst` archive of one. `log_dir` is the server's separate
/// `dataLogDir`, when it had one.
#[pyclass(module = "zkformat", frozen)]
#[derive(Debug)]
pub struct DataDir {
    path: String,
    log_dir: Option<String>,
    jute_maxbuffer: Option<u32>,
}

#[pymethods]
impl DataDir {
    #[new]
    #[pyo3(signature = (path, *, log_dir = None, jute_maxbuffer = None))]
    fn py_new(
        path: &Bound<'_, PyAny>,
        log_dir: Option<&Bound<'_, PyAny>>,
        jute_maxbuffer: Option<u32>,
    ) -> PyResult<DataDir> {
        Ok(DataDir {
            path: path_arg(path)?,
            log_dir: log_dir.map(path_arg).transpose()?,
            jute_maxbuffer,
        })
    }

    /// The path given.
    #[getter]
    fn path(&self) -> String {
        self.path.clone()
    }

    /// Replays the data dir as ZooKeeper restores it: the newest valid snapshot (at or before
    /// `to_zxid`), then every txn after it in the logs, up to `to_zxid` or to the last txn
    /// stamped at or before `to_time` (ms since the epoch, RFC 3339 text or an aware
    /// datetime). Runs in Rust with the GIL released; returns the `Tree`.
    #[pyo3(signature = (to_zxid = None, to_time = None))]
    fn replay(
        &self,
        py: Python<'_>,
        to_zxid: Option<&Bound<'_, PyAny>>,
        to_time: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Tree> {
        if to_zxid.is_some() && to_time.is_some() {
            return Err(PyValueError::new_err("give to_zxid or to_time, not both"));
        }
        let to_zxid = to_zxid.map(zxid_arg).transpose()?;
        let to_time = to_time.map(time_arg).transpose()?;
        let lim = limits(self.jute_maxbuffer);
        let data = py
            .detach(|| -> Result<TreeData, Failure> {
                let input = zkfilter::inputs::open_data_dir(&self.path, "zkformat.DataDir")
                    .map_err(Failure::Tool)?;
                let mut dd = zkformat::datadir::DataDir::scan(&input.dir)
                    .map_err(|e| Failure::Tool(CliError::io(&self.path, &e)))?;
                if let Some(ld) = &self.log_dir {
                    let logs = zkformat::datadir::DataDir::scan(std::path::Path::new(ld))
                        .map_err(|e| Failure::Tool(CliError::io(ld, &e)))?;
                    dd.logs = logs.logs;
                }
                let mut to = to_zxid;
                if let Some(t) = to_time {
                    match zkformat::tree::zxid_at_time(&dd, t, lim).map_err(Failure::File)? {
                        Some((z, _)) => to = Some(z),
                        None => {
                            return Err(Failure::Tool(
                                CliError::msg(format!(
                                    "to_time {}: every txn in the logs is later; that point is before the data",
                                    zkfilter::dump::format_time(t)
                                ))
                                .with_path(&self.path),
                            ))
                        }
                    }
                }
                let rp = zkformat::tree::replay_datadir(&dd, to, lim).map_err(Failure::File)?;
                let shown = |p: &std::path::Path| {
                    zkfilter::inputs::show_as(
                        &p.display().to_string(),
                        input.archive.map(|_| input.dir.as_path()),
                        &self.path,
                    )
                };
                let snapshot = rp.snapshot.as_deref().map(shown);
                let logs = rp.logs.iter().map(|(p, _)| shown(p)).collect();
                Ok(TreeData::new(rp.tree, snapshot, logs))
            })
            .map_err(Failure::into_py)?;
        Ok(Tree {
            data: Arc::new(data),
        })
    }

    /// The restore-safety report (`zkdump sessions`): which sessions a restored server would
    /// keep alive and their ephemeral nodes, grouped by parent with a guess of the recipe.
    fn sessions(&self, py: Python<'_>) -> PyResult<Py<SessionsReport>> {
        sessions_of(py, &self.path, self.jute_maxbuffer)
    }

    /// `verify(self.path, log_dir=…)`.
    fn verify(&self, py: Python<'_>) -> PyResult<Vec<Py<Finding>>> {
        verify_paths(
            py,
            vec![self.path.clone()],
            self.log_dir.clone(),
            self.jute_maxbuffer,
        )
    }

    fn __repr__(&self) -> String {
        format!("<zkformat.DataDir {:?}>", self.path)
    }
}

/// A replayed tree and what indexes it.
#[derive(Debug)]
struct TreeData {
    tree: DataTree,
    /// Every path in byte order (every parent before its children).
    sorted: Vec<Vec<u8>>,
    /// Children names by parent path.
    children: HashMap<Vec<u8>, Vec<String>>,
    acls: HashMap<i64, Arc<Vec<OwnedAcl>>>,
    snapshot: Option<String>,
    logs: Vec<String>,
}

impl TreeData {
    fn new(tree: DataTree, snapshot: Option<String>, logs: Vec<String>) -> TreeData {
        let sorted: Vec<Vec<u8>> = tree
            .sorted_paths()
            .into_iter()
            .map(<[u8]>::to_vec)
            .collect();
        let mut children: HashMap<Vec<u8>, Vec<String>> = HashMap::new();
        for p in &sorted {
            if p.is_empty() {
                continue;
            }
            let parent = zkformat::data::parent_path(p);
            let name = p.get(parent.len() + 1..).unwrap_or(b"");
            children
                .entry(parent.to_vec())
                .or_default()
                .push(String::from_utf8_lossy(name).into_owned());
        }
        let mut acls: HashMap<i64, Arc<Vec<OwnedAcl>>> = tree
            .acls
            .iter()
            .map(|(k, l)| {
                let v = l.iter().map(|a| OwnedAcl::from_acl(&a.as_acl())).collect();
                (k, Arc::new(v))
            })
            .collect();
        acls.insert(-1, Arc::new(vec![OwnedAcl::from_acl(&ZkAcl::OPEN_UNSAFE)]));
        TreeData {
            tree,
            sorted,
            children,
            acls,
            snapshot,
            logs,
        }
    }

    fn node(&self, py: Python<'_>, path: &[u8]) -> Option<Node> {
        let n = self.tree.get(path)?;
        let stored = if path == b"/" { &b""[..] } else { path };
        let count = self.children.get(stored).map_or(0, Vec::len) as u32;
        Some(Node::new(
            py,
            stored,
            n.data.as_deref(),
            None,
            n.stat,
            n.acl_key,
            count,
            self.acls.get(&n.acl_key).cloned(),
        ))
    }
}

/// `"/a/b"` (or `"/"`) as the tree stores it (`""` for the root).
fn stored_path(path: &str) -> &[u8] {
    if path == "/" {
        b""
    } else {
        path.as_bytes()
    }
}

/// A data tree replayed from a data dir: the nodes a server would load, with every stat.
#[pyclass(module = "zkformat", frozen)]
#[derive(Debug)]
pub struct Tree {
    data: Arc<TreeData>,
}

#[pymethods]
impl Tree {
    /// The node at `path` (`/` is the root), or None.
    fn get(&self, py: Python<'_>, path: &str) -> PyResult<Option<Py<Node>>> {
        self.data
            .node(py, stored_path(path))
            .map(|n| Py::new(py, n))
            .transpose()
    }

    /// The names of the children of `path`, sorted (as kazoo's `get_children`, sorted).
    /// KeyError when there is no such node.
    fn children(&self, path: &str) -> PyResult<Vec<String>> {
        let p = stored_path(path);
        if self.data.tree.get(p).is_none() {
            return Err(PyKeyError::new_err(path.to_string()));
        }
        Ok(self.data.children.get(p).cloned().unwrap_or_default())
    }

    /// Every node at and below `path`, parents before children (paths in byte order).
    #[pyo3(signature = (path = "/"))]
    fn walk(&self, path: &str) -> PyResult<TreeWalk> {
        let p = stored_path(path);
        if self.data.tree.get(p).is_none() {
            return Err(PyKeyError::new_err(path.to_string()));
        }
        let sorted = &self.data.sorted;
        let (start, end) = if p.is_empty() {
            (0, sorted.len())
        } else {
            let mut prefix = p.to_vec();
            prefix.push(b'/');
            let lo = sorted.partition_point(|x| x.as_slice() < prefix.as_slice());
            let hi = lo + sorted[lo..].partition_point(|x| x.starts_with(&prefix));
            let own = sorted.binary_search_by(|x| x.as_slice().cmp(p)).ok();
            // The node itself first, then its subtree.
            return Ok(TreeWalk {
                data: Arc::clone(&self.data),
                first: own,
                next: lo,
                end: hi,
            });
        };
        Ok(TreeWalk {
            data: Arc::clone(&self.data),
            first: None,
            next: start,
            end,
        })
    }

    fn __iter__(&self) -> PyResult<TreeWalk> {
        self.walk("/")
    }

    fn __len__(&self) -> usize {
        self.data.tree.len()
    }

    fn __contains__(&self, path: &str) -> bool {
        self.data.tree.get(stored_path(path)).is_some()
    }

    /// The last zxid applied (the snapshot's when no txn followed it).
    #[getter]
    fn zxid(&self) -> i64 {
        self.data.tree.last_zxid.0
    }

    /// The tree digest (ZooKeeper 3.6+'s CRC32-based digest of every node).
    #[getter]
    fn digest(&self) -> i64 {
        self.data.tree.digest().value()
    }

    /// Open sessions at the end of the replay: session id -> timeout (ms).
    #[getter]
    fn sessions(&self) -> HashMap<i64, i32> {
        self.data
            .tree
            .sessions
            .iter()
            .map(|(k, v)| (*k, *v))
            .collect()
    }

    /// The snapshot the replay started from (None: the empty tree).
    #[getter]
    fn snapshot(&self) -> Option<String> {
        self.data.snapshot.clone()
    }

    /// The logs replayed, in order.
    #[getter]
    fn logs(&self) -> Vec<String> {
        self.data.logs.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "<zkformat.Tree {} nodes at zxid {}>",
            self.data.tree.len(),
            Zxid(self.data.tree.last_zxid.0)
        )
    }
}

/// The iterator of `Tree.walk()`.
#[pyclass(module = "zkformat")]
#[derive(Debug)]
pub struct TreeWalk {
    data: Arc<TreeData>,
    first: Option<usize>,
    next: usize,
    end: usize,
}

#[pymethods]
impl TreeWalk {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Option<Py<Node>>> {
        let i = match self.first.take() {
            Some(i) => i,
            None if self.next < self.end => {
                self.next += 1;
                self.next - 1
            }
            None => return Ok(None),
        };
        let Some(p) = self.data.sorted.get(i) else {
            return Ok(None);
        };
        match self.data.node(py, p) {
            Some(n) => Ok(Some(Py::new(py, n)?)),
            None => Ok(None),
        }
    }
}

/// Runs `zkdump sessions --json PATH` in-process and converts its records.
pub fn sessions_of(
    py: Python<'_>,
    path: &str,
    jute_maxbuffer: Option<u32>,
) -> PyResult<Py<SessionsReport>> {
    let lim = limits(jute_maxbuffer);
    let out = py
        .detach(|| {
            let mut buf = Vec::new();
            zkfilter::dump::sessions::run(path, true, lim, &mut buf).map(|_| buf)
        })
        .map_err(|e| cli_error(&e))?;
    let text = String::from_utf8_lossy(&out);
    let mut lines = text.lines();
    let head = lines
        .next()
        .ok_or_else(|| PyValueError::new_err("zkdump sessions printed nothing"))?;
    let head = json_to_py(py, head)?;
    let head = head.bind(py).cast::<PyDict>()?.clone();
    let owners = PyList::empty(py);
    for l in lines {
        owners.append(json_to_py(py, l)?)?;
    }
    head.set_item("owners", owners)?;
    SessionsReport::from_dict(py, head)
}

/// Runs `zkdump verify --json PATH…` in-process and returns its findings.
pub fn verify_paths(
    py: Python<'_>,
    paths: Vec<String>,
    log_dir: Option<String>,
    jute_maxbuffer: Option<u32>,
) -> PyResult<Vec<Py<Finding>>> {
    let lim = limits(jute_maxbuffer);
    let out = py
        .detach(|| {
            let mut buf = Vec::new();
            zkfilter::dump::verify::run(&paths, log_dir.as_deref(), lim, true, &mut buf)
                .map(|_| buf)
        })
        .map_err(|e| cli_error(&e))?;
    let text = String::from_utf8_lossy(&out);
    let mut findings = Vec::new();
    for l in text.lines() {
        if l.starts_with("{\"kind\":\"finding\"") {
            findings.push(Finding::from_json(py, l)?);
        }
    }
    Ok(findings)
}

/// `zkfilter datadir` with the given options; returns the report.
pub fn filter_datadir(py: Python<'_>, args: Vec<String>) -> PyResult<Py<FilterReport>> {
    use clap::Parser;
    let dir = tempfile::Builder::new()
        .prefix("zkformat-report-")
        .tempdir()
        .map_err(|e| pyo3::exceptions::PyOSError::new_err(e.to_string()))?;
    let report = dir.path().join("report.json");
    let mut argv: Vec<String> = vec!["zkfilter".into(), "datadir".into()];
    argv.extend(args);
    argv.push("--report".into());
    argv.push(report.display().to_string());
    argv.push("-q".into());
    let cli = zkfilter::filter_cmd::ZkfilterCli::try_parse_from(&argv)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let code = py
        .detach(|| zkfilter::filter_cmd::run(cli))
        .map_err(|e| cli_error(&e))?;
    let text = std::fs::read_to_string(&report)
        .map_err(|e| pyo3::exceptions::PyOSError::new_err(e.to_string()))?;
    let d = json_to_py(py, &text)?;
    let d = d.bind(py).cast::<PyDict>()?.clone();
    d.set_item("salvaged", code == zkfilter::filter_cmd::EXIT_SALVAGED)?;
    FilterReport::from_dict(py, d)
}

/// Registers the classes.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<DataDir>()?;
    m.add_class::<Tree>()?;
    m.add_class::<TreeWalk>()?;
    Ok(())
}
