//! Stored password hashes: which scheme made one, what verifying it costs, and whether that is
//! within what a sign-in may spend (SPEC §13).
//!
//! Tessera makes Argon2id hashes only. A company moving in from another vendor brings its
//! users' hashes in whatever that vendor used: Argon2id or Argon2i (PHC strings), bcrypt
//! (`$2a$`, `$2b$`, `$2y$`), PBKDF2-SHA256 as Python's passlib writes it (`$pbkdf2-sha256$…`) and
//! scrypt (`$scrypt$ln=…,r=…,p=…$…`). Each is verified by a vetted crate (`service::password`)
//! and replaced with an Argon2id hash at the next successful sign-in. This module only reads a
//! hash's parameters: a hash whose verification would cost more than [`cost_problem`] allows is
//! refused where it enters (import, `user create --password-hash-stdin`), and never verified,
//! so one stored row cannot turn sign-in into a denial of service.

use crate::message;
use crate::message::Message;

/// A stored hash's scheme and cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `$argon2id$…` or `$argon2i$…` (`id`: whether it is Argon2id).
    Argon2 { id: bool, memory_kib: u32, iterations: u32, lanes: u32 },
    /// `$2a$`, `$2b$` or `$2y$`, with its cost (log2 of the rounds).
    Bcrypt { cost: u32 },
    /// passlib's `$pbkdf2-sha256$ROUNDS$SALT$CHECKSUM`.
    Pbkdf2Sha256 { rounds: u32 },
    /// `$scrypt$ln=LOG_N,r=R,p=P$SALT$HASH`.
    Scrypt { log_n: u8, r: u32, p: u32 },
}

/// The Argon2id parameters Tessera hashes with (the `argon2` crate's defaults, OWASP's
/// recommendation): a stored hash with others is re-hashed at the next sign-in.
pub const CURRENT: Scheme = Scheme::Argon2 { id: true, memory_kib: 19_456, iterations: 2, lanes: 1 };

/// The most a hash brought in may make one verification cost.
pub const MAX_ARGON2_MEMORY_KIB: u32 = 128 * 1024;
pub const MAX_ARGON2_ITERATIONS: u32 = 10;
pub const MAX_ARGON2_LANES: u32 = 8;
pub const MAX_BCRYPT_COST: u32 = 14;
pub const MAX_PBKDF2_ROUNDS: u32 = 2_000_000;
/// scrypt's memory is 128 · r · 2^ln bytes: at most 256 MiB.
pub const MAX_SCRYPT_MEMORY: u64 = 256 * 1024 * 1024;
pub const MAX_SCRYPT_P: u32 = 4;

/// The scheme of `stored` and its parameters, or why it is not a hash Tessera can verify.
pub fn scheme(stored: &str) -> Result<Scheme, Message> {
    let mut parts = stored.split('$');
    if parts.next() != Some("") {
        return Err(message!("hash-no-dollar", "a password hash starts with $"));
    }
    let ident = parts.next().unwrap_or_default();
    let fields: Vec<&str> = parts.collect();
    match ident {
        "argon2id" | "argon2i" => argon2(ident == "argon2id", &fields),
        "argon2d" => Err(message!("hash-argon2d", "Argon2d hashes are not accepted (Argon2id or Argon2i only)")),
        "2a" | "2b" | "2y" => match fields.as_slice() {
            [cost, rest] if cost.len() == 2 && rest.len() == 53 => {
                let cost = cost.parse().map_err(|_| message!("hash-bcrypt-cost-nan", "the bcrypt cost is not a number"))?;
                if (4..=31).contains(&cost) {
                    Ok(Scheme::Bcrypt { cost })
                } else {
                    Err(message!("hash-bcrypt-cost-range", "the bcrypt cost is out of range"))
                }
            }
            _ => Err(message!("hash-not-bcrypt", "not a bcrypt hash ($2b$NN$ and 53 characters)")),
        },
        "pbkdf2-sha256" => match fields.as_slice() {
            [rounds, salt, checksum] if !salt.is_empty() && !checksum.is_empty() => {
                let rounds = rounds.parse().map_err(|_| message!("hash-pbkdf2-rounds-nan", "the PBKDF2 rounds are not a number"))?;
                if rounds == 0 {
                    Err(message!("hash-pbkdf2-rounds-zero", "the PBKDF2 rounds are zero"))
                } else {
                    Ok(Scheme::Pbkdf2Sha256 { rounds })
                }
            }
            _ => Err(message!("hash-not-pbkdf2", "not a passlib PBKDF2-SHA256 hash ($pbkdf2-sha256$ROUNDS$SALT$CHECKSUM)")),
        },
        "scrypt" => match fields.as_slice() {
            [params, salt, hash] if !salt.is_empty() && !hash.is_empty() => {
                let (log_n, r, p) = (param(params, "ln")?, param(params, "r")?, param(params, "p")?);
                let log_n = u8::try_from(log_n)
                    .ok()
                    .filter(|ln| (1..64).contains(ln))
                    .ok_or_else(|| message!("hash-scrypt-ln-range", "the scrypt ln is out of range"))?;
                if r == 0 || p == 0 {
                    return Err(message!("hash-scrypt-r-p", "the scrypt r and p must be positive"));
                }
                Ok(Scheme::Scrypt { log_n, r, p })
            }
            _ => Err(message!("hash-not-scrypt", "not a scrypt hash ($scrypt$ln=…,r=…,p=…$SALT$HASH)")),
        },
        _ => Err(message!("hash-unknown-scheme", "an unknown password hash scheme (Argon2id, Argon2i, bcrypt, PBKDF2-SHA256 or scrypt)")),
    }
}

