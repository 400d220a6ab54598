//! Keypairs: SSH public keys (or x509 certificates, microversion 2.2+) a user keeps for
//! injecting into servers. Generated keys hand the private half back once and never store it.

use hybridstack_store::documents::Document;
use hybridstack_store::write::Expect;
use hybridstack_store::StoreError;
use md5::{Digest, Md5};

use super::model::Keypair;
use super::{now, Compute};
use crate::policy::RequestContext;
use crate::CoreError;

const KIND: &str = "keypair";

#[derive(Debug, Clone, Default)]
pub struct KeypairRequest {
    pub name: String,
    pub public_key: Option<String>,
    /// `ssh` (default) or `x509`
    pub kind: Option<String>,
    /// Admins may create keypairs for another user (2.10+).
    pub user_id: Option<String>,
}

fn key_id(user: &str, name: &str) -> String {
    format!("{user}/{name}")
}

fn not_found(name: &str) -> CoreError {
    CoreError::NotFound(format!("Keypair {name} not found for this user."))
}

fn colon_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

/// Nova's SSH fingerprint: MD5 of the key blob, as colon-separated hex. The blob is checked to
/// be an SSH wire-format key whose first field names the same algorithm as the line does;
/// that is all a fingerprint needs, and it accepts every algorithm OpenSSH does.
fn ssh_fingerprint(public_key: &str) -> Result<String, CoreError> {
    use base64::Engine;
    let invalid = || CoreError::BadRequest("Keypair data is invalid: failed to generate fingerprint.".into());
    let mut parts = public_key.split_whitespace();
    let (algo, data) = (parts.next().ok_or_else(invalid)?, parts.next().ok_or_else(invalid)?);
    let blob = base64::engine::general_purpose::STANDARD.decode(data).map_err(|_| invalid())?;
    let len = blob.get(..4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize).ok_or_else(invalid)?;
    let name = blob.get(4..4 + len).ok_or_else(invalid)?;
    if name != algo.as_bytes() || blob.len() <= 4 + len {
        return Err(invalid());
    }
    Ok(colon_hex(&Md5::digest(&blob)))
}

/// An x509 certificate's fingerprint: SHA-1 of its DER, as Nova computes it.
fn x509_fingerprint(pem_text: &str) -> Result<String, CoreError> {
    use base64::Engine;
    use sha1::Sha1;
    let body: String = pem_text.lines().filter(|l| !l.starts_with("-----")).map(str::trim).collect();
    let begins = pem_text.trim_start().starts_with("-----BEGIN CERTIFICATE-----");
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .ok()
        .filter(|d| begins && !d.is_empty())
        .ok_or_else(|| CoreError::BadRequest("Keypair data is invalid: not a PEM certificate.".into()))?;
    Ok(colon_hex(&Sha1::digest(&der)))
}

fn generate_ssh() -> Result<(String, String), CoreError> {
    let private = ssh_key::PrivateKey::random(&mut rand::rngs::OsRng, ssh_key::Algorithm::Ed25519)
        .map_err(|e| CoreError::Internal(format!("key generation failed: {e}")))?;
    let public = private.public_key().to_openssh().map_err(|e| CoreError::Internal(e.to_string()))?;
    let pem = private.to_openssh(ssh_key::LineEnding::LF).map_err(|e| CoreError::Internal(e.to_string()))?.to_string();
    Ok((public, pem))
}

fn generate_x509(user: &str) -> Result<(String, String), CoreError> {
    let key = rcgen::KeyPair::generate().map_err(|e| CoreError::Internal(format!("key generation failed: {e}")))?;
    let mut params =
        rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| CoreError::Internal(e.to_string()))?;
    params.distinguished_name.push(rcgen::DnType::CommonName, user);
    let cert = params.self_signed(&key).map_err(|e| CoreError::Internal(e.to_string()))?;
    Ok((cert.pem(), key.serialize_pem()))
}

pub(crate) fn valid_name(name: &str) -> bool {
    !name.trim().is_empty()
        && name.chars().count() <= 255
        && name.chars().all(|c| c.is_alphanumeric() || "-_ .@".contains(c))
}

