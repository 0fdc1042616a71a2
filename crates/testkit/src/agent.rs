//! A browser stand-in for HTTP-level tests of the pages: keeps cookies, follows nothing by
//! itself, and reads the hidden fields of forms. Used by the end-to-end suite and by the
//! example API's tests (a user's tokens by the authorization-code flow).

// Test support: a broken page is a test failure, said where it happens.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::digest;

use crate::Server;

/// The S256 PKCE challenge of `verifier`.
pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()))
}

pub struct Agent<'a> {
    pub server: &'a Server,
    /// Follows no redirect.
    pub http: reqwest::Client,
    pub cookies: HashMap<String, String>,
    /// Sent as `Origin` on POSTs (a browser sends the page's origin).
    pub origin: Option<String>,
}

impl<'a> Agent<'a> {
    pub fn new(server: &'a Server) -> Self {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        Self::with_http(server, http)
    }

    /// With `http` (e.g. one that trusts a test CA); it must follow no redirect.
    pub fn with_http(server: &'a Server, http: reqwest::Client) -> Self {
        let origin = server.url("").trim_end_matches('/').to_owned();
        Agent { server, http, cookies: HashMap::new(), origin: Some(origin) }
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
        let response = self.http.get(self.absolute(path)).header("cookie", self.cookie_header()).send().await.unwrap();
        self.remember(&response);
        response
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let mut request = self.http.post(self.absolute(path)).header("cookie", self.cookie_header()).form(form);
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

    /// The page a post/redirect/get answer sends the browser to: the `303`'s `Location`, fetched.
    pub async fn follow(&mut self, response: reqwest::Response) -> reqwest::Response {
        assert_eq!(response.status(), 303, "a redirect after the post");
        let to = location(&response);
        self.get(&to).await
    }

    /// Signs in through the login form; returns the response to the form post.
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
