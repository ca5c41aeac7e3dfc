//! A store in an S3-compatible bucket (AWS S3, MinIO, Ceph, R2, …), under an optional key prefix:
//! `s3://bucket[/prefix]`, over Apache Arrow's `object_store`.
//!
//! Callers stay synchronous: every request runs on one private, small tokio runtime (shared by
//! all S3 stores of the process), and the calls block on it. So an `S3Store` must not be used
//! from inside an async runtime's worker thread.
//!
//! * Endpoint, region and credentials come from the usual `AWS_*` environment variables, as
//!   `object_store`'s `AmazonS3Builder::from_env` reads them: `AWS_ENDPOINT_URL` (or
//!   `AWS_ENDPOINT`, or `AWS_ENDPOINT_URL_S3`, which wins), `AWS_ALLOW_HTTP=true` for a plain
//!   `http://` endpoint, `AWS_REGION` (or `AWS_DEFAULT_REGION`; `us-east-1` if unset),
//!   `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`; with no keys, the
//!   instance/task/web-identity credentials of the machine. `AWS_TIMEOUT` (default `30s` a
//!   request) may need raising on a slow uplink, since a part is one request.
//! * [`Store::put_stream`] uploads in parts of [`PART_SIZE`], at most [`MAX_PARTS_IN_FLIGHT`]
//!   at a time, so it holds about three parts in memory; an object smaller than one part is one
//!   plain PUT. A failing source aborts the multipart upload: no object appears. The largest
//!   object is 10,000 parts (S3's limit), about 78 GiB.
//! * [`Store::put_new`] is a conditional PUT (`If-None-Match: *`), atomic on AWS S3 (since
//!   August 2024) and on stores that implement it; a store that ignores the header would
//!   overwrite instead.
//! * No message carries the secret key or the session token: every error text is scrubbed of
//!   both before it leaves this module.

use std::fmt;
use std::io::{self, Read};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::client::{HttpError, HttpErrorKind};
use object_store::path::Path;
use object_store::{
    GetOptions, ObjectStore, ObjectStoreExt, PutMode, PutMultipartOptions, PutOptions, PutPayload,
    WriteMultipart,
};
use tokio::runtime::Runtime;

use super::{ObjectMeta, Store, StoreError, StoreResult};

/// Size of one part of a multipart upload (S3 wants at least 5 MiB for all but the last).
pub const PART_SIZE: usize = 8 << 20;

/// Parts uploaded at once by [`Store::put_stream`] while the next one is read.
pub const MAX_PARTS_IN_FLIGHT: usize = 2;

/// S3's limit on the number of parts of one object.
const MAX_PARTS: usize = 10_000;

/// An S3 bucket, or a prefix ("folder") in one, holding the store's objects.
pub struct S3Store {
    s3: Arc<AmazonS3>,
    bucket: String,
    /// Without leading or trailing `/`; empty for the bucket's root.
    prefix: String,
    rt: &'static Runtime,
    secrets: Arc<Secrets>,
}

impl fmt::Debug for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Store")
            .field("url", &self.describe())
            .finish_non_exhaustive()
    }
}

/// The runtime every S3 store of the process blocks on: two worker threads, so part uploads
/// and response bodies make progress while the caller reads its source.
fn runtime() -> StoreResult<&'static Runtime> {
    static RT: OnceLock<Result<Runtime, String>> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("zkbackup-s3")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| StoreError::Other(format!("cannot start the S3 client's threads: {e}")))
}

/// Credentials to scrub from every message.
#[derive(Default)]
struct Secrets(Vec<String>);

impl Secrets {
    fn scrub(&self, text: &str) -> String {
        let mut t = text.to_string();
        for s in &self.0 {
            if !s.is_empty() {
                t = t.replace(s.as_str(), "[REDACTED]");
            }
        }
        t
    }
}

