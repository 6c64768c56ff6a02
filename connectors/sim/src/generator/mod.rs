//! A deterministic generator of realistic mixed backlogs (being written).

mod model;
pub use model::*;
