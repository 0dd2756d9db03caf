//! Prints the coverage table of the NPS interval for docs/METRICS.md:
//! `cargo run --release -p vouch-domain --example nps_coverage`
use rand::{Rng, SeedableRng};
use vouch_domain::analytics::{coverage_grid, exact_coverage, simulated_coverage};

fn main() {
    let samples = 20_000;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2016);
    println!(
        "| n | promoters | passives | detractors | true NPS | exact coverage | simulated ({samples} samples) |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut exact_all = Vec::new();
    for (p, d, n) in coverage_grid() {
        let exact = exact_coverage(p, d, n, 0.95);
        let sim = simulated_coverage(p, d, n, samples, 0.95, &mut || rng.random::<f64>());
        println!(
            "| {n} | {p:.2} | {:.2} | {d:.2} | {:+.0} | {:.2}% | {:.2}% |",
            exact.passive_share(),
            100.0 * (p - d),
            100.0 * exact.coverage,
            100.0 * sim.coverage
        );
        exact_all.push(exact);
    }
    let mean = exact_all.iter().map(|c| c.coverage).sum::<f64>() / exact_all.len() as f64;
    let worst = exact_all
        .iter()
        .min_by(|a, b| a.coverage.total_cmp(&b.coverage))
        .expect("grid is not empty");
    println!(
        "\n{} cells: mean exact coverage {:.2}%, lowest {:.2}% (n = {}, promoters {:.2}, detractors {:.2})",
        exact_all.len(),
        100.0 * mean,
        100.0 * worst.coverage,
        worst.n,
        worst.promoter_share,
        worst.detractor_share
    );
}
