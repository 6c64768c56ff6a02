//! The shared HTTP layer. (Being written: see the issue for connectors.)
