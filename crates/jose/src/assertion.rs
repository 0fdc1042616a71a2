//! Client assertions (RFC 7523 §2.2, `private_key_jwt`): the public keys a client registers,
//! and the signature check of the JWTs it signs with them.
//!
//! A client's key set is untrusted input twice over: at registration (a pasted JWKS or PEM, or
//! a document fetched from its `jwks_uri`) and at every request (the assertion). So: private
//! members are refused, only the algorithms below exist, a key's type and curve fix the
//! algorithms it may be used with, and the header rules of [`crate::verify`] apply (no `jku`,
//! `x5u`, `jwk`, `x5c`, `crit`).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64};
use ring::signature;
use serde_json::{Map, Value};

use crate::{JoseError, Verified};

/// The algorithms a client may sign its assertions with. Never `none`, never an HMAC (whose
/// key would be the client's *public* key, RFC 8725 §2.1).
pub const ASSERTION_ALGORITHMS: [&str; 4] = ["ES256", "EdDSA", "RS256", "PS256"];

/// At most this many keys in one client key set, and this many bytes of JWKS text.
pub const MAX_KEYS: usize = 16;
pub const MAX_JWKS_LEN: usize = 64 * 1024;

/// Members that only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4.1;
/// RFC 8037 §2).
pub(crate) const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Why a client's key set was refused. The messages are for the person registering it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeySetError {
    #[error("the key set is not a JSON Web Key or Key Set")]
    NotJson,
    #[error("the key set holds a private or symmetric key; register only the public key")]
    PrivateKey,
    #[error("the key set is empty")]
    Empty,
    #[error("the key set holds more than {MAX_KEYS} keys or is larger than 64 KiB")]
    TooLarge,
    #[error("unsupported key: {0}")]
    Unsupported(&'static str),
    #[error("two keys share the kid {0:?}")]
    DuplicateKid(String),
    #[error("the PEM text is not a public key (SubjectPublicKeyInfo or RSA PUBLIC KEY)")]
    NotPem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alg {
    ES256,
    EdDSA,
    RS256,
    PS256,
}

impl Alg {
    pub(crate) fn parse(name: &str) -> Option<Self> {
        match name {
            "ES256" => Some(Alg::ES256),
            "EdDSA" => Some(Alg::EdDSA),
            "RS256" => Some(Alg::RS256),
            "PS256" => Some(Alg::PS256),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Material {
    P256(Vec<u8>),
    Ed25519(Vec<u8>),
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

impl Material {
    /// The algorithm fits the key: the key type decides, never the token.
    pub(crate) fn fits(&self, alg: Alg) -> bool {
        matches!(
            (self, alg),
            (Material::P256(_), Alg::ES256) | (Material::Ed25519(_), Alg::EdDSA) | (Material::Rsa { .. }, Alg::RS256 | Alg::PS256)
        )
    }

    pub(crate) fn verify(&self, alg: Alg, message: &[u8], sig: &[u8]) -> bool {
        match (self, alg) {
            (Material::P256(point), Alg::ES256) => {
                signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).verify(message, sig).is_ok()
            }
            (Material::Ed25519(x), Alg::EdDSA) => signature::UnparsedPublicKey::new(&signature::ED25519, x).verify(message, sig).is_ok(),
            (Material::Rsa { n, e }, Alg::RS256) => {
                signature::RsaPublicKeyComponents { n, e }.verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, sig).is_ok()
            }
            (Material::Rsa { n, e }, Alg::PS256) => {
                signature::RsaPublicKeyComponents { n, e }.verify(&signature::RSA_PSS_2048_8192_SHA256, message, sig).is_ok()
            }
            _ => false,
        }
    }
}

/// One public key of a client.
#[derive(Debug, Clone)]
pub(crate) struct ClientKey {
    kid: Option<String>,
    /// The JWK's own `alg`, when it names one: then only that algorithm.
    pub(crate) alg: Option<Alg>,
    pub(crate) material: Material,
}

/// The public keys a client registered (inline or at its `jwks_uri`), parsed and checked.
#[derive(Debug, Clone)]
pub struct ClientKeySet {
    keys: Vec<ClientKey>,
}

impl ClientKeySet {
    /// Parses a JWKS (`{"keys":[…]}`) or a single JWK. Refuses private and symmetric keys,
    /// keys for encryption, unknown key types and curves, RSA keys under 2048 bits.
    pub fn parse(text: &str) -> Result<Self, KeySetError> {
        if text.len() > MAX_JWKS_LEN {
            return Err(KeySetError::TooLarge);
        }
        let value: Value = serde_json::from_str(text).map_err(|_| KeySetError::NotJson)?;
        let Value::Object(object) = value else { return Err(KeySetError::NotJson) };
        let jwks: Vec<Map<String, Value>> = match object.get("keys") {
            Some(Value::Array(keys)) => {
                keys.iter().map(|k| k.as_object().cloned().ok_or(KeySetError::NotJson)).collect::<Result<_, _>>()?
            }
            Some(_) => return Err(KeySetError::NotJson),
            None if object.contains_key("kty") => vec![object],
            None => return Err(KeySetError::NotJson),
        };
        if jwks.is_empty() {
            return Err(KeySetError::Empty);
        }
        if jwks.len() > MAX_KEYS {
            return Err(KeySetError::TooLarge);
        }
        // Every key is looked at for private members before any is refused for another reason,
        // so a pasted private key is always reported as such.
        if jwks.iter().any(|jwk| PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m))) {
            return Err(KeySetError::PrivateKey);
        }
        let keys = jwks.iter().map(parse_jwk).collect::<Result<Vec<_>, _>>()?;
        for (i, key) in keys.iter().enumerate() {
            if let Some(kid) = &key.kid
                && keys[..i].iter().any(|other| other.kid.as_ref() == Some(kid))
            {
                return Err(KeySetError::DuplicateKid(kid.clone()));
            }
        }
        Ok(Self { keys })
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether a key carries this `kid`.
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }
}

pub(crate) fn parse_jwk(jwk: &Map<String, Value>) -> Result<ClientKey, KeySetError> {
    let text = |name: &str| -> Result<Option<&str>, KeySetError> {
        match jwk.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(KeySetError::NotJson),
        }
    };
    let bytes = |name: &'static str| -> Result<Vec<u8>, KeySetError> {
        let value = text(name)?.ok_or(KeySetError::Unsupported("a required key member is missing"))?;
        B64.decode(value).map_err(|_| KeySetError::Unsupported("a key member is not base64url"))
    };
    if let Some(use_) = text("use")?
        && use_ != "sig"
    {
        return Err(KeySetError::Unsupported("the key's use is not sig"));
    }
    if let Some(Value::Array(ops)) = jwk.get("key_ops")
        && !ops.iter().any(|op| op == "verify")
    {
        return Err(KeySetError::Unsupported("the key's key_ops do not include verify"));
    }
    let kid = text("kid")?.map(str::to_owned);
    if kid.as_ref().is_some_and(|k| k.is_empty() || k.len() > 256) {
        return Err(KeySetError::Unsupported("the kid is empty or longer than 256 characters"));
    }
    let alg = match text("alg")? {
        None => None,
        Some(name) => Some(Alg::parse(name).ok_or(KeySetError::Unsupported("alg must be ES256, EdDSA, RS256 or PS256"))?),
    };
    let material = match (text("kty")?, text("crv")?) {
        (Some("EC"), Some("P-256")) => {
            let (x, y) = (bytes("x")?, bytes("y")?);
            if x.len() != 32 || y.len() != 32 {
                return Err(KeySetError::Unsupported("a P-256 coordinate is not 32 bytes"));
            }
            let mut point = Vec::with_capacity(65);
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            Material::P256(point)
        }
        (Some("EC"), _) => return Err(KeySetError::Unsupported("the only EC curve is P-256")),
        (Some("OKP"), Some("Ed25519")) => {
            let x = bytes("x")?;
            if x.len() != 32 {
                return Err(KeySetError::Unsupported("an Ed25519 key is not 32 bytes"));
            }
            Material::Ed25519(x)
        }
        (Some("OKP"), _) => return Err(KeySetError::Unsupported("the only OKP curve is Ed25519")),
        (Some("RSA"), _) => {
            let n = strip_zeros(bytes("n")?);
            let e = strip_zeros(bytes("e")?);
            if n.len() < 256 {
                return Err(KeySetError::Unsupported("RSA keys must have at least 2048 bits"));
            }
            if n.len() > 1024 || e.is_empty() || e.len() > 8 {
                return Err(KeySetError::Unsupported("the RSA key is malformed"));
            }
            Material::Rsa { n, e }
        }
        (Some("oct"), _) => return Err(KeySetError::PrivateKey),
        _ => return Err(KeySetError::Unsupported("kty must be EC, OKP or RSA")),
    };
    if let Some(alg) = alg
        && !material.fits(alg)
    {
        return Err(KeySetError::Unsupported("the key's alg does not fit its type"));
    }
    Ok(ClientKey { kid, alg, material })
}

