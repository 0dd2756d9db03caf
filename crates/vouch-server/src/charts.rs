//! Charts drawn on the server as SVG, from numbers only (no customer text
//! reaches them): the NPS trend with its 95% band, an axis scaled to the
//! data, gridlines, the value over each point and labels that fit.

use std::fmt::Write;

/// One period of the trend.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendPoint {
    pub label: String,
    pub nps: f64,
    pub low: f64,
    pub high: f64,
    pub responses: u64,
}

/// How big a chart is drawn and how big its text: the page shows a wide
/// one on screens and a narrow one on phones, each readable at its size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Size {
    pub width: f64,
    pub height: f64,
    pub font: f64,
}

pub const WIDE: Size = Size {
    width: 720.0,
    height: 300.0,
    font: 12.0,
};
pub const NARROW: Size = Size {
    width: 360.0,
    height: 260.0,
    font: 13.0,
};

/// The axis: from `low` to `high` in steps of `step`, all on the step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Axis {
    pub low: f64,
    pub high: f64,
    pub step: f64,
}

/// An axis around the values (intervals included) on a round step, so
/// a trend from +10 to +20 is not flattened into a ±100 frame; within
/// −100…+100, and holding 0 whenever the data reach within a step of it.
pub fn axis(values: impl IntoIterator<Item = f64>) -> Axis {
    let (mut low, mut high) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.into_iter().filter(|v| v.is_finite()) {
        low = low.min(v);
        high = high.max(v);
    }
    if !low.is_finite() {
        return Axis {
            low: -100.0,
            high: 100.0,
            step: 50.0,
        };
    }
    let span = (high - low).max(10.0);
    let step = [5.0, 10.0, 20.0, 25.0, 50.0]
        .into_iter()
        .find(|s| span / s <= 6.0)
        .unwrap_or(50.0);
    let mut low = ((low / step).floor() * step).max(-100.0);
    let mut high = ((high / step).ceil() * step).min(100.0);
    if high - low < step {
        high = (low + step).min(100.0);
        low = high - step;
    }
    // Zero is the line that matters in NPS: keep it when the data come near.
    if low > 0.0 && low <= step {
        low = 0.0;
    }
    if high < 0.0 && high >= -step {
        high = 0.0;
    }
    Axis { low, high, step }
}

/// A whole NPS with its sign ("+12", "−3", "0").
fn signed(v: f64) -> String {
    match v.round() {
        r if r > 0.0 => format!("+{r:.0}"),
        r if r < 0.0 => format!("{r:.0}"),
        _ => "0".to_owned(),
    }
}

