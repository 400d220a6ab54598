//! The token format. A token is the base64url of a payload sealed with AES-256-GCM under the
//! token key ring, so any node holding the keys validates it without a database read, and
//! nobody can forge or read one. It carries identifiers only; names and roles are resolved
//! at validation time so that role changes take effect on live tokens.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::keys::KeyRing;
use crate::CoreError;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TokenScope {
    #[serde(rename = "p")]
    Project(String),
    #[serde(rename = "d")]
    Domain(String),
    #[serde(rename = "s")]
    System,
    #[serde(rename = "u")]
    Unscoped,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenPayload {
    #[serde(rename = "u")]
    pub user_id: String,
    #[serde(rename = "m")]
    pub methods: Vec<String>,
    #[serde(rename = "s")]
    pub scope: TokenScope,
    /// Unix microseconds.
    #[serde(rename = "i")]
    pub issued_at: i64,
    #[serde(rename = "e")]
    pub expires_at: i64,
    /// This token's audit id, then the one of the token it was rescoped from, if any.
    #[serde(rename = "a")]
    pub audit_ids: Vec<String>,
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    pub app_cred_id: Option<String>,
}

impl TokenPayload {
    pub fn seal(&self, ring: &KeyRing) -> Result<String, CoreError> {
        let json = serde_json::to_vec(self).map_err(|e| CoreError::Internal(e.to_string()))?;
        Ok(B64.encode(ring.seal(&json)?))
    }

    /// `None` for anything that is not a token sealed by this ring.
    pub fn open(token: &str, ring: &KeyRing) -> Option<Self> {
        if token.len() > 4096 {
            return None;
        }
        let sealed = B64.decode(token.trim()).ok()?;
        serde_json::from_slice(&ring.open(&sealed)?).ok()
    }
}

/// A token already opened, with the principal last resolved for it.
pub(crate) struct Opened {
    pub payload: std::sync::Arc<TokenPayload>,
    pub(crate) principal: parking_lot::RwLock<Option<super::stamped::Stamped<super::Principal>>>,
}

/// Tokens already opened, by their text: a token's payload never changes, so each is
/// decrypted once. Bounded; cleared when full.
#[derive(Default)]
pub(crate) struct OpenedTokens {
    map: parking_lot::RwLock<std::collections::HashMap<String, std::sync::Arc<Opened>>>,
}

const MAX_OPENED: usize = 100_000;

impl OpenedTokens {
    pub(crate) fn open(&self, token: &str, ring: &KeyRing) -> Option<std::sync::Arc<Opened>> {
        if let Some(p) = self.map.read().get(token) {
            return Some(p.clone());
        }
        let payload = std::sync::Arc::new(TokenPayload::open(token, ring)?);
        let p = std::sync::Arc::new(Opened { payload, principal: Default::default() });
        let mut map = self.map.write();
        if map.len() >= MAX_OPENED {
            map.clear();
        }
        map.insert(token.to_string(), p.clone());
        Some(p)
    }
}

pub fn new_audit_id() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    B64.encode(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_tampering() {
        let ring = KeyRing::generate();
        let p = TokenPayload {
            user_id: "u1".into(),
            methods: vec!["password".into()],
            scope: TokenScope::Project("p1".into()),
            issued_at: 1,
            expires_at: 2,
            audit_ids: vec![new_audit_id()],
            app_cred_id: None,
        };
        let t = p.seal(&ring).expect("seal");
        assert_eq!(TokenPayload::open(&t, &ring), Some(p));
        let mut chars: Vec<char> = t.chars().collect();
        chars[10] = if chars[10] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        assert_eq!(TokenPayload::open(&tampered, &ring), None);
        assert_eq!(TokenPayload::open("garbage", &ring), None);
        assert_eq!(TokenPayload::open(&t, &KeyRing::generate()), None);
    }
}
