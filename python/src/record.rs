//! `Record`: a JSON Lines record of the tools as a Python object. Attributes are the record's
//! keys; `to_dict()` is the record exactly as `zkdump --json` (or `zkfilter --report`) writes it.

use pyo3::exceptions::{PyAttributeError, PyKeyError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::records::{hex_to_int, json_to_py, Acl};

/// Keys whose values are 64-bit ids written as `"0x…"` strings: attributes give them as `int`.
pub const HEX_KEYS: &[&str] = &[
    "zxid",
    "session",
    "digest",
    "treeDigest",
    "value",
    "computed",
    "ephemeralOwner",
    "czxid",
    "mzxid",
    "pzxid",
    "nameZxid",
    "firstZxid",
    "lastZxid",
];

/// A record of the tools' JSON output. Attribute access converts ids (`zxid`, `session`,
/// `digest`, …: `"0x…"` in JSON) to `int` and ACL lists to `ACL` objects; `record["key"]` and
/// `to_dict()` give the JSON values unchanged.
#[pyclass(module = "zkformat", frozen, subclass)]
#[derive(Debug)]
pub struct Record {
    dict: Py<PyDict>,
}

#[pymethods]
impl Record {
    /// The record's `kind` (`header`, `end`, `session`, `finding`, …; None for reports).
    #[getter]
    fn kind(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self
            .dict
            .bind(py)
            .get_item("kind")?
            .map_or_else(|| py.None(), Bound::unbind))
    }

    fn __getattr__(&self, py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
        let d = self.dict.bind(py);
        let Some(v) = d.get_item(name)? else {
            return Err(PyAttributeError::new_err(format!(
                "{} record has no field {name:?} (fields: {})",
                self.kind(py)?.bind(py).str()?,
                d.keys().str()?
            )));
        };
        convert(name, &v)
    }

    fn __getitem__(&self, py: Python<'_>, key: &str) -> PyResult<Py<PyAny>> {
        match self.dict.bind(py).get_item(key)? {
            Some(v) => Ok(v.unbind()),
            None => Err(PyKeyError::new_err(key.to_string())),
        }
    }

    fn __contains__(&self, py: Python<'_>, key: &str) -> PyResult<bool> {
        self.dict.bind(py).contains(key)
    }

    fn __dir__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let l = PyList::empty(py);
        for k in self.dict.bind(py).keys() {
            l.append(k)?;
        }
        l.append("to_dict")?;
        Ok(l.into_any().unbind())
    }

    /// The record exactly as the tools write it (a fresh `dict`, JSON values).
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        // A deep copy, so that callers cannot change the record.
        let s = py
            .import("json")?
            .getattr("dumps")?
            .call1((self.dict.bind(py),))?;
        json_to_py(py, &s.extract::<String>()?)
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        match other.cast::<Record>() {
            Ok(o) => self.dict.bind(py).eq(o.get().dict.bind(py)),
            Err(_) => Ok(false),
        }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "<{} {}>",
            self.kind(py)?.bind(py).str()?,
            self.dict.bind(py).repr()?
        ))
    }
}

/// An attribute value: ids to int, ACL lists to `ACL` objects.
fn convert(name: &str, v: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    let py = v.py();
    if HEX_KEYS.contains(&name) {
        if let Ok(s) = v.extract::<String>() {
            if s.starts_with("0x") {
                return Ok(hex_to_int(v)?.into_pyobject(py)?.into_any().unbind());
            }
        }
    }
    if name == "owners" {
        if let Ok(l) = v.cast::<PyList>() {
            let mut out = Vec::with_capacity(l.len());
            for d in l.iter() {
                out.push(SessionInfo::from_dict(py, d.cast::<PyDict>()?.copy()?)?);
            }
            return Ok(out.into_pyobject(py)?.into_any().unbind());
        }
    }
    if name == "acl" {
        if let Ok(l) = v.cast::<PyList>() {
            let mut out = Vec::with_capacity(l.len());
            for a in l.iter() {
                let d = a.cast::<PyDict>()?;
                let get = |k: &str| -> PyResult<Bound<'_, PyAny>> {
                    d.get_item(k)?
                        .ok_or_else(|| PyKeyError::new_err(k.to_string()))
                };
                out.push(Acl {
                    perms: get("perms")?.extract()?,
                    scheme: get("scheme")?.extract()?,
                    id: get("id")?.extract()?,
                });
            }
            return Ok(out.into_pyobject(py)?.into_any().unbind());
        }
    }
    Ok(v.clone().unbind())
}