impl Compute {
    fn keypair_decode(o: &Document) -> Result<Keypair, CoreError> {
        crate::documents::decode(o)
    }

    fn keypair_owner(ctx: &RequestContext, asked: Option<&str>) -> Result<String, CoreError> {
        match asked {
            Some(u) if u != ctx.user_id => {
                ctx.require_admin()?;
                Ok(u.to_string())
            }
            _ => Ok(ctx.user_id.clone()),
        }
    }

    /// Creates (generating when no public key is given) or imports a keypair; returns it and,
    /// when generated, the private key.
    pub async fn keypair_create(
        &self,
        ctx: &RequestContext,
        r: KeypairRequest,
    ) -> Result<(Keypair, Option<String>), CoreError> {
        let user = Self::keypair_owner(ctx, r.user_id.as_deref())?;
        if !valid_name(&r.name) {
            return Err(CoreError::BadRequest(
                "Keypair name contains unsafe characters or is not 1 to 255 characters long.".into(),
            ));
        }
        let kind = r.kind.unwrap_or_else(|| "ssh".into());
        let (public_key, private_key, fingerprint) = match (kind.as_str(), r.public_key) {
            ("ssh", Some(k)) => {
                let fp = ssh_fingerprint(&k)?;
                (k.trim().to_string(), None, fp)
            }
            ("ssh", None) => {
                let (public, private) = generate_ssh()?;
                let fp = ssh_fingerprint(&public)?;
                (public, Some(private), fp)
            }
            ("x509", Some(k)) => {
                let fp = x509_fingerprint(&k)?;
                (k, None, fp)
            }
            ("x509", None) => {
                let (public, private) = generate_x509(&user)?;
                let fp = x509_fingerprint(&public)?;
                (public, Some(private), fp)
            }
            (other, _) => {
                return Err(CoreError::BadRequest(format!("Invalid keypair type {other:?}; use ssh or x509.")))
            }
        };
        let count = self.store.doc_list(KIND, Some(&user)).await?.len();
        let limit = self.quota_limit(ctx.project_id().unwrap_or(""), "key_pairs").await?;
        if limit >= 0 && i64::try_from(count).unwrap_or(i64::MAX) >= limit {
            return Err(CoreError::Forbidden("Quota exceeded, too many key pairs.".into()));
        }
        let t = crate::clock::now_micros();
        let kp = Keypair {
            name: r.name.clone(),
            user_id: user.clone(),
            public_key,
            fingerprint,
            kind,
            created_at: now(),
            id: t,
        };
        let o = Document {
            name: r.name.clone(),
            created_at: t,
            ..crate::documents::document(KIND, &key_id(&user, &r.name), &user, &kp)?
        };
        match self.store.write(&crate::documents::put(o, Expect::New)).await {
            Err(StoreError::Conflict(_)) => Err(CoreError::Conflict(format!("Key pair '{}' already exists.", r.name))),
            other => {
                other?;
                Ok((kp, private_key))
            }
        }
    }

    pub async fn keypair_list(&self, ctx: &RequestContext, user: Option<&str>) -> Result<Vec<Keypair>, CoreError> {
        let user = Self::keypair_owner(ctx, user)?;
        self.store.doc_list(KIND, Some(&user)).await?.iter().map(Self::keypair_decode).collect()
    }

    pub async fn keypair_get(
        &self,
        ctx: &RequestContext,
        name: &str,
        user: Option<&str>,
    ) -> Result<Keypair, CoreError> {
        let user = Self::keypair_owner(ctx, user)?;
        match self.store.doc_get(KIND, &key_id(&user, name)).await {
            Ok(o) => Self::keypair_decode(&o),
            Err(StoreError::NotFound) => Err(not_found(name)),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn keypair_delete(&self, ctx: &RequestContext, name: &str, user: Option<&str>) -> Result<(), CoreError> {
        let user = Self::keypair_owner(ctx, user)?;
        match self.store.doc_delete(KIND, &key_id(&user, name)).await {
            Err(StoreError::NotFound) => Err(not_found(name)),
            other => Ok(other?),
        }
    }
}
