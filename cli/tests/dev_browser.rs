//! The live page of `tally dev` in a real headless Chromium (Debian's `chromium` and
//! `chromium-driver`, which `.ci/run` installs), driven over WebDriver: events sent after the
//! page opened appear without a reload, filters narrow the list, a violation is marked, the
//! person view shows a merge; a screenshot is written for a person to look at.
//!
//! Without chromedriver this test fails, saying what to install: it never skips silently.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: failing loudly is the point

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

mod dev_server;
use dev_server::DevServer;

/// How long the page may take to show what it was sent (a bound for a broken page, not a
/// synchronization: every wait below returns as soon as its element appears).
const WAIT: Duration = Duration::from_secs(20);

/// chromedriver as a child process, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Self {
        let binary = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".to_owned());
        // A free port: bound, read, released, then given to chromedriver.
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port();
        let mut child = Command::new(&binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot start `{binary}` ({error}): the browser test needs Debian's `chromium` and \
                     `chromium-driver` (apt-get install -y chromium chromium-driver; .ci/run installs them)"
                )
            });
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        loop {
            line.clear();
            let read = stdout.read_line(&mut line).unwrap();
            assert!(read > 0, "chromedriver exited before it was ready");
            if line.contains("started successfully") {
                break;
            }
        }
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Self { child, url: format!("http://127.0.0.1:{port}") }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn browser(driver: &Driver) -> Client {
    let mut capabilities = serde_json::Map::new();
    let mut chrome = json!({"args": [
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--window-size=1280,860", "--hide-scrollbars",
    ]});
    if let Ok(binary) = std::env::var("CHROME") {
        chrome["binary"] = json!(binary);
    } else if std::path::Path::new("/usr/bin/chromium").exists() {
        chrome["binary"] = json!("/usr/bin/chromium");
    }
    capabilities.insert("goog:chromeOptions".to_owned(), chrome);
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .unwrap_or_else(|error| panic!("chromium did not start under chromedriver at {}: {error}", driver.url))
}

async fn wait_for(client: &Client, css: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("the page never showed `{css}`: {error}"))
}