impl Record {
    /// From a rendered JSON line.
    pub fn from_json(py: Python<'_>, line: &str) -> PyResult<Record> {
        let v = json_to_py(py, line)?;
        Ok(Record {
            dict: v.bind(py).cast::<PyDict>()?.clone().unbind(),
        })
    }

    /// From a dict (taken as it is).
    pub fn from_dict(dict: Bound<'_, PyDict>) -> Record {
        Record {
            dict: dict.unbind(),
        }
    }

    /// The dict.
    pub fn dict<'py>(&self, py: Python<'py>) -> &Bound<'py, PyDict> {
        self.dict.bind(py)
    }
}

/// Declares a subclass of `Record` (same behaviour, its own name for `isinstance` and stubs).
macro_rules! record_class {
    ($name:ident, $pyname:literal, $doc:literal) => {
        #[doc = $doc]
        #[pyclass(module = "zkformat", frozen, extends = Record, name = $pyname)]
        #[derive(Debug)]
        pub struct $name;

        impl $name {
            /// Makes one from a rendered JSON line.
            #[allow(dead_code)]
            pub fn from_json(py: Python<'_>, line: &str) -> PyResult<Py<$name>> {
                Py::new(
                    py,
                    PyClassInitializer::from(Record::from_json(py, line)?).add_subclass($name),
                )
            }

            /// Makes one from a dict.
            #[allow(dead_code)]
            pub fn from_dict(py: Python<'_>, d: Bound<'_, PyDict>) -> PyResult<Py<$name>> {
                Py::new(
                    py,
                    PyClassInitializer::from(Record::from_dict(d)).add_subclass($name),
                )
            }
        }
    };
}

record_class!(
    Header,
    "Header",
    "zkdump's `header` record: file, fileKind, magic, version, dbid, compression, nameZxid."
);
record_class!(
    End,
    "End",
    "zkdump's `end` record of a log (txns, checksumErrors, decodeErrors, reason, offset, trailingBytes, trailingNonzero, clean, error) or snapshot (nodes, sessions, aclEntries, seals, length, treeDigest, complete, error)."
);
record_class!(
    Session,
    "Session",
    "A snapshot's session table row: offset, session, timeout."
);
record_class!(
    AclEntry,
    "AclEntry",
    "A snapshot's ACL cache entry: offset, key, acl."
);
record_class!(Seal, "Seal", "A snapshot seal: offset, index, value, ok.");
record_class!(
    Digest,
    "Digest",
    "A snapshot's digest section: offset, zxid, version, digest, check, computed."
);
record_class!(
    Finding,
    "Finding",
    "One thing `verify` found: file, severity (problem, unreadable, warning, note), message, offset, zxid."
);
record_class!(
    SessionsReport,
    "SessionsReport",
    "The restore-safety report (`zkdump sessions`): source, sessions (count), ephemerals (count), and `owners`: one SessionInfo per session or owner of ephemerals."
);
record_class!(
    SessionInfo,
    "SessionInfo",
    "One session of the restore-safety report: session, live, timeout, ephemerals, groups ([{parent, recipe, paths}])."
);
record_class!(
    FilterReport,
    "FilterReport",
    "`zkfilter --report`'s JSON: what was (or would be) dropped, the data dir choice (`details`), warnings; `salvaged` tells a --salvage run that stopped at damage."
);

/// Registers the record classes.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Record>()?;
    m.add_class::<Header>()?;
    m.add_class::<End>()?;
    m.add_class::<Session>()?;
    m.add_class::<AclEntry>()?;
    m.add_class::<Seal>()?;
    m.add_class::<Digest>()?;
    m.add_class::<Finding>()?;
    m.add_class::<SessionsReport>()?;
    m.add_class::<SessionInfo>()?;
    m.add_class::<FilterReport>()?;
    Ok(())
}
