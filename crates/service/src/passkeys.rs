//! Passkeys (WebAuthn, SPEC §11): a person registers several, names and removes them, and uses one
//! as their second factor after the password, to confirm it's them before a sensitive action, or
//! instead of the password altogether.
//!
//! The checks are webauthn-rs's (the kanidm project's relying-party library): challenge, origin,
//! relying-party id, signature, user verification (always required, so a passkey is itself two
//! factors: the device and its PIN or biometric) and the signature counter. What is ours: where
//! the ceremony state waits between its two requests (the store, by the keyed hash of a handle the
//! page carries, five minutes, spent by the first attempt to finish it), which person a passkey
//! belongs to, and what a passkey that checks out leads to.
//!
//! The relying party is the issuer's host. WebAuthn has no relying party on an IP address, so an
//! issuer like `http://127.0.0.1:8080` has passkeys off, and the pages say so.

use tessera_core::audit::AuditAction;
use tessera_core::message;
use tessera_core::model::{PersonId, User, UserId};
use tessera_store::{PasskeyRecord, WebauthnCeremony};
use url::Url;
use webauthn_rs::prelude::{
    CredentialID, DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Uuid, Webauthn, WebauthnBuilder,
};

use crate::Tessera;
use crate::admin::Actor;
use crate::error::{Result, ServiceError};
use crate::secrets::plausible_token;
use crate::session::{MULTIPLE_FACTORS, NewSession, PASSKEY, SignInFrom, SignedIn};

/// Seconds between showing a page that asks for a passkey and its answer.
pub const CEREMONY_LIFETIME: i64 = 5 * 60;
/// The longest name a person gives a passkey.
pub const NAME_MAX: usize = 64;
/// Passkeys one person may register.
pub const PER_PERSON: usize = 20;

/// The WebAuthn relying party of `issuer`: its host, when that is a domain name (`localhost`
/// included), with the issuer's origin the only one allowed; `None` on an IP address.
pub(crate) fn relying_party(issuer: &str) -> Option<Webauthn> {
    let url = Url::parse(issuer).ok()?;
    let host = url.domain()?.to_owned();
    let origin = Url::parse(&url.origin().ascii_serialization()).ok()?;
    WebauthnBuilder::new(&host, &origin).ok()?.rp_name("Tessera").build().ok()
}

/// What a ceremony is for; finishing it for anything else fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Adding a passkey on `/settings/security`.
    Register,
    /// The second step of a sign-in whose password was right (`/login/mfa`).
    SecondFactor,
    /// Confirming it's them before a sensitive action.
    StepUp,
    /// Signing in with a passkey alone (`/login/passkey`).
    SignIn,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::SecondFactor => "second_factor",
            Purpose::StepUp => "step_up",
            Purpose::SignIn => "sign_in",
        }
    }
}

/// A ceremony started: the handle the page carries back, and the options for the browser's
/// `navigator.credentials` call (JSON, as `PublicKeyCredential.parse…OptionsFromJSON` reads it).
pub struct PasskeyCeremony {
    pub handle: String,
    pub options: String,
}

impl std::fmt::Debug for PasskeyCeremony {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasskeyCeremony").finish_non_exhaustive()
    }
}

/// A passkey as `/settings/security` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeySummary {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// The answer a browser sent does not check out (a wrong or spent ceremony, another person's or
/// an unknown passkey, a bad signature or origin): one message for all, the reason in the log.
fn not_accepted() -> ServiceError {
    ServiceError::invalid_field(
        "credential",
        message!("passkey-not-accepted", "That passkey could not be checked. Try again, or use another way."),
    )
}

fn internal(what: &str, e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(format!("{what}: {e}"))
}

impl Tessera {
    /// Whether this server can use passkeys (its issuer names a domain).
    pub fn passkeys_enabled(&self) -> bool {
        self.webauthn.is_some()
    }

    fn webauthn(&self) -> Result<&Webauthn> {
        self.webauthn.as_ref().ok_or_else(|| {
            ServiceError::off(message!(
                "passkey-off",
                "passkeys need the issuer to be a domain name (WebAuthn has no relying party on an IP address)"
            ))
        })
    }

