//! Second factors (SPEC §11): an authenticator app (RFC 6238 TOTP: SHA-1, 6 digits, 30 s,
//! ±1 step, each code accepted once) with ten single-use recovery codes, and the sign-in that
//! asks for it at `/login/mfa` after the password.
//!
//! The app's secret is sealed under the master key; recovery codes and the cookie of a sign-in
//! waiting for its second factor are stored as keyed hashes. A wrong code counts towards the same
//! lock-out as a wrong password.

use tessera_core::audit::AuditAction;
use tessera_core::message;
use tessera_core::model::{User, UserId};
use tessera_store::LoginChallenge;
use totp_rs::{Algorithm, Totp};

use crate::Tessera;
use crate::admin::Actor;
use crate::error::{Result, ServiceError};
use crate::passkeys::Purpose;
use crate::secrets::plausible_token;
use crate::session::{MULTIPLE_FACTORS, NewSession, ONE_TIME_CODE, PASSKEY, PASSWORD, SignInFrom, SignedIn};

/// Seconds a sign-in may wait for its second factor.
pub const CHALLENGE_LIFETIME: i64 = 5 * 60;
/// Seconds after signing in that showing or renewing a secret, adding a second factor or
/// changing a role goes on without asking again (SPEC §11).
pub const STEP_UP_WINDOW: i64 = 5 * 60;
/// The sealing context of a waiting sign-in's `return_to`.
const RETURN_TO_CONTEXT: &str = "login-challenge-return-to";
/// Recovery codes made at enrolment.
pub const RECOVERY_CODES: usize = 10;
/// RFC 6238's recommended values, which every authenticator app understands.
const STEP: u64 = 30;
const DIGITS: u8 = 6;
const SKEW: u16 = 1;
/// The issuer the app shows beside the account.
const APP_ISSUER: &str = "Tessera";

/// What the enrolment page shows: the secret three ways.
pub struct TotpEnrollment {
    /// Base32, for typing into the app.
    pub secret: String,
    /// `otpauth://totp/…`, for a link on the phone itself.
    pub uri: String,
    /// The URI as a QR code, an inline SVG element.
    pub qr_svg: String,
}

impl std::fmt::Debug for TotpEnrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpEnrollment").finish_non_exhaustive()
    }
}

/// What a person offers as their second factor, or to confirm it's them.
#[derive(Clone, Copy)]
pub enum Proof<'a> {
    /// A code of the authenticator app, or a recovery code.
    Code(&'a str),
    /// A passkey's answer (`credential`, JSON) to the ceremony the page carried (`ceremony`).
    Passkey { ceremony: &'a str, credential: &'a str },
}

impl std::fmt::Debug for Proof<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Proof::Code(_) => "Proof::Code",
            Proof::Passkey { .. } => "Proof::Passkey",
        })
    }
}

impl Proof<'_> {
    /// The RFC 8176 methods it adds to a password.
    fn methods(self) -> &'static [&'static str] {
        match self {
            Proof::Code(_) => &[PASSWORD, ONE_TIME_CODE, MULTIPLE_FACTORS],
            Proof::Passkey { .. } => &[PASSWORD, PASSKEY, MULTIPLE_FACTORS],
        }
    }
}

/// How a signed-in person confirms it's them (step-up).
#[derive(Clone, Copy)]
pub enum StepUp<'a> {
    /// The current password, and a code when they have a second factor.
    Password { password: &'a str, code: &'a str },
    /// One of their passkeys, answering the ceremony the page carried.
    Passkey { ceremony: &'a str, credential: &'a str },
}

impl std::fmt::Debug for StepUp<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StepUp::Password { .. } => "StepUp::Password",
            StepUp::Passkey { .. } => "StepUp::Passkey",
        })
    }
}

/// A user's second factors, as `/settings/security` shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecondFactors {
    pub totp: bool,
    pub recovery_codes_left: i64,
}

/// What a correct password leads to.
#[derive(Debug)]
pub enum SignIn {
    /// Signed in: no second factor to ask for.
    Done(NewSession),
    /// The password was right; the second factor is asked for at `/login/mfa`, for the sign-in
    /// held by this cookie.
    SecondFactor(PendingSignIn),
}

/// A sign-in waiting for its second factor: the cookie that names it.
pub struct PendingSignIn {
    pub cookie: String,
    pub max_age: i64,
}

