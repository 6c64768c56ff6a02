//! Fault injection through the ServiceNow simulator, fault by fault, each deterministic from a seed or an
//! explicit injection; and the request log that observes them.

use std::time::{Duration, Instant};

use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use twotrack_sim::faults::{FaultKind, FaultPhase, FaultSpec, Injection};
use twotrack_sim::servicenow::{ServiceNowOptions, ServiceNowSim};

const USER: &str = "twotrack@example.com";
const PASSWORD: &str = "sim-token";

async fn start(faults: FaultSpec) -> ServiceNowSim {
    ServiceNowSim::start(ServiceNowOptions { faults, ..ServiceNowOptions::default() }).await.unwrap()
}

fn client() -> Client {
    Client::builder().timeout(Duration::from_secs(10)).build().unwrap()
}

async fn list(sim: &ServiceNowSim) -> reqwest::Result<Response> {
    client()
        .get(format!("{}/api/now/table/sys_user_group", sim.base_url()))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .await
}

async fn create(sim: &ServiceNowSim, client: &Client, summary: &str) -> reqwest::Result<String> {
    let response = client
        .post(format!("{}/api/now/table/incident", sim.base_url()))
        .basic_auth(USER, Some(PASSWORD))
        .json(&json!({"short_description": summary}))
        .send()
        .await?;
    response.text().await
}

fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

fn incidents_named(sim: &ServiceNowSim, summary: &str) -> usize {
    sim.snapshot("incident").iter().filter(|r| r["short_description"] == summary).count()
}

/// Polls the log until it holds `n` entries (a hung request is logged when its response is produced).
async fn wait_for_log(sim: &ServiceNowSim, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while sim.log().len() < n {
        assert!(Instant::now() < deadline, "log never reached {n} entries");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn an_injected_429_has_retry_after_and_rate_limit_headers_and_early_retries_fail_again() {
    let sim = start(FaultSpec { retry_after: 30, ..FaultSpec::default() }).await;
    sim.faults().inject(Injection::next(FaultKind::RateLimited, FaultPhase::BeforeHandling));
    let anonymous = client().get(format!("{}/api/now/table/sys_user_group", sim.base_url())).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED, "auth comes first and takes no fault");
    sim.log().clear();
    for _ in 0..2 {
        let response = list(&sim).await.unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(header(&response, "retry-after"), Some("30"));
        assert!(header(&response, "x-ratelimit-limit").unwrap().parse::<u64>().unwrap() > 0);
        let reset: i64 = header(&response, "x-ratelimit-reset").unwrap().parse().unwrap();
        assert!(reset > chrono::Utc::now().timestamp(), "reset is a future epoch second");
        assert_eq!(header(&response, "x-ratelimit-rule").unwrap().len(), 32);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], "failure");
    }
    let faults: Vec<_> = sim.log().entries().into_iter().map(|e| (e.status, e.fault)).collect();
    assert_eq!(faults, vec![(429, Some("429 (before handling)".to_owned())); 2]);
    sim.faults().clear();
    assert_eq!(list(&sim).await.unwrap().status(), StatusCode::OK);
    sim.shutdown().await;
}

#[tokio::test]
async fn server_errors_are_500_502_or_503_with_retry_after_and_reproducible_from_the_seed() {
    async fn statuses(seed: u64) -> Vec<(u16, Option<String>)> {
        let sim = start(FaultSpec::parse(&format!("rate=0.5,kinds=5xx,seed={seed},retry-after=2")).unwrap()).await;
        let mut seen = Vec::new();
        for _ in 0..40 {
            let response = list(&sim).await.unwrap();
            let status = response.status().as_u16();
            if status == 503 {
                assert_eq!(header(&response, "retry-after"), Some("2"));
            }
            seen.push((status, header(&response, "retry-after").map(str::to_owned)));
        }
        sim.shutdown().await;
        seen
    }
    let first = statuses(11).await;
    assert_eq!(first, statuses(11).await, "same seed, same faults");
    assert_ne!(first, statuses(12).await);
    let codes: std::collections::BTreeSet<u16> = first.iter().map(|(s, _)| *s).collect();
    assert_eq!(codes, [200, 500, 502, 503].into_iter().collect());
}

