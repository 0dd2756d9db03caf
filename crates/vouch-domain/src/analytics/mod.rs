//! Loyalty analytics: NPS, CSAT and CES with honest intervals, comparisons
//! between periods, trends, transitions and KPIs. Pure functions over counts,
//! so the CLI, the API and the dashboard all show the same numbers.

pub mod drivers;
pub mod holdout;
pub mod nps;
pub mod periods;
pub mod scales;
pub mod stats;
pub mod transitions;
pub mod trends;

pub use drivers::{CommentedAnswer, TopicDriver, topic_drivers};
pub use holdout::{Effect, MIN_GROUP, compare_nps, compare_shares};
pub use nps::{
    CoverageCell, NpsChange, NpsEstimate, NpsTally, compare, coverage_grid, exact_coverage,
    simulated_coverage,
};
pub use periods::{Granularity, MAX_SPAN_DAYS, PeriodKey, Span, SpanError};
pub use scales::{CesEstimate, CsatEstimate, ScoreCounts};
pub use transitions::{CategoryOrNone, TransitionCell, transition_matrix};
pub use trends::{TrendPoint, TrendSpec, period_containing, trend};
