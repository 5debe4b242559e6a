//! Load benchmark on loopback: an axum hello-world without the layer, with tower-http's
//! `TraceLayer` (no subscriber: the yardstick), and with the layer emitting one event per
//! request (`api.request_completed`) through a real PostHog sink (posthog-rs) to a
//! PostHog-compatible receiver on loopback, run in turn in one session.
//!
//! ```text
//! cargo bench -p tally-middleware --bench load -- [--secs 5] [--rounds 5] [--connections 32]
//!     [--sink receiver|null|none|posthog-rs] [--sample 1.0] [--in-process] [--rate <requests/s>]
//!     [--same-payload] [--worker-priority background|normal]
//! cargo bench -p tally-middleware --bench load -- --micro [--rounds 5] [--requests 200000] [--only <setup index>]
//! ```
//!
//! The load comes from `wrk` when it is on the PATH (`apt-get install wrk`), else from an
//! in-process hyper client sending a fixed number of requests: both as fast as the service
//! answers (the throughput ratio). With `--rate N`, an in-process hyper client on a thread of its
//! own (`load`, left out of every CPU figure) sends N requests per second, a rate both clients
//! can keep up with, so that every event is delivered and the sender's CPU per delivered event
//! compares like with like. With `--same-payload`, the posthog-rs handler sends the properties
//! tally's event carries (a request id, the anonymized client IP) too. Results: docs/benchmarks.md.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use http::HeaderValue;
use http_body_util::{BodyExt, Empty};
use tally_middleware::TrackLayer;
use tally_middleware::request_id::RequestIdMode;
use tally_receiver::Receiver;
use tally_runtime::catalog::Catalog;
use tally_runtime::{Config, Tracker, WorkerPriority};

struct Options {
    /// What the layer emits to: `receiver` (the benchmark), `null` (a sink that discards),
    /// `none` (no tracker: the layer's own cost), or `posthog-rs` (no layer: the handler
    /// captures one event per request with posthog-rs, to the same receiver: the baseline).
    sink: String,
    /// `TrackLayer::sample_rate` for `request_completed` (default 1.0: one event per request).
    sample: f64,
    secs: u64,
    rounds: usize,
    connections: usize,
    in_process: bool,
    /// Requests per second (`--rate`): a paced in-process client instead of full speed.
    rate: Option<u64>,
    /// `--same-payload`: the posthog-rs handler also sends what tally's event carries besides
    /// its five properties (a generated request id, the anonymized client IP).
    same_payload: bool,
    /// `--worker-priority normal`: the tracker's worker at the process's priority instead of
    /// the default background priority.
    worker_priority: WorkerPriority,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let value =
        |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok());
    Options {
        sink: args
            .iter()
            .position(|a| a == "--sink")
            .and_then(|i| args.get(i + 1))
            .cloned()
            .unwrap_or("receiver".into()),
        sample: args
            .iter()
            .position(|a| a == "--sample")
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(1.0),
        secs: value("--secs").unwrap_or(5),
        rounds: value("--rounds").unwrap_or(5) as usize,
        connections: value("--connections").unwrap_or(32) as usize,
        in_process: args.iter().any(|a| a == "--in-process") || Command::new("wrk").arg("--version").output().is_err(),
        rate: value("--rate").filter(|&rate| rate > 0),
        same_payload: args.iter().any(|a| a == "--same-payload"),
        worker_priority: match args.iter().position(|a| a == "--worker-priority").and_then(|i| args.get(i + 1)) {
            Some(normal) if normal == "normal" => WorkerPriority::Normal,
            _ => WorkerPriority::Background,
        },
    }
}

async fn hello() -> &'static str {
    "Hello, World!"
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await;
    });
    addr
}