#[tokio::test]
async fn a_reset_before_handling_writes_nothing() {
    let sim = start(FaultSpec::default()).await;
    sim.faults().inject(Injection::next_with_method(FaultKind::Reset, FaultPhase::BeforeHandling, "POST"));
    assert!(create(&sim, &client(), "lost request").await.is_err(), "the client sees a broken connection");
    assert_eq!(incidents_named(&sim, "lost request"), 0);
    let entry = sim.log().writes().pop().unwrap();
    assert_eq!(entry.fault.as_deref(), Some("reset (before handling)"));
    assert!(entry.body.unwrap().contains("lost request"));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_reset_after_handling_loses_the_response_of_a_write_that_happened() {
    let sim = start(FaultSpec::default()).await;
    sim.faults().inject(Injection::next_with_method(FaultKind::Reset, FaultPhase::AfterHandling, "POST"));
    let outcome = create(&sim, &client(), "written anyway").await;
    assert!(outcome.is_err(), "the client sees an error: {outcome:?}");
    assert_eq!(incidents_named(&sim, "written anyway"), 1, "yet the record exists, exactly once");
    let entry = sim.log().writes().pop().unwrap();
    assert_eq!((entry.status, entry.fault.as_deref()), (201, Some("reset (after handling)")));
    assert!(create(&sim, &client(), "next one").await.unwrap().contains("INC0010002"));
    sim.shutdown().await;
}

#[tokio::test]
async fn random_resets_on_writes_strike_before_or_after_handling() {
    let sim = start(FaultSpec::parse("rate=1,kinds=reset,seed=5").unwrap()).await;
    for i in 0..12 {
        assert!(create(&sim, &client(), &format!("write {i}")).await.is_err());
    }
    let faults: Vec<String> = sim.log().writes().into_iter().filter_map(|e| e.fault).collect();
    let after = faults.iter().filter(|f| f.as_str() == "reset (after handling)").count();
    assert_eq!(faults.len(), 12);
    assert!(after > 0 && after < 12, "{faults:?}");
    assert_eq!(sim.snapshot("incident").len(), after, "only after-handling resets leave a record");
    let read = match list(&sim).await {
        Ok(response) => response.text().await.map(|_| ()),
        Err(error) => Err(error),
    };
    assert!(read.is_err(), "a reset read never completes");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_hang_outlasts_the_client_timeout() {
    let sim = start(FaultSpec::parse("hang=400ms").unwrap()).await;
    let impatient = Client::builder().timeout(Duration::from_millis(100)).build().unwrap();
    sim.faults().inject(Injection::next(FaultKind::Hang, FaultPhase::BeforeHandling));
    let url = format!("{}/api/now/table/incident", sim.base_url());
    let error = impatient.get(&url).basic_auth(USER, Some(PASSWORD)).send().await.unwrap_err();
    assert!(error.is_timeout(), "{error}");
    wait_for_log(&sim, 1).await;
    let entry = sim.log().entries().pop().unwrap();
    assert_eq!((entry.status, entry.fault.as_deref()), (499, Some("hang (before handling)")), "the client gave up");
    assert!(entry.elapsed >= Duration::from_millis(50), "it hung until the client left: {:?}", entry.elapsed);

    sim.faults().inject(Injection::next_with_method(FaultKind::Hang, FaultPhase::AfterHandling, "POST"));
    assert!(create(&sim, &impatient, "slow write").await.unwrap_err().is_timeout());
    assert_eq!(incidents_named(&sim, "slow write"), 1, "the write happened although the client gave up");
    wait_for_log(&sim, 2).await;
    let entry = sim.log().writes().pop().unwrap();
    assert_eq!((entry.status, entry.fault.as_deref()), (499, Some("hang (after handling)")));

    // A client that waits long enough gets the hang's 504 (before handling).
    sim.faults().inject(Injection::next(FaultKind::Hang, FaultPhase::BeforeHandling));
    let patient = Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let late = patient.get(&url).basic_auth(USER, Some(PASSWORD)).send().await.unwrap();
    assert_eq!(late.status(), StatusCode::GATEWAY_TIMEOUT);
    assert!(sim.log().entries().pop().unwrap().elapsed >= Duration::from_millis(400));
    sim.shutdown().await;
}

#[tokio::test]
async fn shutdown_cuts_a_hang_short() {
    let sim = start(FaultSpec::parse("rate=1,kinds=hang,hang=60s").unwrap()).await;
    let impatient = Client::builder().timeout(Duration::from_millis(200)).build().unwrap();
    let url = format!("{}/api/now/table/incident", sim.base_url());
    // Once the client gave up, the server holds a request hanging for a minute.
    assert!(impatient.get(url).basic_auth(USER, Some(PASSWORD)).send().await.unwrap_err().is_timeout());
    let started = Instant::now();
    sim.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(3), "shutdown took {:?}", started.elapsed());
}

#[tokio::test]
async fn malformed_json_is_a_200_with_a_truncated_body() {
    let sim = start(FaultSpec::parse("rate=1,kinds=badjson,seed=1").unwrap()).await;
    let response = list(&sim).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(header(&response, "content-type").unwrap().starts_with("application/json"));
    let text = response.text().await.unwrap();
    assert!(text.starts_with("{\"result\":["), "{text}");
    assert!(serde_json::from_str::<Value>(&text).is_err());
    let written = create(&sim, &client(), "half a reply").await.unwrap();
    assert!(serde_json::from_str::<Value>(&written).is_err());
    assert_eq!(incidents_named(&sim, "half a reply"), 1, "malformed replies to writes come after handling");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_hibernating_instance_answers_200_with_an_html_page() {
    let sim = start(FaultSpec::parse("rate=1,kinds=html").unwrap()).await;
    let response = list(&sim).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(header(&response, "content-type").unwrap().starts_with("text/html"));
    assert!(response.text().await.unwrap().contains("hibernating"));
    assert!(create(&sim, &client(), "sleeping").await.unwrap().contains("<html>"));
    assert_eq!(incidents_named(&sim, "sleeping"), 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn latency_is_added_to_every_request() {
    let sim = start(FaultSpec::parse("latency=40ms").unwrap()).await;
    let started = Instant::now();
    assert_eq!(list(&sim).await.unwrap().status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(40));
    assert!(sim.log().entries()[0].elapsed >= Duration::from_millis(40));
    sim.shutdown().await;
}

#[tokio::test]
async fn the_server_side_token_bucket_refuses_bursts() {
    let sim = start(FaultSpec::parse("limit=0.5/3").unwrap()).await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let response = list(&sim).await.unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(header(&response, "retry-after").unwrap().parse::<u64>().unwrap() >= 1);
            assert_eq!(header(&response, "x-ratelimit-limit"), Some("3"));
        }
        statuses.push(response.status().as_u16());
    }
    assert_eq!(&statuses[..3], [200, 200, 200]);
    assert!(statuses[3..].contains(&429), "{statuses:?}");
    let throttled = sim
        .log()
        .entries()
        .iter()
        .filter(|e| e.fault.as_deref() == Some("server-rate-limit (before handling)"))
        .count();
    assert_eq!(throttled, statuses.iter().filter(|s| **s == 429).count());
    assert_eq!(sim.log().max_requests_in_window(Duration::from_secs(60)), 6);
    sim.shutdown().await;
}

#[tokio::test]
async fn faults_can_be_set_and_cleared_while_running() {
    let sim = start(FaultSpec::default()).await;
    assert_eq!(list(&sim).await.unwrap().status(), StatusCode::OK);
    sim.faults().set(FaultSpec::parse("rate=1,kinds=5xx,seed=3").unwrap());
    assert!(list(&sim).await.unwrap().status().is_server_error());
    sim.faults().clear();
    assert_eq!(list(&sim).await.unwrap().status(), StatusCode::OK);
    let log = sim.log();
    assert_eq!(log.count("GET", "/api/now/table/sys_user_group"), 3);
    assert_eq!(log.entries().iter().filter(|e| e.fault.is_some()).count(), 1);
    assert!(log.entries().iter().all(|e| e.query.is_empty() && e.body.is_none()));
    sim.shutdown().await;
}
