//! Secrets at rest and on the wire: the master key, the keys derived from it, client-secret
//! digests, sealing (AES-256-GCM) and random values.
//!
//! Client secrets are 256-bit random strings. They are checked through HMAC-SHA256 under a key
//! derived from the master key (fast, and `ring::hmac::verify` compares in constant time), and
//! kept sealed so that the portal can show them to their owner again. A password KDF would buy
//! nothing for 256-bit random values and would make the token endpoint slow.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use std::sync::atomic::{AtomicU64, Ordering};
use tessera_core::message;

use crate::error::{Result, ServiceError};

const NONCE_LEN: usize = 12;

/// The 256-bit master key every other secret at rest is derived from.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    pub fn generate() -> Result<Self> {
        let mut bytes = [0u8; 32];
        SystemRandom::new().fill(&mut bytes).map_err(|_| ServiceError::Internal("no randomness".into()))?;
        Ok(Self(bytes))
    }

    /// Parses the base64url text form (as kept in the key file or `TESSERA_MASTER_KEY`).
    pub fn parse(text: &str) -> Result<Self> {
        let bytes = B64
            .decode(text.trim())
            .map_err(|_| ServiceError::invalid(message!("master-key-not-base64url", "the master key is not valid base64url")))?;
        let bytes: [u8; 32] =
            bytes.try_into().map_err(|_| ServiceError::invalid(message!("master-key-length", "the master key must be 32 bytes")))?;
        Ok(Self(bytes))
    }

    pub fn to_text(&self) -> String {
        B64.encode(self.0)
    }

    fn derive(&self, label: &str) -> [u8; 32] {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        let tag = hmac::sign(&key, label.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }
}

/// How many token-id counter values a thread takes at a time.
const TOKEN_ID_BLOCK: u64 = 4_096;

/// The working keys derived from the master key.
pub struct SecretKeys {
    client_secret_mac: hmac::Key,
    /// Token ids are HMAC(key, counter): unique and unpredictable without a system call per
    /// token. The key is random per process, so two nodes never collide.
    token_id_key: hmac::Key,
    /// Hands out blocks of counter values to threads ([`TOKEN_ID_BLOCK`]), so issuing a token
    /// writes no counter that other cores read.
    token_counter: AtomicU64,
    /// Each thread's block: the next value and the end (`metrics::PerThreadMap`: a lock only
    /// that thread takes, on a line of its own).
    token_blocks: crate::metrics::PerThreadMap<(u64, u64)>,
    /// Keys the hashes under which codes, refresh tokens and session ids are stored, so a copy
    /// of the database cannot be used to look them up.
    lookup_mac: hmac::Key,
    /// Keys CSRF tokens, which bind a form to the browser (its session or pre-login cookie).
    csrf_mac: hmac::Key,
    /// Keys the DPoP nonces (RFC 9449 §8): a nonce is the MAC of a time slot, so every node
    /// with the master key issues and accepts the same ones without shared state.
    dpop_nonce_mac: hmac::Key,
    seal: LessSafeKey,
    check: String,
    rng: SystemRandom,
}

/// Whether `value` could be one of our random bearer values (session ids, codes, refresh and
/// setup tokens are 43 characters): empty or oversized values are never hashed or looked up.
pub fn plausible_token(value: &str) -> bool {
    !value.is_empty() && value.len() <= 128
}

impl std::fmt::Debug for SecretKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKeys(<redacted>)")
    }
}

