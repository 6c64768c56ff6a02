//! The classifier: Value or Work, kind, queue and ITIL priority, each verdict explained. Pure, no I/O.

mod spec;
pub use spec::*;