/// Splits `s3://bucket[/prefix]`; the prefix comes back without leading or trailing `/`.
fn parse_url(url: &str) -> StoreResult<(String, String)> {
    let bad = |why: &str| {
        // Never echo a URL that might carry credentials (`s3://key:secret@bucket`).
        let shown = if url.contains('@') { "the S3 URL" } else { url };
        StoreError::Other(format!(
            "{shown}: not a valid S3 store URL ({why}); expected s3://BUCKET or s3://BUCKET/PREFIX"
        ))
    };
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| bad("it must start with s3://"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(bad("the bucket name is missing"));
    }
    if url.contains('@') {
        return Err(bad(
            "credentials do not belong in the URL: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        ));
    }
    if !bucket
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return Err(bad(
            "a bucket name has only letters, digits, '.', '-' and '_'",
        ));
    }
    let prefix = prefix.trim_end_matches('/');
    if !prefix.is_empty() && !valid_key(prefix) {
        return Err(bad(
            "the prefix has an empty, '.' or '..' component, or a control character",
        ));
    }
    Ok((bucket.to_string(), prefix.to_string()))
}

/// A key (or prefix) is `/`-separated non-empty components, none `.` or `..`, no control
/// characters.
fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != ".." && !c.chars().any(char::is_control))
}

/// Walks an error's source chain looking for a failed connection.
fn is_connect_error(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(h) = err.downcast_ref::<HttpError>() {
            if matches!(h.kind(), HttpErrorKind::Connect) {
                return true;
            }
        }
        cur = err.source();
    }
    false
}

