//! Conversion helpers shared by every record class: JSON Lines records (rendered by `zkdump`'s
//! own renderer) to `dict`, ACLs, cached op names, rendering options.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString};
use zkfilter::dump::render::{perms_letters, Ctx, OwnedAcl};
use zkfilter::dump::{DataFormat, DumpOptions};
use zkformat::Zxid;

/// `json.loads` of one rendered JSON Lines record (keys in the schema's order).
pub fn json_to_py(py: Python<'_>, line: &str) -> PyResult<Py<PyAny>> {
    static LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let loads = LOADS.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py.import("json")?.getattr("loads")?.unbind())
    })?;
    loads.call1(py, (line.trim_end(),))
}

/// The value of `cell`, computed by `f` with the GIL released the first time. Two threads may
/// both compute it (the first stored wins): waiting on the cell while holding the GIL could
/// deadlock with a thread that computes it and needs the GIL back.
pub fn once_detached<'a, T: Send>(
    cell: &'a std::sync::OnceLock<T>,
    py: Python<'_>,
    f: impl FnOnce() -> T + Send,
) -> &'a T {
    if let Some(v) = cell.get() {
        return v;
    }
    let v = py.detach(f);
    cell.get_or_init(|| v)
}

/// Rendering options for `to_dict(data=…, data_format=…)`: `zkdump --data --data-format …`.
pub fn dump_options(data: bool, data_format: &str) -> PyResult<DumpOptions> {
    let data_format = match data_format {
        "hex" => DataFormat::Hex,
        "base64" => DataFormat::Base64,
        other => {
            return Err(PyValueError::new_err(format!(
                "data_format must be \"hex\" or \"base64\", not {other:?}"
            )))
        }
    };
    Ok(DumpOptions {
        data,
        data_format,
        ..DumpOptions::default()
    })
}

/// The renderer's context for a file named `name`.
pub fn ctx<'a>(opts: &'a DumpOptions, name: &'a str) -> Ctx<'a> {
    Ctx {
        opts,
        name,
        name_zxid: zkfilter::dump::records::name_zxid(name),
    }
}

/// A zxid (or session id) from an int (signed or unsigned 64-bit) or a `"0x…"`/decimal string.
pub fn zxid_arg(obj: &Bound<'_, PyAny>) -> PyResult<Zxid> {
    if let Ok(i) = obj.extract::<i64>() {
        return Ok(Zxid(i));
    }
    // Ids are shown unsigned ("0x8…" for negative values): accept them as unsigned ints too.
    if let Ok(u) = obj.extract::<u64>() {
        return Ok(Zxid(u as i64));
    }
    let s: String = obj.extract()?;
    zkfilter::cli::parse_zxid(&s).map_err(PyValueError::new_err)
}

/// The interned name of an op code (`create`, `setData`, …): one string object per op.
pub fn op_name(py: Python<'_>, code: i32) -> Py<PyAny> {
    static NAMES: PyOnceLock<Vec<Py<PyAny>>> = PyOnceLock::new();
    // Op codes -11..=22 cover every op ZooKeeper logs.
    let names = NAMES.get_or_init(py, || {
        (-11..=22)
            .map(|c| {
                PyString::intern(py, &zkformat::txn::op_name(c))
                    .into_any()
                    .unbind()
            })
            .collect()
    });
    match usize::try_from(code + 11).ok().and_then(|i| names.get(i)) {
        Some(n) => n.clone_ref(py),
        None => PyString::new(py, &zkformat::txn::op_name(code))
            .into_any()
            .unbind(),
    }
}

/// A path for display, as zkdump shows it (lossy UTF-8; the root `""` as `/`).
pub fn path_str(p: &[u8]) -> std::borrow::Cow<'_, str> {
    zkfilter::dump::path_str(p)
}

/// One ACL entry: `perms` (bits), `perm` (`cdrwa` letters), `scheme` and `id`.
#[pyclass(module = "zkformat", name = "ACL", frozen, eq, hash)]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Acl {
    /// Permission bits (READ 1, WRITE 2, CREATE 4, DELETE 8, ADMIN 16).
    #[pyo3(get)]
    pub perms: i32,
    /// Scheme (`world`, `digest`, `ip`, `auth`, …).
    #[pyo3(get)]
    pub scheme: String,
    /// Id (`anyone`, `user:base64(sha1)`, an address, …).
    #[pyo3(get)]
    pub id: String,
}

#[pymethods]
impl Acl {
    #[new]
    fn py_new(perms: i32, scheme: String, id: String) -> Acl {
        Acl { perms, scheme, id }
    }

    /// The permissions as letters in `cdrwa` order (zkCli's `getAcl`).
    #[getter]
    fn perm(&self) -> String {
        perms_letters(self.perms)
    }

    /// `{"perms": 31, "perm": "cdrwa", "scheme": "world", "id": "anyone"}`, as in zkdump's JSON.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("perms", self.perms)?;
        d.set_item("perm", self.perm())?;
        d.set_item("scheme", &self.scheme)?;
        d.set_item("id", &self.id)?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!(
            "ACL(perms={}, scheme={:?}, id={:?})  # {}:{}:{}",
            self.perms,
            self.scheme,
            self.id,
            self.scheme,
            self.id,
            self.perm()
        )
    }
}

impl Acl {
    /// From the renderer's owned ACL.
    pub fn from_owned(a: &OwnedAcl) -> Acl {
        Acl {
            perms: a.perms,
            scheme: a.scheme.clone(),
            id: a.id.clone(),
        }
    }

    /// From a borrowed ACL.
    pub fn from_acl(a: &zkformat::data::Acl<'_>) -> Acl {
        Acl {
            perms: a.perms,
            scheme: String::from_utf8_lossy(a.scheme).into_owned(),
            id: String::from_utf8_lossy(a.id).into_owned(),
        }
    }
}

/// An ACL list as Python (`None` for a null vector).
pub fn acl_list(py: Python<'_>, l: &zkformat::data::AclList<'_>) -> PyResult<Py<PyAny>> {
    if l.is_null() {
        return Ok(py.None());
    }
    let v: Vec<Acl> = l.iter().map(|a| Acl::from_acl(&a)).collect();
    Ok(v.into_pyobject(py)?.into_any().unbind())
}

/// An owned ACL list as Python.
pub fn owned_acl_list(py: Python<'_>, l: Option<&[OwnedAcl]>) -> PyResult<Py<PyAny>> {
    match l {
        None => Ok(py.None()),
        Some(l) => {
            let v: Vec<Acl> = l.iter().map(Acl::from_owned).collect();
            Ok(v.into_pyobject(py)?.into_any().unbind())
        }
    }
}

/// `"0x…"` (or null) to an int (or None).
pub fn hex_to_int(v: &Bound<'_, PyAny>) -> PyResult<Option<i64>> {
    if v.is_none() {
        return Ok(None);
    }
    let s: String = v.extract()?;
    let digits = s.trim_start_matches("0x");
    u64::from_str_radix(digits, 16)
        .map(|u| Some(u as i64))
        .map_err(|e| PyValueError::new_err(format!("bad hex id {s:?}: {e}")))
}

/// Registers the classes.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Acl>()?;
    Ok(())
}
