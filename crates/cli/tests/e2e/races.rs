//! Fifty-way races on one credential (SECURITY.md §14, X07, X08): exactly one request wins, the
//! others count as reuse, and the reuse ends the whole family, the winner's tokens included.

use std::sync::Arc;

use serde_json::Value;

use crate::agent::*;
use crate::common::*;

const RACERS: usize = 50;

/// Sends the same token-endpoint form `RACERS` times at once; returns each status and body.
async fn race(server: &Server, client: &Fixture, form: Vec<(&'static str, String)>) -> Vec<(u16, Value)> {
    let (url, form) = (server.url("/oauth2/token"), Arc::new(form));
    let barrier = Arc::new(tokio::sync::Barrier::new(RACERS));
    let tasks: Vec<_> = (0..RACERS)
        .map(|_| {
            let (url, form, barrier, client) = (url.clone(), form.clone(), barrier.clone(), client.clone());
            tokio::spawn(async move {
                let http = http();
                barrier.wait().await;
                let response = http.post(url).basic_auth(&client.client_id, Some(&client.client_secret)).form(&*form).send().await.unwrap();
                let status = response.status().as_u16();
                (status, response.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut results = Vec::with_capacity(RACERS);
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

/// Exactly one 200; every other answer is 400 `invalid_grant`. Returns the winner's body.
fn one_winner(results: &[(u16, Value)]) -> Value {
    let winners: Vec<&Value> = results.iter().filter(|(status, _)| *status == 200).map(|(_, body)| body).collect();
    assert_eq!(winners.len(), 1, "exactly one winner: {results:?}");
    for (status, body) in results.iter().filter(|(status, _)| *status != 200) {
        assert_eq!((*status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    }
    winners[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn x08_fifty_parallel_redemptions_of_one_code_have_one_winner_whose_tokens_then_stop() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &["--grant", "refresh_token"]);
    let mut agent = Agent::new(&server);
    let code = owner_code(&mut agent, &fixture, &client, "&scope=openid+read").await;
    let form = vec![
        ("grant_type", "authorization_code".to_owned()),
        ("code", code),
        ("redirect_uri", "https://app.example/cb".to_owned()),
        ("code_verifier", VERIFIER.to_owned()),
    ];
    let winner = one_winner(&race(&server, &client, form).await);
    let access = winner["access_token"].as_str().unwrap();
    assert!(!is_active(&server, &client, access).await, "the losers' reuse revoked the winner's access token");
    assert_eq!(userinfo(&server, access).await.status(), 401);
    assert_oauth_error(refresh(&server, &client, winner["refresh_token"].as_str().unwrap(), &[]).await, 400, "invalid_grant").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn x07_fifty_parallel_refreshes_of_one_token_leave_no_live_token_in_the_family() {
    let (server, fixture) = start();
    let client = web_client(&server, &fixture, &["--grant", "refresh_token"]);
    let mut agent = Agent::new(&server);
    let code = owner_code(&mut agent, &fixture, &client, "&scope=read").await;
    let first = redeem_ok(&server, &client, &code).await;
    let rt1 = first["refresh_token"].as_str().unwrap().to_owned();
    let form = vec![("grant_type", "refresh_token".to_owned()), ("refresh_token", rt1.clone())];
    let winner = one_winner(&race(&server, &client, form).await);
    // The losers presented a rotated-out token: the family is revoked, the winner's tokens too.
    for token in
        [first["access_token"].as_str().unwrap(), winner["access_token"].as_str().unwrap(), winner["refresh_token"].as_str().unwrap(), &rt1]
    {
        assert!(!is_active(&server, &client, token).await, "no token of the family stays live");
    }
    assert_oauth_error(refresh(&server, &client, winner["refresh_token"].as_str().unwrap(), &[]).await, 400, "invalid_grant").await;
}
