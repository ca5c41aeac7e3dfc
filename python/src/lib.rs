//! `zkformat` for Python: a thin pyo3 layer over the `zkformat` library and the `zkfilter`
//! tools' library parts. It converts and nothing more: records come from `zkformat`'s readers,
//! JSON records from `zkdump`'s own renderer, reports from `zkdump verify`/`sessions` and
//! `zkfilter datadir` run in-process.

mod datadir;
mod errors;
mod record;
mod records;
mod snapshot;
mod source;
mod txnlog;

use pyo3::prelude::*;
use zkformat::kind::FileKind;

/// Opens a txn log or a snapshot (plain, gzip or snappy), told apart by its first bytes.
///
/// `src` is a path (`str` or `os.PathLike`; the file is memory-mapped), a bytes-like object, or
/// a binary file object (read into memory). `name` is the name shown in records and errors
/// (default: the path, the file object's `name`, or `-`). `jute_maxbuffer` reads data written
/// with a larger `jute.maxbuffer`.
#[pyfunction]
#[pyo3(signature = (src, *, name = None, jute_maxbuffer = None))]
fn open(
    py: Python<'_>,
    src: &Bound<'_, PyAny>,
    name: Option<String>,
    jute_maxbuffer: Option<u32>,
) -> PyResult<Py<PyAny>> {
    let src = source::open(src, name, source::limits(jute_maxbuffer))?;
    match FileKind::detect(&src.bytes) {
        FileKind::TxnLog => Ok(Py::new(py, txnlog::TxnLog::new(py, src)?)?.into_any()),
        FileKind::Snapshot | FileKind::Gzip | FileKind::Snappy => {
            Ok(Py::new(py, snapshot::Snapshot::new(py, src)?)?.into_any())
        }
        _ => {
            let head = src.bytes.get(..512).unwrap_or(&src.bytes);
            Err(errors::unknown_format(&zkfilter::cli::unknown_kind_error(
                &src.name, head,
            )))
        }
    }
}

/// Paths from one path or a list of paths.
fn paths_arg(obj: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if obj.is_instance_of::<pyo3::types::PyString>() || obj.hasattr("__fspath__")? {
        return Ok(vec![source::path_arg(obj)?]);
    }
    obj.try_iter()?.map(|p| source::path_arg(&p?)).collect()
}

/// Verifies files, data dirs and archives of data dirs as `zkdump verify` does: every
/// checksum, seal and digest, zxid order and gaps, how logs end, the restore ZooKeeper would
/// do. Returns the findings (an empty list: nothing to report); each has `file`, `severity`
/// (`problem`, `unreadable`, `warning`, `note`), `message`, `offset` and `zxid`. Runs in Rust
/// (in parallel), the GIL released.
#[pyfunction]
#[pyo3(signature = (path, *, log_dir = None, jute_maxbuffer = None))]
fn verify(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    log_dir: Option<&Bound<'_, PyAny>>,
    jute_maxbuffer: Option<u32>,
) -> PyResult<Vec<Py<record::Finding>>> {
    let paths = paths_arg(path)?;
    let log_dir = log_dir.map(source::path_arg).transpose()?;
    datadir::verify_paths(py, paths, log_dir, jute_maxbuffer)
}

/// The restore-safety report (`zkdump sessions`) of a snapshot, a txn log, a data dir or an
/// archive of one (replayed).
#[pyfunction]
#[pyo3(signature = (path, *, jute_maxbuffer = None))]
fn sessions(
    py: Python<'_>,
    path: &Bound<'_, PyAny>,
    jute_maxbuffer: Option<u32>,
) -> PyResult<Py<record::SessionsReport>> {
    datadir::sessions_of(py, &source::path_arg(path)?, jute_maxbuffer)
}

