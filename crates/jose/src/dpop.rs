//! DPoP proofs (RFC 9449 §4.2–4.3): the JOSE half of the check. A proof carries its own public
//! key in the `jwk` header; this module checks the framing, `typ`, the algorithm, that the key
//! is a public key of a kind we know and that it signed the proof, and computes the key's
//! RFC 7638 thumbprint. The claims (`htm`, `htu`, `iat`, `jti`, `ath`, `nonce`) are
//! `tessera_core::dpop`'s.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::Value;

use crate::JoseError;
use crate::assertion::{Alg, PRIVATE_MEMBERS, jwk_thumbprint, parse_jwk};

/// The algorithms a proof may be signed with (`dpop_signing_alg_values_supported`): asymmetric
/// only, never `none` or an HMAC (RFC 9449 §4.3 check 5).
pub const DPOP_ALGORITHMS: [&str; 4] = ["ES256", "EdDSA", "RS256", "PS256"];

/// The `typ` of a proof (RFC 9449 §4.2).
pub const DPOP_TYP: &str = "dpop+jwt";

/// Why a proof was refused. All of them are `invalid_dpop_proof` to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("the proof is not a compact JWS")]
    Malformed,
    #[error("the proof's typ is not dpop+jwt")]
    WrongType,
    #[error("the proof's alg is not an accepted asymmetric algorithm or does not fit its key")]
    Algorithm,
    #[error("the proof has no jwk header, or it is not a usable public key")]
    BadKey,
    #[error("the proof's jwk holds private or symmetric key material")]
    PrivateKey,
    #[error("the proof carries a header that is refused (crit, jku, x5u, x5c)")]
    Header,
    #[error("the proof's signature does not verify with its jwk")]
    BadSignature,
}

/// A proof whose signature checked out against its own `jwk`.
#[derive(Debug, Clone)]
pub struct VerifiedProof {
    /// The raw claims, not yet validated.
    pub payload: Vec<u8>,
    /// RFC 7638 thumbprint (SHA-256, base64url) of the proof's key: the `cnf.jkt` it binds to.
    pub jkt: String,
}

/// Verifies a DPoP proof's JOSE layer.
pub fn verify_proof(proof: &str) -> Result<VerifiedProof, ProofError> {
    let compact = crate::Compact::parse_framing(proof).map_err(|_| ProofError::Malformed)?;
    let header = &compact.header;
    if !crate::typ_matches(header.typ.as_deref(), DPOP_TYP) {
        return Err(ProofError::WrongType);
    }
    // The key is the one in the proof; a header naming any other key is not ours to follow.
    if header.crit.is_some() || header.jku.is_some() || header.x5u.is_some() || header.x5c.is_some() {
        return Err(ProofError::Header);
    }
    let alg = Alg::parse(&header.alg).ok_or(ProofError::Algorithm)?;
    let Some(Value::Object(jwk)) = &header.jwk else { return Err(ProofError::BadKey) };
    if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) || jwk.get("kty").and_then(Value::as_str) == Some("oct") {
        return Err(ProofError::PrivateKey);
    }
    let key = parse_jwk(jwk).map_err(|_| ProofError::BadKey)?;
    if !key.material.fits(alg) || key.alg.is_some_and(|a| a != alg) {
        return Err(ProofError::Algorithm);
    }
    let jkt = jwk_thumbprint(&Value::Object(jwk.clone()));
    let verified = compact.verified(|input, signature| key.material.verify(alg, input, signature)).map_err(|e| match e {
        JoseError::BadSignature => ProofError::BadSignature,
        _ => ProofError::Malformed,
    })?;
    Ok(VerifiedProof { payload: verified.payload, jkt })
}

/// The `ath` of an access token (RFC 9449 §4.2): base64url(SHA-256(ASCII of the token)).
pub fn access_token_hash(access_token: &str) -> String {
    B64.encode(ring::digest::digest(&ring::digest::SHA256, access_token.as_bytes()))
}

