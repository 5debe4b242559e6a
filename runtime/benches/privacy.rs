//! The privacy gate's cost per string: what the worker pays for every string of every event.
//! Ordinary values should stay on the prefilter (tens of nanoseconds, no allocation).
//!
//! `cargo bench -p tally-runtime --bench privacy -- --sample-count 100`

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: failing loudly is the point

use std::hint::black_box;

use tally_runtime::privacy::{personal_category, scrub_str};

fn main() {
    divan::main();
}

const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
                      Chrome/120.0.0.0 Safari/537.36";

/// Strings that must survive, as events carry them.
const ORDINARY: &[(&str, &str)] = &[
    ("id", "u-7"),
    ("word", "checkout"),
    ("number", "1250"),
    ("uuid", "0b8e2a4c-6f1d-4d2e-9c33-5a7e1f0b9d21"),
    ("route", "/projects/{id}"),
    ("timestamp", "2024-05-01T12:30:45.123Z"),
    ("sentence", "Monthly report for the design team"),
    ("user_agent", CHROME),
];

/// Strings with something to redact.
const PERSONAL: &[(&str, &str)] = &[
    ("email", "contact ada@example.com now"),
    ("bearer", "Authorization: Bearer abc123"),
    ("card", "card 4111 1111 1111 1111 declined"),
    ("url", "https://api.example.com/v1?access_token=abc123&page=2"),
    ("mixed", "Mozilla/5.0 (+mailto:ada@example.com; 203.0.113.77; Bearer abc123)"),
];

#[divan::bench(args = ORDINARY.iter().map(|(name, _)| *name), sample_count = 100, sample_size = 1000)]
fn scrub_ordinary(name: &str) -> usize {
    let text = ORDINARY.iter().find(|(n, _)| *n == name).unwrap().1;
    scrub_str(black_box(text)).1
}

#[divan::bench(args = PERSONAL.iter().map(|(name, _)| *name), sample_count = 100, sample_size = 200)]
fn scrub_personal(name: &str) -> usize {
    let text = PERSONAL.iter().find(|(n, _)| *n == name).unwrap().1;
    scrub_str(black_box(text)).1
}

/// A five-property event's strings, as the worker scrubs them one after another.
#[divan::bench(sample_count = 100, sample_size = 1000)]
fn scrub_event_of_five_strings() -> usize {
    ["u-7", "checkout", "0b8e2a4c-6f1d-4d2e-9c33-5a7e1f0b9d21", "/projects/{id}", "Monthly report"]
        .into_iter()
        .map(|text| scrub_str(black_box(text)).1)
        .sum()
}

#[divan::bench(sample_count = 100, sample_size = 1000)]
fn personal_category_of_uuid() -> bool {
    personal_category(black_box("0b8e2a4c-6f1d-4d2e-9c33-5a7e1f0b9d21")).is_some()
}
