//! Secrets at rest: channel credentials (an HTTP entry point's signing secret today) are stored
//! sealed with ChaCha20-Poly1305 under the deployment's key, never in plain text; the API
//! takes them and never gives them back. The key is 32 bytes: `SWITCHYARD_SECRET_KEY` (64 hex
//! digits), or the data directory's `secret.key`, made owner-only on the first start.

use std::fmt;
use std::path::Path;

use chacha20poly1305::aead::Aead;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit};
use uuid::Uuid;

/// The deployment's key.
#[derive(Clone)]
pub struct SecretBox {
    key: [u8; 32],
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBox(…)")
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    for chunk in out.chunks_mut(16) {
        let r = Uuid::new_v4();
        chunk.copy_from_slice(&r.as_bytes()[..chunk.len()]);
    }
    out
}

impl SecretBox {
    /// A key of its own (tests, and deployments that give none: secrets then last as long as
    /// the process).
    pub fn random() -> SecretBox {
        SecretBox {
            key: random_bytes::<32>(),
        }
    }

    /// Reads a key written as 64 hex digits.
    pub fn from_hex(s: &str) -> Option<SecretBox> {
        let bytes = unhex(s.trim())?;
        let key: [u8; 32] = bytes.try_into().ok()?;
        Some(SecretBox { key })
    }

    /// The key in `dir/secret.key`, created (owner-only) when missing.
    pub fn load_or_create(dir: &Path) -> std::io::Result<SecretBox> {
        let path = dir.join("secret.key");
        match std::fs::read_to_string(&path) {
            Ok(text) => SecretBox::from_hex(&text).ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} does not hold a key (64 hex digits)", path.display()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = SecretBox::random();
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                use std::io::Write;
                options.open(&path)?.write_all(hex(&key.key).as_bytes())?;
                Ok(key)
            }
            Err(e) => Err(e),
        }
    }

    /// Seals a secret: `v1:` and the nonce and ciphertext in hex.
    pub fn seal(&self, plain: &str) -> String {
        let cipher = ChaCha20Poly1305::new(&self.key.into());
        let nonce: [u8; 12] = random_bytes::<12>();
        match cipher.encrypt(&nonce.into(), plain.as_bytes()) {
            Ok(sealed) => format!("v1:{}{}", hex(&nonce), hex(&sealed)),
            // only for inputs of gigabytes, which nothing here accepts
            Err(_) => String::new(),
        }
    }

    /// Opens a sealed secret; `None` when it was sealed under another key or altered.
    pub fn open(&self, sealed: &str) -> Option<String> {
        let bytes = unhex(sealed.strip_prefix("v1:")?)?;
        if bytes.len() < 12 {
            return None;
        }
        let (nonce, body) = bytes.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().ok()?;
        let cipher = ChaCha20Poly1305::new(&self.key.into());
        let plain = cipher.decrypt(&nonce.into(), body).ok()?;
        String::from_utf8(plain).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_under_their_key_only() {
        let a = SecretBox::random();
        let sealed = a.seal("the channel secret");
        assert!(!sealed.contains("channel"));
        assert_ne!(
            sealed,
            a.seal("the channel secret"),
            "a fresh nonce each time"
        );
        assert_eq!(a.open(&sealed).as_deref(), Some("the channel secret"));
        assert_eq!(SecretBox::random().open(&sealed), None);
        let mut altered = sealed.clone();
        altered.pop();
        altered.push('0');
        assert!(a.open(&altered).is_none() || altered == sealed);
        let dir = tempfile::tempdir().unwrap();
        let k1 = SecretBox::load_or_create(dir.path()).unwrap();
        let k2 = SecretBox::load_or_create(dir.path()).unwrap();
        assert_eq!(k2.open(&k1.seal("x")).as_deref(), Some("x"));
        assert_eq!(format!("{k1:?}"), "SecretBox(…)");
    }
}