impl SecretKeys {
    pub fn new(master: &MasterKey) -> Result<Self> {
        let seal = UnboundKey::new(&aead::AES_256_GCM, &master.derive("tessera/seal/v1"))
            .map_err(|_| ServiceError::Internal("bad seal key".into()))?;
        let rng = SystemRandom::new();
        let mut token_id_key = [0u8; 32];
        rng.fill(&mut token_id_key).map_err(|_| ServiceError::Internal("no randomness".into()))?;
        Ok(Self {
            client_secret_mac: hmac::Key::new(hmac::HMAC_SHA256, &master.derive("tessera/client-secret/v1")),
            token_id_key: hmac::Key::new(hmac::HMAC_SHA256, &token_id_key),
            token_counter: AtomicU64::new(0),
            token_blocks: crate::metrics::PerThreadMap::default(),
            lookup_mac: hmac::Key::new(hmac::HMAC_SHA256, &master.derive("tessera/lookup/v1")),
            csrf_mac: hmac::Key::new(hmac::HMAC_SHA256, &master.derive("tessera/csrf/v1")),
            dpop_nonce_mac: hmac::Key::new(hmac::HMAC_SHA256, &master.derive("tessera/dpop-nonce/v1")),
            seal: LessSafeKey::new(seal),
            check: B64.encode(master.derive("tessera/master-key-check/v1")),
            rng,
        })
    }

    /// A value stored with the data that tells whether a master key is the one it was sealed
    /// with, without revealing the key.
    pub fn check_value(&self) -> &str {
        &self.check
    }

    /// The keyed digest of a client secret.
    pub fn secret_tag(&self, secret: &str) -> Vec<u8> {
        hmac::sign(&self.client_secret_mac, secret.as_bytes()).as_ref().to_vec()
    }

    /// Constant-time check of a presented secret against a stored digest.
    pub fn secret_matches(&self, secret: &str, tag: &[u8]) -> bool {
        hmac::verify(&self.client_secret_mac, secret.as_bytes(), tag).is_ok()
    }

    /// The stored form of a bearer secret (code, refresh token, session id): a keyed hash.
    pub fn lookup_hash(&self, value: &str) -> Vec<u8> {
        hmac::sign(&self.lookup_mac, value.as_bytes()).as_ref().to_vec()
    }

    /// The CSRF token of the forms shown to a browser whose cookie is `binding`.
    pub fn csrf_token(&self, binding: &str) -> String {
        B64.encode(hmac::sign(&self.csrf_mac, binding.as_bytes()).as_ref())
    }

    /// The DPoP nonce of the time slot holding `now` (slots of
    /// [`tessera_core::dpop::NONCE_SLOT`] seconds).
    pub fn dpop_nonce(&self, now: i64) -> String {
        let slot = now.div_euclid(tessera_core::dpop::NONCE_SLOT);
        B64.encode(&hmac::sign(&self.dpop_nonce_mac, &slot.to_be_bytes()).as_ref()[..16])
    }

    /// The nonces accepted at `now`: the current slot's and the previous one's, so a nonce
    /// handed out just before a slot ends still works.
    pub fn dpop_nonces(&self, now: i64) -> [String; 2] {
        [self.dpop_nonce(now), self.dpop_nonce(now - tessera_core::dpop::NONCE_SLOT)]
    }

    /// Constant-time check of a submitted CSRF token.
    pub fn csrf_matches(&self, binding: &str, token: &str) -> bool {
        B64.decode(token).is_ok_and(|tag| hmac::verify(&self.csrf_mac, binding.as_bytes(), &tag).is_ok())
    }

