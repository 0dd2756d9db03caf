//! The periodic report as people read it: the printable staff page
//! (`/reports/PERIOD`), the self-contained HTML `vouch report --format
//! html` prints, and the email (charts as PNG images rasterised from the
//! same SVG, since mail clients drop SVG, each with its table beside it).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use vouch_app::periodic::{Period, PeriodicReport};
use vouch_domain::analytics::CategoryOrNone;

use crate::AppState;
use crate::auth::{Page, need};
use crate::error::PageError;
use crate::locale::{Ui, texts, texts_or_english};
use crate::pages::render;

/// One line of a table: a name and its cells.
pub struct Line {
    pub name: String,
    pub cells: Vec<String>,
}

/// What every form of the report shows, formatted in one language.
pub struct ReportView {
    pub period: String,
    pub kpis: Vec<Line>,
    pub goals: Vec<Line>,
    pub drivers: Vec<Line>,
    pub flows: Vec<Line>,
    pub flows_svg: String,
    pub sla: Vec<Line>,
    pub program: Vec<Line>,
}

fn interval(low: Option<f64>, high: Option<f64>) -> String {
    match (low, high) {
        (Some(l), Some(h)) => format!("{l:.1} … {h:.1}"),
        _ => "–".to_owned(),
    }
}

fn share(rate: Option<f64>) -> String {
    rate.map_or("–".to_owned(), |r| format!("{:.1}%", 100.0 * r))
}

impl ReportView {
    pub fn new(r: &PeriodicReport, ui: &Ui) -> ReportView {
        let k = &r.kpis;
        let line = |name: &str, cells: Vec<String>| Line {
            name: name.to_owned(),
            cells,
        };
        let mut kpis = vec![line(
            ui.t("kpi_nps"),
            vec![
                k.nps.nps.map_or("–".into(), |v| format!("{v:+.1}")),
                interval(k.nps.ci_low, k.nps.ci_high),
                k.nps_change.map_or("–".into(), |c| {
                    format!(
                        "{:+.1} (p = {:.3}{})",
                        c.delta,
                        c.p_value,
                        if c.significant { ", *" } else { "" }
                    )
                }),
                k.nps.responses.to_string(),
            ],
        )];
        if let Some(c) = &k.csat {
            kpis.push(line(
                ui.t("kpi_csat"),
                vec![
                    format!("{:.1}%", c.csat),
                    interval(Some(c.ci_low), Some(c.ci_high)),
                    "–".into(),
                    c.responses.to_string(),
                ],
            ));
        }
        if let Some(c) = &k.ces {
            kpis.push(line(
                ui.t("kpi_ces"),
                vec![
                    format!("{:.2}", c.ces),
                    interval(c.ci_low, c.ci_high),
                    "–".into(),
                    c.responses.to_string(),
                ],
            ));
        }
        for (name, rate) in [
            ("kpi_response_rate", &k.response_rate),
            ("kpi_retention", &Some(k.retention)),
            ("kpi_referral_rate", &Some(k.referral)),
        ] {
            if let Some(rate) = rate {
                kpis.push(line(
                    ui.t(name),
                    vec![
                        share(rate.rate),
                        "–".into(),
                        "–".into(),
                        format!("{} / {}", rate.numerator, rate.denominator),
                    ],
                ));
            }
        }
        for review in &k.reviews {
            kpis.push(line(
                &format!("{} ({})", ui.t("kpi_review_rating"), review.platform),
                vec![
                    format!("{:.1}", review.mean_rating),
                    "–".into(),
                    review
                        .previous_mean_rating
                        .map_or("–".into(), |p| format!("{:+.1}", review.mean_rating - p)),
                    review.reviews.to_string(),
                ],
            ));
        }
        let goals = r
            .goals
            .iter()
            .map(|g| {
                line(
                    ui.t(&format!("kpi_{}", g.kpi)),
                    vec![
                        g.current.map_or("–".into(), |m| format!("{:.1}", m.value)),
                        interval(g.current.map(|m| m.ci_low), g.current.map(|m| m.ci_high)),
                        format!("{}", g.target),
                        g.deadline.to_string(),
                        ui.t(&format!("goal_status_{}", g.status)).to_owned(),
                    ],
                )
            })
            .collect();
        let drivers = r
            .topic_drivers
            .iter()
            .take(10)
            .map(|d| {
                line(
                    &d.topic,
                    vec![
                        d.mentions.to_string(),
                        d.nps.map_or("–".into(), |e| format!("{:+.1}", e.nps)),
                        d.effect
                            .as_ref()
                            .map_or("–".into(), |e| format!("{:+.1}", e.difference)),
                        if d.significant {
                            ui.t("yes").to_owned()
                        } else {
                            ui.t("no").to_owned()
                        },
                    ],
                )
            })
            .collect();
        let name = |c: CategoryOrNone| ui.t(crate::pages::flow_name(c)).to_owned();
        let flows = r
            .transitions
            .matrix
            .iter()
            .filter(|c| c.customers > 0 && c.from != c.to)
            .map(|c| {
                line(
                    &format!("{} → {}", name(c.from), name(c.to)),
                    vec![c.customers.to_string()],
                )
            })
            .collect();
        let flows_svg = crate::pages::flows_chart(
            &r.transitions,
            None,
            ui,
            crate::charts::WIDE,
            "report-flows",
        );
        let sla = r
            .sla
            .iter()
            .map(|s| {
                line(
                    ui.t("kpi_close_the_loop_in_sla"),
                    vec![
                        share(s.in_sla_share),
                        s.tasks.to_string(),
                        s.closed.to_string(),
                    ],
                )
            })
            .collect();
        let p = &r.program;
        let program = vec![
            line(
                ui.t("kpi_active_advocates"),
                vec![p.active_advocates.to_string()],
            ),
            line(
                ui.t("kpi_promoters_enrolled"),
                vec![share(p.promoters_enrolled_share)],
            ),
            line(
                ui.t("report_referral_conversion"),
                vec![share(p.referral_conversion_rate)],
            ),
            line(
                ui.t("report_referral_revenue"),
                vec![format!("{:.2}", p.referral_revenue_cents as f64 / 100.0)],
            ),
        ];
        ReportView {
            period: r.period.clone(),
            kpis,
            goals,
            drivers,
            flows,
            flows_svg,
            sla,
            program,
        }
    }
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    lang: &'static str,
    ui: Ui,
    who: crate::auth::Who,
    csrf: String,
    view: ReportView,
    /// The chart as the page shows it: inline SVG.
    chart: String,
}

