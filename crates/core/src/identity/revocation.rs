//! The revocation index: every revocation event, held in memory as hash maps keyed by what it
//! revokes, so checking a token costs a few hash lookups however many events accumulate.
//! Events live in the store; each node replays the ones it has not seen (`sync`), which is
//! how a revocation made on one node reaches the others.

use std::collections::HashMap;

use hybridstack_store::Store;
use parking_lot::RwLock;

use super::token::TokenPayload;
use crate::CoreError;

pub const BY_AUDIT_ID: &str = "audit_id";
pub const BY_USER: &str = "user";
pub const BY_APP_CRED: &str = "app_cred";

#[derive(Default)]
struct Index {
    /// kind → value → newest `issued_before`.
    events: HashMap<&'static str, HashMap<String, i64>>,
    last_seq: i64,
}

#[derive(Default)]
pub struct RevocationIndex {
    inner: RwLock<Index>,
}

fn kind_key(kind: &str) -> Option<&'static str> {
    [BY_AUDIT_ID, BY_USER, BY_APP_CRED].into_iter().find(|k| *k == kind)
}

impl RevocationIndex {
    pub fn is_revoked(&self, t: &TokenPayload) -> bool {
        let idx = self.inner.read();
        let hit = |kind: &str, value: &str| {
            idx.events.get(kind).and_then(|m| m.get(value)).is_some_and(|before| t.issued_at <= *before)
        };
        t.audit_ids.iter().any(|a| hit(BY_AUDIT_ID, a))
            || hit(BY_USER, &t.user_id)
            || t.app_cred_id.as_deref().is_some_and(|c| hit(BY_APP_CRED, c))
    }

    /// Replays events the store has that this node has not yet applied.
    pub async fn sync(&self, store: &Store) -> Result<usize, CoreError> {
        let after = self.inner.read().last_seq;
        let new = store.revocations_since(after).await?;
        if new.is_empty() {
            return Ok(0);
        }
        let mut idx = self.inner.write();
        for e in &new {
            if let Some(kind) = kind_key(&e.kind) {
                let slot = idx.events.entry(kind).or_default().entry(e.value.clone()).or_insert(i64::MIN);
                *slot = (*slot).max(e.issued_before);
            }
            idx.last_seq = idx.last_seq.max(e.seq);
        }
        Ok(new.len())
    }

    pub fn len(&self) -> usize {
        self.inner.read().events.values().map(HashMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
