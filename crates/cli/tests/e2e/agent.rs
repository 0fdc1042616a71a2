//! A browser stand-in for HTTP-level tests of the pages: keeps cookies, follows nothing by
//! itself, and reads the hidden fields of forms. (Real Chromium drives the same pages in
//! `browser_flows.rs`.)

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest;
use serde_json::Value;

use crate::common::*;

/// The password the fixture gives its owner.
pub const OWNER_PASSWORD: &str = "owner password 1";

/// A PKCE verifier and its S256 challenge.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-test";

pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()))
}

pub struct Agent<'a> {
    pub server: &'a Server,
    pub cookies: HashMap<String, String>,
    /// Sent as `Origin` on POSTs (a browser sends the page's origin).
    pub origin: Option<String>,
}

impl<'a> Agent<'a> {
    pub fn new(server: &'a Server) -> Self {
        let origin = server.url("").trim_end_matches('/').to_owned();
        Agent { server, cookies: HashMap::new(), origin: Some(origin) }
    }

    fn absolute(&self, path: &str) -> String {
        if path.starts_with("http") { path.to_owned() } else { self.server.url(path) }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn remember(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap();
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    pub async fn get(&mut self, path: &str) -> reqwest::Response {
        let response = http().get(self.absolute(path)).header("cookie", self.cookie_header()).send().await.unwrap();
        self.remember(&response);
        response
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let mut request = http().post(self.absolute(path)).header("cookie", self.cookie_header()).form(form);
        if let Some(origin) = &self.origin {
            request = request.header("origin", origin);
        }
        let response = request.send().await.unwrap();
        self.remember(&response);
        response
    }

    /// Submits a form of `page` to `path` as a browser would: the named hidden fields as the
    /// page holds them, plus `extra`.
    pub async fn submit(&mut self, path: &str, page: &str, fields: &[&str], extra: &[(&str, &str)]) -> reqwest::Response {
        let values: Vec<(&str, String)> = fields.iter().map(|name| (*name, hidden(page, name))).collect();
        let mut form: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
        form.extend_from_slice(extra);
        self.post(path, &form).await
    }

    /// Signs in through the login form; returns the response to the form post.
    /// The page a post/redirect/get answer sends the browser to: the `303`'s `Location`, fetched.
    pub async fn follow(&mut self, response: reqwest::Response) -> reqwest::Response {
        assert_eq!(response.status(), 303, "a redirect after the post");
        let to = location(&response);
        self.get(&to).await
    }

    pub async fn login(&mut self, email: &str, password: &str) -> reqwest::Response {
        let page = self.get("/login").await.text().await.unwrap();
        let csrf = hidden(&page, "csrf_token");
        self.post("/login", &[("email", email), ("password", password), ("csrf_token", &csrf), ("return_to", "/")]).await
    }

    /// GET `/oauth2/authorize?query`; when the consent page shows, presses `decision`. Returns
    /// the final redirect's `Location`.
    pub async fn authorize(&mut self, query: &str, decision: &str) -> String {
        let response = self.get(&format!("/oauth2/authorize?{query}")).await;
        if response.status() == 302 {
            return location(&response);
        }
        assert_eq!(response.status(), 200, "consent page expected");
        let page = response.text().await.unwrap();
        assert!(page.contains("Allow"), "{page}");
        let response = self.submit("/oauth2/authorize/decision", &page, &["csrf_token", "request"], &[("decision", decision)]).await;
        assert_eq!(response.status(), 303, "{:?}", response.text().await);
        location(&response)
    }
}

pub fn location(response: &reqwest::Response) -> String {
    response.headers().get("location").expect("a Location header").to_str().unwrap().to_owned()
}

/// The value of the hidden input `name` in `html`, unescaped.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no field {name} in {html}")) + marker.len();
    let end = start + html[start..].find('"').unwrap();
    unescape(&html[start..end])
}

fn unescape(text: &str) -> String {
    text.replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&lt;", "<")
        .replace("&#60;", "<")
        .replace("&gt;", ">")
        .replace("&#62;", ">")
        .replace("&amp;", "&")
        .replace("&#38;", "&")
}

/// The query (or fragment) parameters of a redirect.
pub fn response_params(url: &str) -> HashMap<String, String> {
    let part = url.split_once('#').map(|(_, f)| f).or_else(|| url.split_once('?').map(|(_, q)| q)).unwrap_or("");
    serde_urlencoded::from_str::<Vec<(String, String)>>(part).unwrap().into_iter().collect()
}

/// A confidential web client of the fixture's org: code + refresh grants, one redirect URI.
pub fn web_client(server: &Server, fixture: &Fixture, extra: &[&str]) -> Fixture {
    let mut flags =
        vec!["--grant", "authorization_code", "--redirect-uri", "https://app.example/cb", "--scope", "read", "--scope", "write"];
    flags.extend_from_slice(extra);
    add_client(server, fixture, "Web App", &flags).1
}

/// The authorize query of a code request by `client` (with `extra` appended), with PKCE: the
/// S256 challenge of [`VERIFIER`], which [`redeem`] sends, unless `extra` brings a challenge of
/// its own.
pub fn code_query(client: &Fixture, extra: &str) -> String {
    let pkce = if extra.contains("code_challenge") {
        String::new()
    } else {
        format!("&code_challenge={}&code_challenge_method=S256", challenge(VERIFIER))
    };
    format!("response_type=code&client_id={}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=xyz{pkce}{extra}", client.client_id)
}

/// Signs the owner in, authorizes `client` (Allow) and returns the code.
pub async fn owner_code(agent: &mut Agent<'_>, fixture: &Fixture, client: &Fixture, extra: &str) -> String {
    if !agent.cookies.contains_key("tessera_session") {
        let response = agent.login(&fixture.owner_email, OWNER_PASSWORD).await;
        assert_eq!(response.status(), 303);
    }
    let url = agent.authorize(&code_query(client, extra), "allow").await;
    let params = response_params(&url);
    assert!(url.starts_with("https://app.example/cb?"), "{url}");
    params.get("code").unwrap_or_else(|| panic!("no code in {url}")).clone()
}

/// Redeems a code of [`code_query`] as `client` with Basic credentials and the PKCE verifier
/// (and `extra` fields; a `code_verifier` among them replaces it).
pub async fn redeem(server: &Server, client: &Fixture, code: &str, extra: &[(&str, &str)]) -> reqwest::Response {
    let mut form = vec![("grant_type", "authorization_code"), ("code", code), ("redirect_uri", "https://app.example/cb")];
    if !extra.iter().any(|(name, _)| *name == "code_verifier") {
        form.push(("code_verifier", VERIFIER));
    }
    form.extend_from_slice(extra);
    post_basic(server, "/oauth2/token", &client.client_id, &client.client_secret, &form).await
}

pub async fn redeem_ok(server: &Server, client: &Fixture, code: &str) -> Value {
    let response = redeem(server, client, code, &[]).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    response.json().await.unwrap()
}

pub async fn refresh(server: &Server, client: &Fixture, token: &str, extra: &[(&str, &str)]) -> reqwest::Response {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    form.extend_from_slice(extra);
    post_basic(server, "/oauth2/token", &client.client_id, &client.client_secret, &form).await
}

pub async fn userinfo(server: &Server, token: &str) -> reqwest::Response {
    http().get(server.url("/oauth2/userinfo")).bearer_auth(token).send().await.unwrap()
}
