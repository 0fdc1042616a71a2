//! Compact JWS (RFC 7515) for Tessera's tokens: sign with a key held in memory, verify against
//! a key set. The algorithm always comes from the key, never from the token header
//! (RFC 8725 §2.1), and headers that would make us fetch or trust keys from the token itself
//! (`jku`, `x5u`, `jwk`, `x5c`) or that demand extensions we do not know (`crit`) are refused.
//!
//! Cryptography is `ring`'s; this crate only does the JOSE framing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::rand::SystemRandom;
use ring::signature::{self, KeyPair as _};
use serde::{Deserialize, Serialize};
use tessera_proto::Jwk;

pub mod assertion;
pub mod dpop;
pub mod verified;

/// Tokens longer than this are refused before any decoding (RFC 8725 §3.7: bounded work).
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// The signing algorithms Tessera offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    ES256,
    EdDSA,
    RS256,
}

impl Algorithm {
    /// The JOSE `alg` name.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::ES256 => "ES256",
            Algorithm::EdDSA => "EdDSA",
            Algorithm::RS256 => "RS256",
        }
    }

    /// Parses a JOSE `alg` name; `none` and every HMAC algorithm are not algorithms here.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "ES256" => Some(Algorithm::ES256),
            "EdDSA" => Some(Algorithm::EdDSA),
            "RS256" => Some(Algorithm::RS256),
            _ => None,
        }
    }
}

/// Why a token or key was refused. Deliberately coarse: callers map all of these to
/// `invalid_token` and must not tell an attacker which check failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JoseError {
    #[error("malformed token")]
    Malformed,
    #[error("unsupported header")]
    UnsupportedHeader,
    #[error("unknown key")]
    UnknownKey,
    #[error("algorithm does not match the key")]
    AlgorithmMismatch,
    #[error("unexpected token type")]
    WrongType,
    #[error("bad signature")]
    BadSignature,
    #[error("invalid key material")]
    InvalidKey,
    #[error("signing failed")]
    Signing,
}

enum Pair {
    Ecdsa(signature::EcdsaKeyPair),
    Ed25519(signature::Ed25519KeyPair),
    Rsa(signature::RsaKeyPair),
}

/// A private signing key, parsed once and kept in memory.
pub struct SigningKey {
    alg: Algorithm,
    pair: Pair,
    jwk: Jwk,
    rng: SystemRandom,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("alg", &self.alg).field("kid", &self.jwk.kid).finish_non_exhaustive()
    }
}

/// PKCS#8 DER bytes of a private key; never printed.
pub struct Pkcs8(pub Vec<u8>);

impl std::fmt::Debug for Pkcs8 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pkcs8(<redacted>)")
    }
}

impl SigningKey {
    /// Generates a fresh key pair; returns the key and its PKCS#8 encoding for storage.
    pub fn generate(alg: Algorithm) -> Result<(Self, Pkcs8), JoseError> {
        let rng = SystemRandom::new();
        let der = match alg {
            Algorithm::ES256 => signature::EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map_err(|_| JoseError::InvalidKey)?
                .as_ref()
                .to_vec(),
            Algorithm::EdDSA => signature::Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| JoseError::InvalidKey)?.as_ref().to_vec(),
            Algorithm::RS256 => {
                // ring cannot generate RSA keys; the RustCrypto `rsa` crate does, and ring signs.
                use rsa::pkcs8::EncodePrivateKey;
                let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048).map_err(|_| JoseError::InvalidKey)?;
                key.to_pkcs8_der().map_err(|_| JoseError::InvalidKey)?.as_bytes().to_vec()
            }
        };
        let key = Self::from_pkcs8(alg, &der)?;
        Ok((key, Pkcs8(der)))
    }

    /// Loads a key from its PKCS#8 DER encoding. The `kid` is the RFC 7638 thumbprint.
    pub fn from_pkcs8(alg: Algorithm, der: &[u8]) -> Result<Self, JoseError> {
        let rng = SystemRandom::new();
        let pair = match alg {
            Algorithm::ES256 => Pair::Ecdsa(
                signature::EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
                    .map_err(|_| JoseError::InvalidKey)?,
            ),
            Algorithm::EdDSA => {
                Pair::Ed25519(signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(|_| JoseError::InvalidKey)?)
            }
            Algorithm::RS256 => Pair::Rsa(signature::RsaKeyPair::from_pkcs8(der).map_err(|_| JoseError::InvalidKey)?),
        };
        let jwk = public_jwk(alg, &pair);
        Ok(Self { alg, pair, jwk, rng })
    }

    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    pub fn kid(&self) -> &str {
        &self.jwk.kid
    }

    /// The public half, as published in the JWKS.
    pub fn public_jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// Signs `claims` as a compact JWS with header `{alg, typ, kid}`.
    pub fn sign<C: Serialize>(&self, typ: &str, claims: &C) -> Result<String, JoseError> {
        let header = Header { alg: self.alg.name(), typ, kid: &self.jwk.kid };
        let header_json = serde_json::to_vec(&header).map_err(|_| JoseError::Signing)?;
        let claims_json = serde_json::to_vec(claims).map_err(|_| JoseError::Signing)?;
        let mut out = String::with_capacity(64 + (header_json.len() + claims_json.len()) * 4 / 3 + 350);
        B64.encode_string(&header_json, &mut out);
        out.push('.');
        B64.encode_string(&claims_json, &mut out);
        let signature = self.sign_raw(out.as_bytes())?;
        out.push('.');
        B64.encode_string(&signature, &mut out);
        Ok(out)
    }

    /// The raw signature of `message` (JWS signing input), for callers that frame the token
    /// themselves, such as tests that need validly signed but malformed tokens.
    pub fn sign_raw(&self, message: &[u8]) -> Result<Vec<u8>, JoseError> {
        match &self.pair {
            Pair::Ecdsa(pair) => Ok(pair.sign(&self.rng, message).map_err(|_| JoseError::Signing)?.as_ref().to_vec()),
            Pair::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
            Pair::Rsa(pair) => {
                let mut sig = vec![0; pair.public().modulus_len()];
                pair.sign(&signature::RSA_PKCS1_SHA256, &self.rng, message, &mut sig).map_err(|_| JoseError::Signing)?;
                Ok(sig)
            }
        }
    }
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'a str,
    kid: &'a str,
}

