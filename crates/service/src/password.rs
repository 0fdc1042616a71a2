//! User passwords: Argon2id with the crate's default (OWASP-recommended) parameters, computed
//! on a fixed set of dedicated threads.
//!
//! Why dedicated threads with working memory of their own: one Argon2id computation needs
//! 19 MiB. Allocated per call on tokio's blocking pool, whose threads come and go, glibc kept a
//! freed block in the malloc arena of each thread that ever hashed, and a long run of logins
//! grew the resident memory in 19 MiB steps (bench/README.md, soak). Here each thread
//! allocates its blocks once, on its first job, and reuses them, so memory is bounded by the
//! number of threads; the threads also bound how many checks run at once, so a burst of logins
//! queues instead of taking every core from the token endpoint.

use std::collections::HashSet;
use std::io::Read as _;
use std::sync::mpsc;
use std::sync::{Arc, LazyLock, Mutex};

use argon2::password_hash::{Output, PasswordHash, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use std::num::NonZeroU32;
use tessera_core::password_hash::{self, Scheme};
use tessera_core::{Message, message};
use tokio::sync::oneshot;
use unicode_normalization::UnicodeNormalization as _;

use crate::error::{Result, ServiceError};

/// The length rule of new passwords (SPEC §11), in characters of the NFKC form; no composition
/// rules and no expiry.
pub const MIN_LEN: usize = 12;
pub const MAX_LEN: usize = 1024;

/// The 100,000 most common breached passwords (`data/README.md` says where they come from).
const COMMON_PASSWORDS_GZ: &[u8] = include_bytes!("../data/common-passwords.txt.gz");

/// The entries of the list a password of at least [`MIN_LEN`] characters could equal, lower-cased:
/// shorter ones are refused by length anyway. Loaded on first use (a few hundred entries).
static COMMON_PASSWORDS: LazyLock<HashSet<String>> = LazyLock::new(|| {
    let mut text = String::new();
    if flate2::read::GzDecoder::new(COMMON_PASSWORDS_GZ).read_to_string(&mut text).is_err() {
        // Compiled in and pinned by a test: unreachable unless the binary is damaged.
        tracing::error!("the embedded list of common passwords cannot be read");
    }
    text.lines().map(str::to_lowercase).filter(|entry| entry.chars().count() >= MIN_LEN).collect()
});

/// The form a password is hashed and compared in: Unicode NFKC, so that the same characters
/// typed on another keyboard or system (composed or not, full-width or not) are one password.
pub fn normalize(password: &str) -> String {
    password.nfkc().collect()
}

/// Why `password` may not become anyone's new password, in words for the person choosing it;
/// `None` when it may. Checked on the NFKC form.
pub fn new_password_problem(password: &str) -> Option<Message> {
    let normalized = normalize(password);
    let length = normalized.chars().count();
    if length < MIN_LEN || normalized.len() > MAX_LEN {
        return Some(message!("password-length", "A password must have {least} to {most} characters.", least = MIN_LEN, most = MAX_LEN));
    }
    if COMMON_PASSWORDS.contains(&normalized.to_lowercase()) {
        return Some(message!("password-common", "This password is one of the most common ones in known breaches; choose another."));
    }
    None
}

enum Job {
    Hash {
        password: String,
        reply: oneshot::Sender<Result<String>>,
    },
    /// `stored: None`: no such account; the dummy hash is checked instead, so unknown
    /// accounts cost the same as known ones.
    Verify {
        /// The forms of the password to try, in order.
        candidates: Vec<String>,
        stored: Option<String>,
        reply: oneshot::Sender<bool>,
    },
}

/// The hashing threads. Dropping the last handle ends them once the queue is empty.
pub struct Hashers {
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Hashers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hashers").finish_non_exhaustive()
    }
}