    /// Seals `plaintext`, bound to `context` (e.g. `client-secret:ID`) so a sealed value cannot
    /// be moved to another row.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| ServiceError::Internal("no randomness".into()))?;
        let mut buf = plaintext.to_vec();
        self.seal
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(context.as_bytes()), &mut buf)
            .map_err(|_| ServiceError::Internal("seal failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(out)
    }

    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            return Err(ServiceError::Internal("sealed value too short".into()));
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| ServiceError::Internal("bad nonce".into()))?;
        let mut buf = body.to_vec();
        let plain = self
            .seal
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buf)
            .map_err(|_| ServiceError::Internal("a sealed value does not open with this master key".into()))?;
        Ok(plain.to_vec())
    }

    /// A fresh 128-bit token id (`jti`), base64url.
    pub fn token_id(&self) -> String {
        let n = self.token_blocks.update(|(next, end)| {
            if *next >= *end {
                *next = self.token_counter.fetch_add(TOKEN_ID_BLOCK, Ordering::Relaxed);
                *end = *next + TOKEN_ID_BLOCK;
            }
            *next += 1;
            *next - 1
        });
        let tag = hmac::sign(&self.token_id_key, &n.to_le_bytes());
        B64.encode(&tag.as_ref()[..16])
    }

    /// `n` random bytes.
    pub fn random_bytes(&self, n: usize) -> Result<Vec<u8>> {
        let mut bytes = vec![0u8; n];
        self.rng.fill(&mut bytes).map_err(|_| ServiceError::Internal("no randomness".into()))?;
        Ok(bytes)
    }

    /// `n` random bytes as base64url.
    pub fn random_token(&self, n: usize) -> Result<String> {
        let mut bytes = vec![0u8; n];
        self.rng.fill(&mut bytes).map_err(|_| ServiceError::Internal("no randomness".into()))?;
        Ok(B64.encode(bytes))
    }

    /// A random identifier of `len` characters from `[A-Za-z0-9]` (never starts with `-`, so
    /// it is safe as a command-line argument).
    pub fn random_id(&self, len: usize) -> Result<String> {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut out = String::with_capacity(len);
        let mut buf = [0u8; 64];
        while out.len() < len {
            self.rng.fill(&mut buf).map_err(|_| ServiceError::Internal("no randomness".into()))?;
            // 248 = 4 × 62: rejecting larger bytes keeps every character equally likely.
            for b in buf.iter().filter(|b| **b < 248) {
                if out.len() == len {
                    break;
                }
                out.push(char::from(ALPHABET[usize::from(*b % 62)]));
            }
        }
        Ok(out)
    }
}

/// Lower-case hex of `bytes`, for keyed hashes kept as text.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn seal_roundtrip_is_bound_to_context_and_key() {
        let keys = SecretKeys::new(&MasterKey::generate().unwrap()).unwrap();
        let sealed = keys.seal("client-secret:a", b"hello").unwrap();
        assert_eq!(keys.open("client-secret:a", &sealed).unwrap(), b"hello");
        assert!(keys.open("client-secret:b", &sealed).is_err());
        let other = SecretKeys::new(&MasterKey::generate().unwrap()).unwrap();
        assert!(other.open("client-secret:a", &sealed).is_err());
    }

    #[test]
    fn secret_tags_verify() {
        let keys = SecretKeys::new(&MasterKey::generate().unwrap()).unwrap();
        let tag = keys.secret_tag("s3cret");
        assert!(keys.secret_matches("s3cret", &tag));
        assert!(!keys.secret_matches("s3cres", &tag));
        assert!(!keys.secret_matches("s3cret", &[0u8; 32]));
    }

    #[test]
    fn random_ids_use_the_safe_alphabet() {
        let keys = SecretKeys::new(&MasterKey::generate().unwrap()).unwrap();
        let id = keys.random_id(20).unwrap();
        assert_eq!(id.len(), 20);
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
        let master = MasterKey::generate().unwrap();
        assert_eq!(MasterKey::parse(&master.to_text()).unwrap().0, master.0);
    }

    #[test]
    fn token_ids_stay_unique_across_threads_and_key_sets() {
        let keys = Arc::new(SecretKeys::new(&MasterKey::generate().unwrap()).unwrap());
        let other = SecretKeys::new(&MasterKey::generate().unwrap()).unwrap();
        let mut ids = std::collections::HashSet::new();
        // One thread switching between two key sets, past a block's end, and three more.
        for _ in 0..(TOKEN_ID_BLOCK + 10) {
            assert!(ids.insert(keys.token_id()));
            let _ = other.token_id();
        }
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let keys = keys.clone();
                std::thread::spawn(move || (0..TOKEN_ID_BLOCK + 10).map(|_| keys.token_id()).collect::<Vec<_>>())
            })
            .collect();
        for thread in threads {
            for id in thread.join().unwrap() {
                assert!(ids.insert(id), "a token id was handed out twice");
            }
        }
    }
}
