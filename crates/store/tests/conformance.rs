#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! The store conformance suite: the same cases, in-process, against both backends (a fresh
//! SQLite file and a fresh PostgreSQL database each), through the `Store` trait the service
//! uses. The backends share their statements (`sql.rs`); these cases pin down the rules where
//! they may still differ: dialect statements, locks, the change feed, spent ids, and the schema
//! that each migration history builds.

use std::collections::BTreeSet;
use std::sync::Arc;

use tessera_core::audit::{AuditAction, AuditEvent};
use tessera_core::code::IssuedCode;
use tessera_core::model::{
    Client, ClientId, ClientStatus, GrantType, Org, OrgId, PersonId, Pkce, Role, ScopeDef, TokenEndpointAuthMethod, User, UserId,
};
use tessera_core::refresh::RefreshState;
use tessera_core::scope::ScopeSet;
use tessera_store::{
    AccountTokenPurpose, AccountTokenRecord, AuditQuery, ClientRecord, CodeRecord, CodeRedemption, Entity, GrantRecord,
    IdentityProviderRecord, KeyRecord, KeyRotation, KeyState, LoginChallenge, PasskeyRecord, PasswordChange, PreviousSecret,
    SecretMaterial, SessionRecord, Store, StoreError, WebauthnCeremony,
};
use tessera_testkit::TestDatabase;

/// One store of one backend, with what must outlive it.
struct Opened {
    backend: &'static str,
    store: Arc<dyn Store>,
    url: String,
    _database: Option<TestDatabase>,
    directory: Option<std::path::PathBuf>,
}

impl Drop for Opened {
    fn drop(&mut self) {
        if let Some(directory) = &self.directory {
            let _ = std::fs::remove_dir_all(directory);
        }
    }
}

async fn sqlite() -> Opened {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let directory = std::env::temp_dir().join(format!("tessera-conformance-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let url = format!("sqlite://{}", directory.join("tessera.db").display());
    let store = tessera_store::open(&url).await.unwrap();
    Opened { backend: "sqlite", store, url, _database: None, directory: Some(directory) }
}

async fn postgres() -> Opened {
    let database = TestDatabase::create().expect("PostgreSQL at TESSERA_TEST_POSTGRES (default 127.0.0.1:5432)");
    let store = tessera_store::open(&database.url).await.unwrap();
    let url = database.url.clone();
    Opened { backend: "postgres", store, url, _database: Some(database), directory: None }
}

/// Each case runs on SQLite, then on PostgreSQL; a failure names the backend.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                for opened in [sqlite().await, postgres().await] {
                    eprintln!("{} on {}", stringify!($case), opened.backend);
                    cases::$case(&opened).await;
                }
            }
        )*
    };
}

conformance!(
    meta_values,
    organisations_by_id_or_name,
    emails_are_unique_and_found_whatever_their_case,
    client_rows_round_trip_and_feed_the_cache,
    a_secret_rolled_with_a_grace_keeps_the_old_one_until_it_lapses,
    origins_count_only_for_clients_that_are_on,
    scopes_insert_once_and_restrict,
    a_code_is_redeemed_once,
    refresh_tokens_rotate_and_die_with_their_grant,
    consents_merge_and_their_withdrawal_ends_the_grants,
    a_grant_ends_with_the_grant_it_descends_from,
    revocations_reach_the_feed_in_full_and_by_increment,
    one_time_ids_are_spent_once,
    failures_count_within_their_window,
    key_rotations_check_the_current_key,
    the_audit_log_filters_and_pages,
    the_schema_has_the_same_tables_and_columns,
    a_store_numbered_before_the_shared_history_opens_renumbered,
    account_links_are_limited_replaced_and_spent_once,
    second_factors_confirm_once_and_accept_each_step_and_code_once,
    a_person_holds_one_membership_per_organization,
    an_invitation_is_accepted_once_while_it_is_pending,
    passkeys_belong_to_one_person_and_ceremonies_are_spent_once,
    approval_requests_count_attempts_and_leave_when_approved_or_rejected,
    usage_marks_only_rise_and_skip_deleted_clients,
    identity_providers_claim_domains_once_and_links_outlive_them,
);

fn audit(action: AuditAction, target: &str, at: i64) -> AuditEvent {
    AuditEvent {
        at,
        org_id: Some("org-1".into()),
        actor: "cli".into(),
        action,
        target: Some(target.into()),
        ip: None,
        detail: serde_json::json!({}),
    }
}

fn user(id: &str, email: &str) -> User {
    User {
        id: UserId::new(id),
        org_id: OrgId::new("org-1"),
        person_id: PersonId::new(id),
        email: email.into(),
        role: Role::Member,
        service: false,
        authorize_applications: true,
        disabled: false,
        created_at: 100,
        tokens_not_before: None,
        email_verified_at: None,
    }
}

fn client(id: &str, origins: &[&str]) -> ClientRecord {
    ClientRecord {
        client: Client {
            id: ClientId::new(id),
            org_id: OrgId::new("org-1"),
            name: format!("client {id}"),
            owner: UserId::new("user-1"),
            run_as: UserId::new("user-1"),
            grants: BTreeSet::from([GrantType::ClientCredentials, GrantType::AuthorizationCode]),
            scopes: ScopeSet::parse("read write").unwrap(),
            redirect_uris: vec!["https://app.example/cb".into()],
            allowed_origins: origins.iter().map(|o| (*o).to_owned()).collect(),
            allowed_ips: vec!["10.0.0.0/8".parse().unwrap()],
            public: false,
            pkce: Pkce::Required,
            auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
            keys: None,
            access_token_ttl: Some(600),
            requires_org_approval: true,
            require_pushed_authorization_requests: false,
            dpop_bound_access_tokens: true,
            resources: vec!["https://api.example".into()],
            status: ClientStatus::On,
            created_at: 100,
            tokens_not_before: None,
        },
        secret: Some(SecretMaterial { tag: vec![1, 2, 3], sealed: vec![4, 5, 6] }),
        previous_secret: None,
    }
}

fn grant(id: &str, client: &str, user: &str) -> GrantRecord {
    GrantRecord {
        id: id.into(),
        client_id: ClientId::new(client),
        user_id: UserId::new(user),
        scope: ScopeSet::parse("openid read").unwrap(),
        auth_time: 90,
        created_at: 100,
        expires_at: None,
        revoked: false,
        resources: vec![],
        amr: vec!["pwd".into(), "otp".into(), "mfa".into()],
        parent_id: None,
    }
}

/// An organisation, its first user and a client of theirs: what most cases start from.
async fn seed(store: &dyn Store) {
    let org = Org { id: OrgId::new("org-1"), name: "Acme".into(), created_at: 100, require_mfa: false, require_sso: false };
    store.insert_org(&org, &audit(AuditAction::OrgCreated, "org-1", 100)).await.unwrap();
    store.insert_user(&user("user-1", "Owner@Acme.test"), Some("hash"), &audit(AuditAction::UserCreated, "user-1", 100)).await.unwrap();
    store.insert_client(&client("client-1", &[]), &audit(AuditAction::ClientCreated, "client-1", 100)).await.unwrap();
}

mod cases {
    use super::*;

