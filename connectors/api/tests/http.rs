//! The shared HTTP layer against tiny scripted servers on 127.0.0.1: retries, Retry-After, the
//! never-re-send rule for writes, error mapping and the client-side rate limit.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use twotrack_api::ConnectorError;
use twotrack_api::http::{HttpClient, HttpSettings, Idempotency, Method};
use twotrack_api::secret::Auth;
use url::Url;

/// What the scripted server saw: one entry per request.
#[derive(Default)]
struct Seen {
    requests: Mutex<Vec<(Instant, String, HeaderMap)>>,
}

impl Seen {
    fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    fn arrivals(&self) -> Vec<Instant> {
        self.requests.lock().unwrap().iter().map(|(t, _, _)| *t).collect()
    }
}

/// What the script answers to the n-th request (0-based).
enum Reply {
    Json(StatusCode, &'static str),
    With(StatusCode, Vec<(&'static str, String)>, &'static str),
    /// Never answer (the client's timeout must fire).
    Hang,
}

async fn serve(script: impl Fn(usize) -> Reply + Send + Sync + 'static) -> (Url, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let script = Arc::new(script);
    let state = seen.clone();
    let app = Router::new().fallback(move |request: Request| {
        let seen = state.clone();
        let script = script.clone();
        async move {
            let n = {
                let mut requests = seen.requests.lock().unwrap();
                requests.push((Instant::now(), request.method().to_string(), request.headers().clone()));
                requests.len() - 1
            };
            match script(n) {
                Reply::Json(status, body) => {
                    (status, [("content-type", "application/json")], body.to_string()).into_response()
                }
                Reply::With(status, headers, body) => {
                    let mut response = Response::builder().status(status);
                    for (name, value) in headers {
                        response = response.header(name, value);
                    }
                    response.body(Body::from(body)).unwrap()
                }
                Reply::Hang => std::future::pending().await,
            }
        }
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

/// A raw server that resets the connection (RST) after reading the first request, then answers `{"ok":true}`.
async fn serve_reset_then_ok() -> (Url, Arc<Mutex<usize>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    let count = Arc::new(Mutex::new(0usize));
    let seen = count.clone();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 16 * 1024];
                let mut read = 0;
                // Read until the end of the headers plus the declared body.
                loop {
                    let n = socket.read(&mut buffer[read..]).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    read += n;
                    let text = String::from_utf8_lossy(&buffer[..read]).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text
                            .lines()
                            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(str::to_string))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if read >= end + 4 + length {
                            break;
                        }
                    }
                }
                let first = {
                    let mut count = seen.lock().unwrap();
                    *count += 1;
                    *count == 1
                };
                if first {
                    socket.set_zero_linger().unwrap();
                    drop(socket);
                } else {
                    let body = r#"{"ok":true}"#;
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                }
            });
        }
    });
    (url, count)
}

fn settings(url: Url) -> HttpSettings {
    HttpSettings {
        per_second: 0.0,
        request_timeout: Duration::from_millis(500),
        connect_timeout: Duration::from_millis(500),
        max_retries: 3,
        backoff_base: Duration::from_millis(5),
        backoff_cap: Duration::from_millis(20),
        ..HttpSettings::new(
            "jira-test",
            url,
            Auth::Basic { user: "bot@example.com".into(), token: "tok-SECRET".into() },
        )
    }
}

fn client(url: Url) -> HttpClient {
    HttpClient::new(settings(url)).unwrap()
}

#[derive(serde::Deserialize, Debug, PartialEq)]
struct OkBody {
    ok: bool,
}