fn argon2(id: bool, fields: &[&str]) -> Result<Scheme, Message> {
    // `v=19` is optional in a PHC string; then the parameters, the salt and the hash.
    let fields = match fields.first() {
        Some(version) if version.starts_with("v=") => {
            if *version != "v=19" && *version != "v=16" {
                return Err(message!("hash-argon2-version", "an unknown Argon2 version"));
            }
            &fields[1..]
        }
        _ => fields,
    };
    match fields {
        [params, salt, hash] if !salt.is_empty() && !hash.is_empty() => {
            Ok(Scheme::Argon2 { id, memory_kib: param(params, "m")?, iterations: param(params, "t")?, lanes: param(params, "p")? })
        }
        _ => Err(message!("hash-not-argon2", "not an Argon2 PHC string ($argon2id$v=19$m=…,t=…,p=…$SALT$HASH)")),
    }
}

/// The number after `name=` in a comma-separated parameter list.
fn param(params: &str, name: &str) -> Result<u32, Message> {
    params
        .split(',')
        .find_map(|pair| pair.strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
        .ok_or_else(|| message!("hash-parameter-missing", "a parameter of the hash is missing"))?
        .parse()
        .map_err(|_| message!("hash-parameter-nan", "a parameter of the hash is not a number"))
}

/// Why verifying a hash of `scheme` would cost more than a sign-in may spend; `None`: it may.
pub fn cost_problem(scheme: &Scheme) -> Option<Message> {
    match *scheme {
        Scheme::Argon2 { memory_kib, iterations, lanes, .. } => (memory_kib > MAX_ARGON2_MEMORY_KIB
            || iterations > MAX_ARGON2_ITERATIONS
            || lanes > MAX_ARGON2_LANES
            || iterations == 0
            || lanes == 0)
            .then(|| {
                message!(
                    "hash-argon2-too-costly",
                    "Argon2 parameters m={memory_kib},t={iterations},p={lanes} exceed the limit (m ≤ {most_memory} KiB, 1 ≤ t ≤ {most_iterations}, 1 ≤ p ≤ {most_lanes})",
                    memory_kib = memory_kib,
                    iterations = iterations,
                    lanes = lanes,
                    most_memory = MAX_ARGON2_MEMORY_KIB,
                    most_iterations = MAX_ARGON2_ITERATIONS,
                    most_lanes = MAX_ARGON2_LANES
                )
            }),
        Scheme::Bcrypt { cost } => (cost > MAX_BCRYPT_COST)
            .then(|| message!("hash-bcrypt-too-costly", "bcrypt cost {cost} exceeds the limit ({most})", cost = cost, most = MAX_BCRYPT_COST)),
        Scheme::Pbkdf2Sha256 { rounds } => {
            (rounds > MAX_PBKDF2_ROUNDS).then(|| {
                message!("hash-pbkdf2-too-costly", "PBKDF2 rounds {rounds} exceed the limit ({most})", rounds = rounds, most = MAX_PBKDF2_ROUNDS)
            })
        }
        Scheme::Scrypt { log_n, r, p } => {
            let memory = 128u64.saturating_mul(u64::from(r)).saturating_mul(1u64.checked_shl(u32::from(log_n)).unwrap_or(u64::MAX));
            (memory > MAX_SCRYPT_MEMORY || p > MAX_SCRYPT_P).then(|| {
                message!(
                    "hash-scrypt-too-costly",
                    "scrypt parameters ln={log_n},r={r},p={p} exceed the limit (128·r·2^ln ≤ 256 MiB, p ≤ {most_p})",
                    log_n = log_n,
                    r = r,
                    p = p,
                    most_p = MAX_SCRYPT_P
                )
            })
        }
    }
}

/// Whether a hash of `scheme` is what Tessera makes today; any other is replaced at the next
/// successful sign-in.
pub fn is_current(scheme: &Scheme) -> bool {
    *scheme == CURRENT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_and_their_parameters() {
        let argon2id = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
        assert_eq!(scheme(argon2id), Ok(CURRENT));
        assert!(is_current(&scheme(argon2id).unwrap()));
        assert_eq!(
            scheme("$argon2i$m=65536,t=3,p=4$c2FsdA$aGFzaA"),
            Ok(Scheme::Argon2 { id: false, memory_kib: 65_536, iterations: 3, lanes: 4 })
        );
        let bcrypt = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";
        assert_eq!(scheme(bcrypt), Ok(Scheme::Bcrypt { cost: 12 }));
        assert_eq!(scheme(&bcrypt.replace("$2b$", "$2y$")), Ok(Scheme::Bcrypt { cost: 12 }));
        assert_eq!(scheme("$pbkdf2-sha256$29000$N2bMmZMyBuA8x9h7j1Eqpg$ABC.def/ghi"), Ok(Scheme::Pbkdf2Sha256 { rounds: 29_000 }));
        assert_eq!(scheme("$scrypt$ln=16,r=8,p=1$c2FsdA$aGFzaA"), Ok(Scheme::Scrypt { log_n: 16, r: 8, p: 1 }));
        for bad in [
            "",
            "plain",
            "$md5$x$y",
            "$argon2d$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA",
            "$argon2id$v=19$m=x,t=2,p=1$c2FsdA$aGFzaA",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA",
            "$2b$12$short",
            "$2b$99$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
            "$pbkdf2-sha256$0$c2FsdA$aGFzaA",
            "$scrypt$ln=0,r=8,p=1$c2FsdA$aGFzaA",
            "$scrypt$ln=16,r=0,p=1$c2FsdA$aGFzaA",
        ] {
            assert!(scheme(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_verification_that_would_cost_too_much_is_refused() {
        let allowed = [
            CURRENT,
            Scheme::Argon2 { id: false, memory_kib: MAX_ARGON2_MEMORY_KIB, iterations: 10, lanes: 8 },
            Scheme::Bcrypt { cost: 14 },
            Scheme::Pbkdf2Sha256 { rounds: 600_000 },
            Scheme::Scrypt { log_n: 17, r: 8, p: 1 },
        ];
        for scheme in allowed {
            assert_eq!(cost_problem(&scheme), None, "{scheme:?}");
        }
        let refused = [
            Scheme::Argon2 { id: true, memory_kib: 4 * 1024 * 1024, iterations: 2, lanes: 1 },
            Scheme::Argon2 { id: true, memory_kib: 19_456, iterations: 100, lanes: 1 },
            Scheme::Bcrypt { cost: 15 },
            Scheme::Pbkdf2Sha256 { rounds: 100_000_000 },
            Scheme::Scrypt { log_n: 20, r: 8, p: 1 },
            Scheme::Scrypt { log_n: 63, r: 8, p: 1 },
            Scheme::Scrypt { log_n: 14, r: 8, p: 16 },
        ];
        for scheme in refused {
            assert!(cost_problem(&scheme).is_some(), "{scheme:?}");
        }
    }
}
