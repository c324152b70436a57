//! Traffic charts: requests per second by status class, bytes in and out, latency p50 and p99,
//! and refused CORS requests and access decisions, over the last hour or day, overall (keys of
//! the default account that manage keys) or for one bucket (whoever may list it). Drawn as SVG on
//! the server, no script, with the numbers also as a table. They start empty at each restart.

use crate::auth::{Page, Signed};
use crate::buckets::nav;
use crate::views::{render, size, TrafficPage, TrafficRow};
use crate::Dashboard;
use axum::extract::{Query, State};
use axum::response::Response;
use http::StatusCode;
use pier_access::Action;
use pier_edge::traffic::{BucketSlot, Slot, Window};
use serde::Deserialize;
use std::fmt::Write as _;

#[derive(Deserialize, Default)]
pub(crate) struct Choice {
    #[serde(default)]
    window: String,
    #[serde(default)]
    bucket: String,
}

pub(crate) async fn page(
    State(d): State<Dashboard>,
    who: Signed,
    Query(choice): Query<Choice>,
) -> Result<Response, Page> {
    let window = match choice.window.as_str() {
        "day" => Window::Day,
        _ => Window::Hour,
    };
    let bucket = choice.bucket.trim().to_owned();
    if bucket.is_empty() {
        if !who.manages_accounts(&d) {
            return Err(Page::new(
                StatusCode::FORBIDDEN,
                "Only keys of the default account that manage keys see the whole server's traffic; a bucket's is on its page.",
            ));
        }
    } else {
        who.allow(&d, Action::ListBucket, Some(&bucket), None, None)?;
    }
    let traffic = d.config().traffic.clone().ok_or_else(|| {
        Page::new(
            StatusCode::NOT_FOUND,
            "This server keeps no traffic charts.",
        )
    })?;
    let secs = window.slot_secs() as f64;
    let (charts, rows) = if bucket.is_empty() {
        let series = traffic.overall(window);
        let per_sec = |f: &dyn Fn(&Slot) -> u64| -> Vec<Option<f64>> {
            series
                .slots
                .iter()
                .map(|s| Some(f(s) as f64 / secs))
                .collect()
        };
        let latency = |q: f64| -> Vec<Option<f64>> {
            series.slots.iter().map(|s| s.latency_quantile(q)).collect()
        };
        let charts = vec![
            line_chart(
                "Requests per second",
                "req/s",
                window,
                &[
                    ("2xx", "#2b8a3e", per_sec(&|s| s.by_class[0])),
                    ("3xx", "#868e96", per_sec(&|s| s.by_class[1])),
                    ("4xx", "#e8590c", per_sec(&|s| s.by_class[2])),
                    ("5xx", "#c92a2a", per_sec(&|s| s.by_class[3])),
                ],
            ),
            bytes_chart(window, per_sec(&|s| s.bytes_in), per_sec(&|s| s.bytes_out)),
            line_chart(
                "Latency",
                "ms",
                window,
                &[
                    ("p50", "#1c7ed6", latency(0.5)),
                    ("p99", "#c92a2a", latency(0.99)),
                ],
            ),
            line_chart(
                "Refused per second",
                "req/s",
                window,
                &[
                    ("CORS", "#e8590c", per_sec(&|s| s.cors_refused)),
                    (
                        "access (401/403)",
                        "#c92a2a",
                        per_sec(&|s| s.access_refused),
                    ),
                ],
            ),
        ];
        let rows = table(
            series.last_start_ms,
            window,
            &series.slots,
            |start, slots| {
                let sum = slots.iter().fold(Slot::default(), |a, s| a.plus(s));
                let ms = |q| {
                    sum.latency_quantile(q)
                        .map_or("-".into(), |v| format!("{v}"))
                };
                TrafficRow {
                    start,
                    requests: sum.requests(),
                    detail: vec![
                        sum.by_api[0].to_string(),
                        sum.by_api[1].to_string(),
                        sum.by_api[2].to_string(),
                        sum.by_class[0].to_string(),
                        sum.by_class[1].to_string(),
                        sum.by_class[2].to_string(),
                        sum.by_class[3].to_string(),
                        size(sum.bytes_in),
                        size(sum.bytes_out),
                        sum.cors_refused.to_string(),
                        sum.access_refused.to_string(),
                        ms(0.5),
                        ms(0.99),
                    ],
                }
            },
        );
        (charts, rows)
    } else {
        let series = traffic.bucket(window, &bucket);
        let per_sec = |f: &dyn Fn(&BucketSlot) -> u64| -> Vec<Option<f64>> {
            series
                .slots
                .iter()
                .map(|s| Some(f(s) as f64 / secs))
                .collect()
        };
        let charts = vec![
            line_chart(
                "Requests per second",
                "req/s",
                window,
                &[
                    ("all", "#2b8a3e", per_sec(&|s| s.requests)),
                    ("4xx and 5xx", "#c92a2a", per_sec(&|s| s.errors)),
                ],
            ),
            bytes_chart(window, per_sec(&|s| s.bytes_in), per_sec(&|s| s.bytes_out)),
        ];
        let rows = table(
            series.last_start_ms,
            window,
            &series.slots,
            |start, slots| {
                let sum = slots.iter().fold(BucketSlot::default(), |a, s| BucketSlot {
                    requests: a.requests + s.requests,
                    errors: a.errors + s.errors,
                    bytes_in: a.bytes_in + s.bytes_in,
                    bytes_out: a.bytes_out + s.bytes_out,
                });
                TrafficRow {
                    start,
                    requests: sum.requests,
                    detail: vec![
                        sum.errors.to_string(),
                        size(sum.bytes_in),
                        size(sum.bytes_out),
                    ],
                }
            },
        );
        (charts, rows)
    };
    let columns: Vec<&'static str> = if bucket.is_empty() {
        vec![
            "S3",
            "B2",
            "website",
            "2xx",
            "3xx",
            "4xx",
            "5xx",
            "in",
            "out",
            "CORS refused",
            "access refused",
            "p50 ms",
            "p99 ms",
        ]
    } else {
        vec!["4xx and 5xx", "in", "out"]
    };
    Ok(render(&TrafficPage {
        nav: nav(&d, &who),
        day: window == Window::Day,
        bucket,
        charts,
        columns,
        rows,
    }))
}