fn strip_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let leading = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..leading);
    bytes
}

/// DER prefixes of a SubjectPublicKeyInfo for P-256 (an uncompressed point follows) and for
/// Ed25519 (the 32-byte key follows).
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01,
    0x07, 0x03, 0x42, 0x00,
];
const ED25519_SPKI_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

/// Turns what a person may paste into the portal (a JWK, a JWKS, or a PEM public key) into a
/// JWKS document, checked like [`ClientKeySet::parse`]. A PEM private key is refused.
pub fn jwks_from_pasted(text: &str) -> Result<String, KeySetError> {
    let text = text.trim();
    if !text.starts_with("-----BEGIN ") {
        ClientKeySet::parse(text)?;
        let value: Value = serde_json::from_str(text).map_err(|_| KeySetError::NotJson)?;
        let keys = match value.get("keys") {
            Some(keys) => keys.clone(),
            None => Value::Array(vec![value]),
        };
        // What is stored is what was checked: re-serialising may change the text (numbers, escapes).
        let document = serde_json::json!({ "keys": keys }).to_string();
        ClientKeySet::parse(&document)?;
        return Ok(document);
    }
    let label = text.lines().next().unwrap_or("");
    if label.contains("PRIVATE") {
        return Err(KeySetError::PrivateKey);
    }
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect::<Vec<_>>().concat();
    let der = STANDARD.decode(body.trim()).map_err(|_| KeySetError::NotPem)?;
    let jwk = if label.contains("RSA PUBLIC KEY") {
        use rsa::pkcs1::DecodeRsaPublicKey;
        rsa_jwk(&rsa::RsaPublicKey::from_pkcs1_der(&der).map_err(|_| KeySetError::NotPem)?)
    } else if !label.contains("PUBLIC KEY") {
        return Err(KeySetError::NotPem);
    } else if let Some(point) = der.strip_prefix(&P256_SPKI_PREFIX[..]) {
        if point.len() != 65 || point[0] != 4 {
            return Err(KeySetError::NotPem);
        }
        serde_json::json!({"kty": "EC", "crv": "P-256", "x": B64.encode(&point[1..33]), "y": B64.encode(&point[33..65])})
    } else if let Some(x) = der.strip_prefix(&ED25519_SPKI_PREFIX[..]) {
        if x.len() != 32 {
            return Err(KeySetError::NotPem);
        }
        serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": B64.encode(x)})
    } else {
        use rsa::pkcs8::DecodePublicKey;
        rsa_jwk(&rsa::RsaPublicKey::from_public_key_der(&der).map_err(|_| KeySetError::NotPem)?)
    };
    let mut jwk = jwk;
    let kid = jwk_thumbprint(&jwk);
    if let Value::Object(members) = &mut jwk {
        members.insert("kid".into(), Value::String(kid));
        members.insert("use".into(), Value::String("sig".into()));
    }
    let document = serde_json::json!({ "keys": [jwk] }).to_string();
    ClientKeySet::parse(&document)?;
    Ok(document)
}