impl Hashers {
    /// Starts `threads` hashing threads (at least one).
    pub fn start(threads: usize) -> Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for index in 0..threads.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("tessera-argon2-{index}"))
                .spawn(move || Worker::default().run(&queue))
                .map_err(|e| ServiceError::Internal(format!("cannot start a password hashing thread: {e}")))?;
        }
        Ok(Self { jobs })
    }

    /// A new PHC-format Argon2id hash of `password`'s NFKC form, once it passes
    /// [`new_password_problem`].
    #[tracing::instrument(target = "tessera_spans", name = "password.hash", skip_all)]
    pub async fn hash(&self, password: &str) -> Result<String> {
        if let Some(problem) = new_password_problem(password) {
            return Err(ServiceError::invalid_field("password", problem));
        }
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Hash { password: normalize(password), reply })?;
        answer.await.map_err(|_| lost())?
    }

    /// A new Argon2id hash of a password that just verified against an older hash (one brought
    /// from another vendor): the rule for new passwords does not apply, it is the person's own.
    #[tracing::instrument(target = "tessera_spans", name = "password.hash", skip_all)]
    pub async fn rehash(&self, password: &str) -> Result<String> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Hash { password: normalize(password), reply })?;
        answer.await.map_err(|_| lost())?
    }

    /// Whether `password` matches `stored`; `None` checks against a dummy hash and answers false.
    /// The NFKC form is tried first; a password stored before passwords were normalised is
    /// tried as typed too when that differs (the same number of checks with no account).
    #[tracing::instrument(target = "tessera_spans", name = "password.verify", skip_all)]
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool> {
        let normalized = normalize(&password);
        let candidates = if normalized == password { vec![password] } else { vec![normalized, password] };
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Verify { candidates, stored, reply })?;
        answer.await.map_err(|_| lost())
    }

    fn submit(&self, job: Job) -> Result<()> {
        self.jobs.send(job).map_err(|_| lost())
    }
}

fn lost() -> ServiceError {
    ServiceError::Internal("the password hashing threads are gone".into())
}

#[derive(Default)]
struct Worker {
    /// Argon2 working memory, allocated on the first job and kept.
    blocks: Vec<Block>,
    /// This thread's hash of a password nobody has (see [`Job::Verify`]).
    dummy: Option<String>,
}

impl Worker {
    fn run(mut self, queue: &Mutex<mpsc::Receiver<Job>>) {
        loop {
            // The lock is held only while waiting for the next job, not while hashing.
            let job = match queue.lock() {
                Ok(queue) => queue.recv(),
                Err(_) => return,
            };
            match job {
                Ok(Job::Hash { password, reply }) => {
                    let _ = reply.send(self.hash(&password));
                }
                Ok(Job::Verify { candidates, stored, reply }) => {
                    let matches = match stored {
                        Some(stored) => candidates.iter().any(|password| self.verify(password, &stored)),
                        None => {
                            let dummy = self.dummy_hash();
                            for password in &candidates {
                                self.verify(password, &dummy);
                            }
                            false
                        }
                    };
                    let _ = reply.send(matches);
                }
                Err(mpsc::RecvError) => return,
            }
        }
    }

