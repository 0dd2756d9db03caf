//! `vouch report`: the periodic report, printed or mailed.

use clap::Args;
use vouch_app::periodic::Period;
use vouch_store::Store;

#[derive(Args)]
pub struct ReportArgs {
    /// Mail the report to these colleagues after every whole month (or
    /// week, with --weekly) while `vouch serve` runs, instead of printing
    /// it. `--schedule` with no --email stops it.
    #[arg(long)]
    schedule: bool,
    /// With --schedule: every week instead of every month.
    #[arg(long, requires = "schedule")]
    weekly: bool,
    /// A month (2026-11) or an ISO week (2026-W47) [default: the last whole month].
    #[arg(long)]
    period: Option<String>,
    /// `json` (the report's data) or `html` (a self-contained, printable page).
    #[arg(long, default_value = "json", value_parser = ["json", "html"])]
    format: String,
    /// The language of the HTML and of the email.
    #[arg(long, default_value = "en", value_parser = ["en", "ro"])]
    lang: String,
    /// Mail the report to this colleague through the SMTP server in the
    /// configuration (repeatable); its chart goes as a PNG image.
    #[arg(long = "email", value_name = "ADDRESS")]
    emails: Vec<String>,
}

pub async fn run(
    store: &Store,
    settings: &vouch_app::playbooks::RunSettings,
    mail: &vouch_server::MailSettings,
    args: ReportArgs,
) -> anyhow::Result<()> {
    if args.schedule {
        let schedule = vouch_app::periodic::ReportSchedule {
            recipients: args.emails.clone(),
            weekly: args.weekly,
            language: args.lang.clone(),
        };
        vouch_app::periodic::set_schedule(store, &schedule).await?;
        if schedule.recipients.is_empty() {
            println!("The report is no longer mailed.");
        } else {
            println!(
                "The report will be mailed {} to {} while vouch serve runs.",
                if schedule.weekly {
                    "every week"
                } else {
                    "every month"
                },
                schedule.recipients.join(", ")
            );
        }
        return Ok(());
    }
    let period = match &args.period {
        Some(p) => Period::parse(p)?,
        None => Period::last_complete(chrono::Utc::now().date_naive(), false),
    };
    let report = vouch_app::periodic::report(store, settings, period).await?;
    if args.emails.is_empty() {
        if args.format == "html" {
            let (html, _, _) =
                vouch_server::report_pages::report_document(&report, &args.lang, false);
            println!("{html}");
        } else {
            println!("{}", serde_json::to_string(&report)?);
        }
        return Ok(());
    }
    let mailer = vouch_server::Mailer::new(mail);
    anyhow::ensure!(
        mailer.can_send(),
        "no SMTP server is configured: set smtp_url (see docs/CONFIG.md)"
    );
    for to in &args.emails {
        mailer
            .send_report(to, &report, &args.lang)
            .await
            .map_err(|e| anyhow::anyhow!("{to}: {e:?}"))?;
        println!("Report {} mailed to {to}.", report.period);
    }
    Ok(())
}
