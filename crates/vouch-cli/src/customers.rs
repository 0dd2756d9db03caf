use clap::Subcommand;
use vouch_domain::CustomerId;
use vouch_store::Store;

use crate::table::{Table, terminal_safe};

#[derive(Subcommand)]
pub enum CustomersCommand {
    /// The likely next advocates: passives and promoters not yet in the
    /// program, ranked by advocate propensity, with the reasons that
    /// raised each one's score most.
    LikelyAdvocates {
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Learn the propensity weights from who became an active advocate:
    /// fitted on four customers in five, kept only if they rank the held-out
    /// fifth better (AUC) than the weights in use.
    LearnPropensity {
        /// Measure without keeping the weights.
        #[arg(long)]
        dry_run: bool,
    },
    /// List customers, oldest first.
    List {
        /// How many to show.
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Show customers after this id (the last id of the previous page).
        #[arg(long)]
        after: Option<i64>,
        /// Print JSON lines, one customer each.
        #[arg(long)]
        json: bool,
    },
    /// Everything about one customer: profile, loyalty category and its history, answers, feedback.
    Show {
        /// The customer's id, email address or external (CRM) id.
        customer: String,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Record a customer's consent to, or withdrawal from, one purpose:
    /// feedback, marketing, referral or advocacy. Every message checks it
    /// when it is sent.
    ///
    /// Example: vouch customers consent ana@example.com marketing --grant --evidence "signup form v3"
    ///
    /// Example: vouch customers consent 42 feedback --withdraw --source "phone call"
    Consent {
        /// The customer's id, email address or external (CRM) id.
        customer: String,
        /// feedback, marketing, referral or advocacy.
        purpose: vouch_domain::Purpose,
        /// They agreed.
        #[arg(
            long,
            conflicts_with = "withdraw",
            required_unless_present = "withdraw"
        )]
        grant: bool,
        /// They withdrew (or refused).
        #[arg(long)]
        withdraw: bool,
        /// consent, soft_opt_in or legitimate_interest.
        #[arg(long, default_value = "consent")]
        basis: vouch_domain::ConsentBasis,
        /// Where it was given.
        #[arg(long, default_value = "cli")]
        source: String,
        /// What proves it: a form and its version, a ticket, the text agreed to.
        #[arg(long)]
        evidence: Option<String>,
    },
    /// Every message sent to a customer (or deferred, or skipped, and why)
    /// and what is left of the contact budget.
    ///
    /// Example: vouch customers contacts ana@example.com
    Contacts {
        /// The customer's id, email address or external (CRM) id.
        customer: String,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(
    store: &Store,
    command: CustomersCommand,
    policy: &vouch_domain::ContactPolicy,
) -> anyhow::Result<()> {
    match command {
        CustomersCommand::List { limit, after, json } => list(store, limit, after, json).await,
        CustomersCommand::LikelyAdvocates { limit, json } => {
            let now = chrono::Utc::now();
            let lookback = chrono::Duration::days(vouch_domain::DEFAULT_LOOKBACK_DAYS);
            let list = vouch_app::propensity::likely_advocates(store, lookback, now, limit).await?;
            if json {
                println!("{}", serde_json::json!({ "likely_advocates": list }));
            } else if list.is_empty() {
                println!("No passives or promoters outside the program.");
            } else {
                let mut table =
                    crate::table::Table::new(&["customer", "category", "propensity", "reasons"]);
                for a in &list {
                    table.row(vec![
                        a.customer_id.to_string(),
                        a.category.to_string(),
                        format!("{:.1}", a.propensity.score),
                        a.propensity
                            .reasons
                            .iter()
                            .map(|r| format!("{} +{:.2}", r.feature, r.contribution))
                            .collect::<Vec<_>>()
                            .join(", "),
                    ]);
                }
                print!("{}", table.render());
            }
            Ok(())
        }
        CustomersCommand::LearnPropensity { dry_run } => {
            let report = vouch_app::propensity::train(store, chrono::Utc::now(), dry_run).await?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(())
        }
        CustomersCommand::Show { customer, json } => show(store, &customer, json).await,
        CustomersCommand::Consent {
            customer,
            purpose,
            grant,
            withdraw: _,
            basis,
            source,
            evidence,
        } => {
            let id = store.find_customer(&customer).await?.id;
            let record = vouch_domain::ConsentRecord {
                purpose,
                granted: grant,
                basis,
                source,
                evidence,
                recorded_at: chrono::Utc::now(),
            };
            let record = vouch_app::outreach::record_consent(store, id, record)
                .await?
                .map_err(anyhow::Error::msg)?;
            println!(
                "Customer {id}: {} {} ({}, from {}).",
                if record.granted {
                    "consents to"
                } else {
                    "withdrew from"
                },
                record.purpose,
                record.basis,
                record.source
            );
            Ok(())
        }
        CustomersCommand::Contacts { customer, json } => {
            let id = store.find_customer(&customer).await?.id;
            let report = vouch_app::outreach::contacts_report(store, id, policy)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no customer {customer}"))?;
            if json {
                println!("{}", serde_json::to_string(&report)?);
                return Ok(());
            }
            if report.contacts.is_empty() {
                println!("No messages to customer {id} yet.");
            }
            for c in &report.contacts {
                println!(
                    "{}  {:<9} {:<9} {}{}",
                    c.at.format("%Y-%m-%d %H:%M"),
                    c.purpose.as_str(),
                    c.state,
                    c.what,
                    c.reason
                        .as_deref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                );
            }
            let b = &report.budget;
            println!(
                "\nBudget: {}; {} used{}. Next feedback message possible {}{}.",
                b.budget.as_deref().unwrap_or("uncapped"),
                b.used,
                b.left.map(|l| format!(", {l} left")).unwrap_or_default(),
                b.next_possible_at.format("%Y-%m-%d %H:%M UTC"),
                b.waiting_for
                    .as_deref()
                    .map(|w| format!(" ({w})"))
                    .unwrap_or_default()
            );
            Ok(())
        }
    }
}

async fn list(store: &Store, limit: u32, after: Option<i64>, json: bool) -> anyhow::Result<()> {
    let customers = store
        .customers(
            &vouch_store::CustomerFilter::default(),
            after.map(CustomerId),
            limit,
        )
        .await?;
    if json {
        for c in &customers {
            println!("{}", serde_json::to_string(c)?);
        }
        return Ok(());
    }
    let mut table = Table::new(&[
        ">id", "email", "name", "locale", "plan", "created", "churned",
    ]);
    for c in &customers {
        let p = &c.profile;
        table.row(vec![
            c.id.to_string(),
            p.email
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            p.name.clone().unwrap_or_default(),
            p.locale.to_string(),
            p.attributes.get("plan").cloned().unwrap_or_default(),
            p.created_at.format("%Y-%m-%d").to_string(),
            p.churned_at
                .map(|t| t.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
        ]);
    }
    print!("{}", table.render());
    match customers.last() {
        Some(last) if customers.len() == limit as usize => {
            println!("Next page: vouch customers list --after {}", last.id)
        }
        None => println!("No customers yet. Load some with `vouch demo`."),
        _ => {}
    }
    Ok(())
}

async fn show(store: &Store, key: &str, json: bool) -> anyhow::Result<()> {
    let view = vouch_app::customers::show(store, key).await?;
    if json {
        println!("{}", serde_json::to_string(&view)?);
        return Ok(());
    }
    let vouch_app::customers::CustomerView {
        customer,
        category: current,
        category_history: history,
        responses,
        feedback,
        consents,
    } = view;
    let p = &customer.profile;
    let name = terminal_safe(p.name.as_deref().unwrap_or("(no name)"));
    println!("Customer {}: {name}", customer.id);
    let field = |label: &str, value: String| {
        println!("  {:<14}{}", terminal_safe(label), terminal_safe(&value))
    };
    field(
        "email",
        p.email
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
    );
    field("external id", p.external_id.clone().unwrap_or_default());
    field("locale", p.locale.to_string());
    field(
        "created",
        p.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
    );
    if let Some(churned) = p.churned_at {
        field("churned", churned.format("%Y-%m-%d %H:%M UTC").to_string());
    }
    if let Some(referrer) = p.referred_by {
        field("referred by", format!("customer {referrer}"));
    }
    for (name, value) in &p.attributes {
        field(name, value.clone());
    }
    for (platform, handle) in &p.handles {
        field(platform, handle.clone());
    }
    for c in &consents {
        field(
            &format!("{} consent", c.purpose),
            format!(
                "{} ({}, {}, {})",
                if c.granted { "given" } else { "withdrawn" },
                c.basis,
                c.source,
                c.recorded_at.format("%Y-%m-%d")
            ),
        );
    }
    let describe = |a: Option<vouch_domain::CategoryAssignment>| match a {
        Some(a) if a.implied => format!("{} (implied by a review)", a.category),
        Some(a) => a.category.to_string(),
        None => "none (no answer or review in the last 365 days)".to_owned(),
    };
    println!("\nLoyalty category: {}", describe(current));
    if !history.is_empty() {
        let mut table = Table::new(&["since", "category"]);
        for change in &history {
            table.row(vec![
                change.at.format("%Y-%m-%d").to_string(),
                describe(change.category),
            ]);
        }
        print!("{}", table.render());
    }
    println!("\nSurvey answers ({}):", responses.len());
    let mut table = Table::new(&["answered", "survey", ">score", "channel", "comment"]);
    for r in &responses {
        let a = &r.answer;
        table.row(vec![
            a.answered_at.format("%Y-%m-%d").to_string(),
            a.score.kind().to_string(),
            a.score.to_string(),
            a.channel.to_string(),
            a.comment.clone().unwrap_or_default(),
        ]);
    }
    print!("{}", table.render());
    println!("\nFeedback ({}):", feedback.len());
    let mut table = Table::new(&["posted", "source", "rating", "text"]);
    for item in &feedback {
        let f = &item.feedback;
        table.row(vec![
            f.posted_at.format("%Y-%m-%d").to_string(),
            f.source.to_string(),
            f.rating
                .map(|r| format!("{}/{}", r.value(), r.max()))
                .unwrap_or_default(),
            f.body.chars().take(80).collect(),
        ]);
    }
    print!("{}", table.render());
    Ok(())
}