fn public_jwk(alg: Algorithm, pair: &Pair) -> Jwk {
    let mut jwk = Jwk {
        kty: String::new(),
        kid: String::new(),
        use_: "sig".into(),
        alg: alg.name().into(),
        crv: None,
        x: None,
        y: None,
        n: None,
        e: None,
    };
    match pair {
        Pair::Ecdsa(pair) => {
            // Uncompressed SEC1 point: 0x04 || x || y.
            let point = pair.public_key().as_ref();
            jwk.kty = "EC".into();
            jwk.crv = Some("P-256".into());
            jwk.x = Some(B64.encode(&point[1..33]));
            jwk.y = Some(B64.encode(&point[33..65]));
        }
        Pair::Ed25519(pair) => {
            jwk.kty = "OKP".into();
            jwk.crv = Some("Ed25519".into());
            jwk.x = Some(B64.encode(pair.public_key().as_ref()));
        }
        Pair::Rsa(pair) => {
            let components: signature::RsaPublicKeyComponents<Vec<u8>> = pair.public().into();
            jwk.kty = "RSA".into();
            jwk.n = Some(B64.encode(&components.n));
            jwk.e = Some(B64.encode(&components.e));
        }
    }
    jwk.kid = thumbprint(&jwk);
    jwk
}

/// RFC 7638 JWK thumbprint (SHA-256, base64url): the required members in lexicographic order.
pub fn thumbprint(jwk: &Jwk) -> String {
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    let canonical = match jwk.kty.as_str() {
        "EC" => format!(r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#, s(&jwk.crv), s(&jwk.x), s(&jwk.y)),
        "OKP" => format!(r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#, s(&jwk.crv), s(&jwk.x)),
        _ => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, s(&jwk.e), s(&jwk.n)),
    };
    B64.encode(ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes()))
}

/// A public key that verifies signatures, built from a published JWK.
#[derive(Debug, Clone)]
pub struct VerifyingKey {
    kid: String,
    alg: Algorithm,
    material: PublicMaterial,
}

