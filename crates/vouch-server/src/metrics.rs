//! Prometheus metrics at `/metrics` (text exposition format 0.0.4) and the
//! request log. Requests are labelled by route template (`/api/v1/customers/{id}`),
//! never by raw path or query, so no customer data reaches a label or a log line.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// Upper bounds of the request-duration histogram, in seconds.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Counters {
    /// (method, route, status) → requests.
    requests: BTreeMap<(String, String, u16), u64>,
    /// route → durations.
    durations: BTreeMap<String, Histogram>,
    /// (kind, outcome) → jobs run.
    jobs: BTreeMap<(String, &'static str), u64>,
}

/// What the process has counted since it started.
#[derive(Default)]
pub struct Metrics {
    counters: Mutex<Counters>,
}

impl Metrics {
    fn request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        *c.requests
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default() += 1;
        let h = c.durations.entry(route.to_owned()).or_default();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    pub fn job_ran(&self, kind: &str, succeeded: bool) {
        let outcome = if succeeded { "done" } else { "failed" };
        let mut c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        *c.jobs.entry((kind.to_owned(), outcome)).or_default() += 1;
    }

    fn render(&self, out: &mut String) {
        let c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        out.push_str("# HELP vouch_http_requests_total HTTP requests by method, route and status.\n# TYPE vouch_http_requests_total counter\n");
        for ((method, route, status), n) in &c.requests {
            let _ = writeln!(
                out,
                "vouch_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
        out.push_str("# HELP vouch_http_request_duration_seconds Time to answer, by route.\n# TYPE vouch_http_request_duration_seconds histogram\n");
        for (route, h) in &c.durations {
            let route = escape(route);
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(
                    out,
                    "vouch_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "vouch_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}\nvouch_http_request_duration_seconds_sum{{route=\"{route}\"}} {}\nvouch_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count, h.sum, h.count
            );
        }
        out.push_str("# HELP vouch_jobs_run_total Jobs run by this process, by kind and outcome.\n# TYPE vouch_jobs_run_total counter\n");
        for ((kind, outcome), n) in &c.jobs {
            let _ = writeln!(
                out,
                "vouch_jobs_run_total{{kind=\"{}\",outcome=\"{outcome}\"}} {n}",
                escape(kind)
            );
        }
    }
}

/// A label value as the exposition format wants it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Counts and logs every request.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    let response = next.run(request).await;
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    if !matches!(method.as_str(), "GET" | "HEAD") && response.status().is_success() {
        crate::cache::wrote(&state.writes);
    }
    state.metrics.request(&method, &route, status, seconds);
    tracing::info!(
        target: "vouch::http",
        method,
        route,
        status,
        ms = seconds * 1000.0,
        "request"
    );
    response
}

/// `GET /metrics`: the process's counters and the queue's jobs by state.
pub async fn exposition(State(state): State<AppState>) -> Response {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP vouch_build_info The running version.\n# TYPE vouch_build_info gauge\nvouch_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    state.metrics.render(&mut out);
    out.push_str("# HELP vouch_jobs Jobs in the queue by state.\n# TYPE vouch_jobs gauge\n");
    let counts = state.store.job_counts().await.unwrap_or_default();
    for job_state in vouch_domain::JobState::ALL {
        let n = counts
            .iter()
            .find(|(s, _)| s == job_state)
            .map_or(0, |(_, n)| *n);
        let _ = writeln!(out, "vouch_jobs{{state=\"{job_state}\"}} {n}");
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}