    pub async fn identity_providers_claim_domains_once_and_links_outlive_them(o: &Opened) {
        let store = &*o.store;
        seed(store).await;
        let other = Org { id: OrgId::new("org-2"), name: "Beta".into(), created_at: 100, require_mfa: false, require_sso: false };
        store.insert_org(&other, &audit(AuditAction::OrgCreated, "org-2", 100)).await.unwrap();
        let provider = IdentityProviderRecord {
            id: "idp-1".into(),
            org_id: OrgId::new("org-1"),
            name: "Acme SSO".into(),
            issuer: "https://sso.acme.test".into(),
            client_id: "tessera".into(),
            client_secret_sealed: vec![1, 2, 3],
            email_domains: vec!["acme.test".into(), "acme.example".into()],
            default_role: Role::Member,
            created_at: 200,
            updated_at: 200,
        };
        let added = |id: &str, at| audit(AuditAction::IdentityProviderAdded, id, at);
        store.insert_identity_provider(&provider, &added("idp-1", 200)).await.unwrap();
        let stored = store.identity_provider("idp-1").await.unwrap().unwrap();
        assert_eq!(stored.email_domains, ["acme.example", "acme.test"], "domains, sorted");
        assert_eq!(stored.client_secret_sealed, [1, 2, 3]);
        assert_eq!(store.identity_provider_for_domain("acme.test").await.unwrap().unwrap().id, "idp-1");
        assert!(store.any_claimed_domain().await.unwrap());
        assert!(store.identity_provider_for_domain("beta.test").await.unwrap().is_none());

        // A domain is claimed once in the whole store; a name once per organization; a refused
        // provider leaves nothing behind.
        let thief = IdentityProviderRecord {
            id: "idp-2".into(),
            org_id: other.id.clone(),
            email_domains: vec!["beta.test".into(), "acme.test".into()],
            ..provider.clone()
        };
        let refused = store.insert_identity_provider(&thief, &added("idp-2", 201)).await;
        assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
        assert!(store.identity_provider("idp-2").await.unwrap().is_none());
        assert!(store.identity_provider_for_domain("beta.test").await.unwrap().is_none(), "not half-written");
        let twin = IdentityProviderRecord { id: "idp-3".into(), email_domains: vec![], ..provider.clone() };
        assert!(matches!(store.insert_identity_provider(&twin, &added("idp-3", 202)).await, Err(StoreError::Conflict(_))));
        let beta = IdentityProviderRecord { email_domains: vec!["beta.test".into()], ..thief.clone() };
        store.insert_identity_provider(&beta, &added("idp-2", 203)).await.unwrap();
        let listed: Vec<String> = store.identity_providers(None).await.unwrap().into_iter().map(|p| p.id).collect();
        assert_eq!(listed, ["idp-1", "idp-2"]);
        let of_beta: Vec<String> = store.identity_providers(Some(&other.id)).await.unwrap().into_iter().map(|p| p.id).collect();
        assert_eq!(of_beta, ["idp-2"]);

        // An update replaces the domains.
        let renamed = IdentityProviderRecord { name: "Acme".into(), email_domains: vec!["acme.test".into()], updated_at: 300, ..provider };
        assert!(store.update_identity_provider(&renamed, &audit(AuditAction::IdentityProviderUpdated, "idp-1", 300)).await.unwrap());
        assert!(store.identity_provider_for_domain("acme.example").await.unwrap().is_none());
        assert_eq!(store.identity_provider("idp-1").await.unwrap().unwrap().name, "Acme");
        let ghost = IdentityProviderRecord { id: "idp-9".into(), ..renamed.clone() };
        assert!(!store.update_identity_provider(&ghost, &audit(AuditAction::IdentityProviderUpdated, "idp-9", 301)).await.unwrap());

        // A sign-in through a provider: a new member (and person), linked by issuer and subject.
        let issuer = "https://sso.acme.test";
        assert!(store.federated_person(issuer, "sub-1").await.unwrap().is_none());
        let fresh = User { email_verified_at: Some(400), created_at: 400, ..user("user-9", "new@acme.test") };
        let signed = |at| audit(AuditAction::FederatedSignIn, "user-9", at);
        store.federated_sign_in(issuer, "sub-1", &fresh, true, &signed(400)).await.unwrap();
        assert_eq!(store.federated_person(issuer, "sub-1").await.unwrap(), Some(PersonId::new("user-9")));
        let made = store.user(&UserId::new("user-9")).await.unwrap().unwrap();
        assert_eq!(made.email_verified_at, Some(400));
        // Again: the link stays as it is; an existing member is linked without a new membership.
        store.federated_sign_in(issuer, "sub-1", &made, false, &signed(401)).await.unwrap();
        let owner = store.user(&UserId::new("user-1")).await.unwrap().unwrap();
        store.federated_sign_in(issuer, "sub-owner", &owner, false, &signed(402)).await.unwrap();
        assert_eq!(store.federated_person(issuer, "sub-owner").await.unwrap(), Some(PersonId::new("user-1")));
        // The same person joins another organization through its provider.
        let in_beta = User { id: UserId::new("user-10"), org_id: other.id.clone(), ..made.clone() };
        store.federated_sign_in("https://sso.beta.test", "b-1", &in_beta, true, &signed(403)).await.unwrap();
        assert_eq!(store.user(&UserId::new("user-10")).await.unwrap().unwrap().person_id.as_str(), "user-9");
        let query = AuditQuery { action: Some("federated_sign_in".into()), limit: 10, ..AuditQuery::default() };
        assert_eq!(store.audit_log(&query).await.unwrap().len(), 4);

        // Removing a provider takes its domains, not the links.
        assert!(store.delete_identity_provider("idp-1", &audit(AuditAction::IdentityProviderRemoved, "idp-1", 500)).await.unwrap());
        assert!(!store.delete_identity_provider("idp-1", &audit(AuditAction::IdentityProviderRemoved, "idp-1", 501)).await.unwrap());
        assert!(store.identity_provider_for_domain("acme.test").await.unwrap().is_none());
        assert!(store.federated_person(issuer, "sub-1").await.unwrap().is_some());
        assert!(store.any_claimed_domain().await.unwrap(), "beta.test still is");

        // An organization's sign-in rules.
        assert!(store.set_org_sign_in_rules(&other.id, false, true, &audit(AuditAction::OrgUpdated, "org-2", 600)).await.unwrap());
        let beta = store.find_org("Beta").await.unwrap().unwrap();
        assert!(beta.require_sso && !beta.require_mfa);
        assert!(
            !store.set_org_sign_in_rules(&OrgId::new("org-9"), true, true, &audit(AuditAction::OrgUpdated, "org-9", 601)).await.unwrap()
        );
    }

    pub async fn usage_marks_only_rise_and_skip_deleted_clients(o: &Opened) {
        let store = &*o.store;
        seed(store).await;
        let client = ClientId::new("client-1");
        assert_eq!(store.client_last_used(&client).await.unwrap(), None, "never used");
        store.mark_clients_used(&[(client.clone(), 500)]).await.unwrap();
        store.mark_clients_used(&[(client.clone(), 400)]).await.unwrap();
        assert_eq!(store.client_last_used(&client).await.unwrap(), Some(500), "an older mark never lowers it");
        store.mark_clients_used(&[(client.clone(), 600), (ClientId::new("gone"), 600)]).await.unwrap();
        assert_eq!(store.client_last_used(&client).await.unwrap(), Some(600), "an unknown client in the batch is skipped");
        store.delete_client(&client, &audit(AuditAction::ClientDeleted, "client-1", 700)).await.unwrap();
        assert_eq!(store.client_last_used(&client).await.unwrap(), None, "its mark goes with the client");
        store.mark_clients_used(&[(client.clone(), 800)]).await.unwrap();
        assert_eq!(store.client_last_used(&client).await.unwrap(), None);
    }