#[derive(Debug, Clone)]
enum PublicMaterial {
    Point(Vec<u8>),
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

impl VerifyingKey {
    /// Builds a verifying key from a JWK; the JWK's `alg` pins the algorithm.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, JoseError> {
        let alg = Algorithm::parse(&jwk.alg).ok_or(JoseError::InvalidKey)?;
        let field = |v: &Option<String>| -> Result<Vec<u8>, JoseError> {
            B64.decode(v.as_deref().ok_or(JoseError::InvalidKey)?).map_err(|_| JoseError::InvalidKey)
        };
        let material = match (alg, jwk.kty.as_str(), jwk.crv.as_deref()) {
            (Algorithm::ES256, "EC", Some("P-256")) => {
                let (x, y) = (field(&jwk.x)?, field(&jwk.y)?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(JoseError::InvalidKey);
                }
                let mut point = Vec::with_capacity(65);
                point.push(4);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                PublicMaterial::Point(point)
            }
            (Algorithm::EdDSA, "OKP", Some("Ed25519")) => {
                let x = field(&jwk.x)?;
                if x.len() != 32 {
                    return Err(JoseError::InvalidKey);
                }
                PublicMaterial::Point(x)
            }
            (Algorithm::RS256, "RSA", _) => PublicMaterial::Rsa { n: field(&jwk.n)?, e: field(&jwk.e)? },
            _ => return Err(JoseError::InvalidKey),
        };
        Ok(Self { kid: jwk.kid.clone(), alg, material })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    fn verify_signature(&self, message: &[u8], sig: &[u8]) -> bool {
        match (&self.material, self.alg) {
            (PublicMaterial::Point(point), Algorithm::ES256) => {
                signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).verify(message, sig).is_ok()
            }
            (PublicMaterial::Point(point), Algorithm::EdDSA) => {
                signature::UnparsedPublicKey::new(&signature::ED25519, point).verify(message, sig).is_ok()
            }
            (PublicMaterial::Rsa { n, e }, Algorithm::RS256) => {
                signature::RsaPublicKeyComponents { n, e }.verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, sig).is_ok()
            }
            _ => false,
        }
    }
}

/// The protected header of a token being verified.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenHeader {
    pub alg: String,
    #[serde(default)]
    pub typ: Option<String>,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
    #[serde(default)]
    jku: Option<serde_json::Value>,
    #[serde(default)]
    x5u: Option<serde_json::Value>,
    #[serde(default)]
    jwk: Option<serde_json::Value>,
    #[serde(default)]
    x5c: Option<serde_json::Value>,
}

impl TokenHeader {
    /// Headers that would make us fetch or trust keys named by the token itself, or demand
    /// extensions we do not know, are refused (RFC 8725 §3.10, RFC 7515 §4.1.11).
    fn check_policy(&self) -> Result<(), JoseError> {
        if self.crit.is_some() || self.jku.is_some() || self.x5u.is_some() || self.jwk.is_some() || self.x5c.is_some() {
            return Err(JoseError::UnsupportedHeader);
        }
        Ok(())
    }
}

/// A token whose signature checked out: its header and raw payload (claims not yet validated).
#[derive(Debug, Clone)]
pub struct Verified {
    pub header: TokenHeader,
    pub payload: Vec<u8>,
}

/// A compact JWS taken apart: the header decoded and its policy checked; the signature and
/// the payload still encoded until the signature is checked ([`Compact::verified`]).
pub(crate) struct Compact<'t> {
    pub header: TokenHeader,
    signing_input: &'t [u8],
    signature: &'t str,
    payload: &'t str,
}

impl<'t> Compact<'t> {
    /// Framing (three parts, a size limit) and the header policy (no `jku`/`x5u`/`jwk`/…).
    pub(crate) fn parse(token: &'t str) -> Result<Self, JoseError> {
        let compact = Self::parse_framing(token)?;
        compact.header.check_policy()?;
        Ok(compact)
    }

    /// Framing only; the caller applies its own header policy (a DPoP proof carries its key
    /// in `jwk`, RFC 9449 §4.2).
    pub(crate) fn parse_framing(token: &'t str) -> Result<Self, JoseError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(JoseError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(JoseError::Malformed);
        };
        let header_bytes = B64.decode(h).map_err(|_| JoseError::Malformed)?;
        let header: TokenHeader = serde_json::from_slice(&header_bytes).map_err(|_| JoseError::Malformed)?;
        let signing_input = &token.as_bytes()[..h.len() + 1 + p.len()];
        Ok(Self { header, signing_input, signature: s, payload: p })
    }

    /// Checks the signature with `verify(signing_input, signature)`, and only then decodes the
    /// payload.
    pub(crate) fn verified(self, verify: impl FnOnce(&[u8], &[u8]) -> bool) -> Result<Verified, JoseError> {
        let signature = B64.decode(self.signature).map_err(|_| JoseError::Malformed)?;
        if !verify(self.signing_input, &signature) {
            return Err(JoseError::BadSignature);
        }
        let payload = B64.decode(self.payload).map_err(|_| JoseError::Malformed)?;
        Ok(Verified { header: self.header, payload })
    }
}