/// Bytes in and out per second.
fn bytes_chart(window: Window, bytes_in: Vec<Option<f64>>, bytes_out: Vec<Option<f64>>) -> String {
    line_chart(
        "Bytes per second",
        "B/s",
        window,
        &[("in", "#1c7ed6", bytes_in), ("out", "#7048e8", bytes_out)],
    )
}

/// The table beside the charts: the window in 12 (hour: 5 minutes) or 24 (day: 1 hour) rows,
/// newest first, each made by `row` from its slots.
fn table<T>(
    last_start_ms: i64,
    window: Window,
    slots: &[T],
    row: impl Fn(String, &[T]) -> TrafficRow,
) -> Vec<TrafficRow> {
    let per_row = slots.len() / if window == Window::Hour { 12 } else { 24 };
    let first_start = last_start_ms - (slots.len() as i64 - 1) * window.slot_secs() * 1000;
    let mut rows: Vec<TrafficRow> = slots
        .chunks(per_row.max(1))
        .enumerate()
        .map(|(i, chunk)| {
            let start = first_start + (i * per_row) as i64 * window.slot_secs() * 1000;
            let label = pier_edge::audit::rfc3339(start);
            // HH:MM, UTC.
            row(label.get(11..16).unwrap_or(&label).to_owned(), chunk)
        })
        .collect();
    rows.reverse();
    rows
}