    fn hash(&mut self, password: &str) -> Result<String> {
        let failed = |_| ServiceError::Internal("password hashing failed".into());
        let params = Params::default();
        let salt = SaltString::generate(&mut OsRng);
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_bytes).map_err(failed)?;
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        argon2
            .hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, self.memory(&params))
            .map_err(|_| ServiceError::Internal("password hashing failed".into()))?;
        let hash = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: (&params).try_into().map_err(failed)?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).map_err(failed)?),
        };
        Ok(hash.to_string())
    }

    /// Whether `password` matches `stored`, whatever scheme made it (SPEC §13: hashes brought
    /// from another vendor), never spending more than `password_hash::cost_problem` allows.
    fn verify(&mut self, password: &str, stored: &str) -> bool {
        let Ok(scheme) = password_hash::scheme(stored) else { return false };
        if password_hash::cost_problem(&scheme).is_some() {
            return false;
        }
        match scheme {
            Scheme::Argon2 { .. } => self.verify_argon2(password, stored),
            // The crate recomputes and compares; it reads `$2a$`, `$2b$` and `$2y$` alike.
            Scheme::Bcrypt { .. } => bcrypt::verify(password, stored).unwrap_or(false),
            Scheme::Pbkdf2Sha256 { rounds } => verify_passlib_pbkdf2(password, stored, rounds),
            Scheme::Scrypt { log_n, r, p } => verify_scrypt(password, stored, log_n, r, p),
        }
    }

    /// Recomputes the hash with the stored parameters and salt; the comparison of the outputs
    /// is constant-time (`Output`'s equality).
    fn verify_argon2(&mut self, password: &str, stored: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(stored) else { return false };
        let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) =
            (Algorithm::try_from(parsed.algorithm), Params::try_from(&parsed), parsed.salt, parsed.hash)
        else {
            return false;
        };
        let version = parsed.version.map_or(Ok(Version::default()), Version::try_from);
        let Ok(version) = version else { return false };
        let mut salt_bytes = [0u8; 64];
        let Ok(salt_bytes) = salt.decode_b64(&mut salt_bytes) else { return false };
        let mut out = vec![0u8; expected.len()];
        let argon2 = Argon2::new(algorithm, version, params.clone());
        argon2.hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, self.memory(&params)).is_ok()
            && Output::new(&out).is_ok_and(|computed| computed == expected)
    }

    /// Working memory for `params`: this thread's kept blocks, grown if a stored hash asks for
    /// more than the defaults (then kept at that size too).
    fn memory(&mut self, params: &Params) -> &mut [Block] {
        let needed = params.block_count();
        if self.blocks.len() < needed {
            self.blocks = vec![Block::default(); needed];
        }
        &mut self.blocks[..needed]
    }

    fn dummy_hash(&mut self) -> String {
        if let Some(dummy) = &self.dummy {
            return dummy.clone();
        }
        let dummy = self.hash("not a password anyone has").unwrap_or_default();
        self.dummy = Some(dummy.clone());
        dummy
    }
}

/// The salt and checksum of a `$scheme$params$SALT$CHECKSUM` string, decoded: the standard
/// Base64 alphabet without padding, or passlib's adapted one (`.` for `+`).
fn salt_and_checksum(stored: &str) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut fields = stored.rsplitn(3, '$');
    let (checksum, salt) = (fields.next()?, fields.next()?);
    let decode = |text: &str| STANDARD_NO_PAD.decode(text.replace('.', "+")).ok();
    Some((decode(salt)?, decode(checksum)?))
}

/// passlib's `$pbkdf2-sha256$ROUNDS$SALT$CHECKSUM`: PBKDF2-HMAC-SHA256 over the password, with
/// `ring` comparing in constant time.
fn verify_passlib_pbkdf2(password: &str, stored: &str, rounds: u32) -> bool {
    let (Some((salt, checksum)), Some(rounds)) = (salt_and_checksum(stored), NonZeroU32::new(rounds)) else { return false };
    ring::pbkdf2::verify(ring::pbkdf2::PBKDF2_HMAC_SHA256, rounds, &salt, password.as_bytes(), &checksum).is_ok()
}

