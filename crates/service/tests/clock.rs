#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! SPEC §12, time: lifetimes kept by the process run on the monotonic clock, so a wall-clock
//! step backwards extends nothing and a step forwards lifts no lock-out early. The service runs
//! over a real SQLite store with an injected clock whose wall and monotonic readings the test
//! moves apart, around a device code and a login lock-out.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use base64::Engine;
use tessera_core::ErrorCode;
use tessera_core::model::{Pkce, Role};
use tessera_core::params::Params;
use tessera_core::token::TokenPolicy;
use tessera_service::admin::{Actor, NewClient, NewUser};
use tessera_service::secrets::{MasterKey, SecretKeys};
use tessera_service::{Algorithm, Clock, EndpointRequest, ServiceError, Settings, Tessera};

/// A clock whose wall time and monotonic time the test sets apart.
#[derive(Default)]
struct SteppedClock {
    wall: AtomicI64,
    monotonic: AtomicI64,
}

impl SteppedClock {
    /// Both clocks move on by `seconds`, as time passes.
    fn pass(&self, seconds: i64) {
        self.wall.fetch_add(seconds, Ordering::SeqCst);
        self.monotonic.fetch_add(seconds, Ordering::SeqCst);
    }

    /// The wall clock alone jumps by `seconds` (an operator or NTP step).
    fn step_wall(&self, seconds: i64) {
        self.wall.fetch_add(seconds, Ordering::SeqCst);
    }
}

/// The service's handle on the test's clock.
struct Handle(Arc<SteppedClock>);

impl Clock for Handle {
    fn now(&self) -> i64 {
        self.0.wall.load(Ordering::SeqCst)
    }

    fn monotonic_millis(&self) -> i64 {
        self.0.monotonic.load(Ordering::SeqCst) * 1000
    }
}

const LOCK_SECONDS: i64 = 600;
const DEVICE_CODE_LIFETIME: i64 = 600;
const PASSWORD: &str = "a long password 1";

fn settings() -> Settings {
    Settings {
        policy: TokenPolicy {
            issuer: "http://127.0.0.1:9".into(),
            audience: "http://127.0.0.1:9".into(),
            access_token_ttl: 3600,
            max_access_token_ttl: 3600,
            leeway: 30,
        },
        signing_alg: Algorithm::ES256,
        key_rotation_interval: 86_400 * 90,
        key_retention: 3630,
        owns_key_policy: true,
        client_auth_failure_limit: 5,
        client_auth_failure_window: 60,
        token_response: Default::default(),
        endpoint_paths: Default::default(),
        default_grant_type: None,
        default_response_type: None,
        session_api: false,
        refresh_token_ttl: 0,
        session_idle_timeout: 3600,
        session_max_lifetime: 86_400,
        login_failure_limit: 3,
        login_address_limit: 100,
        login_lock_seconds: LOCK_SECONDS,
        revocation_feed_clients: Vec::new(),
        revocation_memory: 100_000,
        cache_entries: 100_000,
        cache_memory: 64 << 20,
        require_pushed_authorization_requests: false,
        pushed_request_lifetime: 60,
        device_code_lifetime: DEVICE_CODE_LIFETIME,
        device_poll_interval: 5,
        registration_endpoint: false,
        dpop_nonce_required: false,
        allow_internal_jwks_uri: false,
        mail: None,
        default_pkce: Pkce::Required,
        new_client_status: tessera_core::model::ClientStatus::On,
        api_base_url: None,
        brand_name: String::new(),
    }
}