async fn send(dev: &DevServer, batch: Value) {
    let response = reqwest::Client::new().post(dev.at("/batch/")).json(&batch).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

async fn texts(client: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for element in client.find_all(Locator::Css(css)).await.unwrap() {
        out.push(element.text().await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_page_shows_filters_and_marks_events_as_they_arrive() {
    let dev = DevServer::start("examples/quickstart/catalog.toml", &[]);
    let driver = Driver::start();
    let client = browser(&driver).await;
    client.goto(&dev.url).await.unwrap();
    wait_for(&client, ".status.live").await;
    wait_for(&client, "#events[data-rows='0']").await;

    // Sent after the page opened: they must appear without a reload.
    let todo = |id: &str, length: u64| json!({"event": "todo.created", "distinct_id": id, "properties": {"title_length": length, "user_id": id}});
    send(
        &dev,
        json!({"api_key": "phc_dev", "batch": [
            todo("anon-7f3a", 11),
            {"event": "$identify", "distinct_id": "user-42", "properties": {"$anon_distinct_id": "anon-7f3a"}},
            todo("user-42", 24),
            {"event": "api.request_completed", "distinct_id": "user-42",
             "properties": {"route": "/todos", "method": "POST", "status": 201, "duration_ms": 3.2}},
        ]}),
    )
    .await;
    send(
        &dev,
        json!({"api_key": "phc_dev", "batch": [
            {"event": "todo.craeted", "distinct_id": "user-42", "properties": {"title_length": 9}},
        ]}),
    )
    .await;
    wait_for(&client, "#events[data-rows='5']").await;
    let names = texts(&client, "#events > li .name").await;
    assert_eq!(names, ["todo.craeted", "api.request_completed", "todo.created", "$identify", "todo.created"]);

    // The violation is marked: its row is flagged, with a red edge and the count.
    let marked = client.find(Locator::Css("#events > li.has-violations")).await.unwrap();
    assert!(marked.text().await.unwrap().contains("todo.craeted"));
    assert!(marked.text().await.unwrap().contains("1 violation"));
    let edge = marked.css_value("border-left-color").await.unwrap();
    assert!(edge.starts_with("rgb(198, 47, 59") || edge.starts_with("rgba(198, 47, 59"), "not red: {edge}");
    assert_eq!(client.find_all(Locator::Css("#events > li.has-violations")).await.unwrap().len(), 1);
    assert_eq!(client.find(Locator::Css("#count-violations")).await.unwrap().text().await.unwrap(), "1");

    // Filters narrow the list, and widen it again.
    let by_name = client.find(Locator::Css("#filter-event")).await.unwrap();
    by_name.send_keys("craeted").await.unwrap();
    wait_for(&client, "#events[data-rows='1']").await;
    assert_eq!(texts(&client, "#events > li .name").await, ["todo.craeted"]);
    by_name.clear().await.unwrap();
    client.execute("document.getElementById('filter-event').dispatchEvent(new Event('input'))", vec![]).await.unwrap();
    wait_for(&client, "#events[data-rows='5']").await;
    let by_id = client.find(Locator::Css("#filter-id")).await.unwrap();
    by_id.send_keys("anon-7f3a").await.unwrap();
    wait_for(&client, "#events[data-rows='1']").await;
    by_id.clear().await.unwrap();
    client.execute("document.getElementById('filter-id').dispatchEvent(new Event('input'))", vec![]).await.unwrap();
    wait_for(&client, "#events[data-rows='5']").await;

    // The violation opens to its reason; the person view shows the merged timeline.
    client.find(Locator::Css("#events > li.has-violations .head")).await.unwrap().click().await.unwrap();
    let reason = wait_for(&client, "#events > li.open .violations li").await;
    assert!(reason.text().await.unwrap().contains("did you mean `todo.created`?"));
    client.find(Locator::Css("#events > li.identify .who")).await.unwrap().click().await.unwrap();
    wait_for(&client, "#person-events[data-rows='5']").await;
    let merged = client.find(Locator::Css("#person-ids")).await.unwrap().text().await.unwrap();
    assert!(merged.contains("anon-7f3a"), "{merged}");

    // A property is text, never markup.
    send(
        &dev,
        json!({"api_key": "phc_dev", "batch": [
            {"event": "<img src=x onerror=alert(1)>", "distinct_id": "user-42", "properties": {}},
        ]}),
    )
    .await;
    wait_for(&client, "#events[data-rows='6']").await;
    assert!(client.find_all(Locator::Css("#events img")).await.unwrap().is_empty(), "markup from an event ran");
    client.find(Locator::Css("#events > li:first-child .head")).await.unwrap().click().await.unwrap();
    let reset = reqwest::Client::new().post(dev.at("/api/reset")).send().await.unwrap();
    assert_eq!(reset.status(), 200);
    wait_for(&client, "#events[data-rows='0']").await;
    send(
        &dev,
        json!({"api_key": "phc_dev", "batch": [
            todo("anon-7f3a", 11),
            {"event": "$identify", "distinct_id": "user-42", "properties": {"$anon_distinct_id": "anon-7f3a"}},
            todo("user-42", 24),
            {"event": "api.request_completed", "distinct_id": "user-42",
             "properties": {"route": "/todos", "method": "POST", "status": 201, "duration_ms": 3.2}},
            {"event": "todo.craeted", "distinct_id": "user-42", "properties": {"title_length": 9}},
        ]}),
    )
    .await;
    wait_for(&client, "#events[data-rows='5']").await;
    client.find(Locator::Css("#events > li.has-violations .head")).await.unwrap().click().await.unwrap();
    wait_for(&client, "#events > li.open .violations li").await;

    let png = client.screenshot().await.unwrap();
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("tally-dev-screenshot.png");
    std::fs::write(&path, png).unwrap();
    println!("screenshot: {}", path.display());
    client.close().await.unwrap();
}