    pub async fn approval_requests_count_attempts_and_leave_when_approved_or_rejected(o: &Opened) {
        let store = &*o.store;
        seed(store).await;
        let (client, org, owner) = (ClientId::new("client-1"), OrgId::new("org-1"), UserId::new("user-1"));
        let asked = |at| audit(AuditAction::ApprovalRequested, "client-1", at);
        store.note_approval_request(&client, &org, &owner, &asked(200)).await.unwrap();
        store.note_approval_request(&client, &org, &owner, &asked(250)).await.unwrap();
        let waiting = store.approval_requests(&org).await.unwrap();
        assert_eq!(waiting.len(), 1, "one request per organization and client");
        let request = &waiting[0];
        assert_eq!((request.first_requested_at, request.last_requested_at, request.requests), (200, 250, 2));
        assert_eq!(request.requested_by.as_ref(), Some(&owner));
        let query = AuditQuery { action: Some("approval_requested".into()), limit: 10, ..AuditQuery::default() };
        assert_eq!(store.audit_log(&query).await.unwrap().len(), 1, "audited when it begins, not at every attempt");

        // Approving removes it; a rejection of nothing is false and writes nothing.
        store.set_org_approval(&client, &org, "user-1", true, &audit(AuditAction::OrgApproved, "client-1", 300)).await.unwrap();
        assert!(store.approval_requests(&org).await.unwrap().is_empty());
        let rejected = audit(AuditAction::ApprovalRejected, "client-1", 310);
        assert!(!store.reject_approval_request(&client, &org, &rejected).await.unwrap());
        store.note_approval_request(&client, &org, &owner, &asked(400)).await.unwrap();
        assert!(store.reject_approval_request(&client, &org, &rejected).await.unwrap());
        assert!(store.approval_requests(&org).await.unwrap().is_empty());
        let query = AuditQuery { action: Some("approval_rejected".into()), limit: 10, ..AuditQuery::default() };
        assert_eq!(store.audit_log(&query).await.unwrap().len(), 1);
        // A deleted client takes its requests with it.
        store.note_approval_request(&client, &org, &owner, &asked(500)).await.unwrap();
        store.delete_client(&client, &audit(AuditAction::ClientDeleted, "client-1", 600)).await.unwrap();
        assert!(store.approval_requests(&org).await.unwrap().is_empty());
    }

    pub async fn second_factors_confirm_once_and_accept_each_step_and_code_once(o: &Opened) {
        let store = &*o.store;
        seed(store).await;
        let owner = UserId::new("user-1");
        let added = audit(AuditAction::SecondFactorAdded, "user-1", 200);
        assert!(!store.confirm_totp(&owner, 10, &[], &added).await.unwrap(), "nothing to confirm");
        assert!(store.begin_totp(&owner, b"sealed one", 200).await.unwrap());
        assert!(store.begin_totp(&owner, b"sealed two", 201).await.unwrap(), "an unconfirmed one is replaced");
        assert!(!store.use_totp_step(&owner, 11).await.unwrap(), "not before it is confirmed");
        let codes = vec![vec![1u8; 32], vec![2u8; 32]];
        assert!(store.confirm_totp(&owner, 10, &codes, &added).await.unwrap());
        assert!(!store.begin_totp(&owner, b"sealed three", 202).await.unwrap(), "a confirmed one stays");
        let factor = store.totp_factor(&owner).await.unwrap().unwrap();
        assert_eq!((factor.secret_sealed.as_slice(), factor.confirmed_at, factor.last_step), (&b"sealed two"[..], Some(200), 10));
        assert!(!store.use_totp_step(&owner, 10).await.unwrap(), "the confirming step is spent");
        assert!(store.use_totp_step(&owner, 11).await.unwrap());
        assert!(!store.use_totp_step(&owner, 11).await.unwrap() && !store.use_totp_step(&owner, 9).await.unwrap());
        assert!(store.use_recovery_code(&owner, &[1; 32], 300).await.unwrap());
        assert!(!store.use_recovery_code(&owner, &[1; 32], 301).await.unwrap(), "once");
        assert!(!store.use_recovery_code(&UserId::new("user-2"), &[2; 32], 301).await.unwrap(), "only its user's");
        assert_eq!(store.recovery_codes_left(&owner).await.unwrap(), 1);

        let challenge = LoginChallenge {
            user_id: owner.clone(),
            return_to: "/settings/security".into(),
            created_at: 400,
            expires_at: 700,
            ip: Some("192.0.2.1".into()),
            user_agent: None,
        };
        store.insert_login_challenge(&[5; 32], &challenge).await.unwrap();
        assert_eq!(store.login_challenge(&[5; 32]).await.unwrap(), Some(challenge.clone()));
        assert!(store.delete_login_challenge(&[5; 32]).await.unwrap());
        assert!(!store.delete_login_challenge(&[5; 32]).await.unwrap(), "of two submissions, one wins");
        store.insert_login_challenge(&[6; 32], &challenge).await.unwrap();
        store.insert_login_challenge(&[7; 32], &LoginChallenge { created_at: 800, expires_at: 1100, ..challenge }).await.unwrap();
        assert_eq!(store.login_challenge(&[6; 32]).await.unwrap(), None, "expired ones are dropped");

        assert!(store.remove_totp(&owner, &audit(AuditAction::SecondFactorRemoved, "user-1", 500)).await.unwrap());
        assert_eq!((store.totp_factor(&owner).await.unwrap(), store.recovery_codes_left(&owner).await.unwrap()), (None, 0));
        assert!(!store.remove_totp(&owner, &audit(AuditAction::SecondFactorRemoved, "user-1", 501)).await.unwrap());
    }

