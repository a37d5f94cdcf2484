//! What the usage cost: estimates from the logs' token counts priced by the operator's table
//! or the AWS Price List (the bundled sample alone by made-up `synthetic-sample` prices).
//!
//! Money is never a binary float: prices and costs are integer micro-units, shown as decimal
//! strings with six decimals ([`money`]).
//!
//! - [`money`]: [`Rate`](money::Rate) (per million tokens), exact sums, [`Micros`](money::Micros).
//! - [`model_ref`]: a logged `modelId` taken apart (model, geo/global profile, application
//!   profile ARN).
//! - [`catalog`]: the explicit model id → Price List product mapping (names, no prices).
//! - [`pricelist`]: `pricing:GetProducts`, its items read into token prices, cached per day.
//! - [`table`]: the operator's pricing table, which wins where it has an entry.
//! - [`sample_prices`]: the bundled sample's made-up prices, for its reports only.
//! - [`cells`]: the per (model, region) token counts, by caller and day, a report keeps.
//! - [`estimate`]: the `estimated_cost` section.
//! - [`billed`]: the `billed_cost` section (Cost Explorer, or the bundled sample's synthetic
//!   bill) and its reconciliation with the estimate.
//! - `text`: its readable form; [`schema`]: its JSON Schema.

pub mod billed;
pub mod catalog;
pub mod cells;
pub mod estimate;
pub mod model_ref;
pub mod money;
pub mod pricelist;
pub mod sample_prices;
pub mod schema;
mod sdk;
pub mod table;
mod text;

pub use cells::CostCells;
pub use estimate::{CostEstimator, EstimatedCost};
pub use pricelist::PriceList;
pub use table::{PricingError, PricingTable};