/// A line chart as SVG: each line (label, colour, values; `None` is a gap) over the window, a
/// legend, the y axis's top value with `unit` (bytes scaled to KiB/MiB/GiB), and the x axis
/// from the window's start to now. Only numbers and fixed text are written into it.
pub(crate) fn line_chart(
    title: &str,
    unit: &str,
    window: Window,
    lines: &[(&str, &str, Vec<Option<f64>>)],
) -> String {
    const W: f64 = 720.0;
    const H: f64 = 180.0;
    const LEFT: f64 = 64.0;
    const RIGHT: f64 = 8.0;
    const TOP: f64 = 24.0;
    const BOTTOM: f64 = 22.0;
    let max = lines
        .iter()
        .flat_map(|(_, _, v)| v.iter().flatten())
        .fold(0.0_f64, |m, &v| m.max(v));
    let (scale, unit) = if unit == "B/s" {
        match max {
            m if m >= (1u64 << 30) as f64 => ((1u64 << 30) as f64, "GiB/s"),
            m if m >= (1u64 << 20) as f64 => ((1u64 << 20) as f64, "MiB/s"),
            m if m >= 1024.0 => (1024.0, "KiB/s"),
            _ => (1.0, "B/s"),
        }
    } else {
        (1.0, unit)
    };
    // A round number in the unit shown.
    let top = nice_ceiling(max / scale) * scale;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{title}" xmlns="http://www.w3.org/2000/svg">"#
    );
    let _ = write!(
        svg,
        r##"<text x="{LEFT}" y="14" font-size="13" font-weight="bold" fill="#212529">{title}</text>"##
    );
    let mut legend_x = LEFT + 200.0;
    for (label, colour, _) in lines {
        let _ = write!(
            svg,
            r##"<rect x="{legend_x}" y="6" width="10" height="10" fill="{colour}"/><text x="{}" y="15" font-size="11" fill="#495057">{label}</text>"##,
            legend_x + 14.0
        );
        legend_x += 24.0 + 7.0 * label.len() as f64;
    }
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let _ = write!(
        svg,
        r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fff" stroke="#dee2e6"/>"##
    );
    let _ = write!(
        svg,
        r##"<text x="{}" y="{}" font-size="11" text-anchor="end" fill="#495057">{} {unit}</text>"##,
        LEFT - 4.0,
        TOP + 10.0,
        trim_number(top / scale)
    );
    let _ = write!(
        svg,
        r##"<text x="{}" y="{}" font-size="11" text-anchor="end" fill="#495057">0</text>"##,
        LEFT - 4.0,
        TOP + plot_h
    );
    let span = match window {
        Window::Hour => "60 min ago",
        Window::Day => "24 h ago",
    };
    let _ = write!(
        svg,
        r##"<text x="{LEFT}" y="{}" font-size="11" fill="#495057">{span}</text><text x="{}" y="{}" font-size="11" text-anchor="end" fill="#495057">now</text>"##,
        H - 6.0,
        W - RIGHT,
        H - 6.0
    );
    for (_, colour, values) in lines {
        let n = values.len().max(2) as f64 - 1.0;
        let mut run = String::new();
        let flush = |run: &mut String, svg: &mut String| {
            if !run.is_empty() {
                let _ = write!(
                    svg,
                    r#"<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{}"/>"#,
                    run.trim_end()
                );
                run.clear();
            }
        };
        for (i, v) in values.iter().enumerate() {
            match v {
                Some(v) => {
                    let x = LEFT + plot_w * i as f64 / n;
                    let y = TOP + plot_h - if top > 0.0 { plot_h * v / top } else { 0.0 };
                    let _ = write!(run, "{x:.1},{y:.1} ");
                }
                None => flush(&mut run, &mut svg),
            }
        }
        flush(&mut run, &mut svg);
    }
    svg.push_str("</svg>");
    svg
}

/// The smallest of 1, 2 and 5 times a power of ten at or above `v` (at least 1).
fn nice_ceiling(v: f64) -> f64 {
    if v <= 1.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * magnitude)
}

fn trim_number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_tops_at_a_round_number() {
        assert_eq!(nice_ceiling(0.3), 1.0);
        assert_eq!(nice_ceiling(3.2), 5.0);
        assert_eq!(nice_ceiling(17.0), 20.0);
        assert_eq!(nice_ceiling(1000.0), 1000.0);
    }

    #[test]
    fn a_gap_splits_the_line() {
        let svg = line_chart(
            "Latency",
            "ms",
            Window::Hour,
            &[(
                "p50",
                "#000",
                vec![Some(1.0), Some(2.0), None, Some(3.0), Some(4.0)],
            )],
        );
        assert_eq!(svg.matches("<polyline").count(), 2, "{svg}");
        assert!(svg.contains("5 ms"), "{svg}");
    }

    #[test]
    fn bytes_are_scaled_on_the_axis() {
        let svg = line_chart(
            "Bytes per second",
            "B/s",
            Window::Day,
            &[("in", "#000", vec![Some(3.0 * 1048576.0)])],
        );
        assert!(svg.contains("5 MiB/s") && svg.contains("24 h ago"), "{svg}");
    }
}