    pub async fn passkeys_belong_to_one_person_and_ceremonies_are_spent_once(o: &Opened) {
        let store = &*o.store;
        seed(store).await;
        store.insert_user(&user("user-2", "dev@acme.test"), Some("hash"), &audit(AuditAction::UserCreated, "user-2", 100)).await.unwrap();
        let (owner, dev) = (UserId::new("user-1"), UserId::new("user-2"));
        let added = audit(AuditAction::SecondFactorAdded, "user-1", 200);
        let passkey = PasskeyRecord {
            id: "pk_1".into(),
            person_id: PersonId::new("user-1"),
            credential_id: vec![9; 16],
            name: "Work laptop".into(),
            credential: r#"{"cred":"…"}"#.into(),
            created_at: 200,
            last_used_at: None,
        };
        assert!(store.insert_passkey(&passkey, &[vec![1; 32]], &added).await.unwrap());
        assert_eq!(store.recovery_codes_left(&owner).await.unwrap(), 1, "the first factor's recovery codes");
        let again = PasskeyRecord { id: "pk_2".into(), person_id: PersonId::new("user-2"), ..passkey.clone() };
        assert!(!store.insert_passkey(&again, &[], &added).await.unwrap(), "one credential, one person");
        assert_eq!(store.passkeys(&owner).await.unwrap(), vec![passkey.clone()]);
        assert!(store.passkeys(&dev).await.unwrap().is_empty());
        assert_eq!(store.passkey_by_credential(&[9; 16]).await.unwrap(), Some(passkey.clone()));
        store.passkey_used("pk_1", r#"{"cred":"counter 2"}"#, 300).await.unwrap();
        let used = store.passkey_by_credential(&[9; 16]).await.unwrap().unwrap();
        assert_eq!((used.credential.as_str(), used.last_used_at), (r#"{"cred":"counter 2"}"#, Some(300)));

        let ceremony = WebauthnCeremony {
            person_id: Some(PersonId::new("user-1")),
            purpose: "second_factor".into(),
            state: "{}".into(),
            expires_at: 700,
        };
        store.insert_webauthn_ceremony(&[3; 32], &ceremony, 400).await.unwrap();
        assert_eq!(store.take_webauthn_ceremony(&[3; 32]).await.unwrap(), Some(ceremony.clone()));
        assert_eq!(store.take_webauthn_ceremony(&[3; 32]).await.unwrap(), None, "of two answers, one gets it");
        store.insert_webauthn_ceremony(&[4; 32], &WebauthnCeremony { person_id: None, ..ceremony.clone() }, 400).await.unwrap();
        store.insert_webauthn_ceremony(&[5; 32], &ceremony, 800).await.unwrap();
        assert_eq!(store.take_webauthn_ceremony(&[4; 32]).await.unwrap(), None, "expired ones are dropped");

        let removed = audit(AuditAction::SecondFactorRemoved, "user-1", 500);
        assert!(!store.remove_passkey(&dev, "pk_1", &removed).await.unwrap(), "only its person's");
        assert!(store.remove_passkey(&owner, "pk_1", &removed).await.unwrap());
        assert_eq!(store.recovery_codes_left(&owner).await.unwrap(), 0, "no second factor left, no recovery codes");
        assert!(!store.remove_passkey(&owner, "pk_1", &removed).await.unwrap());
    }

    pub async fn account_links_are_limited_replaced_and_spent_once(o: &Opened) {
        let store = &*o.store;
        seed(store).await;
        let owner = UserId::new("user-1");
        let link = |at: i64| AccountTokenRecord {
            user_id: owner.clone(),
            purpose: AccountTokenPurpose::PasswordReset,
            created_at: at,
            expires_at: at + 1800,
            spent_at: None,
        };
        // Five within the window; the sixth is refused and nothing of it is written.
        for n in 0..5u8 {
            assert!(store.insert_account_token(&[n; 32], &link(1000 + i64::from(n)), 1000 - 3600, 5).await.unwrap());
        }
        assert!(!store.insert_account_token(&[9; 32], &link(1010), 1010 - 3600, 5).await.unwrap());
        assert_eq!(store.account_token(&[9; 32]).await.unwrap(), None);
        // Only the newest works: the earlier ones were spent when it was made.
        assert_eq!(store.account_token(&[0; 32]).await.unwrap().unwrap().spent_at, Some(1001));
        assert_eq!(store.account_token(&[4; 32]).await.unwrap().unwrap().spent_at, None);
        // An hour later the window has room again.
        assert!(store.insert_account_token(&[5; 32], &link(4700), 4700 - 3600, 5).await.unwrap());

        // Two sessions; a password change keeps the one named and ends the other.
        let session = SessionRecord {
            user_id: owner.clone(),
            auth_time: 4700,
            created_at: 4700,
            last_seen_at: 4700,
            expires_at: 9000,
            ip: Some("192.0.2.7".into()),
            user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0".into()),
            amr: vec!["pwd".into(), "otp".into(), "mfa".into()],
        };
        store.insert_session(&[1; 32], &session, None).await.unwrap();
        store.insert_session(&[2; 32], &session, None).await.unwrap();
        let change = PasswordChange { user: &owner, password_hash: "new hash", keep_session: Some(&[1; 32]), email_verified_at: None };
        assert!(store.change_password(&change, None, &audit(AuditAction::PasswordChanged, "user-1", 4701)).await.unwrap());
        assert!(store.session(&[1; 32]).await.unwrap().is_some() && store.session(&[2; 32]).await.unwrap().is_none());
        let listed = store.user_sessions(&owner).await.unwrap();
        assert_eq!(listed, vec![([1u8; 32].to_vec(), session.clone())], "where it came from round-trips");
        store.insert_session(&[3; 32], &session, None).await.unwrap();
        assert_eq!(store.delete_user_sessions(&owner, Some(&[1; 32])).await.unwrap(), 1, "all others");
        store.insert_session(&[3; 32], &session, None).await.unwrap();
        assert_eq!(store.user_credentials("owner@acme.test").await.unwrap().unwrap().1.as_deref(), Some("new hash"));

        // A reset spends its link in the same transaction, once, and not after it expired.
        let reset = PasswordChange { keep_session: None, email_verified_at: Some(4702), password_hash: "reset hash", ..change };
        let stale = store.change_password(&reset, Some((&[0; 32], 4702)), &audit(AuditAction::PasswordChanged, "user-1", 4702)).await;
        assert!(!stale.unwrap(), "a replaced link");
        let late = store.change_password(&reset, Some((&[5; 32], 4700 + 1800)), &audit(AuditAction::PasswordChanged, "user-1", 6500)).await;
        assert!(!late.unwrap(), "an expired link");
        assert_eq!(store.user_credentials("owner@acme.test").await.unwrap().unwrap().1.as_deref(), Some("new hash"), "nothing written");
        assert!(store.change_password(&reset, Some((&[5; 32], 4702)), &audit(AuditAction::PasswordChanged, "user-1", 4702)).await.unwrap());
        assert!(
            !store.change_password(&reset, Some((&[5; 32], 4703)), &audit(AuditAction::PasswordChanged, "user-1", 4703)).await.unwrap()
        );
        assert!(store.session(&[1; 32]).await.unwrap().is_none(), "a reset ends every session");
        let after = store.user(&owner).await.unwrap().unwrap();
        assert_eq!(after.email_verified_at, Some(4702));

        // Verification links are their own purpose: a reset link does not verify.
        let verify = AccountTokenRecord { purpose: AccountTokenPurpose::EmailVerification, ..link(4800) };
        assert!(store.insert_account_token(&[7; 32], &verify, 4800 - 3600, 5).await.unwrap());
        assert!(store.insert_account_token(&[8; 32], &link(4800), 4800 - 3600, 5).await.unwrap());
        assert!(!store.verify_email(&[8; 32], &owner, 4801, 4801, &audit(AuditAction::EmailVerified, "user-1", 4801)).await.unwrap());
        assert!(store.verify_email(&[7; 32], &owner, 4801, 4801, &audit(AuditAction::EmailVerified, "user-1", 4801)).await.unwrap());
        assert_eq!(store.user(&owner).await.unwrap().unwrap().email_verified_at, Some(4702), "proven once, the first time kept");
        let fed = store.changes_since(0).await.unwrap();
        assert!(fed.iter().filter(|c| c.entity == Entity::User && c.id == "user-1").count() >= 3, "user changes reach the feed");
    }

    pub async fn meta_values(o: &Opened) {
        let store = &*o.store;
        assert_eq!(store.meta("k").await.unwrap(), None);
        store.set_meta("k", "one").await.unwrap();
        store.set_meta("k", "two").await.unwrap();
        assert_eq!(store.meta("k").await.unwrap().as_deref(), Some("two"));
        assert_eq!(store.init_meta("k", "three").await.unwrap(), "two", "init keeps what is there");
        assert_eq!(store.init_meta("fresh", "first").await.unwrap(), "first");
        store.delete_meta("k").await.unwrap();
        assert_eq!(store.meta("k").await.unwrap(), None);
    }

    pub async fn organisations_by_id_or_name(o: &Opened) {
        let store = &*o.store;
        seed(store).await;
        // An organisation named like another's id: the id wins.
        let tricky = Org { id: OrgId::new("org-2"), name: "org-1".into(), created_at: 101, require_mfa: false, require_sso: false };
        store.insert_org(&tricky, &audit(AuditAction::OrgCreated, "org-2", 101)).await.unwrap();
        assert_eq!(store.find_org("org-1").await.unwrap().unwrap().name, "Acme");
        assert_eq!(store.find_org("Acme").await.unwrap().unwrap().id.as_str(), "org-1");
        assert_eq!(store.find_org("nobody").await.unwrap(), None);
        let names: Vec<String> = store.orgs().await.unwrap().into_iter().map(|o| o.name).collect();
        assert_eq!(names, ["Acme", "org-1"]);
        let again = Org { id: OrgId::new("org-1"), name: "Again".into(), created_at: 102, require_mfa: false, require_sso: false };
        assert!(matches!(store.insert_org(&again, &audit(AuditAction::OrgCreated, "org-1", 102)).await, Err(StoreError::Conflict(_))));
    }

    pub async fn emails_are_unique_and_found_whatever_their_case(o: &Opened) {
        let store = &*o.store;
        seed(store).await;
        let found = store.user_by_email("owner@acme.TEST").await.unwrap().expect("found whatever the case");
        assert_eq!(found.id.as_str(), "user-1");
        let (user_found, hash) = store.user_credentials("OWNER@ACME.TEST").await.unwrap().unwrap();
        assert_eq!((user_found.id.as_str(), hash.as_deref()), ("user-1", Some("hash")));
        let twin = user("user-2", "owner@acme.test");
        let refused = store.insert_user(&twin, None, &audit(AuditAction::UserCreated, "user-2", 101)).await;
        assert!(matches!(refused, Err(StoreError::Conflict("already exists"))), "{refused:?}");
        assert_eq!(store.user_count().await.unwrap(), 1, "nothing half-written");
        assert!(
            store
                .update_user(&UserId::new("user-1"), Role::Admin, false, Some(150), &audit(AuditAction::UserUpdated, "user-1", 150))
                .await
                .unwrap()
        );
        let updated = store.user(&UserId::new("user-1")).await.unwrap().unwrap();
        assert_eq!((updated.role, updated.authorize_applications, updated.tokens_not_before), (Role::Admin, false, Some(150)));
        assert!(!store.set_user_disabled(&UserId::new("nobody"), true, &audit(AuditAction::UserDisabled, "nobody", 151)).await.unwrap());
    }

    /// A person (one email, one password) may be a member of several organizations: a user made
    /// with an email that has a person joins that person, whose password stays theirs; a browser
    /// session moves between the person's enabled memberships only; a new password ends the
    /// sessions of every membership.
    pub async fn a_person_holds_one_membership_per_organization(o: &Opened) {
        let store = &*o.store;
        seed(store).await;
        let other = Org { id: OrgId::new("org-2"), name: "Beta".into(), created_at: 100, require_mfa: false, require_sso: false };
        store.insert_org(&other, &audit(AuditAction::OrgCreated, "org-2", 100)).await.unwrap();
        let second = User { org_id: other.id.clone(), role: Role::Owner, created_at: 101, ..user("user-2", "OWNER@acme.test") };
        // Joining a person never sets their password, nor makes them a service user.
        let with_password = store.insert_user(&second, Some("another hash"), &audit(AuditAction::UserCreated, "user-2", 101)).await;
        assert!(matches!(with_password, Err(StoreError::Conflict(_))), "{with_password:?}");
        let as_service = User { service: true, ..second.clone() };
        let service = store.insert_user(&as_service, None, &audit(AuditAction::UserCreated, "user-2", 101)).await;
        assert!(matches!(service, Err(StoreError::Conflict(_))), "{service:?}");
        store.insert_user(&second, None, &audit(AuditAction::UserCreated, "user-2", 101)).await.unwrap();
        let stored = store.user(&UserId::new("user-2")).await.unwrap().unwrap();
        assert_eq!((stored.person_id.as_str(), stored.email.as_str()), ("user-1", "Owner@Acme.test"), "joined the person");
        let (signing_in, hash) = store.user_credentials("owner@acme.test").await.unwrap().unwrap();
        assert_eq!((signing_in.id.as_str(), hash.as_deref()), ("user-1", Some("hash")), "the oldest membership; the password unchanged");
        let in_beta = store.member_by_email(&other.id, "owner@ACME.test").await.unwrap().unwrap();
        assert_eq!(in_beta.id.as_str(), "user-2");
        assert!(store.member_by_email(&OrgId::new("org-3"), "owner@acme.test").await.unwrap().is_none());
        let listed: Vec<(String, String)> =
            store.memberships(&PersonId::new("user-1")).await.unwrap().into_iter().map(|(u, org)| (u.id.to_string(), org)).collect();
        assert_eq!(listed, [("user-1".to_owned(), "Acme".to_owned()), ("user-2".to_owned(), "Beta".to_owned())]);

        // A disabled membership is not the one signing in.
        assert!(store.set_user_disabled(&UserId::new("user-1"), true, &audit(AuditAction::UserDisabled, "user-1", 102)).await.unwrap());
        assert_eq!(store.user_credentials("owner@acme.test").await.unwrap().unwrap().0.id.as_str(), "user-2");
        assert!(store.set_user_disabled(&UserId::new("user-1"), false, &audit(AuditAction::UserEnabled, "user-1", 103)).await.unwrap());

        let session = SessionRecord {
            user_id: UserId::new("user-1"),
            auth_time: 104,
            created_at: 104,
            last_seen_at: 104,
            expires_at: 9000,
            ip: None,
            user_agent: None,
            amr: vec!["pwd".into()],
        };
        store.insert_session(&[7; 32], &session, None).await.unwrap();
        assert!(store.switch_session(&[7; 32], &UserId::new("user-2")).await.unwrap());
        assert_eq!(store.session(&[7; 32]).await.unwrap().unwrap().user_id.as_str(), "user-2");
        let stranger = User { org_id: other.id.clone(), ..user("user-3", "someone@else.test") };
        store.insert_user(&stranger, None, &audit(AuditAction::UserCreated, "user-3", 105)).await.unwrap();
        assert!(!store.switch_session(&[7; 32], &UserId::new("user-3")).await.unwrap(), "not a membership of the person");
        assert!(!store.switch_session(&[8; 32], &UserId::new("user-1")).await.unwrap(), "no such session");
        assert_eq!(store.session(&[7; 32]).await.unwrap().unwrap().user_id.as_str(), "user-2");

        // One membership per person and organization.
        let twin = User { org_id: other.id.clone(), ..user("user-4", "owner@acme.test") };
        let refused = store.insert_user(&twin, None, &audit(AuditAction::UserCreated, "user-4", 106)).await;
        assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");

        // The person's sessions, in either membership, are theirs to list and end.
        store.insert_session(&[9; 32], &session, None).await.unwrap();
        assert_eq!(store.user_sessions(&UserId::new("user-2")).await.unwrap().len(), 2);
        let change =
            PasswordChange { user: &UserId::new("user-2"), password_hash: "new hash", keep_session: None, email_verified_at: None };
        assert!(store.change_password(&change, None, &audit(AuditAction::PasswordChanged, "user-2", 107)).await.unwrap());
        assert!(store.session(&[7; 32]).await.unwrap().is_none() && store.session(&[9; 32]).await.unwrap().is_none());
        assert_eq!(store.user_credentials("owner@acme.test").await.unwrap().unwrap().1.as_deref(), Some("new hash"));
    }

    /// An invitation: a newer one of the same email replaces it, it is accepted once while it
    /// lives, accepting adds the membership (joining the person, or a new one with the password
    /// given) and proves the email, and nothing is half-written when it is no longer pending.
    pub async fn an_invitation_is_accepted_once_while_it_is_pending(o: &Opened) {
        let store = &*o.store;
        seed(store).await;
        let invitation = |id: &str, email: &str, at: i64| tessera_store::Invitation {
            id: id.into(),
            org_id: OrgId::new("org-1"),
            email: email.into(),
            role: Role::Admin,
            authorize_applications: false,
            member_id: None,
            invited_by: "user-1".into(),
            created_at: at,
            expires_at: at + 600,
            accepted_at: None,
        };
        let invited = audit(AuditAction::UserInvited, "inv-1", 200);
        store.insert_invitation(&invitation("inv-1", "New@Example.test", 200), &[1; 32], &invited).await.unwrap();
        store.insert_invitation(&invitation("inv-2", "new@example.TEST", 210), &[2; 32], &invited).await.unwrap();
        let pending: Vec<String> = store.pending_invitations(&OrgId::new("org-1"), 220).await.unwrap().into_iter().map(|i| i.id).collect();
        assert_eq!(pending, ["inv-2"], "the newer invitation replaced the older");
        assert!(store.invitation(&[1; 32]).await.unwrap().unwrap().accepted_at.is_some());
        assert!(store.pending_invitations(&OrgId::new("org-1"), 810).await.unwrap().is_empty(), "expired at 810");

        let newcomer = User { role: Role::Admin, created_at: 230, ..user("user-9", "new@example.test") };
        let joined = audit(AuditAction::UserCreated, "user-9", 230);
        assert!(!store.accept_invitation(&[1; 32], &newcomer, Some("hash 9"), 230, 230, &joined).await.unwrap(), "replaced");
        assert!(!store.accept_invitation(&[2; 32], &newcomer, Some("hash 9"), 810, 810, &joined).await.unwrap(), "expired");
        assert!(store.user(&UserId::new("user-9")).await.unwrap().is_none(), "nothing half-written");
        assert!(store.accept_invitation(&[2; 32], &newcomer, Some("hash 9"), 230, 231, &joined).await.unwrap());
        let member = store.user(&UserId::new("user-9")).await.unwrap().unwrap();
        assert_eq!((member.role, member.email_verified_at), (Role::Admin, Some(231)), "the email is proven");
        assert_eq!(store.user_credentials("new@example.test").await.unwrap().unwrap().1.as_deref(), Some("hash 9"));
        assert!(!store.accept_invitation(&[2; 32], &newcomer, None, 232, 232, &joined).await.unwrap(), "once");

        // An invitation of someone who has an account: the membership joins their person.
        let other = Org { id: OrgId::new("org-2"), name: "Beta".into(), created_at: 100, require_mfa: false, require_sso: false };
        store.insert_org(&other, &audit(AuditAction::OrgCreated, "org-2", 100)).await.unwrap();
        let to_beta = tessera_store::Invitation { org_id: other.id.clone(), ..invitation("inv-3", "owner@acme.test", 240) };
        store.insert_invitation(&to_beta, &[3; 32], &invited).await.unwrap();
        let in_beta = User { org_id: other.id.clone(), created_at: 241, ..user("user-10", "owner@acme.test") };
        assert!(store.accept_invitation(&[3; 32], &in_beta, None, 241, 241, &joined).await.unwrap());
        let joined_person = store.user(&UserId::new("user-10")).await.unwrap().unwrap();
        assert_eq!((joined_person.person_id.as_str(), joined_person.email_verified_at), ("user-1", Some(241)));
        assert_eq!(store.user_credentials("owner@acme.test").await.unwrap().unwrap().1.as_deref(), Some("hash"), "password unchanged");
    }

    pub async fn client_rows_round_trip_and_feed_the_cache(o: &Opened) {
        let store = &*o.store;
        seed(store).await;
        let before = store.latest_change().await.unwrap();
        let stored = store.client(&ClientId::new("client-1")).await.unwrap().unwrap();
        assert_eq!(stored, client("client-1", &[]), "every field comes back as written");
        let mut changed = stored.client.clone();
        changed.name = "renamed".into();
        changed.pkce = Pkce::Optional;
        changed.access_token_ttl = None;
        assert!(store.update_client(&changed, &audit(AuditAction::ClientUpdated, "client-1", 200)).await.unwrap());
        let secret = SecretMaterial { tag: vec![9], sealed: vec![8] };
        assert!(
            store
                .replace_client_secret(&changed.id, &secret, None, &audit(AuditAction::ClientSecretRegenerated, "client-1", 201))
                .await
                .unwrap()
        );
        let stored = store.client(&changed.id).await.unwrap().unwrap();
        assert_eq!((stored.client.clone(), stored.secret, stored.previous_secret), (changed.clone(), Some(secret), None));
        assert!(
            store.set_client_status(&changed.id, ClientStatus::Off, &audit(AuditAction::ClientDisabled, "client-1", 202)).await.unwrap()
        );
        assert!(store.delete_client(&changed.id, &audit(AuditAction::ClientDeleted, "client-1", 203)).await.unwrap());
        assert!(!store.delete_client(&changed.id, &audit(AuditAction::ClientDeleted, "client-1", 204)).await.unwrap(), "gone already");
        let feed = store.changes_since(before).await.unwrap();
        let entities: Vec<(Entity, &str)> = feed.iter().map(|c| (c.entity, c.id.as_str())).collect();
        assert_eq!(entities, vec![(Entity::Client, "client-1"); 4], "one feed row per change that happened");
        assert!(feed.windows(2).all(|w| w[0].seq < w[1].seq));
        assert_eq!(store.latest_change().await.unwrap(), feed.last().unwrap().seq);
        assert!(store.clients(Some(&OrgId::new("org-1"))).await.unwrap().is_empty());
    }

    pub async fn a_secret_rolled_with_a_grace_keeps_the_old_one_until_it_lapses(o: &Opened) {
        let store = &*o.store;
        seed(store).await;
        let roll = |tag: u8, until: Option<i64>, at: i64| {
            let secret = SecretMaterial { tag: vec![tag], sealed: vec![tag] };
            let id = ClientId::new("client-1");
            async move { store.replace_client_secret(&id, &secret, until, &audit(AuditAction::ClientSecretRegenerated, "client-1", at)).await }
        };
        assert!(roll(9, Some(500), 200).await.unwrap());
        let stored = store.client(&ClientId::new("client-1")).await.unwrap().unwrap();
        assert_eq!(stored.previous_secret, Some(PreviousSecret { tag: vec![1, 2, 3], expires_at: 500 }), "the replaced tag, until then");
        assert_eq!(stored.secret.unwrap().tag, vec![9]);
        assert!(store.expire_previous_secrets(499).await.unwrap().is_empty(), "still in its grace");
        let before = store.latest_change().await.unwrap();
        assert_eq!(store.expire_previous_secrets(500).await.unwrap(), vec![ClientId::new("client-1")]);
        assert_eq!(store.client(&ClientId::new("client-1")).await.unwrap().unwrap().previous_secret, None);
        let feed = store.changes_since(before).await.unwrap();
        assert_eq!(feed.iter().map(|c| (c.entity, c.id.as_str())).collect::<Vec<_>>(), vec![(Entity::Client, "client-1")]);
        let lapsed = store
            .audit_log(&AuditQuery { action: Some("client_previous_secret_expired".into()), limit: 10, ..AuditQuery::default() })
            .await
            .unwrap();
        assert_eq!(lapsed.len(), 1);
        // A roll without a grace ends any grace still running.
        assert!(roll(10, Some(900), 600).await.unwrap());
        assert!(roll(11, None, 601).await.unwrap());
        assert_eq!(store.client(&ClientId::new("client-1")).await.unwrap().unwrap().previous_secret, None);
    }

    pub async fn origins_count_only_for_clients_that_are_on(o: &Opened) {
        let store = &*o.store;
        seed(store).await;
        let web = client("client-web", &["https://app.example", "https://other.example"]);
        store.insert_client(&web, &audit(AuditAction::ClientCreated, "client-web", 101)).await.unwrap();
        assert!(store.origin_registered("https://other.example").await.unwrap());
        assert!(!store.origin_registered("https://app.example.evil").await.unwrap());
        assert!(!store.origin_registered("https://APP.example").await.unwrap(), "origins compare exactly");
        store.set_client_status(&web.client.id, ClientStatus::Off, &audit(AuditAction::ClientDisabled, "client-web", 102)).await.unwrap();
        assert!(!store.origin_registered("https://app.example").await.unwrap());
    }

    pub async fn scopes_insert_once_and_restrict(o: &Opened) {
        let store = &*o.store;
        seed(store).await;
        let org = OrgId::new("org-1");
        let read = ScopeDef { name: "read".into(), restricted: false };
        assert!(store.insert_scope(&org, &read, 100, &audit(AuditAction::ScopeCreated, "read", 100)).await.unwrap());
        assert!(!store.insert_scope(&org, &read, 101, &audit(AuditAction::ScopeCreated, "read", 101)).await.unwrap());
        let owner = User { role: Role::Owner, ..user("user-2", "boss@acme.test") };
        store.insert_user(&owner, Some("hash"), &audit(AuditAction::UserCreated, "user-2", 100)).await.unwrap();
        let restricted = audit(AuditAction::ScopeUpdated, "read", 102);
        assert!(store.set_scope_restricted(&org, "read", true, Some(103), &restricted).await.unwrap());
        assert!(!store.set_scope_restricted(&org, "none", true, Some(104), &audit(AuditAction::ScopeUpdated, "none", 103)).await.unwrap());
        assert_eq!(store.scopes(&org).await.unwrap(), vec![ScopeDef { name: "read".into(), restricted: true }]);
        let feed = store.changes_since(0).await.unwrap();
        assert_eq!(feed.iter().filter(|c| c.entity == Entity::Scope).count(), 2, "the refused insert left no feed row");
        // The members' earlier tokens end (fed as user changes); the owner's do not.
        assert_eq!(store.user(&UserId::new("user-1")).await.unwrap().unwrap().tokens_not_before, Some(103), "a member");
        assert_eq!(store.user(&owner.id).await.unwrap().unwrap().tokens_not_before, None, "an owner");
        assert!(feed.iter().any(|c| c.entity == Entity::User && c.id == "user-1"), "{feed:?}");
    }

    pub async fn a_code_is_redeemed_once(o: &Opened) {
        let store = &*o.store;
        seed(store).await;
        let g = grant("grant-1", "client-1", "user-1");
        let code = IssuedCode {
            client_id: g.client_id.clone(),
            redirect_uri: Some("https://app.example/cb".into()),
            scope: g.scope.clone(),
            code_challenge: None,
            nonce: Some("n-0".into()),
            issued_at: 100,
        };
        store.insert_code(b"code-hash", &CodeRecord { grant: g.clone(), code: code.clone() }).await.unwrap();
        match store.redeem_code(b"code-hash", 101).await.unwrap() {
            CodeRedemption::Fresh(record) => assert_eq!((record.grant, record.code), (g.clone(), code.clone())),
            other => panic!("{other:?}"),
        }
        assert!(matches!(store.redeem_code(b"code-hash", 102).await.unwrap(), CodeRedemption::Reused(_)));
        assert!(matches!(store.redeem_code(b"other", 102).await.unwrap(), CodeRedemption::Unknown));
    }

    pub async fn refresh_tokens_rotate_and_die_with_their_grant(o: &Opened) {
        let store = &*o.store;
        seed(store).await;
        store.insert_grant(&grant("grant-1", "client-1", "user-1")).await.unwrap();
        store.insert_refresh_token(b"r1", "grant-1", Some(10_000), Some("jkt"), 100).await.unwrap();
        assert!(store.rotate_refresh_token(b"r1", b"r2", 110).await.unwrap());
        assert!(!store.rotate_refresh_token(b"r1", b"r3", 111).await.unwrap(), "rotated out once");
        let old = store.refresh_token(b"r1").await.unwrap().unwrap();
        let new = store.refresh_token(b"r2").await.unwrap().unwrap();
        assert_eq!((old.record.state, new.record.state), (RefreshState::RotatedOut, RefreshState::Active));
        assert_eq!((new.record.family_expires_at, new.record.dpop_jkt.as_deref()), (Some(10_000), Some("jkt")));
        assert!(!store.token_revoked("jti-1", Some("grant-1")).await.unwrap());
        store.revoke_grant("grant-1", &audit(AuditAction::TokenRevoked, "grant-1", 120)).await.unwrap();
        assert_eq!(store.refresh_token(b"r2").await.unwrap().unwrap().record.state, RefreshState::Revoked);
        assert!(store.token_revoked("jti-1", Some("grant-1")).await.unwrap(), "a token of a revoked grant");
        assert!(store.token_revoked("jti-1", Some("no-such-grant")).await.unwrap(), "a token of an unknown grant");
        assert!(!store.token_revoked("jti-1", None).await.unwrap());
    }

    pub async fn a_grant_ends_with_the_grant_it_descends_from(o: &Opened) {
        let store = &*o.store;
        seed(store).await;
        let child = |id: &str, parent: &str| GrantRecord { parent_id: Some(parent.into()), ..grant(id, "client-1", "user-1") };
        store.insert_grant(&grant("root", "client-1", "user-1")).await.unwrap();
        store.insert_grant(&child("exchanged", "root")).await.unwrap();
        store.insert_grant(&child("exchanged-again", "exchanged")).await.unwrap();
        store.insert_grant(&grant("other", "client-1", "user-1")).await.unwrap();
        let cursor = store.latest_change().await.unwrap();
        store.revoke_grant("root", &audit(AuditAction::TokenRevoked, "root", 120)).await.unwrap();
        for id in ["root", "exchanged", "exchanged-again"] {
            assert!(store.token_revoked("jti", Some(id)).await.unwrap(), "{id} is revoked with the root");
        }
        assert!(!store.token_revoked("jti", Some("other")).await.unwrap());
        let mut fed: Vec<String> = store.changes_since(cursor).await.unwrap().into_iter().map(|c| c.id).collect();
        fed.sort();
        assert_eq!(fed, ["exchanged", "exchanged-again", "root"], "each revoked grant reaches the feed");
    }

    pub async fn consents_merge_and_their_withdrawal_ends_the_grants(o: &Opened) {
        let store = &*o.store;
        seed(store).await;
        let (u, c) = (UserId::new("user-1"), ClientId::new("client-1"));
        // Concurrent merges: every scope survives.
        let merges = ["a", "b", "c", "d", "e", "f"].map(|s| {
            let store = o.store.clone();
            let (u, c) = (u.clone(), c.clone());
            tokio::spawn(async move { store.save_consent(&u, &c, &ScopeSet::parse(s).unwrap(), 100).await })
        });
        for merge in merges {
            merge.await.unwrap().unwrap();
        }
        assert_eq!(store.consent(&u, &c).await.unwrap().unwrap().to_string(), "a b c d e f");
        store.insert_grant(&grant("grant-1", "client-1", "user-1")).await.unwrap();
        let cursor = store.latest_change().await.unwrap();
        assert!(store.revoke_consent(&u, &c, &audit(AuditAction::ConsentRevoked, "client-1", 130)).await.unwrap());
        assert_eq!(store.consent(&u, &c).await.unwrap(), None);
        let feed = store.changes_since(cursor).await.unwrap();
        assert_eq!(feed.iter().map(|c| (c.entity, c.id.as_str())).collect::<Vec<_>>(), vec![(Entity::Grant, "grant-1")]);
        assert!(store.token_revoked("any", Some("grant-1")).await.unwrap());
    }

    pub async fn revocations_reach_the_feed_in_full_and_by_increment(o: &Opened) {
        let store = &*o.store;
        seed(store).await;
        let full = store.refusals(None, 0).await.unwrap();
        assert!(full.full && full.tokens.is_empty() && full.keys_changed);
        store.revoke_token("jti-1", 5_000, &audit(AuditAction::TokenRevoked, "jti-1", 200)).await.unwrap();
        store.revoke_token("jti-1", 5_000, &audit(AuditAction::TokenRevoked, "jti-1", 201)).await.unwrap();
        store.set_user_disabled(&UserId::new("user-1"), true, &audit(AuditAction::UserDisabled, "user-1", 202)).await.unwrap();
        let step = store.refusals(Some(full.cursor), 0).await.unwrap();
        assert!(!step.full);
        assert_eq!(step.tokens, vec![("jti-1".to_owned(), 5_000)], "revoked twice, fed once");
        assert_eq!(step.users, vec![("user-1".to_owned(), false)]);
        assert_eq!(step.clients, vec![("client-1".to_owned(), false)], "a disabled owner stops the client");
        assert!(!step.keys_changed);
        let again = store.refusals(None, 0).await.unwrap();
        assert_eq!((again.tokens, again.users, again.clients), (step.tokens, step.users, step.clients));
        // A client's cutoff (a scope taken from it) is fed by increment and in full.
        let mut cut = store.client(&ClientId::new("client-1")).await.unwrap().unwrap().client;
        cut.tokens_not_before = Some(204);
        assert!(store.update_client(&cut, &audit(AuditAction::ClientUpdated, "client-1", 203)).await.unwrap());
        let cut = store.refusals(Some(step.cursor), 100).await.unwrap();
        assert_eq!(cut.clients_not_before, vec![("client-1".to_owned(), 204)]);
        assert_eq!(store.refusals(None, 100).await.unwrap().clients_not_before, vec![("client-1".to_owned(), 204)]);
        assert!(store.refusals(None, 205).await.unwrap().clients_not_before.is_empty(), "older than the longest token's life");
        assert!(store.token_revoked("jti-1", None).await.unwrap());
        // Purged once expired: the feed row goes with its row.
        store.purge(6_000, 0).await.unwrap();
        assert!(!store.token_revoked("jti-1", None).await.unwrap());
    }

    pub async fn one_time_ids_are_spent_once(o: &Opened) {
        let store = &*o.store;
        seed(store).await;
        let c = ClientId::new("client-1");
        assert!(store.consume_dpop_jti("key-a", "j1", 500).await.unwrap());
        assert!(!store.consume_dpop_jti("key-a", "j1", 500).await.unwrap());
        assert!(store.consume_dpop_jti("key-b", "j1", 500).await.unwrap(), "per key");
        assert!(store.consume_assertion_jti(&c, "j1", 500).await.unwrap(), "per kind");
        assert!(!store.consume_assertion_jti(&c, "j1", 500).await.unwrap());
        // Concurrent spends of one id: exactly one wins.
        let racers: Vec<_> = (0..16)
            .map(|_| {
                let store = o.store.clone();
                tokio::spawn(async move { store.consume_dpop_jti("key-c", "raced", 500).await.unwrap() })
            })
            .collect();
        let mut wins = 0;
        for racer in racers {
            wins += usize::from(racer.await.unwrap());
        }
        assert_eq!(wins, 1);
        store.purge(600, 0).await.unwrap();
        assert!(store.consume_dpop_jti("key-a", "j1", 900).await.unwrap(), "forgotten once expired");
    }

    pub async fn failures_count_within_their_window(o: &Opened) {
        let store = &*o.store;
        assert_eq!(store.record_failure("login:x", 100, 60).await.unwrap(), 1);
        assert_eq!(store.record_failure("login:x", 110, 60).await.unwrap(), 2);
        assert_eq!(store.failures("login:x", 120).await.unwrap(), Some((2, 160)));
        assert_eq!(store.record_failure("login:x", 160, 60).await.unwrap(), 1, "a new window");
        store.clear_failures("login:x").await.unwrap();
        assert_eq!(store.failures("login:x", 161).await.unwrap(), None);
    }

    pub async fn key_rotations_check_the_current_key(o: &Opened) {
        let store = &*o.store;
        let key = |kid: &str, state: KeyState| KeyRecord {
            kid: kid.into(),
            alg: "ES256".into(),
            state,
            private_sealed: vec![1],
            public_jwk: "{}".into(),
            created_at: 100,
            activated_at: None,
            retired_at: None,
        };
        let first = KeyRotation {
            expected_current: None,
            promote: None,
            retire: None,
            insert: vec![key("k1", KeyState::Current), key("k2", KeyState::Next)],
            purge: vec![],
            now: 100,
        };
        assert!(store.rotate_keys(&first, None).await.unwrap());
        assert!(!store.rotate_keys(&first, None).await.unwrap(), "k1 is current now, not none");
        let second = KeyRotation {
            expected_current: Some("k1".into()),
            promote: Some("k2".into()),
            retire: Some("k1".into()),
            insert: vec![],
            purge: vec![],
            now: 200,
        };
        assert!(store.rotate_keys(&second, None).await.unwrap());
        let states: Vec<(String, KeyState)> = store.signing_keys().await.unwrap().into_iter().map(|k| (k.kid, k.state)).collect();
        assert_eq!(states, vec![("k1".into(), KeyState::Retired), ("k2".into(), KeyState::Current)]);
        assert!(store.changes_since(0).await.unwrap().iter().filter(|c| c.entity == Entity::Key).count() == 2);
    }

    pub async fn the_audit_log_filters_and_pages(o: &Opened) {
        let store = &*o.store;
        seed(store).await;
        let all = store.audit_log(&AuditQuery { limit: 10, ..AuditQuery::default() }).await.unwrap();
        assert_eq!(all.iter().map(|a| a.action.as_str()).collect::<Vec<_>>(), ["client_created", "user_created", "org_created"]);
        let page = AuditQuery { limit: 1, before: Some(all[0].id), ..AuditQuery::default() };
        assert_eq!(store.audit_log(&page).await.unwrap()[0].id, all[1].id);
        let by_target = AuditQuery { target: Some("user-1".into()), limit: 10, ..AuditQuery::default() };
        assert_eq!(store.audit_log(&by_target).await.unwrap().len(), 1);
        let other_org = AuditQuery { org: Some(OrgId::new("org-2")), limit: 10, ..AuditQuery::default() };
        assert!(store.audit_log(&other_org).await.unwrap().is_empty());
    }

    /// Each backend's migration history ends in the same tables with the same columns, but for
    /// the tables only one backend has (PostgreSQL keeps spent ids and its nodes in tables,
    /// SQLite keeps spent ids in a file of their own).
    pub async fn the_schema_has_the_same_tables_and_columns(o: &Opened) {
        let columns = schema(o).await;
        let only_postgres = ["client_assertion_jtis", "dpop_jtis", "nodes"];
        let shared: BTreeSet<(String, String)> =
            columns.into_iter().filter(|(table, _)| !only_postgres.contains(&table.as_str())).collect();
        let expected = include_str!("schema.txt");
        let expected: BTreeSet<(String, String)> = expected
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| {
                let (t, c) = l.split_once('.').unwrap();
                (t.to_owned(), c.to_owned())
            })
            .collect();
        let missing: Vec<_> = expected.difference(&shared).collect();
        let extra: Vec<_> = shared.difference(&expected).collect();
        assert!(missing.is_empty() && extra.is_empty(), "{}: missing {missing:?}, not in schema.txt {extra:?}", o.backend);
    }

    /// Before the backends shared one history, each numbered its own migrations 1, 2, 3, …: a
    /// store recorded that way opens (and migrates) with its versions moved to the shared
    /// numbers, and `migrate --status` reads it right even before.
    pub async fn a_store_numbered_before_the_shared_history_opens_renumbered(o: &Opened) {
        let versions = |report: &tessera_store::MigrationReport| -> Vec<(i64, tessera_store::MigrationState)> {
            report.migrations.iter().map(|m| (m.version, m.state)).collect()
        };
        let shared = tessera_store::migration_status(&o.url).await.unwrap();
        assert!(shared.migrations.iter().all(|m| m.state == tessera_store::MigrationState::Applied));
        let earlier: Vec<(i64, i64)> = shared.migrations.iter().zip(1..).map(|(m, old)| (m.version, old)).collect();
        let mut statements = vec!["UPDATE _sqlx_migrations SET version = -version".to_owned()];
        statements.extend(earlier.iter().map(|(now, old)| format!("UPDATE _sqlx_migrations SET version = {old} WHERE version = -{now}")));
        execute(o, &statements).await;
        assert_eq!(versions(&tessera_store::migration_status(&o.url).await.unwrap()), versions(&shared), "status reads it right");
        let reopened = tessera_store::open(&o.url).await.expect("opens and migrates");
        reopened.ping().await.unwrap();
        drop(reopened);
        assert_eq!(versions(&tessera_store::migration_status(&o.url).await.unwrap()), versions(&shared));
        let recorded = recorded_versions(o).await;
        assert_eq!(recorded, shared.migrations.iter().map(|m| m.version).collect::<Vec<_>>(), "renumbered in the store");
    }

    async fn execute(o: &Opened, statements: &[String]) {
        use sqlx::Connection as _;
        if o.backend == "sqlite" {
            let mut db = sqlx::SqliteConnection::connect(&o.url).await.unwrap();
            for s in statements {
                sqlx::query(s).execute(&mut db).await.unwrap();
            }
        } else {
            let mut db = sqlx::PgConnection::connect(&o.url).await.unwrap();
            for s in statements {
                sqlx::query(s).execute(&mut db).await.unwrap();
            }
        }
    }

    async fn recorded_versions(o: &Opened) -> Vec<i64> {
        use sqlx::Connection as _;
        let sql = "SELECT version FROM _sqlx_migrations ORDER BY version";
        if o.backend == "sqlite" {
            sqlx::query_scalar(sql).fetch_all(&mut sqlx::SqliteConnection::connect(&o.url).await.unwrap()).await.unwrap()
        } else {
            sqlx::query_scalar(sql).fetch_all(&mut sqlx::PgConnection::connect(&o.url).await.unwrap()).await.unwrap()
        }
    }

    /// Every (table, column) of the store, without the migration bookkeeping.
    async fn schema(o: &Opened) -> BTreeSet<(String, String)> {
        use sqlx::Connection as _;
        let rows: Vec<(String, String)> = if o.backend == "sqlite" {
            let mut db = sqlx::SqliteConnection::connect(&o.url).await.unwrap();
            sqlx::query_as(
                "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'",
            )
            .fetch_all(&mut db)
            .await
            .unwrap()
        } else {
            let mut db = sqlx::PgConnection::connect(&o.url).await.unwrap();
            sqlx::query_as(
                "SELECT table_name::TEXT, column_name::TEXT FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
            )
            .fetch_all(&mut db)
            .await
            .unwrap()
        };
        rows.into_iter().collect()
    }
}