impl S3Store {
    /// Opens the store at `s3://bucket[/prefix]` with endpoint, region and credentials from the
    /// `AWS_*` environment variables (see the module's documentation). Keys are relative to the
    /// prefix. Contacts nothing: a bucket that does not exist shows in the first operation.
    ///
    /// # Errors
    /// A malformed URL, or a malformed `AWS_*` setting.
    pub fn from_url(url: &str) -> StoreResult<S3Store> {
        S3Store::from_url_and_vars(
            url,
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    }

    /// As [`S3Store::from_url`], reading the `AWS_*` settings from `vars` (name, value) instead
    /// of the environment; other names are ignored.
    ///
    /// # Errors
    /// A malformed URL, or a malformed `AWS_*` setting.
    pub fn from_url_and_vars(
        url: &str,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> StoreResult<S3Store> {
        let (bucket, prefix) = parse_url(url)?;
        let mut builder = AmazonS3Builder::new();
        let mut secrets = Secrets::default();
        // What AmazonS3Builder::from_env does, over `vars`.
        for (name, value) in vars {
            if !name.starts_with("AWS_") {
                continue;
            }
            if let Ok(key) = name.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
                if matches!(
                    key,
                    AmazonS3ConfigKey::SecretAccessKey | AmazonS3ConfigKey::Token
                ) {
                    secrets.0.push(value.clone());
                }
                builder = builder.with_config(key, value);
            }
        }
        let secrets = Arc::new(secrets);
        let s3 = builder.with_bucket_name(&bucket).build().map_err(|e| {
            StoreError::Other(format!(
                "s3://{bucket}: cannot set up the S3 client (check the AWS_* environment variables): {}",
                secrets.scrub(&e.to_string())
            ))
        })?;
        Ok(S3Store {
            s3: Arc::new(s3),
            bucket,
            prefix,
            rt: runtime()?,
            secrets,
        })
    }

    /// `s3://bucket/prefix/key` (the store itself for an empty key), for messages.
    fn url_of(&self, key: &str) -> String {
        if key.is_empty() {
            self.describe()
        } else {
            format!("{}/{key}", self.describe())
        }
    }

    fn path_of(&self, key: &str) -> StoreResult<Path> {
        if !valid_key(key) {
            return Err(StoreError::Other(format!(
                "{key:?}: not a valid key (non-empty '/'-separated names, none '.' or '..')"
            )));
        }
        let full = if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}/{key}", self.prefix)
        };
        Path::parse(&full)
            .map_err(|e| StoreError::Other(format!("{}: not a valid key: {e}", self.url_of(key))))
    }

    /// An `object_store` error as a message: where, what was being done, what went wrong (with
    /// no credential), and what to check when that is clear.
    fn error(&self, key: &str, doing: &str, e: &object_store::Error) -> StoreError {
        let detail = self.secrets.scrub(&shorten_xml(&e.to_string()));
        let hint = if detail.contains("NoSuchBucket") {
            format!(
                " (the bucket {:?} does not exist at this endpoint: create it, or check the URL, AWS_ENDPOINT_URL and AWS_REGION)",
                self.bucket
            )
        } else if is_connect_error(e) {
            " (cannot reach the S3 endpoint: check AWS_ENDPOINT_URL, and AWS_ALLOW_HTTP=true for an http:// endpoint)".to_string()
        } else if detail.contains("URL scheme is not allowed") || detail.contains("builder error") {
            " (for an http:// endpoint set AWS_ALLOW_HTTP=true)".to_string()
        } else {
            match e {
                object_store::Error::Unauthenticated { .. }
                | object_store::Error::PermissionDenied { .. } => {
                    " (check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and the bucket's permissions)".to_string()
                }
                _ if [
                    "SignatureDoesNotMatch",
                    "InvalidAccessKeyId",
                    "InvalidToken",
                    "ExpiredToken",
                    "AccessDenied",
                ]
                .iter()
                .any(|c| detail.contains(c)) =>
                {
                    " (check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN)"
                        .to_string()
                }
                _ => String::new(),
            }
        };
        StoreError::Other(format!("{}: {doing}: {detail}{hint}", self.url_of(key)))
    }

    fn is_missing_bucket(e: &object_store::Error) -> bool {
        e.to_string().contains("NoSuchBucket")
    }

    /// One plain PUT of `data`.
    fn put_once(&self, key: &str, path: &Path, data: Bytes, mode: PutMode) -> StoreResult<()> {
        let opts = PutOptions {
            mode,
            ..PutOptions::default()
        };
        let create = matches!(opts.mode, PutMode::Create);
        let r = self
            .rt
            .block_on(self.s3.put_opts(path, PutPayload::from(data), opts));
        match r {
            Ok(_) => Ok(()),
            Err(object_store::Error::AlreadyExists { .. }) if create => {
                Err(StoreError::AlreadyExists(key.to_string()))
            }
            Err(e) => Err(self.error(key, "upload", &e)),
        }
    }

    /// The multipart half of `put_stream`: `first` is a full part, the rest comes from `data`.
    fn put_multipart(
        &self,
        key: &str,
        path: &Path,
        first: Vec<u8>,
        data: &mut dyn Read,
    ) -> StoreResult<u64> {
        let upload = self
            .rt
            .block_on(
                self.s3
                    .put_multipart_opts(path, PutMultipartOptions::default()),
            )
            .map_err(|e| self.error(key, "starting a multipart upload", &e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut total = first.len() as u64;
        let mut parts = 1usize;
        // WriteMultipart spawns each part's upload: do that inside the runtime.
        self.rt.block_on(async { writer.put(Bytes::from(first)) });
        let failure = loop {
            let part = match read_part(data) {
                Ok(p) => p,
                Err(e) => {
                    break StoreError::Other(format!(
                        "{}: reading the data to upload: {e}",
                        self.url_of(key)
                    ))
                }
            };
            if part.is_empty() {
                return match self.rt.block_on(writer.finish()) {
                    Ok(_) => Ok(total),
                    // finish aborts the upload itself when it fails.
                    Err(e) => Err(self.error(key, "completing the multipart upload", &e)),
                };
            }
            parts += 1;
            if parts > MAX_PARTS {
                break StoreError::Other(format!(
                    "{}: too large for S3: more than {MAX_PARTS} parts of {} MiB",
                    self.url_of(key),
                    PART_SIZE >> 20
                ));
            }
            total += part.len() as u64;
            let waited = self.rt.block_on(async {
                writer.wait_for_capacity(MAX_PARTS_IN_FLIGHT).await?;
                writer.put(Bytes::from(part));
                Ok::<(), object_store::Error>(())
            });
            if let Err(e) = waited {
                break self.error(key, "uploading a part", &e);
            }
        };
        // Nothing was completed, so no object exists; drop the uploaded parts.
        match self.rt.block_on(writer.abort()) {
            Ok(()) => Err(failure),
            Err(e) => Err(StoreError::Other(format!(
                "{failure}; besides, aborting the incomplete multipart upload failed ({}): a \
                 bucket lifecycle rule for incomplete multipart uploads removes its parts",
                self.secrets.scrub(&e.to_string())
            ))),
        }
    }
}

/// An S3 error response's XML body (`<Error><Code>…</Code><Message>…</Message>…`) in a
/// message, cut down to `Code: Message`; other text unchanged.
fn shorten_xml(text: &str) -> String {
    let Some(start) = text.find("<?xml").or_else(|| text.find("<Error>")) else {
        return text.to_string();
    };
    let field = |tag: &str| {
        let open = format!("<{tag}>");
        let from = text[start..].find(&open)? + start + open.len();
        let to = text[from..].find(&format!("</{tag}>"))? + from;
        Some(text[from..to].trim())
    };
    let end = text[start..]
        .find("</Error>")
        .map_or(text.len(), |i| start + i + "</Error>".len());
    let short = match (field("Code"), field("Message")) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_string(),
        _ => return text.to_string(),
    };
    format!("{}{short}{}", &text[..start], &text[end..])
}

