//! Pushed authorization requests (RFC 9126): the push endpoint's use case, and how the
//! authorization endpoint opens and consumes a pushed request.
//!
//! The rules are `tessera_core::par`; a pushed request lives in the store, so that opening and
//! consuming it are single atomic updates every node on one database agrees on.

use tessera_core::par::{self, PushedRequest, REQUEST_URI_PREFIX};
use tessera_core::params::Params;
use tessera_core::{ErrorCode, OAuthError};
use tessera_proto::PushedAuthorizationResponse;

use crate::authorization::AuthorizeOutcome;
use crate::error::Result;
use crate::{EndpointRequest, Tessera, read_credentials};

/// A pushed request in use by an authorization request.
#[derive(Debug, Clone)]
pub(crate) struct Pushed {
    hash: Vec<u8>,
    /// When the authorization endpoint first used it.
    pub(crate) opened_at: Option<i64>,
    /// Whether this request was that first use.
    pub(crate) opened_now: bool,
}

impl Tessera {
    /// `POST /oauth2/par` (RFC 9126 §2): the client authenticates as at the token endpoint, the
    /// request is validated as the authorization endpoint would, and it is stored for one use.
    pub async fn push_authorization_request(&self, request: &EndpointRequest) -> Result<PushedAuthorizationResponse> {
        let now = self.clock.now();
        let presented = read_credentials(request)?;
        let caller = self.authenticate(&presented, request, now).await?;
        let params = par::validate_push(&request.params, &caller.client, self.settings.default_response_type)?;
        let reference = self.secrets.random_token(32)?;
        let lifetime = self.settings.pushed_request_lifetime.max(1);
        // Its lifetime and its window for login and consent run on the lifetime clock (SPEC §12).
        let started = self.lifetime_now();
        let pushed = PushedRequest {
            client_id: caller.client.id.to_string(),
            params: params.to_form(),
            expires_at: started.saturating_add(lifetime),
            opened_at: None,
            consumed: false,
        };
        self.store.insert_pushed_request(&self.reference_hash(&reference), &pushed, started).await?;
        Ok(PushedAuthorizationResponse {
            request_uri: format!("{REQUEST_URI_PREFIX}{reference}"),
            expires_in: u64::try_from(lifetime).unwrap_or(1),
        })
    }

    /// Keyed hashes of references live apart from those of codes and tokens.
    fn reference_hash(&self, reference: &str) -> Vec<u8> {
        self.secrets.lookup_hash(&format!("par:{reference}"))
    }

    /// The parameters an authorization request stands for: its own, or (with `request_uri`) the
    /// pushed request's, which is opened on first use. `Err`: the page to show.
    pub(crate) async fn resolve_pushed(&self, params: &Params) -> Result<std::result::Result<Option<(Params, Pushed)>, OAuthError>> {
        let reference = match par::reference(params) {
            Ok(Some(reference)) => reference,
            Ok(None) => return Ok(Ok(None)),
            Err(error) => return Ok(Err(error)),
        };
        let unknown = || OAuthError::new(ErrorCode::InvalidRequestUri, "request_uri is unknown");
        if !crate::secrets::plausible_token(reference) {
            return Ok(Err(unknown()));
        }
        let now = self.lifetime_now();
        let hash = self.reference_hash(reference);
        let Some((stored, opened_now)) = self.store.open_pushed_request(&hash, now).await? else {
            return Ok(Err(unknown()));
        };
        let client_id = params.get("client_id").unwrap_or_default();
        Ok(par::usable(&stored, client_id, now)
            .map(|pushed_params| Some((pushed_params, Pushed { hash, opened_at: stored.opened_at, opened_now }))))
    }

    /// Consumes the pushed request (if any) before the client is answered; `Some`: it was used
    /// already (another tab or a replay won), and this page is the answer instead.
    pub(crate) async fn consume_pushed(&self, pushed: Option<&Pushed>) -> Result<Option<AuthorizeOutcome>> {
        let Some(pushed) = pushed else { return Ok(None) };
        if self.store.consume_pushed_request(&pushed.hash, self.lifetime_now()).await? {
            return Ok(None);
        }
        Ok(Some(AuthorizeOutcome::ErrorPage(OAuthError::new(ErrorCode::InvalidRequestUri, "request_uri has been used already"))))
    }

    /// `outcome`, after consuming the pushed request when the outcome answers the client.
    pub(crate) async fn finish_pushed(&self, pushed: Option<&Pushed>, outcome: AuthorizeOutcome) -> Result<AuthorizeOutcome> {
        if matches!(outcome, AuthorizeOutcome::Redirect(_))
            && let Some(page) = self.consume_pushed(pushed).await?
        {
            return Ok(page);
        }
        Ok(outcome)
    }
}