#[tokio::test]
async fn retry_after_seconds_is_honoured() {
    let (url, seen) = serve(|n| match n {
        0 => Reply::With(StatusCode::TOO_MANY_REQUESTS, vec![("retry-after", "1".into())], ""),
        _ => Reply::Json(StatusCode::OK, r#"{"ok":true}"#),
    })
    .await;
    let client = client(url);
    let response = client.get_json::<OkBody>("/rest/api/3/myself", &[]).await.unwrap();
    assert!(response.body.ok);
    let arrivals = seen.arrivals();
    assert_eq!(arrivals.len(), 2);
    assert!(arrivals[1] - arrivals[0] >= Duration::from_secs(1), "{:?}", arrivals[1] - arrivals[0]);
    let stats = client.stats();
    assert_eq!((stats.requests, stats.retries, stats.rate_limited), (2, 1, 1));
    assert_eq!(stats.by_status.get(&429), Some(&1));
}

#[tokio::test]
async fn retry_after_http_date_is_honoured() {
    // An HTTP date has one-second resolution: ask for "2 s from now", which waits between 1 and 2 s.
    let (url, seen) = serve(|n| match n {
        0 => {
            let at = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
            Reply::With(StatusCode::SERVICE_UNAVAILABLE, vec![("retry-after", at)], "")
        }
        _ => Reply::Json(StatusCode::OK, r#"{"ok":true}"#),
    })
    .await;
    let response = client(url).get_json::<OkBody>("/x", &[]).await.unwrap();
    assert!(response.body.ok);
    let arrivals = seen.arrivals();
    assert!(arrivals[1] - arrivals[0] >= Duration::from_millis(1000), "{:?}", arrivals[1] - arrivals[0]);
}

#[tokio::test]
async fn a_retry_after_beyond_the_limit_is_returned_not_slept() {
    let (url, seen) =
        serve(|_| Reply::With(StatusCode::TOO_MANY_REQUESTS, vec![("retry-after", "3600".into())], "")).await;
    let started = Instant::now();
    let error = client(url).get_json::<OkBody>("/x", &[]).await.unwrap_err();
    assert!(
        matches!(error, ConnectorError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(3600)),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(seen.count(), 1);
}

#[tokio::test]
async fn backoff_gives_up_after_max_retries() {
    let (url, seen) = serve(|_| Reply::Json(StatusCode::BAD_GATEWAY, r#"{"errorMessages":["upstream down"]}"#)).await;
    let client = client(url);
    let error = client.get_json::<OkBody>("/x", &[]).await.unwrap_err();
    assert!(
        matches!(&error, ConnectorError::Transient { message, .. } if message.contains("upstream down")),
        "{error}"
    );
    assert!(error.is_retryable());
    assert_eq!(seen.count(), 4, "one attempt plus max_retries = 3");
    assert_eq!(client.stats().retries, 3);
}

#[tokio::test]
async fn a_get_is_retried_after_a_5xx() {
    let (url, seen) = serve(|n| match n {
        0 => Reply::Json(StatusCode::INTERNAL_SERVER_ERROR, "{}"),
        _ => Reply::Json(StatusCode::OK, r#"{"ok":true}"#),
    })
    .await;
    assert!(client(url).get_json::<OkBody>("/x", &[]).await.unwrap().body.ok);
    assert_eq!(seen.count(), 2);
}

#[tokio::test]
async fn a_get_is_retried_after_a_connection_reset() {
    let (url, count) = serve_reset_then_ok().await;
    assert!(client(url).get_json::<OkBody>("/x", &[]).await.unwrap().body.ok);
    assert_eq!(*count.lock().unwrap(), 2);
}

#[tokio::test]
async fn a_post_is_not_resent_after_a_connection_reset() {
    let (url, count) = serve_reset_then_ok().await;
    let client = client(url);
    let error = client
        .send_json::<OkBody, _>(
            Method::POST,
            "/rest/api/3/issue",
            &[],
            &serde_json::json!({"a":1}),
            Idempotency::NonIdempotent,
        )
        .await
        .unwrap_err();
    assert!(matches!(&error, ConnectorError::Unknown { what, .. } if what == "POST /rest/api/3/issue"), "{error:?}");
    assert_eq!(*count.lock().unwrap(), 1);
    assert_eq!(client.stats().unknown_outcomes, 1);
}

#[tokio::test]
async fn a_post_is_not_resent_after_a_500() {
    let (url, seen) = serve(|_| Reply::Json(StatusCode::INTERNAL_SERVER_ERROR, r#"{"errorMessages":["boom"]}"#)).await;
    let error = client(url)
        .send_json::<OkBody, _>(Method::POST, "/issue", &[], &serde_json::json!({}), Idempotency::NonIdempotent)
        .await
        .unwrap_err();
    assert!(matches!(&error, ConnectorError::Unknown { message, .. } if message.contains("boom")), "{error:?}");
    assert_eq!(seen.count(), 1);
}

#[tokio::test]
async fn a_post_is_not_resent_after_a_timeout_but_a_get_is() {
    let (url, seen) = serve(|n| match n {
        0 | 1 => Reply::Hang,
        _ => Reply::Json(StatusCode::OK, r#"{"ok":true}"#),
    })
    .await;
    let client = client(url);
    let error = client
        .send_json::<OkBody, _>(Method::POST, "/issue", &[], &serde_json::json!({}), Idempotency::NonIdempotent)
        .await
        .unwrap_err();
    assert!(matches!(&error, ConnectorError::Unknown { message, .. } if message.contains("timed out")), "{error:?}");
    assert_eq!(seen.count(), 1);
    // Request 1 hangs too; the GET times out once and succeeds on request 2.
    assert!(client.get_json::<OkBody>("/x", &[]).await.unwrap().body.ok);
    assert_eq!(seen.count(), 3);
}

#[tokio::test]
async fn a_post_answered_429_was_not_processed_and_is_sent_again() {
    let (url, seen) = serve(|n| match n {
        0 => Reply::With(StatusCode::TOO_MANY_REQUESTS, vec![("retry-after", "0".into())], ""),
        _ => Reply::Json(StatusCode::CREATED, r#"{"ok":true}"#),
    })
    .await;
    let response = client(url)
        .send_json::<OkBody, _>(Method::POST, "/issue", &[], &serde_json::json!({}), Idempotency::NonIdempotent)
        .await
        .unwrap();
    assert_eq!(response.status, 201);
    assert_eq!(seen.count(), 2);
}

#[tokio::test]
async fn a_non_json_200_is_detected_and_retried() {
    let (url, seen) = serve(|n| match n {
        0 => Reply::With(
            StatusCode::OK,
            vec![("content-type", "text/html".into())],
            "<html><body>Your instance is hibernating</body></html>",
        ),
        _ => Reply::Json(StatusCode::OK, r#"{"ok":true}"#),
    })
    .await;
    assert!(client(url).get_json::<OkBody>("/x", &[]).await.unwrap().body.ok);
    assert_eq!(seen.count(), 2);

    let (url, _) =
        serve(|_| Reply::With(StatusCode::OK, vec![("content-type", "text/html".into())], "<html></html>")).await;
    let error = client(url).get_json::<OkBody>("/x", &[]).await.unwrap_err();
    assert!(matches!(&error, ConnectorError::Transient { message, .. } if message.contains("HTML")), "{error}");
}

#[tokio::test]
async fn a_truncated_json_200_is_retried() {
    let (url, seen) = serve(|n| match n {
        0 => Reply::Json(StatusCode::OK, r#"{"ok":tr"#),
        _ => Reply::Json(StatusCode::OK, r#"{"ok":true}"#),
    })
    .await;
    assert!(client(url).get_json::<OkBody>("/x", &[]).await.unwrap().body.ok);
    assert_eq!(seen.count(), 2);
}

#[tokio::test]
async fn a_401_names_the_tracker_carries_the_vendor_message_and_hides_the_token() {
    let (url, seen) = serve(|_| {
        Reply::Json(
            StatusCode::UNAUTHORIZED,
            r#"{"message":"Client must be authenticated to access this resource.","status-code":401}"#,
        )
    })
    .await;
    let error = client(url).get_json::<OkBody>("/rest/api/3/myself", &[]).await.unwrap_err();
    assert!(
        matches!(&error, ConnectorError::Auth { status: 401, message, .. } if message == "Client must be authenticated to access this resource."),
        "{error:?}"
    );
    let text = format!("{error} {error:?}");
    assert!(text.starts_with("jira-test: authentication failed"), "{text}");
    assert!(!text.contains("tok-SECRET"), "{text}");
    assert_eq!(seen.count(), 1, "auth failures are not retried");
    // The credentials did go out, as HTTP Basic.
    let requests = seen.requests.lock().unwrap();
    let authorization = requests[0].2.get("authorization").unwrap().to_str().unwrap();
    use base64::Engine as _;
    let expected = base64::engine::general_purpose::STANDARD.encode("bot@example.com:tok-SECRET");
    assert_eq!(authorization, format!("Basic {expected}"));
}

#[tokio::test]
async fn servicenow_errors_and_not_found_are_mapped() {
    let (url, _) = serve(|n| match n {
        0 => Reply::Json(
            StatusCode::NOT_FOUND,
            r#"{"error":{"message":"No Record found","detail":"Record doesn't exist or ACL restricts the record retrieval"},"status":"failure"}"#,
        ),
        _ => Reply::Json(
            StatusCode::BAD_REQUEST,
            r#"{"error":{"message":"Invalid table sys_x","detail":"Table sys_x does not exist"},"status":"failure"}"#,
        ),
    })
    .await;
    let client = client(url);
    let missing = client.get_json::<OkBody>("/api/now/table/incident/abc", &[]).await.unwrap_err();
    assert!(matches!(&missing, ConnectorError::NotFound { what, .. } if what.contains("No Record found")), "{missing}");
    let invalid = client.get_json::<OkBody>("/api/now/table/sys_x", &[]).await.unwrap_err();
    assert!(
        matches!(&invalid, ConnectorError::Invalid { message, .. } if message.contains("Invalid table sys_x (Table sys_x does not exist)")),
        "{invalid}"
    );
}

#[tokio::test]
async fn link_and_total_count_headers_are_exposed() {
    let (url, _) = serve(|_| {
        Reply::With(
            StatusCode::OK,
            vec![
                ("content-type", "application/json".into()),
                ("x-total-count", "250".into()),
                ("link", r#"<http://127.0.0.1:1/a?o=100>;rel="next",<http://127.0.0.1:1/a?o=200>;rel="last""#.into()),
            ],
            r#"{"ok":true}"#,
        )
    })
    .await;
    let client = client(url);
    let response = client.get_json::<OkBody>("/a", &[]).await.unwrap();
    assert_eq!(response.total_count(), Some(250));
    let next = response.next_link().unwrap();
    assert_eq!(next.as_str(), "http://127.0.0.1:1/a?o=100");
    // The link points at another origin (port 1): credentials are not sent there.
    assert!(matches!(client.get_json_url::<OkBody>(&next).await, Err(ConnectorError::Invalid { .. })));
}

#[tokio::test]
async fn the_rate_limiter_spaces_requests_beyond_the_burst() {
    let (url, seen) = serve(|_| Reply::Json(StatusCode::OK, r#"{"ok":true}"#)).await;
    let (per_second, burst, total) = (40.0, 4usize, 40usize);
    let client = HttpClient::new(HttpSettings { per_second, burst: burst as u32, ..settings(url) }).unwrap();
    let started = Instant::now();
    let tasks: Vec<_> = (0..total)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.get_json::<OkBody>("/x", &[]).await.map(|r| r.body.ok) })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap().unwrap());
    }
    // After the burst, one request per 25 ms: 36 more take at least 0.9 s.
    let minimum = Duration::from_secs_f64((total - burst) as f64 / per_second);
    assert!(started.elapsed() >= minimum, "{:?} < {minimum:?}", started.elapsed());
    // As the server saw it: no half-second window holds more than burst + rate * 0.5 s (+1 for arrival jitter).
    let mut arrivals = seen.arrivals();
    arrivals.sort();
    let window = Duration::from_millis(500);
    let most = arrivals.iter().map(|&t| arrivals.iter().filter(|&&u| u >= t && u - t < window).count()).max().unwrap();
    assert!(most <= burst + 20 + 1, "{most} requests within {window:?}");
    let stats = client.stats();
    assert_eq!(stats.requests, total as u64);
    assert!(stats.limiter_waits >= (total - burst) as u64 && stats.limiter_wait > Duration::ZERO, "{stats:?}");
}

/// A server that answers its first request 429 (`Retry-After: 1`) and every other after 100 ms, noting
/// the most requests it had in hand at once (from the second request on).
async fn serve_throttle_then_slow() -> (Url, Arc<Seen>, Arc<Mutex<(usize, usize)>>) {
    let seen = Arc::new(Seen::default());
    let load = Arc::new(Mutex::new((0usize, 0usize))); // (in flight, most at once)
    let (state, counts) = (seen.clone(), load.clone());
    let app = Router::new().fallback(move |request: Request| {
        let (seen, load) = (state.clone(), counts.clone());
        async move {
            let n = {
                let mut requests = seen.requests.lock().unwrap();
                requests.push((Instant::now(), request.method().to_string(), request.headers().clone()));
                requests.len() - 1
            };
            if n == 0 {
                return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], "").into_response();
            }
            {
                let mut load = load.lock().unwrap();
                load.0 += 1;
                load.1 = load.1.max(load.0);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            load.lock().unwrap().0 -= 1;
            (StatusCode::OK, [("content-type", "application/json")], r#"{"ok":true}"#).into_response()
        }
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen, load)
}

#[tokio::test]
async fn after_a_429_concurrent_requests_go_one_at_a_time_until_one_succeeds() {
    let (url, _seen, load) = serve_throttle_then_slow().await;
    let client = client(url);
    let first = tokio::spawn({
        let client = client.clone();
        async move { client.get_json::<OkBody>("/a", &[]).await.map(|r| r.body) }
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    while client.stats().rate_limited == 0 {
        assert!(Instant::now() < deadline, "no 429 seen");
        tokio::task::yield_now().await;
    }
    // Three more streams while the server's wait is on: they take turns (after the waiting one).
    let get = || client.get_json::<OkBody>("/b", &[]);
    let three = tokio::join!(get(), get(), get());
    assert!([three.0, three.1, three.2].iter().all(|r| r.as_ref().is_ok_and(|r| r.body.ok)));
    assert_eq!(first.await.unwrap().unwrap(), OkBody { ok: true });
    assert_eq!(load.lock().unwrap().1, 1, "one request at a time after the 429");

    // A success ended the throttling: streams run side by side again.
    let two = tokio::join!(get(), get());
    assert!(two.0.is_ok() && two.1.is_ok());
    assert_eq!(load.lock().unwrap().1, 2, "side by side again");
}
