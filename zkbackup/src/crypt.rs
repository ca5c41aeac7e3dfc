//! Encryption at rest with age (X25519 recipients): the archive is streamed through an age
//! writer, and the detailed manifest is stored encrypted beside a public one that holds only
//! the label, times, status and sizes. A store alone then reveals nothing else.
//!
//! Keys are age's: `age1…` recipients (public) to encrypt, identity files (`AGE-SECRET-KEY-1…`,
//! as `age-keygen` writes them) to decrypt.

use std::io::{self, BufRead, Read, Write};
use std::str::FromStr;

/// Public keys to encrypt to.
#[derive(Clone, Default)]
pub struct Recipients(Vec<age::x25519::Recipient>);

impl std::fmt::Debug for Recipients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Recipients({})", self.0.len())
    }
}

impl Recipients {
    /// Parses `age1…` keys, or `@FILE` holding one per line (`#` comments).
    ///
    /// # Errors
    /// A key that is not an age X25519 recipient, an unreadable file.
    pub fn parse(specs: &[String]) -> Result<Recipients, String> {
        let mut v = Vec::new();
        for spec in specs {
            let lines: Vec<String> = match spec.strip_prefix('@') {
                Some(file) => std::fs::read_to_string(file)
                    .map_err(|e| format!("--encrypt-to @{file}: {e}"))?
                    .lines()
                    .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
                    .filter(|l| !l.is_empty())
                    .collect(),
                None => vec![spec.trim().to_string()],
            };
            for l in lines {
                v.push(age::x25519::Recipient::from_str(&l).map_err(|e| {
                    format!("--encrypt-to {l:?}: not an age recipient (age1…): {e}")
                })?);
            }
        }
        Ok(Recipients(v))
    }

    /// True when nothing is to be encrypted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn encryptor(&self) -> io::Result<age::Encryptor> {
        age::Encryptor::with_recipients(self.0.iter().map(|r| r as &dyn age::Recipient))
            .map_err(|e| io::Error::other(format!("encryption: {e}")))
    }

    /// An age writer over `out`.
    ///
    /// # Errors
    /// Writing the age header.
    pub fn writer<W: Write>(&self, out: W) -> io::Result<age::stream::StreamWriter<W>> {
        self.encryptor()?.wrap_output(out)
    }

    /// Encrypts a small buffer.
    ///
    /// # Errors
    /// Encryption errors.
    pub fn encrypt(&self, data: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut w = self.writer(&mut out)?;
        w.write_all(data)?;
        w.finish()?;
        Ok(out)
    }
}

/// Private keys to decrypt with.
pub struct Identities(Vec<Box<dyn age::Identity>>);

impl std::fmt::Debug for Identities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identities({})", self.0.len())
    }
}

impl Identities {
    /// Reads an age identity file.
    ///
    /// # Errors
    /// An unreadable file or one without an identity (the key itself is never in a message).
    pub fn from_file(path: &str) -> Result<Identities, String> {
        let file = age::IdentityFile::from_file(path.to_string())
            .map_err(|e| format!("--decrypt-with {path}: {e}"))?;
        let ids = file
            .into_identities()
            .map_err(|e| format!("--decrypt-with {path}: {e}"))?;
        if ids.is_empty() {
            return Err(format!(
                "--decrypt-with {path}: no age identity in it (expected AGE-SECRET-KEY-1…, as age-keygen writes)"
            ));
        }
        Ok(Identities(ids))
    }

    /// A reader of the plaintext of `input`.
    ///
    /// # Errors
    /// Not an age file, or none of the keys opens it.
    pub fn reader<'a, R: BufRead + 'a>(&self, input: R) -> Result<Box<dyn Read + 'a>, String> {
        let d = age::Decryptor::new_buffered(input)
            .map_err(|e| format!("not an age-encrypted object: {e}"))?;
        let r = d
            .decrypt(self.0.iter().map(|i| i.as_ref() as &dyn age::Identity))
            .map_err(|e| match e {
                age::DecryptError::NoMatchingKeys => {
                    "the key given does not open this backup (it was encrypted to other recipients)"
                        .to_string()
                }
                e => format!("decryption failed: {e}"),
            })?;
        Ok(Box::new(r))
    }

    /// Decrypts a small buffer.
    ///
    /// # Errors
    /// See [`Identities::reader`].
    pub fn decrypt(&self, data: &[u8]) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        self.reader(io::BufReader::new(data))?
            .read_to_end(&mut out)
            .map_err(|e| format!("decryption failed: {e}"))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use age::secrecy::ExposeSecret;

    #[test]
    fn round_trip_and_wrong_key() {
        let id = age::x25519::Identity::generate();
        let other = age::x25519::Identity::generate();
        let r = Recipients::parse(&[id.to_public().to_string()]).unwrap();
        let sealed = r.encrypt(b"the tree").unwrap();
        assert!(!sealed.windows(8).any(|w| w == b"the tree"));
        let t = tempfile::tempdir().unwrap();
        let key = t.path().join("key");
        std::fs::write(&key, format!("{}\n", id.to_string().expose_secret())).unwrap();
        let ids = Identities::from_file(key.to_str().unwrap()).unwrap();
        assert_eq!(ids.decrypt(&sealed).unwrap(), b"the tree");
        std::fs::write(&key, format!("{}\n", other.to_string().expose_secret())).unwrap();
        let wrong = Identities::from_file(key.to_str().unwrap()).unwrap();
        let e = wrong.decrypt(&sealed).unwrap_err();
        assert!(e.contains("does not open"), "{e}");
        assert!(Recipients::parse(&["nope".into()]).is_err());
    }
}