/// `$scrypt$ln=…,r=…,p=…$SALT$HASH` (passlib's form and the PHC one).
fn verify_scrypt(password: &str, stored: &str, log_n: u8, r: u32, p: u32) -> bool {
    let Some((salt, expected)) = salt_and_checksum(stored) else { return false };
    let Ok(params) = scrypt::Params::new(log_n, r, p, expected.len().max(10)) else { return false };
    let mut computed = vec![0u8; expected.len()];
    if expected.len() < 10 || scrypt::scrypt(password.as_bytes(), &salt, &params, &mut computed).is_err() {
        return false;
    }
    // Compared as keyed digests, so the comparison's time says nothing of where they differ.
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &salt);
    ring::hmac::verify(&key, &computed, ring::hmac::sign(&key, &expected).as_ref()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_list_is_the_one_its_readme_names() {
        let mut text = Vec::new();
        flate2::read::GzDecoder::new(COMMON_PASSWORDS_GZ).read_to_end(&mut text).unwrap();
        let digest = ring::digest::digest(&ring::digest::SHA256, &text);
        let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "84f9f01da3323b41cdc030f89f7fab65bf76a7e0d5265acabb715c2b3795f148");
        assert_eq!(text.iter().filter(|b| **b == b'\n').count(), 100_000);
    }

    #[test]
    fn new_passwords_follow_the_length_rule_on_their_nfkc_form_and_are_not_common() {
        assert!(new_password_problem("eleven char").is_some(), "11 characters");
        assert!(new_password_problem("twelve chars").is_none());
        assert!(new_password_problem(&"x".repeat(MAX_LEN)).is_none());
        assert!(new_password_problem(&"x".repeat(MAX_LEN + 1)).is_some());
        // Characters, not bytes: twelve two-byte characters pass.
        assert!(new_password_problem("éééééééééééé").is_none());
        // NFKC: the ligature "ﬃ" is three characters once normalised.
        assert_eq!(normalize("ﬃ"), "ffi");
        assert!(new_password_problem("ﬃﬃﬃﬃ").is_none(), "4 characters typed, 12 after NFKC");
        // On the list, in any case and any width.
        for common in ["qwerty123456", "QWERTY123456", "1qaz2wsx3edc", "ｑｗｅｒｔｙ１２３４５６"] {
            let problem = new_password_problem(common).map(|m| m.to_string()).unwrap_or_default();
            assert!(problem.contains("common"), "{common}: {problem}");
        }
        // No composition rules: a long phrase of lowercase words is fine.
        assert!(new_password_problem("correct horse battery staple").is_none());
    }

    #[tokio::test]
    async fn a_password_is_stored_in_its_nfkc_form_and_a_legacy_raw_hash_still_verifies() {
        let hashers = Hashers::start(1).unwrap();
        // "é" composed and decomposed are one password.
        let composed = "caf\u{e9} au lait, s'il vous pla\u{ee}t";
        let decomposed = "cafe\u{301} au lait, s'il vous plai\u{302}t";
        let stored = hashers.hash(decomposed).await.unwrap();
        assert!(hashers.verify(composed.into(), Some(stored.clone())).await.unwrap());
        assert!(hashers.verify(decomposed.into(), Some(stored)).await.unwrap());
        // A hash of the raw form made before normalisation (the crate's own hasher).
        use argon2::password_hash::PasswordHasher;
        let raw = Argon2::default().hash_password(decomposed.as_bytes(), &SaltString::generate(&mut OsRng)).unwrap().to_string();
        assert!(hashers.verify(decomposed.into(), Some(raw)).await.unwrap());
    }

    #[tokio::test]
    async fn hash_and_verify_on_the_hashing_threads() {
        let hashers = Hashers::start(2).unwrap();
        let stored = hashers.hash("correct horse").await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert!(hashers.verify("correct horse".into(), Some(stored.clone())).await.unwrap());
        assert!(!hashers.verify("wrong horse".into(), Some(stored.clone())).await.unwrap());
        assert!(!hashers.verify("correct horse".into(), None).await.unwrap(), "no account: the dummy hash, false");
        assert!(!hashers.verify("correct horse".into(), Some("not a hash".into())).await.unwrap());
        assert!(hashers.hash("short").await.is_err());
    }

    /// Hashes made elsewhere (other parameters, the crate's own hasher) still verify.
    #[tokio::test]
    async fn verifies_hashes_made_with_other_parameters() {
        use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
        let params = argon2::Params::new(32 * 1024, 3, 2, None).unwrap();
        let other = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let stored = other.hash_password(b"correct horse", &SaltString::generate(&mut OsRng)).unwrap().to_string();
        let hashers = Hashers::start(1).unwrap();
        assert!(hashers.verify("correct horse".into(), Some(stored.clone())).await.unwrap());
        assert!(!hashers.verify("correct horsf".into(), Some(stored)).await.unwrap());
    }
}