fn text_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The trend as an SVG element. `partial_last` marks the last period as
/// not over yet (a hollow point, a dashed line to it, "(partial)" in its
/// label); `partial_word` is that word in the reader's language.
pub fn nps_trend(
    points: &[TrendPoint],
    size: Size,
    id: &str,
    label: &str,
    partial_last: bool,
    partial_word: &str,
) -> String {
    let Size {
        width,
        height,
        font,
    } = size;
    let axis = axis(points.iter().flat_map(|p| [p.low, p.high, p.nps]));
    let (left, right) = (font * 3.2, width - font * 2.5);
    let (top, bottom) = (font * 1.8, height - font * 2.6);
    let y = |v: f64| top + (axis.high - v) / (axis.high - axis.low) * (bottom - top);
    let n = points.len();
    let x = |i: usize| {
        if n <= 1 {
            (left + right) / 2.0
        } else {
            left + (right - left) * i as f64 / (n - 1) as f64
        }
    };
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg id="{id}" class="chart" role="img" aria-label="{}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" font-size="{font}" font-family="system-ui, sans-serif">"##,
        text_escape(label)
    );
    // Gridlines and their values; zero stronger.
    let mut tick = axis.low;
    while tick <= axis.high + 1e-9 {
        let ty = y(tick);
        let (stroke, dash) = if tick.abs() < 1e-9 {
            ("#475569", "")
        } else {
            ("#e2e8f0", "")
        };
        let _ = write!(
            svg,
            r##"<line x1="{left:.1}" x2="{right:.1}" y1="{ty:.1}" y2="{ty:.1}" stroke="{stroke}"{dash}/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#334155">{}</text>"##,
            left - font * 0.4,
            ty + font * 0.35,
            if tick > 0.0 {
                format!("+{tick:.0}")
            } else {
                format!("{tick:.0}")
            }
        );
        tick += axis.step;
    }
    if n > 0 {
        let band: Vec<String> = (0..n)
            .map(|i| format!("{:.1},{:.1}", x(i), y(points[i].high)))
            .chain(
                (0..n)
                    .rev()
                    .map(|i| format!("{:.1},{:.1}", x(i), y(points[i].low))),
            )
            .collect();
        let _ = write!(
            svg,
            r##"<polygon class="interval" points="{}" fill="#93c5fd" fill-opacity="0.45"/>"##,
            band.join(" ")
        );
        let whole = if partial_last && n > 1 { n - 1 } else { n };
        let line: Vec<String> = (0..whole)
            .map(|i| format!("{:.1},{:.1}", x(i), y(points[i].nps)))
            .collect();
        let _ = write!(
            svg,
            r##"<polyline class="nps" points="{}" fill="none" stroke="#1d4ed8" stroke-width="2"/>"##,
            line.join(" ")
        );
        if whole < n && whole > 0 {
            let _ = write!(
                svg,
                r##"<line class="partial" x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#1d4ed8" stroke-width="2" stroke-dasharray="4 4"/>"##,
                x(whole - 1),
                y(points[whole - 1].nps),
                x(n - 1),
                y(points[n - 1].nps)
            );
        }
        // Labels that fit: every k-th period counted back from the last;
        // the ends anchored inward so none runs off the chart.
        let label_width =
            font * 0.62 * points.iter().map(|p| p.label.len()).max().unwrap_or(7) as f64;
        let room = if n > 1 {
            (right - left) / (n - 1) as f64
        } else {
            right - left
        };
        let every = ((label_width + font) / room).ceil().max(1.0) as usize;
        let values_fit = room >= font * 2.8;
        for (i, p) in points.iter().enumerate() {
            let (px, py) = (x(i), y(p.nps));
            let partial = partial_last && i == n - 1;
            let _ = write!(
                svg,
                r##"<circle cx="{px:.1}" cy="{py:.1}" r="{:.1}" fill="{}" stroke="#1d4ed8" stroke-width="2"><title>{}: {:+.1} ({:+.1} … {:+.1}), n = {}{}</title></circle>"##,
                font * 0.3,
                if partial { "#ffffff" } else { "#1d4ed8" },
                text_escape(&p.label),
                p.nps,
                p.low,
                p.high,
                p.responses,
                if partial {
                    format!(", {}", text_escape(partial_word))
                } else {
                    String::new()
                }
            );
            if values_fit || i == n - 1 {
                let _ = write!(
                    svg,
                    r##"<text class="value" x="{px:.1}" y="{:.1}" text-anchor="middle" fill="#0f172a">{}</text>"##,
                    (py - font * 0.7).max(font),
                    signed(p.nps)
                );
            }
            // Counted from the last, so the newest period always has its label.
            if (n - 1 - i).is_multiple_of(every) {
                let anchor = if n > 1 && i == 0 {
                    "start"
                } else if n > 1 && i == n - 1 {
                    "end"
                } else {
                    "middle"
                };
                let _ = write!(
                    svg,
                    r##"<text class="label" x="{px:.1}" y="{:.1}" text-anchor="{anchor}" fill="#334155">{}</text>"##,
                    height - font * 0.9,
                    text_escape(&p.label)
                );
            }
        }
    }
    svg.push_str("</svg>");
    // An element a line, so the page's source and snapshot diffs read well.
    svg.replace("><", ">\n<")
}

/// One flow between categories: where from, where to, how many, and the
/// list of those customers (none for "no signal" to "no signal").
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    pub from: usize,
    pub to: usize,
    pub customers: u64,
    pub link: Option<String>,
}

/// The categories' colours, in `CategoryOrNone::ORDER`: promoter, passive,
/// detractor, no signal.
const FLOW_COLOURS: [&str; 4] = ["#15803d", "#a16207", "#b91c1c", "#64748b"];