/// A service over a fresh SQLite store, with one organization, an owner and a device client.
async fn service(clock: Arc<SteppedClock>, label: &str) -> (Tessera, String, String) {
    let dir = std::env::temp_dir().join(format!("tessera-clock-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = tessera_store::open(&format!("sqlite://{}", dir.join("t.db").display())).await.unwrap();
    let secrets = SecretKeys::new(&MasterKey::generate().unwrap()).unwrap();
    let tessera = Tessera::open(store, secrets, settings(), Arc::new(Handle(clock))).await.unwrap();
    let operator = Actor::cli();
    tessera.create_org(&operator, "acme").await.unwrap();
    let owner = NewUser {
        password_hash: None,
        org: "acme".into(),
        email: "owner@acme.test".into(),
        role: Role::Owner,
        service: false,
        authorize_applications: false,
        password: Some(PASSWORD.into()),
    };
    tessera.create_user(&operator, owner).await.unwrap();
    let device = NewClient {
        org: "acme".into(),
        owner_email: "owner@acme.test".into(),
        name: "tv".into(),
        grants: vec!["device_code".into()],
        scopes: vec!["openid".into()],
        ..NewClient::default()
    };
    let client = tessera.create_client(&operator, device).await.unwrap();
    (tessera, client.client_id, client.client_secret.unwrap())
}

fn request(client_id: &str, secret: &str, pairs: &[(&str, &str)]) -> EndpointRequest {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
    EndpointRequest {
        authorization: Some(format!("Basic {basic}")),
        params: Params::from_pairs(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()).unwrap(),
        peer: IpAddr::V4(Ipv4Addr::LOCALHOST),
        path: "/oauth2/token".into(),
        dpop: Vec::new(),
    }
}

/// What polling with `device_code` answers: the RFC 8628 error code.
async fn poll(tessera: &Tessera, client_id: &str, secret: &str, device_code: &str) -> ErrorCode {
    let form = [("grant_type", "urn:ietf:params:oauth:grant-type:device_code"), ("device_code", device_code)];
    match tessera.token(&request(client_id, secret, &form)).await {
        Err(ServiceError::DevicePoll(error)) => error.code,
        Err(ServiceError::OAuth { error, .. }) => error.code,
        other => panic!("unexpected answer to a poll: {other:?}"),
    }
}

#[tokio::test]
async fn a_device_code_lives_its_lifetime_whatever_the_wall_clock_does() {
    let clock = Arc::new(SteppedClock::default());
    clock.pass(1_800_000_000);
    let (tessera, id, secret) = service(clock.clone(), "device").await;
    let issued = tessera.device_authorization(&request(&id, &secret, &[("scope", "openid")])).await.unwrap();

    // Forwards by 15 minutes (past the 10-minute lifetime): the code is not ended early.
    clock.step_wall(15 * 60);
    assert_eq!(poll(&tessera, &id, &secret, &issued.device_code).await, ErrorCode::AuthorizationPending);
    // Backwards by an hour, then the rest of its lifetime passes: it ends on time, not an hour late.
    clock.step_wall(-3600);
    clock.pass(DEVICE_CODE_LIFETIME - 100);
    assert_eq!(poll(&tessera, &id, &secret, &issued.device_code).await, ErrorCode::AuthorizationPending);
    clock.pass(100);
    assert_eq!(poll(&tessera, &id, &secret, &issued.device_code).await, ErrorCode::ExpiredToken);
}

#[tokio::test]
async fn a_login_lock_out_lasts_its_time_whatever_the_wall_clock_does() {
    let clock = Arc::new(SteppedClock::default());
    clock.pass(1_800_000_000);
    let (tessera, _, _) = service(clock.clone(), "lockout").await;
    let peer = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    for _ in 0..3 {
        assert!(matches!(tessera.check_password("owner@acme.test", "wrong", peer).await, Err(ServiceError::BadCredentials)));
    }
    let locked = |result: &tessera_service::Result<_>| matches!(result, Err(ServiceError::TooManyAttempts { .. }));
    assert!(locked(&tessera.check_password("owner@acme.test", PASSWORD, peer).await), "locked after three failures");
    // Forwards by 15 minutes (longer than the 10-minute lock): still locked.
    clock.step_wall(15 * 60);
    assert!(locked(&tessera.check_password("owner@acme.test", PASSWORD, peer).await), "a step forwards lifted the lock");
    // Backwards by an hour: the lock still ends when its ten minutes have passed.
    clock.step_wall(-3600);
    clock.pass(LOCK_SECONDS - 10);
    assert!(locked(&tessera.check_password("owner@acme.test", PASSWORD, peer).await));
    clock.pass(10);
    assert!(tessera.check_password("owner@acme.test", PASSWORD, peer).await.is_ok(), "the lock ends on time");
}