/// `GET /reports/{period}`: the report of a month (`2026-11`) or a week
/// (`2026-W47`), printable.
pub async fn report_page(
    State(state): State<AppState>,
    Page(caller, _): Page<need::ReadMetrics>,
    headers: HeaderMap,
    Path(period): Path<String>,
) -> Response {
    let (lang, t) = texts(&headers);
    let Ok(period) = Period::parse(&period) else {
        return PageError::new(StatusCode::NOT_FOUND, "not_found").into_response();
    };
    let report = match vouch_app::periodic::report(&state.store, &state.playbooks, period).await {
        Ok(r) => r,
        Err(e) => return PageError::from(e).into_response(),
    };
    let ui = Ui(t);
    let view = ReportView::new(&report, &ui);
    render(ReportPage {
        lang,
        chart: view.flows_svg.clone(),
        view,
        ui,
        who: crate::auth::Who {
            name: caller.name.clone(),
            role: caller.role,
        },
        csrf: caller.csrf.clone().unwrap_or_default(),
    })
}

#[derive(Template)]
#[template(path = "mail/report.html")]
struct ReportDocument {
    lang: &'static str,
    ui: Ui,
    view: ReportView,
    chart: String,
}

/// The report as one HTML document and its plain-text twin, in `language`;
/// with `inline_images`, the chart is a PNG referred to by `cid:flows`
/// (returned beside), else inline SVG.
pub fn report_document(
    report: &PeriodicReport,
    language: &str,
    inline_images: bool,
) -> (String, String, Vec<(String, Vec<u8>)>) {
    let (lang, t) = texts_or_english(language);
    let ui = Ui(t);
    let view = ReportView::new(report, &ui);
    let mut images = Vec::new();
    let chart = if inline_images {
        match crate::charts::png(&view.flows_svg) {
            Some(png) => {
                images.push(("flows".to_owned(), png));
                format!(
                    "<img src=\"cid:flows\" width=\"720\" alt=\"{}\">",
                    ui.t("flows_label").replace('"', "&quot;")
                )
            }
            None => String::new(),
        }
    } else {
        view.flows_svg.clone()
    };
    let mut text = format!("{} {}\n", ui.t("report_title"), view.period);
    for (title, lines) in [
        (ui.t("report_kpis"), &view.kpis),
        (ui.t("goals"), &view.goals),
        (ui.t("report_drivers"), &view.drivers),
        (ui.t("report_flows"), &view.flows),
        (ui.t("report_sla"), &view.sla),
        (ui.t("program"), &view.program),
    ] {
        text.push_str(&format!("\n{title}\n"));
        for l in lines {
            text.push_str(&format!("- {}: {}\n", l.name, l.cells.join(" · ")));
        }
    }
    let html = ReportDocument {
        lang,
        ui,
        view,
        chart,
    }
    .render()
    .unwrap_or_default();
    (html, text, images)
}