impl std::fmt::Debug for PendingSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingSignIn").finish_non_exhaustive()
    }
}

fn totp(secret: Vec<u8>, account: &str) -> Result<Totp> {
    totp_rs::Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS)
        .with_skew(SKEW)
        .with_step_duration(STEP)
        .with_secret(secret)
        .with_issuer(Some(APP_ISSUER))
        .with_account_name(account.replace(':', "_"))
        .build()
        .map_err(|e| ServiceError::Internal(format!("cannot set up TOTP: {e}")))
}

/// The QR code of `text` as an inline SVG element (no XML prolog), labelled for screen readers.
fn qr_svg(text: &str) -> Result<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(|e| ServiceError::Internal(format!("cannot make a QR code: {e}")))?;
    let svg = code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).build();
    let svg = svg.split_once("?>").map_or(svg.as_str(), |(_, rest)| rest);
    Ok(svg.replacen("<svg ", r#"<svg role="img" aria-label="QR code of the authenticator secret" "#, 1))
}

fn enrollment(secret: Vec<u8>, account: &str) -> Result<TotpEnrollment> {
    let base32 = totp_rs::Secret::from(secret.as_slice()).to_base32();
    let uri = totp(secret, account)?.to_url().map_err(|e| ServiceError::Internal(format!("cannot make the otpauth URI: {e}")))?;
    Ok(TotpEnrollment { secret: base32, qr_svg: qr_svg(&uri)?, uri })
}

/// A recovery code: ten characters of an alphabet without look-alikes, shown as `xxxxx-xxxxx`.
/// What is stored is the keyed hash of the ten characters, lower case, without the dash.
fn normalize_recovery_code(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect()
}

const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

impl Tessera {
    fn totp_context(user: &UserId) -> String {
        format!("totp:{user}")
    }

    async fn user_totp(&self, user: &User) -> Result<Option<(Totp, tessera_store::TotpFactor)>> {
        let Some(factor) = self.store.totp_factor(&user.id).await? else { return Ok(None) };
        let secret = self.secrets.open(&Self::totp_context(&user.id), &factor.secret_sealed)?;
        Ok(Some((totp(secret, &user.email)?, factor)))
    }

    /// Whether `user` has a confirmed authenticator app or a passkey, which sign-in asks for.
    pub async fn has_second_factor(&self, user: &UserId) -> Result<bool> {
        Ok(self.has_totp(user).await? || self.has_passkey(user).await?)
    }

    pub async fn has_totp(&self, user: &UserId) -> Result<bool> {
        Ok(self.store.totp_factor(user).await?.is_some_and(|f| f.confirmed_at.is_some()))
    }

    pub async fn second_factors(&self, session: &SignedIn) -> Result<SecondFactors> {
        Ok(SecondFactors {
            totp: self.has_totp(&session.user.id).await?,
            recovery_codes_left: self.store.recovery_codes_left(&session.user.id).await?,
        })
    }

    /// Starts adding an authenticator app: a new secret (replacing one never confirmed). It is
    /// asked for at sign-in only once a code from the app confirmed it.
    pub async fn begin_totp_enrollment(&self, session: &SignedIn) -> Result<TotpEnrollment> {
        crate::sso::may_change_credentials(session)?;
        let user = &session.user;
        let secret = self.secrets.random_bytes(20)?;
        let sealed = self.secrets.seal(&Self::totp_context(&user.id), &secret)?;
        if !self.store.begin_totp(&user.id, &sealed, self.now()).await? {
            return Err(ServiceError::conflict(message!(
                "totp-set-up-already-remove",
                "an authenticator app is set up already: remove it first"
            )));
        }
        enrollment(secret, &user.email)
    }

    /// The app being added (not confirmed yet), to show again after a wrong first code.
    pub async fn totp_enrollment_in_progress(&self, session: &SignedIn) -> Result<Option<TotpEnrollment>> {
        let user = &session.user;
        let Some(factor) = self.store.totp_factor(&user.id).await?.filter(|f| f.confirmed_at.is_none()) else { return Ok(None) };
        let secret = self.secrets.open(&Self::totp_context(&user.id), &factor.secret_sealed)?;
        enrollment(secret, &user.email).map(Some)
    }

    /// Confirms the app with its first code and returns the ten recovery codes, shown once.
    pub async fn confirm_totp_enrollment(&self, session: &SignedIn, code: &str) -> Result<Vec<String>> {
        let user = &session.user;
        let Some((totp, factor)) = self.user_totp(user).await? else {
            return Err(ServiceError::NotFound("authenticator app being set up"));
        };
        if factor.confirmed_at.is_some() {
            return Err(ServiceError::conflict(message!("totp-set-up-already", "the authenticator app is set up already")));
        }
        let step = self.totp_step(&totp, code).ok_or_else(|| {
            ServiceError::invalid_field(
                "code",
                message!("totp-code-wrong", "That code is not right. Enter the six digits the app shows now."),
            )
        })?;
        let codes = self.new_recovery_codes()?;
        let hashes = self.recovery_code_hashes(&codes);
        let audit = self.audit(
            &Actor::user(user.clone()),
            AuditAction::SecondFactorAdded,
            Some(&user.org_id),
            Some(user.id.to_string()),
            serde_json::json!({ "factor": "totp" }),
        );
        if !self.store.confirm_totp(&user.id, step, &hashes, &audit).await? {
            return Err(ServiceError::NotFound("authenticator app being set up"));
        }
        Ok(codes)
    }

    /// Removes the authenticator app and the recovery codes, with the current password.
    pub async fn remove_totp(&self, session: &SignedIn, password: &str, peer: std::net::IpAddr) -> Result<()> {
        let user = &session.user;
        self.confirm_current_password(session, password, peer).await?;
        let audit = self.audit(
            &Actor::user(user.clone()),
            AuditAction::SecondFactorRemoved,
            Some(&user.org_id),
            Some(user.id.to_string()),
            serde_json::json!({ "factor": "totp" }),
        );
        if !self.store.remove_totp(&user.id, &audit).await? {
            return Err(ServiceError::NotFound("authenticator app"));
        }
        Ok(())
    }

    /// [`RECOVERY_CODES`] new recovery codes, as they are shown: `xxxxx-xxxxx`.
    pub(crate) fn new_recovery_codes(&self) -> Result<Vec<String>> {
        (0..RECOVERY_CODES).map(|_| self.recovery_code().map(|code| format!("{}-{}", &code[..5], &code[5..]))).collect()
    }

    /// What the store keeps of recovery codes: their keyed hashes.
    pub(crate) fn recovery_code_hashes(&self, codes: &[String]) -> Vec<Vec<u8>> {
        codes.iter().map(|c| self.secrets.lookup_hash(&normalize_recovery_code(c))).collect()
    }

    /// Ten characters of [`RECOVERY_ALPHABET`], each equally likely (bytes past the largest
    /// multiple of the alphabet's size are drawn again), about 49 bits.
    fn recovery_code(&self) -> Result<String> {
        let limit = 256 - 256 % RECOVERY_ALPHABET.len();
        let mut code = String::with_capacity(10);
        while code.len() < 10 {
            for byte in self.secrets.random_bytes(16)? {
                if usize::from(byte) < limit && code.len() < 10 {
                    code.push(char::from(RECOVERY_ALPHABET[usize::from(byte) % RECOVERY_ALPHABET.len()]));
                }
            }
        }
        Ok(code)
    }

    /// The time step a code belongs to, if it is right within one step of now.
    fn totp_step(&self, totp: &Totp, code: &str) -> Option<i64> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != usize::from(DIGITS) || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let now = u64::try_from(self.now()).ok()?;
        totp.check(&code, now).and_then(|step| i64::try_from(step).ok())
    }

    /// Whether `proof` is `user`'s second factor: a right code of their authenticator app
    /// (spending its time step), one of their recovery codes (spending it), or their passkey
    /// answering the ceremony started for `purpose` (spending it).
    async fn second_factor_accepts(&self, user: &User, proof: Proof<'_>, purpose: Purpose) -> Result<bool> {
        let code = match proof {
            Proof::Code(code) => code,
            Proof::Passkey { ceremony, credential } => return self.passkey_accepts(user, purpose, ceremony, credential).await,
        };
        let recovery = normalize_recovery_code(code);
        Ok(match self.user_totp(user).await? {
            Some((totp, factor)) if factor.confirmed_at.is_some() => match self.totp_step(&totp, code) {
                // Each step once: a code seen by someone else is no good to them.
                Some(step) => self.store.use_totp_step(&user.id, step).await?,
                None => self.use_recovery_code(user, &recovery).await?,
            },
            // Recovery codes also stand in for passkeys.
            _ => self.use_recovery_code(user, &recovery).await?,
        })
    }

    async fn use_recovery_code(&self, user: &User, normalized: &str) -> Result<bool> {
        Ok(normalized.len() == 10 && self.store.use_recovery_code(&user.id, &self.secrets.lookup_hash(normalized), self.now()).await?)
    }

    /// Step-up (SPEC §11): whether `session` must confirm who it is before showing or renewing a
    /// secret, adding a second factor or changing a role: its sign-in is older than
    /// [`STEP_UP_WINDOW`], or used the password alone while the user has a second factor.
    pub async fn needs_step_up(&self, session: &SignedIn) -> Result<bool> {
        let stale = self.now() - session.auth_time > STEP_UP_WINDOW;
        let one_factor = !session.amr.iter().any(|m| m == MULTIPLE_FACTORS);
        Ok(stale || (one_factor && self.has_second_factor(&session.user.id).await?))
    }

    /// Confirms who the signed-in user is: the current password, and a code when they have a
    /// second factor; or one of their passkeys alone (it verified the person on the device, so it
    /// is two factors by itself). Wrong ones count towards the lock-out. The session counts as
    /// signed in now (`auth_time`, `amr`).
    pub async fn step_up(&self, session: &SignedIn, confirmation: StepUp<'_>, peer: std::net::IpAddr) -> Result<()> {
        let user = &session.user;
        let account = user.email.to_lowercase();
        let amr: &[&str] = match confirmation {
            StepUp::Passkey { ceremony, credential } => {
                if let Some(retry_after) = self.login_limiter.locked_for(&account, self.lifetime_now()).await? {
                    return Err(ServiceError::TooManyAttempts { retry_after });
                }
                if !self.passkey_accepts(user, Purpose::StepUp, ceremony, credential).await? {
                    self.record_login_failure(&account, Some(user), "wrong_passkey", peer, self.lifetime_now()).await;
                    return Err(ServiceError::invalid_field(
                        "credential",
                        message!("passkey-step-up-not-accepted", "That passkey could not be checked. Try again, or use your password."),
                    ));
                }
                &[PASSKEY, MULTIPLE_FACTORS]
            }
            StepUp::Password { password, code } => {
                self.confirm_current_password(session, password, peer).await?;
                if self.has_second_factor(&user.id).await? {
                    if !self.second_factor_accepts(user, Proof::Code(code), Purpose::StepUp).await? {
                        self.record_login_failure(&account, Some(user), "wrong_second_factor", peer, self.lifetime_now()).await;
                        return Err(ServiceError::invalid_field(
                            "code",
                            message!("totp-code-wrong", "That code is not right. Enter the six digits the app shows now."),
                        ));
                    }
                    Proof::Code(code).methods()
                } else {
                    &[PASSWORD]
                }
            }
        };
        let amr: Vec<String> = amr.iter().map(|m| (*m).to_owned()).collect();
        self.store.renew_session_sign_in(&self.secrets.lookup_hash(session.cookie()), self.now(), &amr).await?;
        Ok(())
    }

    /// After a right password: signs in at once, or, for a user with a second factor, holds the
    /// sign-in for `/login/mfa`.
    pub(crate) async fn sign_in_after_password(
        &self,
        user: User,
        previous: Option<&str>,
        from: &SignInFrom,
        return_to: &str,
    ) -> Result<SignIn> {
        if !self.has_second_factor(&user.id).await? {
            return Ok(SignIn::Done(self.open_session(user, previous, from, &[PASSWORD]).await?));
        }
        let cookie = self.secrets.random_token(32)?;
        let now = self.lifetime_now();
        let challenge = LoginChallenge {
            user_id: user.id.clone(),
            return_to: self.seal_return_to(return_to)?,
            created_at: now,
            expires_at: now + CHALLENGE_LIFETIME,
            ip: Some(from.peer.to_string()),
            user_agent: from.user_agent.clone(),
        };
        self.store.insert_login_challenge(&self.secrets.lookup_hash(&cookie), &challenge).await?;
        Ok(SignIn::SecondFactor(PendingSignIn { cookie, max_age: CHALLENGE_LIFETIME }))
    }

    /// Where a waiting sign-in goes on to, sealed under the master key before it is stored: it
    /// may hold a secret of its own (an invitation's `/invite/{token}`), which the store keeps
    /// only as hashes.
    fn seal_return_to(&self, return_to: &str) -> Result<String> {
        use base64::Engine as _;
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.secrets.seal(RETURN_TO_CONTEXT, return_to.as_bytes())?))
    }

    /// The sealed `return_to` of a waiting sign-in; the portal's home when it cannot be opened.
    fn open_return_to(&self, sealed: &str) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(sealed)
            .ok()
            .and_then(|bytes| self.secrets.open(RETURN_TO_CONTEXT, &bytes).ok())
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .unwrap_or_else(|| "/".to_owned())
    }

    /// The user whose sign-in `cookie` holds, while it waits for the second factor.
    pub async fn pending_sign_in(&self, cookie: Option<&str>) -> Result<Option<User>> {
        let Some(cookie) = cookie.filter(|c| plausible_token(c)) else { return Ok(None) };
        let Some(challenge) = self.store.login_challenge(&self.secrets.lookup_hash(cookie)).await? else { return Ok(None) };
        if self.lifetime_now() >= challenge.expires_at {
            return Ok(None);
        }
        Ok(self.store.user(&challenge.user_id).await?.filter(|u| u.is_active() && !u.service))
    }

    /// `/login/mfa`: a code from the app, a recovery code or a passkey, for the sign-in `cookie`
    /// holds. Opens the session and says where to go on; a wrong one is `BadCredentials` and
    /// counts towards the account's lock-out.
    pub async fn complete_sign_in(
        &self,
        cookie: &str,
        proof: Proof<'_>,
        previous: Option<&str>,
        from: &SignInFrom,
    ) -> Result<(NewSession, String)> {
        let expired = || ServiceError::NotFound("sign-in");
        let hash = self.secrets.lookup_hash(cookie);
        let challenge = match plausible_token(cookie) {
            true => self.store.login_challenge(&hash).await?,
            false => None,
        };
        let Some(challenge) = challenge.filter(|c| self.lifetime_now() < c.expires_at) else { return Err(expired()) };
        let Some(user) = self.store.user(&challenge.user_id).await?.filter(|u| u.is_active() && !u.service) else { return Err(expired()) };
        let account = user.email.to_lowercase();
        let now = self.lifetime_now();
        if let Some(retry_after) = self.login_limiter.locked_for(&account, now).await? {
            return Err(ServiceError::TooManyAttempts { retry_after });
        }
        if !self.second_factor_accepts(&user, proof, Purpose::SecondFactor).await? {
            self.record_login_failure(&account, Some(&user), "wrong_second_factor", from.peer, now).await;
            return Err(ServiceError::BadCredentials);
        }
        if !self.store.delete_login_challenge(&hash).await? {
            return Err(expired());
        }
        self.login_limiter.clear(&account).await?;
        let session = self.open_session(user, previous, from, proof.methods()).await?;
        Ok((session, self.open_return_to(&challenge.return_to)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B (SHA-1 seed), cut to six digits as the apps show them.
    #[test]
    fn codes_follow_the_rfc_6238_test_vectors_within_one_step() {
        let totp = totp(b"12345678901234567890".to_vec(), "someone@example.com").unwrap();
        for (time, code) in [(59, "287082"), (1_111_111_109, "081804"), (1_234_567_890, "005924"), (2_000_000_000, "279037")] {
            assert_eq!(totp.generate(time).to_string(), code, "T = {time}");
            assert_eq!(totp.check(code, time), Some(time / STEP), "T = {time}");
            assert!(totp.check(code, time + STEP).is_some(), "one step late is still right");
            assert!(totp.check(code, time + 2 * STEP).is_none(), "two steps late is not");
        }
    }

    #[test]
    fn recovery_codes_are_compared_without_case_or_dash() {
        assert_eq!(normalize_recovery_code("AB3DE-fg7hj"), "ab3defg7hj");
        assert_eq!(normalize_recovery_code(" ab3de fg7hj\n"), "ab3defg7hj");
    }

    #[test]
    fn the_qr_code_is_an_inline_svg_element_with_a_label() {
        let svg = qr_svg("otpauth://totp/Tessera:a@b.c?secret=ABC&issuer=Tessera").unwrap();
        assert!(svg.starts_with(r#"<svg role="img" aria-label="#) && svg.ends_with("</svg>"), "{svg}");
        assert!(!svg.contains("<?xml") && !svg.contains("<script"));
    }
}
