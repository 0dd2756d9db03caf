//! Who moved between loyalty categories, and in which direction.

use serde::{Serialize, Serializer};

use crate::LoyaltyCategory;

/// A category, or "none" for customers without one at that date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CategoryOrNone(pub Option<LoyaltyCategory>);

impl CategoryOrNone {
    /// Promoter, passive, detractor, none: the order rows and columns are shown in.
    pub const ORDER: [CategoryOrNone; 4] = [
        CategoryOrNone(Some(LoyaltyCategory::Promoter)),
        CategoryOrNone(Some(LoyaltyCategory::Passive)),
        CategoryOrNone(Some(LoyaltyCategory::Detractor)),
        CategoryOrNone(None),
    ];

    pub fn as_str(self) -> &'static str {
        self.0.map_or("none", LoyaltyCategory::as_str)
    }
}

impl Serialize for CategoryOrNone {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl utoipa::PartialSchema for CategoryOrNone {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(Self::ORDER.map(Self::as_str)))
            .into()
    }
}

impl utoipa::ToSchema for CategoryOrNone {}

/// One cell of the transition matrix: how many customers went `from` → `to`,
/// and their share of everyone who started in `from`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TransitionCell {
    pub from: CategoryOrNone,
    pub to: CategoryOrNone,
    pub customers: u64,
    /// Row share in 0..=1; 0 when nobody started in `from`.
    pub share: f64,
}

/// The 4×4 matrix (16 cells, rows then columns in `CategoryOrNone::ORDER`)
/// from each customer's category at the start and at the end.
pub fn transition_matrix(
    pairs: impl IntoIterator<Item = (Option<LoyaltyCategory>, Option<LoyaltyCategory>)>,
) -> Vec<TransitionCell> {
    let index = |c: Option<LoyaltyCategory>| {
        CategoryOrNone::ORDER
            .iter()
            .position(|o| o.0 == c)
            .unwrap_or(3)
    };
    let mut counts = [[0u64; 4]; 4];
    for (from, to) in pairs {
        counts[index(from)][index(to)] += 1;
    }
    let mut cells = Vec::with_capacity(16);
    for (row, from) in CategoryOrNone::ORDER.iter().enumerate() {
        let row_total: u64 = counts[row].iter().sum();
        for (col, to) in CategoryOrNone::ORDER.iter().enumerate() {
            let customers = counts[row][col];
            let share = if row_total == 0 {
                0.0
            } else {
                customers as f64 / row_total as f64
            };
            cells.push(TransitionCell {
                from: *from,
                to: *to,
                customers,
                share,
            });
        }
    }
    cells
}

#[cfg(test)]
mod tests {
    use super::*;
    use LoyaltyCategory::*;

    #[test]
    fn matrix_counts_and_row_shares() {
        let pairs = [
            (Some(Promoter), Some(Promoter)),
            (Some(Promoter), Some(Passive)),
            (Some(Promoter), Some(Passive)),
            (Some(Detractor), None),
            (None, Some(Promoter)),
        ];
        let m = transition_matrix(pairs);
        assert_eq!(m.len(), 16);
        let cell = |f: Option<LoyaltyCategory>, t: Option<LoyaltyCategory>| {
            *m.iter().find(|c| c.from.0 == f && c.to.0 == t).unwrap()
        };
        assert_eq!(cell(Some(Promoter), Some(Passive)).customers, 2);
        assert!((cell(Some(Promoter), Some(Passive)).share - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(cell(Some(Detractor), None).share, 1.0);
        assert_eq!(cell(Some(Passive), Some(Passive)).share, 0.0);
        assert_eq!(m.iter().map(|c| c.customers).sum::<u64>(), 5);
        assert_eq!(
            serde_json::to_value(cell(None, Some(Promoter))).unwrap()["from"],
            "none"
        );
    }
}
