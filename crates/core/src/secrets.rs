//! Hashing of what users prove themselves with.
//!
//! Passwords are chosen by people, so they get bcrypt at a production cost. Application
//! credential secrets that we generate carry 512 bits of randomness: no offline guessing
//! can succeed against them, so a single SHA-256 is as safe as bcrypt there and lets
//! application-credential logins run at full speed. A secret the user supplied is treated
//! like a password. The stored form is tagged so that both kinds verify.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::CoreError;

/// Keystone's default bcrypt cost.
pub const DEFAULT_BCRYPT_COST: u32 = 12;
const GENERATED_PREFIX: &str = "sha256$";

#[derive(Debug, Clone, Copy)]
pub struct PasswordHasher {
    cost: u32,
}

impl PasswordHasher {
    pub fn new(cost: u32) -> Result<Self, CoreError> {
        if !(4..=31).contains(&cost) {
            return Err(CoreError::BadRequest(format!("bcrypt cost {cost} is outside 4..=31")));
        }
        Ok(Self { cost })
    }

    pub fn cost(&self) -> u32 {
        self.cost
    }

    /// CPU-heavy: call from a blocking thread.
    pub fn hash(&self, password: &str) -> Result<String, CoreError> {
        bcrypt::hash(password, self.cost).map_err(|e| CoreError::Internal(format!("bcrypt: {e}")))
    }

    /// CPU-heavy: call from a blocking thread. A malformed stored hash never matches.
    pub fn verify(&self, password: &str, stored: &str) -> bool {
        if let Some(hex) = stored.strip_prefix(GENERATED_PREFIX) {
            return sha256_hex(password).as_bytes().ct_eq(hex.as_bytes()).into();
        }
        bcrypt::verify(password, stored).unwrap_or(false)
    }

    /// Whether verifying against `stored` is cheap enough to do inline (a digest, not bcrypt).
    pub fn is_cheap(stored: &str) -> bool {
        stored.starts_with(GENERATED_PREFIX)
    }

    /// A fresh application-credential secret and its stored form.
    pub fn generate_secret(&self) -> (String, String) {
        let mut raw = [0u8; 64];
        rand::rngs::OsRng.fill_bytes(&mut raw);
        let secret = B64.encode(raw);
        let stored = format!("{GENERATED_PREFIX}{}", sha256_hex(&secret));
        (secret, stored)
    }
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let h = PasswordHasher::new(4).expect("cost");
        let stored = h.hash("correct horse").expect("hash");
        assert!(stored.starts_with("$2"));
        assert!(h.verify("correct horse", &stored));
        assert!(!h.verify("wrong horse", &stored));
        assert!(!h.verify("x", "garbage"));
    }

    #[test]
    fn generated_secrets_verify_by_digest() {
        let h = PasswordHasher::new(4).expect("cost");
        let (secret, stored) = h.generate_secret();
        assert!(stored.starts_with(GENERATED_PREFIX));
        assert!(h.verify(&secret, &stored));
        assert!(!h.verify(&format!("{secret}x"), &stored));
        let (other, _) = h.generate_secret();
        assert_ne!(secret, other);
    }

    #[test]
    fn out_of_range_cost_is_refused() {
        assert!(PasswordHasher::new(3).is_err());
        assert!(PasswordHasher::new(32).is_err());
    }
}