/// Reads up to one part from `data` (fewer bytes only at its end).
fn read_part(data: &mut dyn Read) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(PART_SIZE);
    data.take(PART_SIZE as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

impl Store for S3Store {
    fn describe(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    fn put_stream(&self, key: &str, data: &mut dyn Read) -> StoreResult<u64> {
        let path = self.path_of(key)?;
        let first = read_part(data).map_err(|e| {
            StoreError::Other(format!(
                "{}: reading the data to upload: {e}",
                self.url_of(key)
            ))
        })?;
        if first.len() < PART_SIZE {
            let n = first.len() as u64;
            self.put_once(key, &path, Bytes::from(first), PutMode::Overwrite)?;
            return Ok(n);
        }
        self.put_multipart(key, &path, first, data)
    }

    fn put_new(&self, key: &str, data: &[u8]) -> StoreResult<()> {
        let path = self.path_of(key)?;
        self.put_once(key, &path, Bytes::copy_from_slice(data), PutMode::Create)
    }

    fn put(&self, key: &str, data: &[u8]) -> StoreResult<()> {
        let path = self.path_of(key)?;
        self.put_once(key, &path, Bytes::copy_from_slice(data), PutMode::Overwrite)
    }

    fn get(&self, key: &str) -> StoreResult<Box<dyn Read + Send>> {
        let path = self.path_of(key)?;
        match self
            .rt
            .block_on(self.s3.get_opts(&path, GetOptions::default()))
        {
            Ok(r) => Ok(Box::new(S3Reader {
                stream: Some(r.into_stream()),
                chunk: Bytes::new(),
                rt: self.rt,
                url: self.url_of(key),
                secrets: Arc::clone(&self.secrets),
            })),
            Err(e @ object_store::Error::NotFound { .. }) if !Self::is_missing_bucket(&e) => {
                Err(StoreError::NotFound(key.to_string()))
            }
            Err(e) => Err(self.error(key, "download", &e)),
        }
    }

    fn list(&self, prefix: &str) -> StoreResult<Vec<ObjectMeta>> {
        // object_store lists whole path segments: list the folder the prefix is in, then keep
        // the keys that start with it.
        let folder = prefix.rfind('/').map_or("", |i| &prefix[..i]);
        let full = match (self.prefix.is_empty(), folder.is_empty()) {
            (true, _) => folder.to_string(),
            (false, true) => self.prefix.clone(),
            (false, false) => format!("{}/{folder}", self.prefix),
        };
        let dir = if full.is_empty() {
            None
        } else {
            Some(Path::parse(&full).map_err(|e| {
                StoreError::Other(format!(
                    "{}: not a valid prefix {prefix:?}: {e}",
                    self.describe()
                ))
            })?)
        };
        let found: Vec<object_store::ObjectMeta> = self
            .rt
            .block_on(self.s3.list(dir.as_ref()).try_collect())
            .map_err(|e| self.error(prefix, "listing", &e))?;
        let root = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        let mut out: Vec<ObjectMeta> = found
            .into_iter()
            .filter_map(|m| {
                let key = m.location.as_ref().strip_prefix(root.as_str())?;
                key.starts_with(prefix).then(|| ObjectMeta {
                    key: key.to_string(),
                    size: m.size,
                })
            })
            .collect();
        out.sort();
        Ok(out)
    }

    fn delete(&self, key: &str) -> StoreResult<()> {
        let path = self.path_of(key)?;
        match self.rt.block_on(self.s3.delete(&path)) {
            Ok(()) => Ok(()),
            Err(e @ object_store::Error::NotFound { .. }) if !Self::is_missing_bucket(&e) => Ok(()),
            Err(e) => Err(self.error(key, "delete", &e)),
        }
    }
}

/// An object's body, read chunk by chunk as the response brings it.
struct S3Reader {
    /// `None` once the body has ended.
    stream: Option<futures_util::stream::BoxStream<'static, object_store::Result<Bytes>>>,
    chunk: Bytes,
    rt: &'static Runtime,
    url: String,
    secrets: Arc<Secrets>,
}

impl Read for S3Reader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            let Some(stream) = self.stream.as_mut() else {
                return Ok(0);
            };
            match self.rt.block_on(stream.next()) {
                Some(Ok(b)) => self.chunk = b,
                Some(Err(e)) => {
                    return Err(io::Error::other(format!(
                        "{}: download: {}",
                        self.url,
                        self.secrets.scrub(&e.to_string())
                    )))
                }
                None => self.stream = None,
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn urls() {
        let ok = |u: &str| S3Store::from_url_and_vars(u, vars(&[])).map(|s| s.describe());
        assert_eq!(ok("s3://bkt").unwrap(), "s3://bkt");
        assert_eq!(ok("s3://bkt/").unwrap(), "s3://bkt");
        assert_eq!(ok("s3://bkt/zk/prod/").unwrap(), "s3://bkt/zk/prod");
        for bad in [
            "",
            "bkt",
            "s3:/bkt",
            "http://bkt/x",
            "s3://",
            "s3:///x",
            "s3://b kt",
            "s3://bkt/a//b",
            "s3://bkt/../x",
        ] {
            let e = ok(bad).unwrap_err().to_string();
            assert!(e.contains("not a valid S3 store URL"), "{bad}: {e}");
        }
        let e = ok("s3://AKIAX:VERYSECRET@bkt/x").unwrap_err().to_string();
        assert!(!e.contains("VERYSECRET"), "{e}");
        assert!(e.contains("AWS_SECRET_ACCESS_KEY"), "{e}");
    }

    #[test]
    fn describe_and_debug_never_show_credentials() {
        let s = S3Store::from_url_and_vars(
            "s3://bkt/p",
            vars(&[
                ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
                ("AWS_SECRET_ACCESS_KEY", "the-secret-key"),
                ("AWS_SESSION_TOKEN", "the-session-token"),
            ]),
        )
        .unwrap();
        for text in [s.describe(), format!("{s:?}")] {
            assert!(!text.contains("the-secret-key") && !text.contains("the-session-token"));
        }
        assert_eq!(
            s.secrets.scrub("a the-secret-key b the-session-token"),
            "a [REDACTED] b [REDACTED]"
        );
    }

    #[test]
    fn xml_errors_shortened() {
        let long =
            "PUT x - 403 Forbidden: <?xml version=\"1.0\"?>\n<Error><Code>AccessDenied</Code>\
                    <Message>Access Denied</Message><RequestId>R</RequestId></Error> (more)";
        assert_eq!(
            shorten_xml(long),
            "PUT x - 403 Forbidden: AccessDenied: Access Denied (more)"
        );
        assert_eq!(shorten_xml("plain <b>"), "plain <b>");
        assert_eq!(shorten_xml("<Error>broken"), "<Error>broken");
    }

    #[test]
    fn keys_checked() {
        let s = S3Store::from_url_and_vars("s3://bkt/p", vars(&[])).unwrap();
        for bad in ["", "/abs", "a/../b", "a//b", "a/./b", "x\n"] {
            assert!(s.path_of(bad).is_err(), "{bad:?}");
        }
        assert_eq!(s.path_of("a/b c").unwrap().as_ref(), "p/a/b c");
    }
}
