//! Pagination: a collection read page after page as one stream of items.

use std::collections::VecDeque;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{Client, Error};

struct Cursor<T> {
    client: Client,
    next: Option<reqwest::Url>,
    buffer: VecDeque<T>,
    /// Pages already requested, to stop a server that loops.
    seen: std::collections::HashSet<String>,
}

pub(crate) fn paginate<T: DeserializeOwned + Send + 'static>(
    client: Client,
    path: String,
) -> impl futures_util::Stream<Item = Result<T, Error>> + Send + 'static {
    let first = client.url(&path);
    let start = match first {
        Ok(url) => Ok(Cursor { client, next: Some(url), buffer: VecDeque::new(), seen: Default::default() }),
        Err(e) => Err(e),
    };
    futures_util::stream::unfold(Some(start), |state| async move {
        let mut cursor = match state? {
            Ok(cursor) => cursor,
            Err(e) => return Some((Err(e), None)),
        };
        loop {
            if let Some(item) = cursor.buffer.pop_front() {
                return Some((Ok(item), Some(Ok(cursor))));
            }
            let url = cursor.next.take()?;
            if !cursor.seen.insert(url.to_string()) {
                return Some((Err(Error::Pagination(format!("the server sent {url} twice"))), None));
            }
            match next_page::<T>(&cursor.client, url).await {
                Ok((items, next)) => {
                    cursor.buffer.extend(items);
                    cursor.next = next;
                }
                Err(e) => return Some((Err(e), None)),
            }
        }
    })
}

/// Every item of a cursor-paginated collection, page after page, for a generated client:
/// `fetch(cursor)` asks for the page at `cursor` (`None`: the first) and gives its items and the
/// next page's cursor (`None` on the last page). A cursor named twice ends the stream with an
/// error from `looped` (a server that loops would otherwise never end).
pub fn cursor_stream<T, E, F, Fut>(fetch: F, looped: fn(String) -> E) -> impl futures_util::Stream<Item = Result<T, E>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), E>>,
{
    struct State<T, F> {
        fetch: F,
        next: Option<Option<String>>,
        buffer: VecDeque<T>,
        seen: std::collections::HashSet<String>,
    }
    let start = State { fetch, next: Some(None), buffer: VecDeque::new(), seen: Default::default() };
    futures_util::stream::unfold(Some(start), move |state| async move {
        let mut state = state?;
        loop {
            if let Some(item) = state.buffer.pop_front() {
                return Some((Ok(item), Some(state)));
            }
            let cursor = state.next.take()?;
            if let Some(c) = &cursor
                && !state.seen.insert(c.clone())
            {
                return Some((Err(looped(format!("the server named page {c:?} twice"))), None));
            }
            match (state.fetch)(cursor).await {
                Ok((items, next)) => {
                    state.buffer.extend(items);
                    state.next = next.filter(|c| !c.is_empty()).map(Some);
                }
                Err(e) => return Some((Err(e), None)),
            }
        }
    })
}

/// One page: its items and the URL of the next page.
async fn next_page<T: DeserializeOwned>(client: &Client, url: reqwest::Url) -> Result<(Vec<T>, Option<reqwest::Url>), Error> {
    let response = client.send(reqwest::Method::GET, url.clone(), None).await?;
    let body: Value = response.json()?;
    let link_next = response
        .headers
        .get_all(reqwest::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(next_link)
        .map(|target| url.join(&target).map_err(|e| Error::Pagination(format!("bad next link {target:?}: {e}"))))
        .transpose()?;
    let (items, cursor) = match body {
        Value::Array(items) => (items, None),
        Value::Object(mut object) => {
            let items = match object.remove("items") {
                Some(Value::Array(items)) => items,
                _ => return Err(Error::Pagination("a page must be an array or an object with an `items` array".into())),
            };
            let cursor = match object.remove("next_cursor") {
                Some(Value::String(c)) if !c.is_empty() => Some(c),
                _ => None,
            };
            (items, cursor)
        }
        _ => return Err(Error::Pagination("a page must be an array or an object with an `items` array".into())),
    };
    let next = match (link_next, cursor) {
        (Some(link), _) => {
            if link.origin() != url.origin() {
                // Following it would send our bearer token to another server.
                return Err(Error::Pagination(format!("the next link {link} points to another origin")));
            }
            Some(link)
        }
        (None, Some(cursor)) => {
            let mut next = url.clone();
            let pairs: Vec<(String, String)> =
                url.query_pairs().filter(|(k, _)| k != "cursor").map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
            next.query_pairs_mut().clear().extend_pairs(pairs).append_pair("cursor", &cursor);
            Some(next)
        }
        (None, None) => None,
    };
    let items = items.into_iter().map(|v| serde_json::from_value(v).map_err(|e| Error::Decode(e.to_string()))).collect::<Result<_, _>>()?;
    Ok((items, next))
}

/// The target of a `rel="next"` link in one `Link` header value (RFC 8288).
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|link| {
        let (target, params) = link.trim().split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim();
            p.split_once('=')
                .is_some_and(|(k, v)| k.trim().eq_ignore_ascii_case("rel") && v.trim().trim_matches('"').split(' ').any(|r| r == "next"))
        });
        is_next.then(|| target.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_cursor_stream_reads_every_page_once_and_stops_a_loop() {
        use futures_util::TryStreamExt;
        let pages = |cursor: Option<String>| async move {
            Ok::<_, String>(match cursor.as_deref() {
                None => (vec![1, 2], Some("b".to_owned())),
                Some("b") => (vec![3], Some("c".to_owned())),
                Some("c") => (vec![4], None),
                Some(other) => panic!("asked for {other}"),
            })
        };
        let all: Vec<i32> = cursor_stream(pages, |e| e).try_collect().await.unwrap();
        assert_eq!(all, [1, 2, 3, 4]);
        let looping = |_: Option<String>| async { Ok::<_, String>((vec![1], Some("same".to_owned()))) };
        let error = cursor_stream(looping, |e| e).try_collect::<Vec<i32>>().await.unwrap_err();
        assert!(error.contains("twice"), "{error}");
    }

    #[test]
    fn next_links_are_found_among_others() {
        assert_eq!(next_link(r#"</projects?cursor=2>; rel="next""#).as_deref(), Some("/projects?cursor=2"));
        assert_eq!(next_link(r#"<https://a/p?c=1>; rel="prev", <https://a/p?c=3>; rel=next"#).as_deref(), Some("https://a/p?c=3"));
        assert_eq!(next_link(r#"</p?c=1>; rel="prev""#), None);
        assert_eq!(next_link("garbage"), None);
    }
}
