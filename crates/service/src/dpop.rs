//! DPoP proofs at Tessera's endpoints (RFC 9449): the signature through `tessera_jose::dpop`,
//! the claims through `tessera_core::dpop`, the `jti` spent in the store (one atomic insert, so
//! every node agrees), nonces from the master key (stateless, so every node agrees too).

use tessera_core::dpop::{self as rules, Expected, ProofFailure};
use tessera_core::{ErrorCode, OAuthError};
use tessera_jose::dpop::{ProofError, verify_proof};

use crate::error::{Result, ServiceError};
use crate::{EndpointRequest, Tessera};

pub use tessera_jose::dpop::DPOP_ALGORITHMS;

/// Where a DPoP proof is presented and what it must match.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProofSite<'a> {
    /// The request's method and URL (`htm`, `htu`).
    pub method: &'a str,
    pub url: &'a str,
    /// At a resource: the hash of the access token (`ath`) and the key it is bound to.
    pub ath: Option<&'a str>,
    pub bound_jkt: Option<&'a str>,
    /// Whether the proof comes to a resource (its refusals are `WWW-Authenticate: DPoP`
    /// challenges) rather than to the token endpoint.
    pub at_resource: bool,
}

impl Tessera {
    /// The nonce a client should put in its next proof, when the server demands nonces.
    pub fn dpop_nonce(&self) -> Option<String> {
        self.settings.dpop_nonce_required.then(|| self.secrets.dpop_nonce(self.clock.now()))
    }

    /// The proof of a token request, checked: the thumbprint of its key, which the issued
    /// tokens are bound to; `None` when the request carries no proof.
    pub(crate) async fn token_request_proof(&self, request: &EndpointRequest, now: i64) -> Result<Option<String>> {
        let proof = match request.dpop.as_slice() {
            [] => return Ok(None),
            [proof] => proof,
            _ => return Err(self.refusal(ProofFailure::Malformed, false, now)),
        };
        let url = format!("{}{}", self.issuer(), request.path);
        let site = ProofSite { method: "POST", url: &url, ath: None, bound_jkt: None, at_resource: false };
        self.check_proof(proof, &site, now).await.map(Some)
    }

    /// Checks one proof completely and spends its `jti`; returns the key's thumbprint.
    pub(crate) async fn check_proof(&self, proof: &str, site: &ProofSite<'_>, now: i64) -> Result<String> {
        let ProofSite { method, url, ath, bound_jkt, at_resource: resource } = *site;
        let verified = verify_proof(proof).map_err(|e| {
            let failure = if e == ProofError::PrivateKey { ProofFailure::PrivateKey } else { ProofFailure::Signature };
            tracing::info!(failure = failure.as_str(), detail = %e, "DPoP proof refused");
            self.refusal(failure, resource, now)
        })?;
        let nonces = self.settings.dpop_nonce_required.then(|| self.secrets.dpop_nonces(now).to_vec());
        let expected = Expected { method, url, now, access_token_hash: ath, nonces: nonces.as_deref(), bound_jkt, jkt: &verified.jkt };
        let accepted = rules::check(&verified.payload, &expected).map_err(|failure| {
            tracing::info!(failure = failure.as_str(), "DPoP proof refused");
            self.refusal(failure, resource, now)
        })?;
        // Spent only by a proof that passed every other check, so a refused request never
        // burns the id of a later good one.
        if !self.store.consume_dpop_jti(&verified.jkt, &accepted.jti, accepted.remember_until).await? {
            tracing::info!(failure = ProofFailure::Replayed.as_str(), "DPoP proof refused");
            return Err(self.refusal(ProofFailure::Replayed, resource, now));
        }
        Ok(verified.jkt)
    }

    /// The error for a refused proof, with the nonce to use next when nonces are demanded.
    pub(crate) fn refusal(&self, failure: ProofFailure, resource: bool, now: i64) -> ServiceError {
        let error = match failure {
            ProofFailure::UseNonce => OAuthError::new(ErrorCode::UseDpopNonce, "the DPoP proof must carry the nonce the server provides"),
            ProofFailure::Replayed => OAuthError::new(ErrorCode::InvalidDpopProof, "the DPoP proof has been used before"),
            ProofFailure::WrongMethod | ProofFailure::WrongUrl => {
                OAuthError::new(ErrorCode::InvalidDpopProof, "the DPoP proof is for another request (htm or htu)")
            }
            ProofFailure::Stale | ProofFailure::MissingIat => {
                OAuthError::new(ErrorCode::InvalidDpopProof, "the DPoP proof is too old, from the future or has no iat")
            }
            ProofFailure::WrongAth => OAuthError::new(ErrorCode::InvalidDpopProof, "the DPoP proof's ath does not match the access token"),
            ProofFailure::WrongKey => {
                OAuthError::new(ErrorCode::InvalidDpopProof, "the DPoP proof is not signed by the key the token is bound to")
            }
            ProofFailure::PrivateKey => OAuthError::new(ErrorCode::InvalidDpopProof, "the DPoP proof's jwk must be a public key"),
            ProofFailure::Missing => OAuthError::new(
                ErrorCode::InvalidDpopProof,
                "a DPoP proof is required: the client requires DPoP-bound tokens, or the refresh token is bound to a DPoP key",
            ),
            _ => OAuthError::new(ErrorCode::InvalidDpopProof, "the DPoP proof is malformed or its signature does not verify"),
        };
        let nonce = self.settings.dpop_nonce_required.then(|| self.secrets.dpop_nonce(now));
        ServiceError::Dpop { error, nonce, resource }
    }
}