/// Requests per second and requests completed, from `wrk`.
async fn wrk(addr: SocketAddr, secs: u64, connections: usize) -> (f64, u64) {
    let output = tokio::task::spawn_blocking(move || {
        Command::new("wrk")
            .args(["-t1", &format!("-c{connections}"), &format!("-d{secs}s"), &format!("http://{addr}/")])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("unexpected wrk output:\n{text}"));
    let requests = text
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    (rps, requests)
}

type LoopbackClient =
    hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, Empty<bytes::Bytes>>;

/// The in-process load's HTTP client: keep-alive, one idle connection kept per load connection.
fn loopback_client(connections: usize) -> LoopbackClient {
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .pool_max_idle_per_host(connections)
        .build_http()
}

/// One request, its body read to the end (so the connection is reused).
async fn fetch(client: &LoopbackClient, uri: &http::Uri) {
    let response = client.get(uri.clone()).await.unwrap();
    let _ = response.into_body().collect().await;
}

/// Requests per second and requests completed, from an in-process hyper client sending a fixed
/// number of requests (`secs` × 20 000) over `connections` keep-alive connections.
async fn in_process(addr: SocketAddr, secs: u64, connections: usize) -> (f64, u64) {
    let total = secs * 20_000;
    let client = loopback_client(connections);
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (client, next) = (client.clone(), next.clone());
            let uri: http::Uri = format!("http://{addr}/").parse().unwrap();
            tokio::spawn(async move {
                while next.fetch_add(1, Ordering::Relaxed) < total {
                    fetch(&client, &uri).await;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    (total as f64 / start.elapsed().as_secs_f64(), total)
}

/// Requests per second and requests completed, from an in-process hyper client sending `rate`
/// requests per second for `secs` seconds over `connections` keep-alive connections, each
/// connection's requests spaced evenly (a late one is made up at once, so the rate holds while
/// the service keeps up). It runs on a thread of its own, named `load`, so that its CPU time
/// shows apart from the service's and is left out of every figure.
async fn paced(addr: SocketAddr, secs: u64, connections: usize, rate: u64) -> (f64, u64) {
    let thread = std::thread::Builder::new()
        .name(LOAD_THREAD.into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                let client = loopback_client(connections);
                let total = rate * secs;
                let period = Duration::from_secs_f64(connections as f64 / rate as f64);
                let start = Instant::now();
                let tasks: Vec<_> = (0..connections as u64)
                    .map(|i| {
                        let client = client.clone();
                        let uri: http::Uri = format!("http://{addr}/").parse().unwrap();
                        // This connection's share of the total, its first request offset so
                        // that the connections' requests interleave.
                        let share = total / connections as u64 + u64::from(i < total % connections as u64);
                        let offset = period.mul_f64(i as f64 / connections as f64);
                        tokio::spawn(async move {
                            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
                            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                            for _ in 0..share {
                                ticks.tick().await;
                                fetch(&client, &uri).await;
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.unwrap();
                }
                (total as f64 / start.elapsed().as_secs_f64(), total)
            })
        })
        .unwrap();
    tokio::task::spawn_blocking(move || thread.join().unwrap()).await.unwrap()
}

/// The paced client's thread (`--rate`), left out of the CPU figures.
const LOAD_THREAD: &str = "load";

/// The receiver's thread, left out of the sender's CPU.
const RECEIVER_THREAD: &str = "receiver";

/// Discards every batch (`--sink null`): the pipeline's cost without delivery.
struct NullSink;

impl tally_runtime::sink::Sink for NullSink {
    fn send<'a>(
        &'a self,
        _batch: &'a [tally_runtime::sink::WireEvent],
    ) -> tally_runtime::sink::SinkFuture<'a, Result<(), tally_runtime::sink::SinkError>> {
        Box::pin(async { Ok(()) })
    }
}

/// CPU time (user + system) from a `/proc` `stat` file: the fields after the command name,
/// which is in parentheses and may hold spaces. Linux counts in USER_HZ, 100 per second on
/// every common configuration.
fn stat_cpu(path: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(path).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// CPU time so far by thread name (`tokio-rt-worker`, `tally-worker`, `posthog-rs`'s worker, …),
/// live threads only: from each thread's `schedstat` (nanoseconds on a CPU), else its `stat`
/// (10 ms ticks). The paced client's thread is left out.
fn cpu_by_thread() -> std::collections::BTreeMap<String, Duration> {
    let mut by_name = std::collections::BTreeMap::new();
    for task in std::fs::read_dir("/proc/self/task").into_iter().flatten().flatten() {
        let dir = task.path();
        let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default().trim().to_owned();
        if name == LOAD_THREAD {
            continue;
        }
        let on_cpu = std::fs::read_to_string(dir.join("schedstat"))
            .ok()
            .and_then(|stat| stat.split_whitespace().next()?.parse().ok())
            .map(Duration::from_nanos);
        if let Some(cpu) = on_cpu.or_else(|| stat_cpu(&dir.join("stat").to_string_lossy())) {
            *by_name.entry(name).or_default() += cpu;
        }
    }
    by_name
}

/// CPU spent by each thread name between two [`cpu_by_thread`] readings.
fn cpu_spent(
    before: &std::collections::BTreeMap<String, Duration>,
    after: std::collections::BTreeMap<String, Duration>,
) -> std::collections::BTreeMap<String, Duration> {
    after
        .into_iter()
        .map(|(name, total)| {
            let spent = total.saturating_sub(before.get(&name).copied().unwrap_or_default());
            (name, spent)
        })
        .collect()
}

/// Microseconds of `cpu` per one of `n`.
fn micros_per(cpu: Duration, n: u64) -> f64 {
    cpu.as_nanos() as f64 / 1000.0 / n.max(1) as f64
}

/// This thread's time on a CPU so far (`/proc/thread-self/schedstat`, in nanoseconds): unlike
/// the wall clock, it leaves out the time the thread waited for a core the machine's other
/// tenants held. Zero where the file is unreadable.
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|stat| stat.split_whitespace().next()?.parse().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

/// The servers a round loads in turn.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Server {
    /// No middleware.
    Bare,
    /// tower-http's `TraceLayer`, no subscriber.
    Traced,
    /// tally's layer.
    Tracked,
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The headers `--micro` sends and answers with: none (as in a bare `service_fn` benchmark, where
/// inserting one header allocates the empty `HeaderMap`), or a few, as a server's requests and
/// responses carry them (the maps exist; one more header fits). Static values: a server's
/// parser shares the bytes it read rather than allocating per header.
#[derive(Clone, Copy)]
enum Headers {
    None,
    Realistic,
}

impl Headers {
    fn name(self) -> &'static str {
        match self {
            Headers::None => "no headers",
            Headers::Realistic => "realistic headers",
        }
    }

    /// A request as the server hands it to the middleware.
    fn request(self) -> http::Request<String> {
        let builder = http::Request::builder().uri("/api/projects/42");
        let builder = match self {
            Headers::None => builder,
            Headers::Realistic => builder
                .header(http::header::HOST, HeaderValue::from_static("api.example.com"))
                .header(
                    http::header::USER_AGENT,
                    HeaderValue::from_static("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
                )
                .header(http::header::ACCEPT, HeaderValue::from_static("application/json"))
                .header(http::header::ACCEPT_ENCODING, HeaderValue::from_static("gzip, deflate, br")),
        };
        builder.body(String::new()).unwrap()
    }

    /// The handler's response.
    fn response(self) -> http::Response<String> {
        let builder = http::Response::builder();
        let builder = match self {
            Headers::None => builder,
            Headers::Realistic => builder
                .header(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .header(http::header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        };
        builder.body(String::from("{\"id\":42}")).unwrap()
    }
}

/// `--micro`: the layer's own cost per request, without sockets: requests through a
/// `service_fn`, bare, with tower-http's `TraceLayer` (no subscriber: the yardstick), with
/// `TraceLayer` and tower-http's request-id layers (what the layer does without a tracker,
/// from tower-http), with the layer and no tracker, and with the layer emitting to a sink that discards (the request path
/// only: the tracker's worker runs on its own thread), the last two also with
/// `RequestIdMode::Off`; each with requests and responses
/// without headers and with a few realistic ones ([`Headers`]). `--rounds` rounds (default 5) of
/// `--requests` requests (default 200 000) per setup, the fourteen setups interleaved within each
/// round so that the machine's noise falls on all of them; prints each setup's median and
/// fastest–slowest round of on-CPU time per request (the thread's, so that time spent waiting
/// for a core on a shared machine is left out), and its median wall time. `--only <index>` runs
/// one setup (for a profiler).
fn micro() {
    use tower::{Layer, Service, ServiceExt};
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| {
        args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse::<u32>().ok())
    };
    let requests = value("--requests").unwrap_or(200_000);
    let only = value("--only").map(|i| i as usize);
    let rounds = options().rounds;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let catalog = Catalog::from_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/catalogs/webapp.toml")).unwrap();
        let tracker = Tracker::builder(catalog).with_sink(NullSink).build().unwrap();
        fn handler(
            headers: Headers,
        ) -> impl Service<
            http::Request<String>,
            Response = http::Response<String>,
            Error = std::convert::Infallible,
            Future: Send,
        > + Clone {
            tower::service_fn(move |_: http::Request<String>| async move { Ok(headers.response()) })
        }
        /// Nanoseconds per request over `requests` requests: on this thread's CPU (the
        /// runtime is single-threaded), and on the wall clock.
        async fn run<S>(service: &mut S, headers: Headers, requests: u32) -> (f64, f64)
        where
            S: Service<http::Request<String>, Error = std::convert::Infallible>,
        {
            let (start, cpu) = (Instant::now(), thread_cpu());
            for _ in 0..requests {
                let _ = service.ready().await.unwrap().call(headers.request()).await;
            }
            let per_request = |nanos: u128| nanos as f64 / f64::from(requests);
            (per_request((thread_cpu() - cpu).as_nanos()), per_request(start.elapsed().as_nanos()))
        }
        let setups = [
            "bare",
            "tower-http TraceLayer",
            "TraceLayer + tower-http request id",
            "layer, no tracker",
            "layer, emitting (null sink)",
            "layer, no tracker, request id off",
            "layer, emitting, request id off",
        ];
        let mut results: Vec<Vec<(f64, f64)>> = vec![Vec::new(); 2 * setups.len()];
        for round in 0..rounds {
            for (i, headers) in [Headers::None, Headers::Realistic].into_iter().enumerate() {
                let handler = handler(headers);
                let wanted = |setup: usize| only.is_none_or(|only| only == i * setups.len() + setup);
                let slot = |setup: usize| i * setups.len() + setup;
                if wanted(0) {
                    results[slot(0)].push(run(&mut handler.clone(), headers, requests).await);
                }
                if wanted(1) {
                    let mut traced = tower_http::trace::TraceLayer::new_for_http().layer(handler.clone());
                    results[slot(1)].push(run(&mut traced, headers, requests).await);
                }
                if wanted(2) {
                    // What the layer does without a tracker, from tower-http: an `x-request-id`
                    // set on the request when absent (a v4 UUID), and copied to the response.
                    let mut with_id = tower::ServiceBuilder::new()
                        .layer(tower_http::request_id::SetRequestIdLayer::x_request_id(
                            tower_http::request_id::MakeRequestUuid,
                        ))
                        .layer(tower_http::trace::TraceLayer::new_for_http())
                        .layer(tower_http::request_id::PropagateRequestIdLayer::x_request_id())
                        .service(handler.clone());
                    results[slot(2)].push(run(&mut with_id, headers, requests).await);
                }
                if wanted(3) {
                    let mut untracked = TrackLayer::new_for_http().layer(handler.clone());
                    results[slot(3)].push(run(&mut untracked, headers, requests).await);
                }
                if wanted(4) {
                    let mut tracked = TrackLayer::new_for_http().tracker(tracker.clone()).layer(handler.clone());
                    results[slot(4)].push(run(&mut tracked, headers, requests).await);
                    tracker.flush().await;
                }
                let off = || TrackLayer::new_for_http().request_id(RequestIdMode::Off);
                if wanted(5) {
                    let mut untracked = off().layer(handler.clone());
                    results[slot(5)].push(run(&mut untracked, headers, requests).await);
                }
                if wanted(6) {
                    let mut tracked = off().tracker(tracker.clone()).layer(handler.clone());
                    results[slot(6)].push(run(&mut tracked, headers, requests).await);
                    tracker.flush().await;
                }
            }
            eprintln!("round {}/{rounds} done", round + 1);
        }
        println!(
            "{:<54} {:>9} {:>19} {:>11}  ({rounds} rounds of {requests} requests)",
            "setup (ns per request)", "CPU median", "fastest–slowest", "wall median"
        );
        for (index, values) in results.iter_mut().enumerate() {
            if values.is_empty() {
                continue;
            }
            let headers = if index < setups.len() { Headers::None } else { Headers::Realistic };
            let name = format!("{}, {}", setups[index % setups.len()], headers.name());
            let mut cpu: Vec<f64> = values.iter().map(|(cpu, _)| *cpu).collect();
            let mut wall: Vec<f64> = values.iter().map(|(_, wall)| *wall).collect();
            let (cpu_median, wall_median) = (median(&mut cpu), median(&mut wall));
            let (low, high) = (cpu[0], cpu[cpu.len() - 1]);
            println!("{name:<54} {cpu_median:>9.0} {low:>9.0}–{high:<9.0} {wall_median:>11.0}");
        }
        tracker.shutdown(Duration::from_secs(60)).await;
    });
}

fn main() {
    if std::env::args().any(|a| a == "--micro") {
        return micro();
    }
    let options = options();
    // Every request checked as PostHog's capture checks it, every good event counted, none
    // stored: the benchmark measures the sender, not the receiver's memory. It runs on a thread
    // of its own, so its CPU time shows apart from the service's.
    let receiver_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("receiver")
        .enable_all()
        .build()
        .unwrap();
    let receiver =
        receiver_runtime.block_on(Receiver::builder().api_key("phc_bench").keep_events(false).start()).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async move {
        let catalog = Catalog::from_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/catalogs/webapp.toml")).unwrap();
        let config =
            Config::default().api_key("phc_bench").host(receiver.url()).worker_priority(options.worker_priority);
        let tracker = match options.sink.as_str() {
            "null" => Tracker::builder(catalog).with_sink(NullSink).build().unwrap(),
            _ => Tracker::builder(catalog).with_config(config).build().unwrap(),
        };
        let layer = match options.sink.as_str() {
            "none" => TrackLayer::new_for_http(),
            _ => TrackLayer::new_for_http().tracker(tracker.clone()).sample_rate(options.sample),
        };

        let bare = serve(Router::new().route("/", get(hello))).await;
        let traced =
            serve(Router::new().route("/", get(hello)).layer(tower_http::trace::TraceLayer::new_for_http())).await;
        let posthog = Arc::new(posthog_rs::client(
            posthog_rs::ClientOptionsBuilder::default()
                .api_key("phc_bench".to_owned())
                .host(receiver.url())
                .build()
                .unwrap(),
        )
        .await);
        // Events the posthog-rs handler captured: posthog-rs reports none it drops (a full queue
        // drops with a log line at most), so its losses show as these less the receiver's count.
        let captured = Arc::new(AtomicU64::new(0));
        let tracked = match options.sink.as_str() {
            "posthog-rs" => {
                let (client, captured) = (posthog.clone(), captured.clone());
                let same_payload = options.same_payload;
                let capture = move || {
                    let (client, captured) = (client.clone(), captured.clone());
                    async move {
                        let started = Instant::now();
                        let mut event = posthog_rs::Event::new_anon("api.request_completed");
                        event.insert_prop("method", "GET").unwrap();
                        event.insert_prop("route", "/").unwrap();
                        event.insert_prop("status", 200).unwrap();
                        event.insert_prop("duration_ms", started.elapsed().as_millis() as u64).unwrap();
                        event.insert_prop("response_size", 13).unwrap();
                        if same_payload {
                            // What tally's event also carries: a request id (generated, as tally
                            // does for a request without one) and the client's IP, anonymized
                            // (loopback's, as tally's `anonymize_ip` writes it).
                            event.insert_prop("request_id", uuid::Uuid::now_v7().to_string()).unwrap();
                            event.insert_prop("client_ip", "127.0.0.0").unwrap();
                        }
                        client.capture(event);
                        captured.fetch_add(1, Ordering::Relaxed);
                        hello().await
                    }
                };
                serve(Router::new().route("/", get(capture))).await
            }
            _ => serve(Router::new().route("/", get(hello)).layer(layer)).await,
        };

        let load = |addr, secs| async move {
            match options.rate {
                Some(rate) => paced(addr, secs, options.connections, rate).await,
                None if options.in_process => in_process(addr, secs, options.connections).await,
                None => wrk(addr, secs, options.connections).await,
            }
        };
        eprintln!(
            "sink: {}, sample rate {}, worker {:?}; load: {}, {} connections, {} s per run, {} rounds, {} cores",
            options.sink,
            options.sample,
            options.worker_priority,
            match options.rate {
                Some(rate) => format!("in-process hyper client paced at {rate} req/s"),
                None if options.in_process => "in-process hyper client".to_owned(),
                None => "wrk -t1".to_owned(),
            },
            options.connections,
            options.secs,
            options.rounds,
            std::thread::available_parallelism().map_or(0, |n| n.get()),
        );
        // Warm-up.
        load(bare, 1).await;
        load(traced, 1).await;
        load(tracked, 1).await;
        tracker.flush().await;
        posthog.flush().await;
        receiver.reset();
        captured.store(0, Ordering::Relaxed);
        let before = tracker.counts();

        let (mut bare_rps, mut tracked_rps, mut traced_rps) = (Vec::new(), Vec::new(), Vec::new());
        let (mut bare_cpu, mut tracked_cpu, mut traced_cpu) = (Vec::new(), Vec::new(), Vec::new());
        let mut sender_cpu = Vec::new();
        let (mut tracked_requests, mut tracked_delivered) = (0, 0);
        for round in 0..options.rounds {
            // Rotate which goes first, so drift favours none.
            let mut order = [Server::Bare, Server::Traced, Server::Tracked];
            order.rotate_left(round % 3);
            for server in order {
                let threads_before = cpu_by_thread();
                // The process's CPU (the paced client's thread left out) per request.
                let process_cpu = |spent: &std::collections::BTreeMap<String, Duration>, requests| {
                    micros_per(spent.values().sum(), requests)
                };
                if server == Server::Traced {
                    let (rps, requests) = load(traced, options.secs).await;
                    let cpu = process_cpu(&cpu_spent(&threads_before, cpu_by_thread()), requests);
                    traced_cpu.push(cpu);
                    eprintln!("round {round}: TraceLayer    {rps:>10.0} req/s  {cpu:>6.1} µs CPU/request  ({requests} requests)");
                    traced_rps.push(rps);
                } else if server == Server::Tracked {
                    let (rps, requests) = load(tracked, options.secs).await;
                    tracker.flush().await;
                    posthog.flush().await;
                    // Per request, delivery included (the flush waited for it).
                    let spent = cpu_spent(&threads_before, cpu_by_thread());
                    let cpu = process_cpu(&spent, requests);
                    tracked_cpu.push(cpu);
                    let threads: Vec<String> =
                        spent.iter().map(|(name, cpu)| format!("{name} {:.1}", micros_per(*cpu, requests))).collect();
                    eprintln!("round {round}: with layer, µs CPU/request by thread: {}", threads.join(", "));
                    let delivered = receiver.accepted() as u64;
                    receiver.reset();
                    // The sender: every thread but the receiver's (the service, the tracker's
                    // worker, posthog-rs's), per event the receiver accepted.
                    let sender: Duration =
                        spent.iter().filter(|(name, _)| name.as_str() != RECEIVER_THREAD).map(|(_, cpu)| *cpu).sum();
                    let per_event = micros_per(sender, delivered);
                    sender_cpu.push(per_event);
                    tracked_requests += requests;
                    tracked_delivered += delivered;
                    eprintln!(
                        "round {round}: with layer    {rps:>10.0} req/s  {cpu:>6.1} µs CPU/request  ({requests} requests, {delivered} events at the receiver ({:.1} %), sender {per_event:.1} µs CPU per delivered event)",
                        100.0 * delivered as f64 / requests.max(1) as f64
                    );
                    tracked_rps.push(rps);
                } else {
                    let (rps, requests) = load(bare, options.secs).await;
                    let cpu = process_cpu(&cpu_spent(&threads_before, cpu_by_thread()), requests);
                    bare_cpu.push(cpu);
                    eprintln!("round {round}: without layer {rps:>10.0} req/s  {cpu:>6.1} µs CPU/request  ({requests} requests)");
                    bare_rps.push(rps);
                }
            }
        }
        let counts = tracker.shutdown(Duration::from_secs(60)).await;
        let (bare, with) = (median(&mut bare_rps), median(&mut tracked_rps));
        let (bare_cpu, with_cpu) = (median(&mut bare_cpu), median(&mut tracked_cpu));
        let (traced, traced_cpu) = (median(&mut traced_rps), median(&mut traced_cpu));
        let sender = median(&mut sender_cpu);
        println!("without layer (median): {bare:.0} req/s, {bare_cpu:.1} µs of server CPU per request");
        println!("TraceLayer    (median): {traced:.0} req/s, {traced_cpu:.1} µs of server CPU per request");
        println!("with layer    (median): {with:.0} req/s, {with_cpu:.1} µs of server CPU per request");
        println!("ratio: {:.2}x (TraceLayer: {:.2}x)", with / bare, traced / bare);
        println!(
            "sender CPU per delivered event (median): {sender:.1} µs ({:.1}–{:.1}); delivered {tracked_delivered} events of {tracked_requests} requests ({:.2} %)",
            sender_cpu[0],
            sender_cpu[sender_cpu.len() - 1],
            100.0 * tracked_delivered as f64 / tracked_requests.max(1) as f64
        );
        if options.sink == "posthog-rs" {
            let captured = captured.load(Ordering::Relaxed);
            println!(
                "posthog-rs: {captured} events captured, {tracked_delivered} at the receiver, {} lost without a count",
                captured.saturating_sub(tracked_delivered)
            );
        } else {
            println!(
                "tally: {} emitted, {} delivered, {} dropped ({} queue full, {} over the byte budget), for {} \
                 requests with the layer",
                counts.emitted - before.emitted,
                counts.delivered - before.delivered,
                counts.dropped() - before.dropped(),
                counts.dropped_queue_full - before.dropped_queue_full,
                counts.dropped_over_byte_budget - before.dropped_over_byte_budget,
                tracked_requests
            );
        }
    });
}