fn rsa_jwk(key: &rsa::RsaPublicKey) -> Value {
    use rsa::traits::PublicKeyParts;
    serde_json::json!({"kty": "RSA", "n": B64.encode(key.n().to_bytes_be()), "e": B64.encode(key.e().to_bytes_be())})
}

/// RFC 7638 thumbprint of a public JWK given as JSON.
pub(crate) fn jwk_thumbprint(jwk: &Value) -> String {
    let s = |name: &str| jwk.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
    let canonical = match s("kty").as_str() {
        "EC" => format!(r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#, s("crv"), s("x"), s("y")),
        "OKP" => format!(r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#, s("crv"), s("x")),
        _ => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, s("e"), s("n")),
    };
    B64.encode(ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes()))
}

/// Verifies a client assertion's signature against the client's keys: framing, the header
/// rules of [`crate::verify`], `typ` absent, `JWT` or `client-authentication+jwt`, the
/// algorithm one of [`ASSERTION_ALGORITHMS`] and fitting the key. The key is the one named by
/// `kid`; without a `kid`, the only key the algorithm fits. Claims are not looked at here
/// (`tessera_core::assertion` does that).
pub fn verify_assertion(token: &str, keys: &ClientKeySet) -> Result<Verified, JoseError> {
    let compact = crate::Compact::parse(token)?;
    let header = &compact.header;
    if let Some(typ) = header.typ.as_deref()
        && !crate::typ_matches(Some(typ), "JWT")
        && !crate::typ_matches(Some(typ), "client-authentication+jwt")
    {
        return Err(JoseError::WrongType);
    }
    let alg = Alg::parse(&header.alg).ok_or(JoseError::AlgorithmMismatch)?;
    let key = match header.kid.as_deref() {
        Some(kid) => keys.keys.iter().find(|k| k.kid.as_deref() == Some(kid)).ok_or(JoseError::UnknownKey)?,
        None => {
            let mut fitting = keys.keys.iter().filter(|k| k.material.fits(alg) && k.alg.is_none_or(|a| a == alg));
            match (fitting.next(), fitting.next()) {
                (Some(only), None) => only,
                _ => return Err(JoseError::UnknownKey),
            }
        }
    };
    if !key.material.fits(alg) || key.alg.is_some_and(|a| a != alg) {
        return Err(JoseError::AlgorithmMismatch);
    }
    compact.verified(|input, signature| key.material.verify(alg, input, signature))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Algorithm, SigningKey};

    fn jwks_of(key: &SigningKey) -> String {
        serde_json::json!({ "keys": [key.public_jwk()] }).to_string()
    }

    #[test]
    fn assertions_verify_against_the_registered_key_only() {
        for alg in [Algorithm::ES256, Algorithm::EdDSA, Algorithm::RS256] {
            let (key, _) = SigningKey::generate(alg).unwrap();
            let set = ClientKeySet::parse(&jwks_of(&key)).unwrap();
            let token = key.sign("JWT", &serde_json::json!({"iss": "c"})).unwrap();
            assert_eq!(verify_assertion(&token, &set).unwrap().payload, br#"{"iss":"c"}"#);
            let (other, _) = SigningKey::generate(alg).unwrap();
            let forged = other.sign("JWT", &serde_json::json!({"iss": "c"})).unwrap();
            assert_eq!(verify_assertion(&forged, &set).unwrap_err(), JoseError::UnknownKey, "{alg:?}");
        }
    }

    #[test]
    fn ps256_verifies_against_an_rsa_key() {
        let (key, der) = SigningKey::generate(Algorithm::RS256).unwrap();
        let set = ClientKeySet::parse(
            &serde_json::json!({ "keys": [{"kty": "RSA", "n": key.public_jwk().n, "e": key.public_jwk().e, "kid": "r"}] }).to_string(),
        )
        .unwrap();
        let pair = signature::RsaKeyPair::from_pkcs8(&der.0).unwrap();
        let sign = |alg: &str, padding: &'static dyn signature::RsaEncoding| {
            let input = format!("{}.{}", B64.encode(format!(r#"{{"alg":"{alg}","kid":"r"}}"#)), B64.encode(br#"{"iss":"c"}"#));
            let mut sig = vec![0; pair.public().modulus_len()];
            pair.sign(padding, &ring::rand::SystemRandom::new(), input.as_bytes(), &mut sig).unwrap();
            format!("{input}.{}", B64.encode(sig))
        };
        assert!(verify_assertion(&sign("PS256", &signature::RSA_PSS_SHA256), &set).is_ok());
        assert!(verify_assertion(&sign("RS256", &signature::RSA_PKCS1_SHA256), &set).is_ok());
        // The header's alg must be the padding actually used.
        assert_eq!(verify_assertion(&sign("PS256", &signature::RSA_PKCS1_SHA256), &set).unwrap_err(), JoseError::BadSignature);
    }

    #[test]
    fn private_and_unfit_keys_are_refused() {
        let check = |text: &str, expected: KeySetError| assert_eq!(ClientKeySet::parse(text).unwrap_err(), expected, "{text}");
        check(r#"{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA","d":"AA"}]}"#, KeySetError::PrivateKey);
        check(r#"{"kty":"oct","k":"c2VjcmV0"}"#, KeySetError::PrivateKey);
        check(r#"{"keys":[]}"#, KeySetError::Empty);
        check("[1]", KeySetError::NotJson);
        check(r#"{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}"#, KeySetError::Unsupported("the only EC curve is P-256"));
        check(r#"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#, KeySetError::Unsupported("RSA keys must have at least 2048 bits"));
        assert_eq!(jwks_from_pasted("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"), Err(KeySetError::PrivateKey));
    }

    #[test]
    fn pem_public_keys_become_jwks() {
        // `openssl genpkey -algorithm ed25519 | openssl pkey -pubout`
        let pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";
        let jwks = jwks_from_pasted(pem).unwrap();
        let set = ClientKeySet::parse(&jwks).unwrap();
        assert_eq!(set.len(), 1);
        assert!(jwks.contains(r#""crv":"Ed25519""#), "{jwks}");
    }

    #[test]
    fn header_alg_must_fit_the_key() {
        let (key, _) = SigningKey::generate(Algorithm::ES256).unwrap();
        let set = ClientKeySet::parse(&jwks_of(&key)).unwrap();
        let token = key.sign("JWT", &serde_json::json!({})).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let header = |json: &str| B64.encode(json.replace("KID", key.kid()));
        let check = |h: &str, expected: JoseError| {
            let t = format!("{}.{}.{}", header(h), parts[1], parts[2]);
            assert_eq!(verify_assertion(&t, &set).unwrap_err(), expected, "{h}");
        };
        check(r#"{"alg":"none","kid":"KID"}"#, JoseError::AlgorithmMismatch);
        check(r#"{"alg":"HS256","kid":"KID"}"#, JoseError::AlgorithmMismatch);
        check(r#"{"alg":"RS256","kid":"KID"}"#, JoseError::AlgorithmMismatch);
        check(r#"{"alg":"ES256","kid":"KID","jwk":{}}"#, JoseError::UnsupportedHeader);
        check(r#"{"alg":"ES256","kid":"KID","typ":"at+jwt"}"#, JoseError::WrongType);
        check(r#"{"alg":"ES256","kid":"other"}"#, JoseError::UnknownKey);
        // Without a kid, the one key that fits the algorithm.
        let t = format!("{}.{}.{}", header(r#"{"alg":"ES256"}"#), parts[1], parts[2]);
        assert_eq!(verify_assertion(&t, &set).unwrap_err(), JoseError::BadSignature, "signature covers the header");
    }
}
