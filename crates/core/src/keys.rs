//! Key material under `<data-dir>/keys`: the token keys (first line is the primary, the
//! rest still validate, so keys rotate without logging anyone out) and the credential key
//! that seals cloud credentials at rest. Nodes that share these files share tokens.

use std::io::Write;
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::CoreError;

const TOKEN_KEYS: &str = "token-keys";
const CREDENTIAL_KEY: &str = "credential-key";

/// One AES-256-GCM key with a one-byte id (the first byte of its SHA-256), so a token names
/// the key that sealed it without revealing it.
#[derive(Clone)]
pub struct SealKey {
    id: u8,
    cipher: Aes256Gcm,
}

impl SealKey {
    fn from_bytes(bytes: &[u8]) -> Result<Self, CoreError> {
        if bytes.len() != 32 {
            return Err(CoreError::Internal("a key must be 32 bytes".into()));
        }
        let id = Sha256::digest(bytes)[0];
        Ok(Self { id, cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(bytes)) })
    }
}

/// Seals with the primary key and opens with any key on the ring.
#[derive(Clone)]
pub struct KeyRing {
    keys: Vec<SealKey>,
}

impl KeyRing {
    pub fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, CoreError> {
        let key = self.keys.first().ok_or_else(|| CoreError::Internal("empty key ring".into()))?;
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ct = key.cipher.encrypt(&nonce, plaintext).map_err(|_| CoreError::Internal("encryption failed".into()))?;
        let mut out = Vec::with_capacity(1 + nonce.len() + ct.len());
        out.push(key.id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// `None` when no key on the ring opens it (tampered, or sealed by a retired key).
    pub fn open(&self, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < 1 + 12 + 16 {
            return None;
        }
        let (id, rest) = (sealed[0], &sealed[1..]);
        let (nonce, ct) = rest.split_at(12);
        self.keys.iter().filter(|k| k.id == id).find_map(|k| k.cipher.decrypt(Nonce::from_slice(nonce), ct).ok())
    }

    pub fn generate() -> Self {
        let key = Aes256Gcm::generate_key(&mut OsRng);
        Self { keys: vec![SealKey { id: Sha256::digest(key)[0], cipher: Aes256Gcm::new(&key) }] }
    }
}

/// The keys of one data dir.
#[derive(Clone)]
pub struct Keys {
    pub token: KeyRing,
    pub credential: KeyRing,
}

fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("keys")
}

fn read_ring(path: &Path) -> Result<KeyRing, CoreError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CoreError::Internal(format!("cannot read {}: {e}; run `hybridstack bootstrap`", path.display()))
    })?;
    let mut keys = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let bytes = B64
            .decode(line)
            .map_err(|_| CoreError::Internal(format!("{} holds a line that is not a base64 key", path.display())))?;
        keys.push(SealKey::from_bytes(&bytes)?);
    }
    if keys.is_empty() {
        return Err(CoreError::Internal(format!("{} holds no key", path.display())));
    }
    Ok(KeyRing { keys })
}

fn write_new_key(path: &Path) -> Result<(), CoreError> {
    let key = Aes256Gcm::generate_key(&mut OsRng);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| CoreError::Internal(format!("cannot create {}: {e}", path.display())))?;
    writeln!(f, "{}", B64.encode(key)).map_err(|e| CoreError::Internal(format!("cannot write {}: {e}", path.display())))
}

impl Keys {
    /// Creates whichever key files are missing; returns the names of those it created.
    pub fn create_missing(data_dir: &Path) -> Result<Vec<&'static str>, CoreError> {
        let d = dir(data_dir);
        std::fs::create_dir_all(&d).map_err(|e| CoreError::Internal(format!("cannot create {}: {e}", d.display())))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700));
        }
        let mut made = Vec::new();
        for name in [TOKEN_KEYS, CREDENTIAL_KEY] {
            let path = d.join(name);
            if !path.exists() {
                write_new_key(&path)?;
                made.push(name);
            }
        }
        Ok(made)
    }

    pub fn load(data_dir: &Path) -> Result<Self, CoreError> {
        let d = dir(data_dir);
        Ok(Self { token: read_ring(&d.join(TOKEN_KEYS))?, credential: read_ring(&d.join(CREDENTIAL_KEY))? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_data_opens_only_with_its_ring_and_unaltered() {
        let ring = KeyRing::generate();
        let sealed = ring.seal(b"secret").expect("seal");
        assert_eq!(ring.open(&sealed).as_deref(), Some(&b"secret"[..]));
        let mut bad = sealed.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(ring.open(&bad), None);
        assert_eq!(KeyRing::generate().open(&sealed), None);
    }

    #[test]
    fn key_files_are_created_once_and_reload() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(Keys::create_missing(dir.path()).expect("create").len(), 2);
        assert!(Keys::create_missing(dir.path()).expect("again").is_empty());
        let a = Keys::load(dir.path()).expect("load");
        let b = Keys::load(dir.path()).expect("load");
        let sealed = a.token.seal(b"x").expect("seal");
        assert_eq!(b.token.open(&sealed).as_deref(), Some(&b"x"[..]));
        assert_eq!(b.credential.open(&sealed), None);
    }

    #[test]
    fn a_rotated_ring_still_opens_old_tokens() {
        let dir = tempfile::tempdir().expect("tempdir");
        Keys::create_missing(dir.path()).expect("create");
        let old = Keys::load(dir.path()).expect("load");
        let sealed = old.token.seal(b"old").expect("seal");
        let path = dir.path().join("keys").join(TOKEN_KEYS);
        let previous = std::fs::read_to_string(&path).expect("read");
        let fresh = B64.encode(Aes256Gcm::generate_key(&mut OsRng));
        std::fs::write(&path, format!("{fresh}\n{previous}")).expect("write");
        let rotated = Keys::load(dir.path()).expect("reload");
        assert_eq!(rotated.token.open(&sealed).as_deref(), Some(&b"old"[..]));
        let new = rotated.token.seal(b"new").expect("seal");
        assert_eq!(old.token.open(&new), None);
    }
}