/// Verifies a compact JWS: framing, header policy, `typ`, key by `kid`, algorithm pinned by the
/// key, signature. `find_key` looks a `kid` up in the trusted key set only.
pub fn verify<'k>(token: &str, expected_typ: &str, find_key: impl Fn(&str) -> Option<&'k VerifyingKey>) -> Result<Verified, JoseError> {
    let compact = Compact::parse(token)?;
    let header = &compact.header;
    if !typ_matches(header.typ.as_deref(), expected_typ) {
        return Err(JoseError::WrongType);
    }
    let kid = header.kid.as_deref().ok_or(JoseError::UnknownKey)?;
    let key = find_key(kid).ok_or(JoseError::UnknownKey)?;
    if Algorithm::parse(&header.alg) != Some(key.alg) {
        return Err(JoseError::AlgorithmMismatch);
    }
    compact.verified(|input, signature| key.verify_signature(input, signature))
}

/// RFC 7515 §4.1.9: `typ` is compared case-insensitively and may carry an `application/` prefix.
pub(crate) fn typ_matches(typ: Option<&str>, expected: &str) -> bool {
    let Some(typ) = typ else { return false };
    let typ = typ.get(..12).filter(|p| p.eq_ignore_ascii_case("application/")).map_or(typ, |_| &typ[12..]);
    typ.eq_ignore_ascii_case(expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(alg: Algorithm) {
        let (key, der) = SigningKey::generate(alg).unwrap();
        let again = SigningKey::from_pkcs8(alg, &der.0).unwrap();
        assert_eq!(key.kid(), again.kid());
        let token = key.sign("at+jwt", &serde_json::json!({"sub": "u1"})).unwrap();
        let vk = VerifyingKey::from_jwk(key.public_jwk()).unwrap();
        let verified = verify(&token, "at+jwt", |kid| (kid == vk.kid()).then_some(&vk)).unwrap();
        assert_eq!(verified.payload, br#"{"sub":"u1"}"#);
        assert_eq!(verify(&token, "JWT", |_| Some(&vk)).unwrap_err(), JoseError::WrongType);
    }

    #[test]
    fn es256_eddsa_rs256_roundtrip() {
        roundtrip(Algorithm::ES256);
        roundtrip(Algorithm::EdDSA);
        roundtrip(Algorithm::RS256);
    }

    #[test]
    fn tampering_and_header_tricks_are_refused() {
        let (key, _) = SigningKey::generate(Algorithm::ES256).unwrap();
        let vk = VerifyingKey::from_jwk(key.public_jwk()).unwrap();
        let find = |kid: &str| (kid == vk.kid()).then_some(&vk);
        let token = key.sign("at+jwt", &serde_json::json!({"sub": "u1"})).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let forged_payload = B64.encode(br#"{"sub":"admin"}"#);
        let check = |t: String, expected: JoseError| assert_eq!(verify(&t, "at+jwt", find).unwrap_err(), expected, "{t}");
        check(format!("{}.{}.{}", parts[0], forged_payload, parts[2]), JoseError::BadSignature);
        check(format!("{}.{}.", parts[0], parts[1]), JoseError::BadSignature);
        check(format!("{token}."), JoseError::Malformed);
        let header = |json: &str| B64.encode(json.replace("KID", vk.kid()));
        check(format!("{}.{}.", header(r#"{"alg":"none","typ":"at+jwt","kid":"KID"}"#), parts[1]), JoseError::AlgorithmMismatch);
        check(
            format!("{}.{}.{}", header(r#"{"alg":"HS256","typ":"at+jwt","kid":"KID"}"#), parts[1], parts[2]),
            JoseError::AlgorithmMismatch,
        );
        check(
            format!("{}.{}.{}", header(r#"{"alg":"ES256","typ":"at+jwt","kid":"KID","crit":["x"]}"#), parts[1], parts[2]),
            JoseError::UnsupportedHeader,
        );
        check(
            format!("{}.{}.{}", header(r#"{"alg":"ES256","typ":"at+jwt","kid":"KID","jku":"http://127.0.0.1:1/"}"#), parts[1], parts[2]),
            JoseError::UnsupportedHeader,
        );
        check(
            format!("{}.{}.{}", header(r#"{"alg":"ES256","typ":"at+jwt","kid":"../../etc/passwd"}"#), parts[1], parts[2]),
            JoseError::UnknownKey,
        );
        check("a".repeat(MAX_TOKEN_LEN + 1), JoseError::Malformed);
    }

    #[test]
    fn typ_comparison_follows_rfc7515() {
        assert!(typ_matches(Some("at+jwt"), "at+jwt"));
        assert!(typ_matches(Some("application/AT+JWT"), "at+jwt"));
        assert!(!typ_matches(Some("JWT"), "at+jwt"));
        assert!(!typ_matches(None, "at+jwt"));
    }
}