/// Filters a data dir for a safe restore, exactly as `zkfilter datadir SRC -o DST` does (the
/// same code runs, with the GIL released): replays it as ZooKeeper would, drops sessions,
/// ephemeral nodes and everything below `drop_prefixes`, and writes a fresh data dir (or, with
/// `admin_restore=FILE`, ZooKeeper 3.9's admin restore stream). Nothing is written on error.
/// Returns the report (`zkfilter --report`); `report.salvaged` tells a `salvage=True` run that
/// stopped at damage.
#[pyfunction]
#[pyo3(signature = (src, dst = None, drop_prefixes = Vec::new(), *, log_dir = None,
    to_zxid = None, to_time = None, fence_epoch = None, no_fence = false, fence_zxid = None,
    target_version = None, compress = None, admin_restore = None, keep_sessions = false,
    keep_ephemerals = false, prefix_file = None, dry_run = false, force = false,
    salvage = false, jute_maxbuffer = None))]
#[allow(clippy::too_many_arguments)]
fn filter_datadir(
    py: Python<'_>,
    src: &Bound<'_, PyAny>,
    dst: Option<&Bound<'_, PyAny>>,
    drop_prefixes: Vec<String>,
    log_dir: Option<&Bound<'_, PyAny>>,
    to_zxid: Option<&Bound<'_, PyAny>>,
    to_time: Option<&Bound<'_, PyAny>>,
    fence_epoch: Option<u32>,
    no_fence: bool,
    fence_zxid: Option<&Bound<'_, PyAny>>,
    target_version: Option<String>,
    compress: Option<String>,
    admin_restore: Option<&Bound<'_, PyAny>>,
    keep_sessions: bool,
    keep_ephemerals: bool,
    prefix_file: Option<&Bound<'_, PyAny>>,
    dry_run: bool,
    force: bool,
    salvage: bool,
    jute_maxbuffer: Option<u32>,
) -> PyResult<Py<record::FilterReport>> {
    let mut a = vec![source::path_arg(src)?];
    let mut opt = |flag: &str, v: Option<String>| {
        if let Some(v) = v {
            a.push(flag.to_string());
            a.push(v);
        }
    };
    opt("-o", dst.map(source::path_arg).transpose()?);
    opt("--log-dir", log_dir.map(source::path_arg).transpose()?);
    opt(
        "--to-zxid",
        to_zxid
            .map(|z| records::zxid_arg(z).map(|z| z.0.to_string()))
            .transpose()?,
    );
    opt(
        "--to-time",
        to_time
            .map(|t| datadir::time_arg(t).map(|t| t.to_string()))
            .transpose()?,
    );
    opt("--fence-epoch", fence_epoch.map(|e| e.to_string()));
    opt(
        "--fence-zxid",
        fence_zxid
            .map(|z| records::zxid_arg(z).map(|z| z.0.to_string()))
            .transpose()?,
    );
    opt("--target-version", target_version);
    opt("--compress", compress);
    opt(
        "--admin-restore",
        admin_restore.map(source::path_arg).transpose()?,
    );
    opt(
        "--prefix-file",
        prefix_file.map(source::path_arg).transpose()?,
    );
    opt("--jute-maxbuffer", jute_maxbuffer.map(|j| j.to_string()));
    for p in drop_prefixes {
        a.push("--drop-prefix".into());
        a.push(p);
    }
    for (flag, on) in [
        ("--no-fence", no_fence),
        ("--keep-sessions", keep_sessions),
        ("--keep-ephemerals", keep_ephemerals),
        ("--dry-run", dry_run),
        ("--force", force),
        ("--salvage", salvage),
    ] {
        if on {
            a.push(flag.into());
        }
    }
    datadir::filter_datadir(py, a)
}

/// The `zkformat` module.
#[pymodule]
#[pyo3(name = "zkformat")]
fn zkformat_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    record::register(m)?;
    records::register(m)?;
    txnlog::register(m)?;
    snapshot::register(m)?;
    datadir::register(m)?;
    m.add_function(wrap_pyfunction!(open, m)?)?;
    m.add_function(wrap_pyfunction!(verify, m)?)?;
    m.add_function(wrap_pyfunction!(sessions, m)?)?;
    m.add_function(wrap_pyfunction!(filter_datadir, m)?)?;
    Ok(())
}