    /// The WebAuthn user handle of a person: stable, opaque (a keyed hash of the person id, so
    /// it says nothing about them), 16 bytes as webauthn-rs wants.
    fn webauthn_user(&self, person: &PersonId) -> Uuid {
        let hash = self.secrets.lookup_hash(&format!("webauthn-user:{person}"));
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&hash[..16]);
        Uuid::from_bytes(bytes)
    }

    async fn start_ceremony(&self, purpose: Purpose, person: Option<&PersonId>, state: String, options: String) -> Result<PasskeyCeremony> {
        let handle = self.secrets.random_token(32)?;
        let now = self.lifetime_now();
        let ceremony = WebauthnCeremony {
            person_id: person.cloned(),
            purpose: purpose.as_str().to_owned(),
            state,
            expires_at: now + CEREMONY_LIFETIME,
        };
        self.store.insert_webauthn_ceremony(&self.secrets.lookup_hash(&handle), &ceremony, now).await?;
        Ok(PasskeyCeremony { handle, options })
    }

    /// Spends the ceremony `handle` names and returns its state, if it is for `purpose` and
    /// `person`, and not expired.
    async fn take_ceremony(&self, handle: &str, purpose: Purpose, person: Option<&PersonId>) -> Result<Option<String>> {
        if !plausible_token(handle) {
            return Ok(None);
        }
        let Some(ceremony) = self.store.take_webauthn_ceremony(&self.secrets.lookup_hash(handle)).await? else { return Ok(None) };
        if ceremony.purpose != purpose.as_str() || ceremony.person_id.as_ref() != person || self.lifetime_now() >= ceremony.expires_at {
            tracing::info!(purpose = purpose.as_str(), "a passkey ceremony was finished for something else, or late");
            return Ok(None);
        }
        Ok(Some(ceremony.state))
    }

    async fn passkeys_of(&self, user: &User) -> Result<Vec<(PasskeyRecord, Passkey)>> {
        let records = self.store.passkeys(&user.id).await?;
        records
            .into_iter()
            .map(|record| {
                let passkey = serde_json::from_str(&record.credential).map_err(|e| internal("a stored passkey cannot be read", e))?;
                Ok((record, passkey))
            })
            .collect()
    }

    /// Whether `user` has a passkey (which makes it a second factor sign-in asks for).
    pub(crate) async fn has_passkey(&self, user: &UserId) -> Result<bool> {
        Ok(!self.store.passkeys(user).await?.is_empty())
    }

    /// The signed-in person's passkeys, oldest first.
    pub async fn passkeys(&self, session: &SignedIn) -> Result<Vec<PasskeySummary>> {
        Ok(self
            .store
            .passkeys(&session.user.id)
            .await?
            .into_iter()
            .map(|p| PasskeySummary { id: p.id, name: p.name, created_at: p.created_at, last_used_at: p.last_used_at })
            .collect())
    }

    /// Starts adding a passkey: the browser is asked for a new discoverable credential (so that it
    /// can sign in without an email), with user verification, none of the person's own again.
    pub async fn begin_passkey_registration(&self, session: &SignedIn) -> Result<PasskeyCeremony> {
        crate::sso::may_change_credentials(session)?;
        let webauthn = self.webauthn()?;
        let user = &session.user;
        let existing = self.passkeys_of(user).await?;
        if existing.len() >= PER_PERSON {
            return Err(ServiceError::conflict(message!(
                "passkey-too-many",
                "you have {most} passkeys already: remove one first",
                most = PER_PERSON
            )));
        }
        let exclude: Vec<CredentialID> = existing.iter().map(|(_, p)| p.cred_id().clone()).collect();
        let (options, state) = webauthn
            .start_passkey_registration(self.webauthn_user(&user.person_id), &user.email, &user.email, Some(exclude))
            .map_err(|e| internal("cannot start a passkey registration", e))?;
        let mut options = serde_json::to_value(&options).map_err(|e| internal("cannot write passkey options", e))?;
        // A passkey signs in without a name first only when the authenticator keeps it (a
        // discoverable credential); webauthn-rs leaves that to the authenticator.
        if let Some(selection) = options.pointer_mut("/publicKey/authenticatorSelection").and_then(|s| s.as_object_mut()) {
            selection.insert("residentKey".into(), "required".into());
            selection.insert("requireResidentKey".into(), true.into());
        }
        let state = serde_json::to_string(&state).map_err(|e| internal("cannot keep a passkey registration", e))?;
        let options = options.to_string();
        self.start_ceremony(Purpose::Register, Some(&user.person_id), state, options).await
    }

    /// Finishes adding a passkey named `name`. The first second factor of a person comes with ten
    /// recovery codes, returned to be shown once; `None` when they have codes already.
    pub async fn finish_passkey_registration(
        &self,
        session: &SignedIn,
        handle: &str,
        name: &str,
        credential: &str,
    ) -> Result<Option<Vec<String>>> {
        let webauthn = self.webauthn()?;
        let user = &session.user;
        let name = name.trim();
        if name.chars().count() > NAME_MAX {
            return Err(ServiceError::invalid_field(
                "name",
                message!("passkey-name-too-long", "A passkey's name is at most {most} characters.", most = NAME_MAX),
            ));
        }
        let name = if name.is_empty() { "Passkey" } else { name };
        let state = self.take_ceremony(handle, Purpose::Register, Some(&user.person_id)).await?.ok_or_else(not_accepted)?;
        let state: PasskeyRegistration = serde_json::from_str(&state).map_err(|e| internal("a passkey registration cannot be read", e))?;
        let credential: RegisterPublicKeyCredential = serde_json::from_str(credential).map_err(|_| not_accepted())?;
        let passkey = webauthn.finish_passkey_registration(&credential, &state).map_err(|e| {
            tracing::info!(error = %e, "a passkey registration was refused");
            not_accepted()
        })?;
        let first_factor = !self.has_second_factor(&user.id).await? && self.store.recovery_codes_left(&user.id).await? == 0;
        let codes = if first_factor { self.new_recovery_codes()? } else { Vec::new() };
        let hashes = self.recovery_code_hashes(&codes);
        let record = PasskeyRecord {
            id: format!("pk_{}", self.secrets.random_token(12)?),
            person_id: user.person_id.clone(),
            credential_id: passkey.cred_id().to_vec(),
            name: name.to_owned(),
            credential: serde_json::to_string(&passkey).map_err(|e| internal("cannot keep a passkey", e))?,
            created_at: self.now(),
            last_used_at: None,
        };
        let audit = self.audit(
            &Actor::user(user.clone()),
            AuditAction::SecondFactorAdded,
            Some(&user.org_id),
            Some(user.id.to_string()),
            serde_json::json!({ "factor": "passkey", "passkey": record.id, "name": record.name }),
        );
        if !self.store.insert_passkey(&record, &hashes, &audit).await? {
            return Err(ServiceError::conflict(message!("passkey-registered-already", "this passkey is registered already")));
        }
        Ok(first_factor.then_some(codes))
    }

    /// Removes one of the signed-in person's passkeys (the page asks them to confirm it's them
    /// first, step-up).
    pub async fn remove_passkey(&self, session: &SignedIn, id: &str) -> Result<()> {
        let user = &session.user;
        let audit = self.audit(
            &Actor::user(user.clone()),
            AuditAction::SecondFactorRemoved,
            Some(&user.org_id),
            Some(user.id.to_string()),
            serde_json::json!({ "factor": "passkey", "passkey": id }),
        );
        if !self.store.remove_passkey(&user.id, id, &audit).await? {
            return Err(ServiceError::NotFound("passkey"));
        }
        Ok(())
    }

    /// Starts asking `user` for one of their passkeys (a second factor, or step-up); `None` when
    /// they have none, or passkeys are off.
    pub async fn begin_passkey_check(&self, user: &User, purpose: Purpose) -> Result<Option<PasskeyCeremony>> {
        let Some(webauthn) = self.webauthn.as_ref() else { return Ok(None) };
        let passkeys: Vec<Passkey> = self.passkeys_of(user).await?.into_iter().map(|(_, p)| p).collect();
        if passkeys.is_empty() {
            return Ok(None);
        }
        let (options, state) =
            webauthn.start_passkey_authentication(&passkeys).map_err(|e| internal("cannot start a passkey authentication", e))?;
        let state = serde_json::to_string(&state).map_err(|e| internal("cannot keep a passkey authentication", e))?;
        let options = serde_json::to_string(&options).map_err(|e| internal("cannot write passkey options", e))?;
        self.start_ceremony(purpose, Some(&user.person_id), state, options).await.map(Some)
    }

    /// Whether `credential` is `user`'s passkey answering the ceremony `handle` started for
    /// `purpose` (spending the ceremony, and keeping the passkey's new counter).
    pub(crate) async fn passkey_accepts(&self, user: &User, purpose: Purpose, handle: &str, credential: &str) -> Result<bool> {
        let webauthn = self.webauthn()?;
        let Some(state) = self.take_ceremony(handle, purpose, Some(&user.person_id)).await? else { return Ok(false) };
        let state: PasskeyAuthentication =
            serde_json::from_str(&state).map_err(|e| internal("a passkey authentication cannot be read", e))?;
        let Ok(credential) = serde_json::from_str::<PublicKeyCredential>(credential) else { return Ok(false) };
        let Some((record, mut passkey)) =
            self.passkeys_of(user).await?.into_iter().find(|(record, _)| record.credential_id == credential.raw_id)
        else {
            return Ok(false);
        };
        match webauthn.finish_passkey_authentication(&credential, &state) {
            Ok(result) => {
                passkey.update_credential(&result);
                self.note_passkey_use(&record, &passkey).await?;
                Ok(true)
            }
            Err(e) => {
                tracing::info!(error = %e, "a passkey authentication was refused");
                Ok(false)
            }
        }
    }

    async fn note_passkey_use(&self, record: &PasskeyRecord, passkey: &Passkey) -> Result<()> {
        let credential = serde_json::to_string(passkey).map_err(|e| internal("cannot keep a passkey", e))?;
        self.store.passkey_used(&record.id, &credential, self.now()).await.map_err(Into::into)
    }

    /// Starts a sign-in with a passkey alone: the browser offers whichever of its passkeys are for
    /// this server (discoverable credentials), naming nobody.
    pub async fn begin_passkey_sign_in(&self) -> Result<PasskeyCeremony> {
        let webauthn = self.webauthn()?;
        let (mut options, state) =
            webauthn.start_discoverable_authentication().map_err(|e| internal("cannot start a passkey sign-in", e))?;
        // Asked for by a button press, not offered in the email field's autofill.
        options.mediation = None;
        let state = serde_json::to_string(&state).map_err(|e| internal("cannot keep a passkey sign-in", e))?;
        let options = serde_json::to_string(&options).map_err(|e| internal("cannot write passkey options", e))?;
        self.start_ceremony(Purpose::SignIn, None, state, options).await
    }

    /// `/login/passkey`: signs in with a passkey alone. It verified the person on the device,
    /// so the session counts as two factors (`amr` `hwk mfa`).
    pub async fn sign_in_with_passkey(
        &self,
        handle: &str,
        credential: &str,
        previous: Option<&str>,
        from: &SignInFrom,
    ) -> Result<NewSession> {
        let user = self.passkey_sign_in_user(handle, credential, from.peer).await?;
        // A passkey is a credential of the person's own: where the organization requires its
        // provider, it signs in there only as an owner, as a password does.
        self.sign_in_allowed_without_provider(&user).await?;
        self.open_session(user, previous, from, &[PASSKEY, MULTIPLE_FACTORS]).await
    }

    /// The membership a passkey alone signs in: the passkey's person (which its user handle must
    /// name), their preferred membership, enabled and not a service user. A refusal is
    /// `BadCredentials` and, for a known passkey, counts towards its account's lock-out.
    async fn passkey_sign_in_user(&self, handle: &str, credential: &str, peer: std::net::IpAddr) -> Result<User> {
        let webauthn = self.webauthn()?;
        let Some(state) = self.take_ceremony(handle, Purpose::SignIn, None).await? else { return Err(ServiceError::BadCredentials) };
        let state: DiscoverableAuthentication =
            serde_json::from_str(&state).map_err(|e| internal("a passkey sign-in cannot be read", e))?;
        let Ok(credential) = serde_json::from_str::<PublicKeyCredential>(credential) else { return Err(ServiceError::BadCredentials) };
        let Ok((user_handle, credential_id)) = webauthn.identify_discoverable_authentication(&credential) else {
            return Err(ServiceError::BadCredentials);
        };
        let Some(record) = self.store.passkey_by_credential(credential_id).await? else { return Err(ServiceError::BadCredentials) };
        let user = self.store.preferred_membership(&record.person_id).await?;
        let Some(user) = user.filter(|u| self.webauthn_user(&u.person_id) == user_handle) else { return Err(ServiceError::BadCredentials) };
        let account = user.email.to_lowercase();
        let now = self.lifetime_now();
        if let Some(retry_after) = self.login_limiter.locked_for(&account, now).await? {
            return Err(ServiceError::TooManyAttempts { retry_after });
        }
        let mut passkey: Passkey = serde_json::from_str(&record.credential).map_err(|e| internal("a stored passkey cannot be read", e))?;
        match webauthn.finish_discoverable_authentication_v2(&credential, state, &passkey) {
            Ok(result) if user.is_active() && !user.service => {
                passkey.update_credential(&result);
                self.note_passkey_use(&record, &passkey).await?;
                self.login_limiter.clear(&account).await?;
                Ok(user)
            }
            outcome => {
                let reason = if outcome.is_ok() { "user_disabled" } else { "wrong_passkey" };
                if let Err(e) = &outcome {
                    tracing::info!(error = %e, "a passkey sign-in was refused");
                }
                self.record_login_failure(&account, Some(&user), reason, peer, now).await;
                Err(ServiceError::BadCredentials)
            }
        }
    }
}