/// Who moved between categories from one date to the next, as an SVG:
/// the four groups at the start on the left and at the end on the right,
/// each as tall as its customers, and a band per flow as thick as its
/// count, linking to those customers. `names` are the four groups' names
/// in the reader's language; every node says its count, every band its
/// names and count in a tooltip. The chart is hidden from screen readers
/// and out of the tab order: the page's table after it, with the same
/// counts and links, is its text alternative.
pub fn flows(flows: &[Flow], names: [&str; 4], size: Size, id: &str, label: &str) -> String {
    let Size {
        width,
        height,
        font,
    } = size;
    let (top, bottom) = (font * 1.6, height - font * 0.6);
    let node_w = font * 0.9;
    let (left_x, right_x) = (font * 0.5, width - font * 0.5 - node_w);
    let gap = font * 0.8;
    let total: u64 = flows.iter().map(|f| f.customers).sum();
    let mut out = [0u64; 4];
    let mut into = [0u64; 4];
    for f in flows {
        out[f.from] += f.customers;
        into[f.to] += f.customers;
    }
    let scale = if total == 0 {
        0.0
    } else {
        (bottom - top - 3.0 * gap) / total as f64
    };
    let tops = |sizes: &[u64; 4]| {
        let mut y = top;
        let mut at = [0.0; 4];
        for (i, n) in sizes.iter().enumerate() {
            at[i] = y;
            y += *n as f64 * scale + gap;
        }
        at
    };
    let (left_tops, right_tops) = (tops(&out), tops(&into));
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg id="{id}" class="chart flows" aria-hidden="true" data-label="{}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" font-size="{font}" font-family="system-ui, sans-serif">"##,
        text_escape(label)
    );
    // Bands first, under the nodes; each starts below the band before it.
    let mut left_used = [0.0; 4];
    let mut right_used = [0.0; 4];
    let mut ordered: Vec<&Flow> = flows.iter().filter(|f| f.customers > 0).collect();
    ordered.sort_by_key(|f| (f.from, f.to));
    for f in ordered {
        let thick = f.customers as f64 * scale;
        let y0 = left_tops[f.from] + left_used[f.from] + thick / 2.0;
        left_used[f.from] += thick;
        // Right side: bands arrive in the order of their sources.
        let y1 = right_tops[f.to] + right_used[f.to] + thick / 2.0;
        right_used[f.to] += thick;
        let (x0, x1) = (left_x + node_w, right_x);
        let mid = (x0 + x1) / 2.0;
        let tip = format!("{} → {}: {}", names[f.from], names[f.to], f.customers);
        let band = format!(
            r##"<path d="M{x0:.1} {y0:.1} C{mid:.1} {y0:.1} {mid:.1} {y1:.1} {x1:.1} {y1:.1}" fill="none" stroke="{}" stroke-opacity="0.35" stroke-width="{:.1}"><title>{}</title></path>"##,
            FLOW_COLOURS[f.from],
            thick.max(1.0),
            text_escape(&tip)
        );
        match &f.link {
            Some(link) => {
                // The table after the chart holds the same links for the
                // keyboard and screen readers; these are for the mouse.
                let _ = write!(
                    svg,
                    r#"<a href="{}" tabindex="-1">{band}</a>"#,
                    text_escape(link)
                );
            }
            None => svg.push_str(&band),
        }
    }
    for (side, (tops, sizes)) in [(left_tops, out), (right_tops, into)].iter().enumerate() {
        let x = if side == 0 { left_x } else { right_x };
        for i in 0..4 {
            let h = (sizes[i] as f64 * scale).max(1.0);
            let _ = write!(
                svg,
                r##"<rect x="{x:.1}" y="{:.1}" width="{node_w:.1}" height="{h:.1}" fill="{}"/>"##,
                tops[i], FLOW_COLOURS[i]
            );
            let (tx, anchor) = if side == 0 {
                (x + node_w + font * 0.3, "start")
            } else {
                (x - font * 0.3, "end")
            };
            let _ = write!(
                svg,
                r##"<text x="{tx:.1}" y="{:.1}" text-anchor="{anchor}" fill="#0f172a">{} {}</text>"##,
                tops[i] + font * 0.9,
                text_escape(names[i]),
                sizes[i]
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(label: &str, nps: f64) -> TrendPoint {
        TrendPoint {
            label: label.into(),
            nps,
            low: nps - 6.0,
            high: nps + 6.0,
            responses: 120,
        }
    }

    /// The whole SVG of a fixed trend, wide and narrow: a diff shows what
    /// a change to the drawing moved.
    #[test]
    fn the_trend_svg_of_a_fixed_year() {
        let points: Vec<TrendPoint> = [14.0, 9.5, 11.0, 17.5, 22.0, 19.0]
            .iter()
            .enumerate()
            .map(|(i, nps)| TrendPoint {
                label: format!("2026-{:02}", i + 7),
                nps: *nps,
                low: nps - 8.0,
                high: nps + 7.5,
                responses: 200 + 10 * i as u64,
            })
            .collect();
        insta::assert_snapshot!(
            "wide",
            nps_trend(&points, WIDE, "nps-trend", "NPS trend", true, "partial")
        );
        insta::assert_snapshot!(
            "narrow",
            nps_trend(
                &points,
                NARROW,
                "nps-trend-narrow",
                "NPS trend",
                true,
                "partial"
            )
        );
    }

    #[test]
    fn the_axis_fits_the_data_on_a_round_step_and_keeps_zero_near_it() {
        let a = axis([12.0, 18.0, 24.0]);
        assert_eq!((a.low, a.high, a.step), (10.0, 25.0, 5.0));
        let a = axis([-35.0, 40.0]);
        assert_eq!((a.low, a.high, a.step), (-40.0, 40.0, 20.0));
        assert!(a.low < 0.0 && a.high > 0.0, "zero in range is on the axis");
        let a = axis([4.0, 9.0]);
        assert_eq!(a.low, 0.0, "zero kept when the data come within a step");
        let a = axis([-120.0, 130.0]);
        assert_eq!((a.low, a.high), (-100.0, 100.0));
        let a = axis([]);
        assert_eq!((a.low, a.high), (-100.0, 100.0));
    }

    #[test]
    fn the_trend_draws_every_point_labels_the_last_and_marks_it_partial() {
        let points: Vec<TrendPoint> = (1..=12)
            .map(|m| point(&format!("2026-{m:02}"), 10.0 + m as f64))
            .collect();
        let svg = nps_trend(&points, NARROW, "t", "NPS <trend>", true, "partial");
        assert!(
            svg.starts_with(
                r#"<svg id="t" class="chart" role="img" aria-label="NPS &lt;trend&gt;""#
            )
        );
        assert_eq!(svg.matches("<circle").count(), 12);
        assert!(
            svg.contains(r##"text-anchor="end" fill="#334155">2026-12</text>"##),
            "the last label, inside the chart: {svg}"
        );
        let labels = svg.matches(r#"class="label""#).count();
        assert!(
            (3..12).contains(&labels),
            "labels thinned to fit 360 units: {labels}"
        );
        assert!(
            svg.contains("2026-12: +22.0 (+16.0 … +28.0), n = 120, partial"),
            "{svg}"
        );
        assert!(svg.contains(r#"class="partial""#) && svg.contains(r##"fill="#ffffff""##));
        // No text runs past the right edge: the last label ends at the plot's edge.
        let wide = nps_trend(&points, WIDE, "w", "NPS", false, "partial");
        assert!(wide.matches(r#"class="label""#).count() >= 6, "{wide}");
        assert_eq!(wide.matches(r#"class="value""#).count(), 12);
        assert!(!wide.contains("class=\"partial\""));
    }

    #[test]
    fn the_flows_svg_of_fixed_counts() {
        let counts = [[40, 6, 2, 5], [8, 30, 4, 3], [1, 5, 20, 6], [10, 4, 3, 0]];
        let flows: Vec<Flow> = (0..4)
            .flat_map(|from| {
                (0..4).map(move |to| Flow {
                    from,
                    to,
                    customers: counts[from][to],
                    link: (from != 3 || to != 3)
                        .then(|| format!("/customers?moved={from}-{to}&x=<1>")),
                })
            })
            .collect();
        let names = ["Promoter", "Passive", "Detractor", "No <signal>"];
        let svg = flows_svg_for_test(&flows, names);
        assert_eq!(svg.matches("<path").count(), 15, "bands of 0 are not drawn");
        assert!(
            svg.contains("No &lt;signal&gt; 17"),
            "escaped names with counts: {svg}"
        );
        assert!(svg.contains("&amp;x=&lt;1&gt;"), "escaped links");
        assert!(svg.contains("<title>Promoter → Passive: 6</title>"));
        insta::assert_snapshot!("flows", svg);
    }

    fn flows_svg_for_test(flows: &[Flow], names: [&str; 4]) -> String {
        super::flows(flows, names, WIDE, "flows", "Flows")
    }
}

/// One check-in of a goal for its chart.
#[derive(Debug, Clone, PartialEq)]
pub struct GoalPoint {
    pub label: String,
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

/// A goal's check-ins with their intervals, and its target as a dashed
/// line, as an SVG. The axis fits the values and the target, whatever the
/// KPI's scale (an NPS, a share, stars, a count).
pub fn goal_history(
    points: &[GoalPoint],
    target: f64,
    size: Size,
    id: &str,
    label: &str,
) -> String {
    let Size {
        width,
        height,
        font,
    } = size;
    let (mut low, mut high) = (target, target);
    for p in points {
        low = low.min(p.low).min(p.value);
        high = high.max(p.high).max(p.value);
    }
    let pad = ((high - low) * 0.1).max(0.5);
    let (low, high) = (low - pad, high + pad);
    let (left, right) = (font * 3.6, width - font * 1.5);
    let (top, bottom) = (font * 1.2, height - font * 2.6);
    let y = |v: f64| top + (high - v) / (high - low) * (bottom - top);
    let n = points.len();
    let x = |i: usize| {
        if n <= 1 {
            (left + right) / 2.0
        } else {
            left + (right - left) * i as f64 / (n - 1) as f64
        }
    };
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg id="{id}" class="chart" role="img" aria-label="{}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" font-size="{font}" font-family="system-ui, sans-serif">"##,
        text_escape(label)
    );
    for k in 0..=4 {
        let v = low + (high - low) * f64::from(k) / 4.0;
        let ty = y(v);
        let _ = write!(
            svg,
            r##"<line x1="{left:.1}" x2="{right:.1}" y1="{ty:.1}" y2="{ty:.1}" stroke="#e2e8f0"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#334155">{v:.1}</text>"##,
            left - font * 0.4,
            ty + font * 0.35
        );
    }
    let ty = y(target);
    let _ = write!(
        svg,
        r##"<line class="target" x1="{left:.1}" x2="{right:.1}" y1="{ty:.1}" y2="{ty:.1}" stroke="#15803d" stroke-width="2" stroke-dasharray="6 4"/>"##
    );
    for (i, p) in points.iter().enumerate() {
        let _ = write!(
            svg,
            r##"<line class="interval" x1="{0:.1}" x2="{0:.1}" y1="{1:.1}" y2="{2:.1}" stroke="#93c5fd" stroke-width="{3:.1}"/>"##,
            x(i),
            y(p.high),
            y(p.low),
            font * 0.5
        );
    }
    let line: Vec<String> = (0..n)
        .map(|i| format!("{:.1},{:.1}", x(i), y(points[i].value)))
        .collect();
    let _ = write!(
        svg,
        r##"<polyline class="value" points="{}" fill="none" stroke="#1d4ed8" stroke-width="2"/>"##,
        line.join(" ")
    );
    let every = (n / 6).max(1);
    for (i, p) in points.iter().enumerate() {
        let _ = write!(
            svg,
            r##"<circle cx="{:.1}" cy="{:.1}" r="{:.1}" fill="#1d4ed8"><title>{}: {:.1} ({:.1} … {:.1})</title></circle>"##,
            x(i),
            y(p.value),
            font * 0.3,
            text_escape(&p.label),
            p.value,
            p.low,
            p.high
        );
        if (n - 1 - i).is_multiple_of(every) {
            let anchor = if n > 1 && i == 0 {
                "start"
            } else if n > 1 && i == n - 1 {
                "end"
            } else {
                "middle"
            };
            let _ = write!(
                svg,
                r##"<text class="label" x="{:.1}" y="{:.1}" text-anchor="{anchor}" fill="#334155">{}</text>"##,
                x(i),
                height - font * 0.9,
                text_escape(&p.label)
            );
        }
    }
    svg.push_str("</svg>");
    svg.replace("><", ">\n<")
}

/// A chart as a PNG, rasterised from its SVG at twice its size (sharp on
/// high-density screens), for mail clients, which drop SVG. The system's
/// fonts draw the text; `None` if the SVG cannot be read.
pub fn png(svg: &str) -> Option<Vec<u8>> {
    use resvg::{tiny_skia, usvg};
    static FONTS: std::sync::OnceLock<std::sync::Arc<usvg::fontdb::Database>> =
        std::sync::OnceLock::new();
    let fonts = FONTS.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_system_fonts();
        // The charts ask for "system-ui, sans-serif"; fontdb maps
        // sans-serif to Arial, which Linux servers rarely have: take a
        // sans-serif family that is installed.
        let installed = |name: &str| {
            db.faces()
                .any(|f| f.families.iter().any(|(family, _)| family == name))
        };
        if let Some(family) = [
            "DejaVu Sans",
            "Liberation Sans",
            "Noto Sans",
            "Arial",
            "Helvetica",
        ]
        .into_iter()
        .find(|f| installed(f))
        {
            db.set_sans_serif_family(family);
        }
        std::sync::Arc::new(db)
    });
    let options = usvg::Options {
        fontdb: fonts.clone(),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &options).ok()?;
    let size = tree.size().to_int_size().scale_by(2.0)?;
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height())?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(2.0, 2.0),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().ok()
}