/// Builds a proof: for tests, benchmarks and clients in this workspace. `claims` is the
/// payload as is; the header is `{typ: dpop+jwt, alg, jwk}` with the key's public JWK.
pub fn sign_proof(key: &crate::SigningKey, claims: &Value) -> Result<String, JoseError> {
    let jwk = key.public_jwk();
    let mut public = serde_json::json!({ "kty": jwk.kty });
    for (name, value) in [("crv", &jwk.crv), ("x", &jwk.x), ("y", &jwk.y), ("n", &jwk.n), ("e", &jwk.e)] {
        if let Some(value) = value {
            public[name] = Value::String(value.clone());
        }
    }
    let header = serde_json::json!({ "typ": DPOP_TYP, "alg": key.algorithm().name(), "jwk": public });
    sign_with_header(key, &header, claims)
}

/// Signs `claims` under an arbitrary protected header: lets tests build refused proofs.
pub fn sign_with_header(key: &crate::SigningKey, header: &Value, claims: &Value) -> Result<String, JoseError> {
    let mut out = B64.encode(serde_json::to_vec(header).map_err(|_| JoseError::Signing)?);
    out.push('.');
    out.push_str(&B64.encode(serde_json::to_vec(claims).map_err(|_| JoseError::Signing)?));
    let signature = key.sign_raw(out.as_bytes())?;
    out.push('.');
    out.push_str(&B64.encode(signature));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Algorithm, SigningKey};
    use serde_json::json;

    #[test]
    fn proofs_verify_with_their_own_key_and_bind_its_thumbprint() {
        for alg in [Algorithm::ES256, Algorithm::EdDSA, Algorithm::RS256] {
            let (key, _) = SigningKey::generate(alg).unwrap();
            let proof = sign_proof(&key, &json!({"htm": "POST"})).unwrap();
            let verified = verify_proof(&proof).unwrap();
            assert_eq!(verified.payload, br#"{"htm":"POST"}"#);
            // The thumbprint of the public key equals the kid Tessera gives its own keys (RFC 7638).
            assert_eq!(verified.jkt, key.kid(), "{alg:?}");
        }
    }

    #[test]
    fn refused_proofs() {
        let (key, _) = SigningKey::generate(Algorithm::ES256).unwrap();
        let good = sign_proof(&key, &json!({})).unwrap();
        let header: Value = serde_json::from_slice(&B64.decode(good.split('.').next().unwrap()).unwrap()).unwrap();
        let check = |edit: &dyn Fn(&mut Value), expected: ProofError| {
            let mut h = header.clone();
            edit(&mut h);
            let proof = sign_with_header(&key, &h, &json!({})).unwrap();
            assert_eq!(verify_proof(&proof).unwrap_err(), expected, "{h}");
        };
        check(&|h| h["typ"] = json!("JWT"), ProofError::WrongType);
        check(&|h| h.as_object_mut().unwrap().remove("typ").map(drop).unwrap_or(()), ProofError::WrongType);
        check(&|h| h["alg"] = json!("HS256"), ProofError::Algorithm);
        check(&|h| h["alg"] = json!("none"), ProofError::Algorithm);
        check(&|h| h["alg"] = json!("RS256"), ProofError::Algorithm);
        check(&|h| h["jwk"]["d"] = json!("AAAA"), ProofError::PrivateKey);
        check(&|h| h["jwk"] = json!({"kty": "oct", "k": "c2VjcmV0"}), ProofError::PrivateKey);
        check(&|h| h.as_object_mut().unwrap().remove("jwk").map(drop).unwrap_or(()), ProofError::BadKey);
        check(&|h| h["jwk"]["crv"] = json!("P-384"), ProofError::BadKey);
        check(&|h| h["jku"] = json!("https://attacker.example/jwks"), ProofError::Header);
        check(&|h| h["crit"] = json!(["x"]), ProofError::Header);
        // A key other than the signer's.
        let (other, _) = SigningKey::generate(Algorithm::ES256).unwrap();
        let theirs = sign_proof(&other, &json!({})).unwrap();
        let forged = format!("{}.{}", theirs.split('.').next().unwrap(), good.split_once('.').unwrap().1);
        assert_eq!(verify_proof(&forged).unwrap_err(), ProofError::BadSignature);
        assert_eq!(verify_proof("a.b").unwrap_err(), ProofError::Malformed);
    }

    #[test]
    fn ath_is_the_rfc_example() {
        // RFC 9449 §7.1: the example access token and its ath.
        assert_eq!(access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"), "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo");
    }
}
